//! Property tests of entry paths and their escaped text form (`paths.rs`), and of the
//! user-typed forms of paths, hashes and roots that commands accept.

use proptest::prelude::*;

use crate::id::{BlobId, ChunkId};
use crate::ops::ls::parse_user_path;
use crate::ops::verify::parse_root;
use crate::paths::{ARCHIVE_SEPARATOR, EntryPath, PathError, escape_bytes, unescape_bytes};
use crate::prop_support::{bytes, cases, damage, damage_str, edit, entry_path, mutate_str, text};

/// Strings made of what escapes are made of, so that many of them are escapes.
fn escape_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\\".to_string()),
            Just("\\x".to_string()),
            Just("\\\\".to_string()),
            "[0-9a-fA-FxX/.!]".prop_map(|s| s.to_string()),
            "\\\\x[0-9a-fA-F]{2}",
            "\\PC",
        ],
        0..20,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn escaping_round_trips_any_bytes(b in bytes(300)) {
        let s = escape_bytes(&b);
        prop_assert_eq!(unescape_bytes(&s).unwrap(), b);
        // Safe inside line and field formats: no control character at all.
        prop_assert!(!s.chars().any(char::is_control), "{:?}", s);
    }

    #[test]
    fn valid_paths_round_trip(p in entry_path()) {
        let s = p.escaped();
        prop_assert_eq!(EntryPath::parse_escaped(&s).unwrap(), p.clone());
        prop_assert_eq!(EntryPath::new(p.as_bytes().to_vec()).unwrap(), p.clone());
        // What a person types is read the same way.
        prop_assert_eq!(parse_user_path(Some(&s)).unwrap(), p.clone());
        // The serde form is the escaped form.
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<EntryPath>(&json).unwrap(), p.clone());
        // parent / file_name split the path at its last '/'.
        let rebuilt = EntryPath::from_raw(p.parent().to_vec()).join(p.file_name());
        prop_assert_eq!(rebuilt, p);
    }

    /// An escaped path with one byte changed is refused, or is the escaped form of
    /// the path it parses to: a path has one text form.
    #[test]
    fn escaped_paths_have_one_text_form(p in entry_path(), e in edit(), d in damage()) {
        let s = p.escaped();
        for m in [mutate_str(&s, &e), damage_str(&s, &d)].into_iter().flatten() {
            if let Ok(q) = EntryPath::parse_escaped(&m) {
                prop_assert_eq!(q.escaped(), m);
            }
        }
    }

    #[test]
    fn parsers_never_panic(s in prop_oneof![text(200), escape_soup()]) {
        if let Ok(b) = unescape_bytes(&s) {
            // Lenient (upper-case hex is read), but always the same bytes again.
            prop_assert_eq!(unescape_bytes(&escape_bytes(&b)).unwrap(), b);
        }
        match EntryPath::parse_escaped(&s) {
            Ok(p) => {
                prop_assert_eq!(p.escaped(), s.clone());
                prop_assert!(p.check().is_ok());
            }
            Err(PathError::NotCanonical) => {
                // Some other spelling of a valid path: that path has its own.
                let p = EntryPath::new(unescape_bytes(&s).unwrap()).unwrap();
                prop_assert_ne!(p.escaped(), s.clone());
            }
            Err(_) => {}
        }
        if let Ok(p) = parse_user_path(Some(&s)) {
            prop_assert!(p.is_empty() || p.check().is_ok());
        }
        let _ = s.parse::<BlobId>();
        let _ = s.parse::<ChunkId>();
        let _ = parse_root(&s);
    }

    #[test]
    fn new_never_panics(b in bytes(100)) {
        if let Ok(p) = EntryPath::new(b.clone()) {
            prop_assert_eq!(p.as_bytes(), &b[..]);
            prop_assert!(!b.is_empty() && b[0] != b'/' && !b.contains(&0));
            prop_assert!(b.split(|&x| x == b'/').all(|c| !c.is_empty() && c != b"." && c != b".."));
        }
    }

    /// `archive!/member` paths: a valid archive path and a valid member path make a
    /// valid path, with one text form.
    #[test]
    fn member_paths_are_entry_paths(archive in entry_path(), member in entry_path()) {
        let mut full = archive.as_bytes().to_vec();
        full.extend_from_slice(ARCHIVE_SEPARATOR);
        full.extend_from_slice(member.as_bytes());
        let p = EntryPath::new(full).unwrap();
        prop_assert!(p.escaped().contains("!/"));
        prop_assert_eq!(EntryPath::parse_escaped(&p.escaped()).unwrap(), p);
    }

    #[test]
    fn ids_and_roots_round_trip(h: [u8; 32]) {
        let id = BlobId(h);
        prop_assert_eq!(id.to_string().parse::<BlobId>().unwrap(), id);
        prop_assert_eq!(format!("b3:{id}").parse::<BlobId>().unwrap(), id);
        prop_assert_eq!(parse_root(&hex::encode(h)).unwrap(), h);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(h);
        prop_assert_eq!(parse_root(&b64).unwrap(), h);
    }
}
