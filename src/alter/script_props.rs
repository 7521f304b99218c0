//! Property tests of the edit script text encoding beyond those in `script.rs`:
//! damaged encodings and arbitrary text are refused or canonical, never a panic.

use proptest::prelude::*;

use super::script::{EditOp, EditScript};
use crate::prop_support::{cases, damage, damage_str, edit, mutate_str, text};

fn op() -> impl Strategy<Value = EditOp> {
    prop_oneof![
        (0u64..5000, 0u64..5000).prop_map(|(offset, len)| EditOp::Copy { offset, len }),
        (any::<u64>(), any::<u64>()).prop_map(|(offset, len)| EditOp::Copy {
            offset,
            len: len.min(u64::MAX - offset),
        }),
        proptest::collection::vec(any::<u8>(), 0..120).prop_map(EditOp::Insert),
    ]
}

/// Text that parses is the encoding of what it parses to (its final newline may be
/// missing, as the format allows).
fn refused_or_canonical(s: &str) -> Result<(), TestCaseError> {
    if let Ok(script) = EditScript::parse(s) {
        let enc = script.encode();
        prop_assert!(
            enc == s || enc == format!("{s}\n"),
            "{:?} parses but encodes as {:?}",
            s,
            enc
        );
        prop_assert_eq!(EditScript::parse(&enc).unwrap(), script);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn damaged_scripts_are_refused_or_canonical(
        ops in proptest::collection::vec(op(), 0..12),
        e in edit(),
        d in damage(),
    ) {
        let text = EditScript::new(ops).encode();
        for m in [mutate_str(&text, &e), damage_str(&text, &d)].into_iter().flatten() {
            refused_or_canonical(&m)?;
        }
    }

    #[test]
    fn arbitrary_text_is_refused_or_canonical(s in text(300)) {
        refused_or_canonical(&s)?;
    }
}

/// Found by the `edit_script_parse` fuzz target: an insert line of more than 48 bytes
/// was accepted, though `encode` splits such data over two lines.
#[test]
fn insert_lines_hold_at_most_48_bytes() {
    let text = "copy 0 1000\ninsert eHh4h4eHh4eHh4eHh4eHh4eHh4eHHhe4h4eHh4Hh4h4eHh4eHh4eHh4eHh4eHhe19000\n";
    assert!(EditScript::parse(text).is_err());
}

proptest! {
    #![proptest_config(cases(64))]

    /// One insert line of n bytes parses exactly when n is 1 to 48.
    #[test]
    fn one_insert_line_of_any_length(data in proptest::collection::vec(any::<u8>(), 0..200), after_copy: bool) {
        use base64::Engine;
        let line = format!("insert {}\n", base64::engine::general_purpose::STANDARD.encode(&data));
        let text = if after_copy { format!("copy 0 1\n{line}") } else { line };
        let ok = EditScript::parse(&text).is_ok();
        prop_assert_eq!(ok, (1..=48).contains(&data.len()), "{:?}", text);
        refused_or_canonical(&text)?;
    }
}
