//! Signed notes, checkpoints and keys: no panic, notes and checkpoint notes are
//! canonical, checkpoint bodies and keys re-parse to the same value.
#![no_main]

use custody::manifest::checkpoint::{Checkpoint, CheckpointNote};
use custody::manifest::note::{Note, SignerKey, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = Note::parse(s) {
        assert_eq!(n.encode(), s, "non-canonical note");
    }
    if let Ok(c) = CheckpointNote::parse(s) {
        assert_eq!(c.encode(), s, "non-canonical checkpoint note");
    }
    if let Ok(c) = Checkpoint::parse_body(s) {
        assert_eq!(Checkpoint::parse_body(&c.body()).unwrap(), c);
    }
    if let Ok(v) = VerifierKey::parse(s) {
        assert_eq!(VerifierKey::parse(&v.encode()).unwrap(), v);
    }
    if let Ok(k) = SignerKey::parse(s) {
        assert_eq!(
            SignerKey::parse(&k.encode()).unwrap().verifier(),
            k.verifier()
        );
    }
});
