//! Proof files: parsing never panics, text that parses is exactly the encoding of
//! the parsed proof, and verifying whatever parsed (unanchored) never panics.
#![no_main]

use custody::manifest::proof::{Anchor, Proof, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Proof::parse(s) {
        assert_eq!(p.encode(), s, "non-canonical proof text");
        let _ = verify(&p, &Anchor::default(), None);
        let _ = verify(&p, &Anchor::default(), Some([0; 32]));
    }
});
