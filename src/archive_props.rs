//! Property tests of the member name rules and the small field parsers of
//! `archive.rs` (the readers themselves are tested on arbitrary and damaged archives
//! in its `tests` module).

use proptest::prelude::*;

use super::*;
use crate::prop_support::{bytes, cases, component, entry_path};

/// Names as archives hold them: made of components, separators, `.`, `..` and `./`.
fn member_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(60),
        proptest::collection::vec(
            prop_oneof![
                component(),
                Just(b"/".to_vec()),
                Just(b"\\".to_vec()),
                Just(b"./".to_vec()),
                Just(b"../".to_vec()),
                Just(b".".to_vec()),
                Just(b"C:".to_vec()),
                Just(b"\0".to_vec()),
            ],
            0..8
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(cases(512))]

    /// A name is refused, or becomes the archive root or a valid entry path that is
    /// the name itself less leading `./`s and one trailing `/`; normalising again
    /// changes nothing.
    #[test]
    fn names_normalise_to_entry_paths_or_are_refused(raw in member_name(), backslash: bool) {
        let Ok((p, dir)) = normalise(&raw, backslash) else { return Ok(()) };
        let seen: Vec<u8> = if backslash {
            raw.iter().map(|&b| if b == b'\\' { b'/' } else { b }).collect()
        } else {
            raw.clone()
        };
        prop_assert_eq!(dir, seen.ends_with(b"/"));
        if p.is_empty() {
            return Ok(());
        }
        prop_assert!(EntryPath::new(p.clone()).is_ok(), "{:?} -> {:?}", escape_bytes(&raw), escape_bytes(&p));
        prop_assert!(seen.strip_suffix(b"/").unwrap_or(&seen).ends_with(&p));
        if backslash {
            prop_assert!(!p.contains(&b'\\'));
        }
        prop_assert_eq!(normalise(&p, backslash).unwrap(), (p.clone(), false));
        // As a member of a nested archive it is still a valid path.
        let mut prefix = b"outer.zip".to_vec();
        prefix.extend_from_slice(MEMBER_SEPARATOR);
        let full = member_path(&prefix, &p, "x").unwrap();
        prop_assert!(full.as_bytes().starts_with(b"outer.zip!/"));
    }

    /// Valid entry paths, as member names, are kept exactly.
    #[test]
    fn valid_names_are_kept(p in entry_path()) {
        let b = p.as_bytes();
        let drive = matches!(b, [d, b':', ..] if d.is_ascii_alphabetic());
        if !drive && !b.starts_with(b"./") {
            prop_assert_eq!(normalise(b, false).unwrap(), (b.to_vec(), false));
            let mut d = b.to_vec();
            d.push(b'/');
            prop_assert_eq!(normalise(&d, false).unwrap(), (b.to_vec(), true));
        }
    }

    #[test]
    fn field_parsers_never_panic(
        b in bytes(120),
        id: u16,
        date: u16,
        time: u16,
        s in "[-+0-9.]{0,30}",
    ) {
        let _ = extra_field(&b, id);
        let _ = zip_mtime(&b, date, time);
        let _ = dos_time_ns(date, time);
        let _ = pax_time(&b);
        let _ = pax_time(s.as_bytes());
        let _ = parse_pax(&b, "x");
        let _ = detect(&b, &b);
        let _ = label(&b, &b);
        let _ = archive_label(&b);
    }
}
