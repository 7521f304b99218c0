//! Manifest leaf lines and whole manifests: no panic, and a line that parses is
//! exactly the line the parsed leaf is written as.
#![no_main]

use custody::manifest::export::{leaf_line, parse_leaf_line, read_leaves};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = parse_leaf_line(data) {
        let mut want = data.to_vec();
        want.push(b'\n');
        assert_eq!(leaf_line(&l).into_bytes(), want, "non-canonical leaf line");
    }
    let mut n = 0u64;
    if let Ok(m) = read_leaves(data, &mut |_| n += 1) {
        assert_eq!(m.size, n);
    }
});
