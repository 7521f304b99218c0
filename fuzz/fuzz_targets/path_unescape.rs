//! Escaped paths: unescaping never panics, the canonical parser accepts exactly the
//! escaped form of a valid path, and escaping any bytes round-trips.
#![no_main]

use custody::ops::ls::parse_user_path;
use custody::paths::{EntryPath, escape_bytes, unescape_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let e = escape_bytes(data);
    assert_eq!(unescape_bytes(&e).unwrap(), data);
    assert!(!e.chars().any(char::is_control));
    if let Ok(p) = EntryPath::new(data.to_vec()) {
        assert_eq!(EntryPath::parse_escaped(&e).unwrap(), p);
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(b) = unescape_bytes(s) {
        assert_eq!(unescape_bytes(&escape_bytes(&b)).unwrap(), b);
    }
    if let Ok(p) = EntryPath::parse_escaped(s) {
        assert_eq!(p.escaped(), s, "non-canonical escaped path");
    }
    if let Ok(p) = parse_user_path(Some(s)) {
        assert!(p.is_empty() || p.check().is_ok());
    }
});
