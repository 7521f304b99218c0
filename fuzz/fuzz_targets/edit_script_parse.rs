//! Edit scripts: parsing never panics, text that parses is the canonical encoding
//! (less, perhaps, its final newline), and applying a parsed script to a small
//! original never panics and agrees with the streaming form.
#![no_main]

use custody::alter::EditScript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(script) = EditScript::parse(s) else {
        return;
    };
    let enc = script.encode();
    assert!(
        enc == s || enc == format!("{s}\n"),
        "non-canonical edit script"
    );
    let original: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
    let direct = script.apply(&original);
    let mut out = Vec::new();
    let mut read = |off: u64, len: u64| -> std::io::Result<Vec<u8>> {
        let start = usize::try_from(off)
            .unwrap_or(usize::MAX)
            .min(original.len());
        let end = usize::try_from(off.saturating_add(len))
            .unwrap_or(usize::MAX)
            .min(original.len());
        Ok(original[start..end.max(start)].to_vec())
    };
    // Streaming a script that copies a lot would only test the allocator.
    if script.output_len() <= 1 << 20 {
        let streamed = script.apply_with(&mut read, &mut out);
        match direct {
            Ok(v) => assert_eq!(out, v),
            Err(_) => assert!(streamed.is_err()),
        }
    }
});
