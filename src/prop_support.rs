//! Shared pieces of the property tests that sit beside the modules they test
//! (`*_props.rs`): the case count, strategies for paths, and the edits that damage
//! a valid encoding.
//!
//! Every property test here runs a modest number of cases so that `cargo test` stays
//! quick; `PROPTEST_CASES=100000 cargo test --release props` raises all of them at once.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

use crate::paths::EntryPath;

/// A config running `cases` cases, or `PROPTEST_CASES` when that is set.
pub fn cases(cases: u32) -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c
}

/// Arbitrary bytes, up to `max`.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// Arbitrary text: any characters, control characters and newlines included.
pub fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect()),
        bytes(max).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        proptest::collection::vec(
            prop_oneof![
                3 => 0x20u8..0x7f,
                1 => Just(b'\n'),
                1 => Just(b'\\'),
                1 => Just(b' '),
            ],
            0..max
        )
        .prop_map(|b| String::from_utf8(b).unwrap()),
    ]
}

/// One path component: never empty, `/`, NUL, `.` or `..`; often printable, sometimes
/// any bytes (invalid UTF-8, control characters, backslashes, `!`).
pub fn component() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._!\\\\-]{1,10}".prop_map(String::into_bytes),
        1 => "\\PC{1,4}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(1u8..=255, 1..8),
    ]
    .prop_map(|c| c.into_iter().filter(|&b| b != b'/').collect::<Vec<u8>>())
    .prop_filter("a real component", |c| {
        !c.is_empty() && c != b"." && c != b".."
    })
}

/// A valid entry path of 1 to 5 components; some are archive member paths (`a.zip!/x`).
pub fn entry_path() -> impl Strategy<Value = EntryPath> {
    proptest::collection::vec(component(), 1..5)
        .prop_map(|cs| EntryPath::new(cs.join(&b'/')).expect("components make a valid path"))
}

/// A one-byte edit: where, and the new byte (often printable, so text stays UTF-8).
pub fn edit() -> impl Strategy<Value = (Index, u8)> {
    (
        any::<Index>(),
        prop_oneof![3 => 0x20u8..0x7f, 1 => Just(b'\n'), 2 => any::<u8>()],
    )
}

/// `b` with one byte replaced, or `None` when that changes nothing.
pub fn mutate(b: &[u8], (at, v): &(Index, u8)) -> Option<Vec<u8>> {
    if b.is_empty() {
        return None;
    }
    let i = at.index(b.len());
    if b[i] == *v {
        return None;
    }
    let mut m = b.to_vec();
    m[i] = *v;
    Some(m)
}

/// [`mutate`] for text; `None` also when the result is not UTF-8 (no `&str` parser
/// can be handed it).
pub fn mutate_str(s: &str, e: &(Index, u8)) -> Option<String> {
    String::from_utf8(mutate(s.as_bytes(), e)?).ok()
}

/// A structural edit of an encoding, for damaging valid inputs more than one byte at
/// a time: the parsers then see inputs that get past their first checks.
#[derive(Debug, Clone)]
pub enum Damage {
    Byte(Index, u8),
    Cut(Index),
    Insert(Index, Vec<u8>),
    DropLine(Index),
    DupLine(Index),
    SwapLines(Index, Index),
}

pub fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        4 => edit().prop_map(|(i, b)| Damage::Byte(i, b)),
        1 => any::<Index>().prop_map(Damage::Cut),
        2 => (any::<Index>(), prop_oneof![
                bytes(6),
                Just(b"\n".to_vec()),
                Just(b" ".to_vec()),
                Just(b"\n\n".to_vec()),
                Just("\u{2014} ".as_bytes().to_vec()),
            ]).prop_map(|(i, b)| Damage::Insert(i, b)),
        1 => any::<Index>().prop_map(Damage::DropLine),
        1 => any::<Index>().prop_map(Damage::DupLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Damage::SwapLines(a, b)),
    ];
    proptest::collection::vec(one, 1..4)
}

/// Applies the damage in order.
pub fn apply_damage(b: &[u8], damage: &[Damage]) -> Vec<u8> {
    let mut v = b.to_vec();
    for d in damage {
        match d {
            Damage::Byte(i, x) => {
                if !v.is_empty() {
                    let i = i.index(v.len());
                    v[i] = *x;
                }
            }
            Damage::Cut(i) => v.truncate(i.index(v.len() + 1)),
            Damage::Insert(i, x) => {
                let i = i.index(v.len() + 1);
                v.splice(i..i, x.iter().copied());
            }
            Damage::DropLine(_) | Damage::DupLine(_) | Damage::SwapLines(..) => {
                let mut lines: Vec<Vec<u8>> = v
                    .split_inclusive(|&b| b == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                match d {
                    Damage::DropLine(i) => {
                        lines.remove(i.index(lines.len()));
                    }
                    Damage::DupLine(i) => {
                        let i = i.index(lines.len());
                        let l = lines[i].clone();
                        lines.insert(i, l);
                    }
                    Damage::SwapLines(a, b) => {
                        let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                        lines.swap(a, b);
                    }
                    _ => unreachable!(),
                }
                v = lines.concat();
            }
        }
    }
    v
}

/// [`apply_damage`] for text; `None` when the result is not UTF-8.
pub fn damage_str(s: &str, damage: &[Damage]) -> Option<String> {
    String::from_utf8(apply_damage(s.as_bytes(), damage)).ok()
}
