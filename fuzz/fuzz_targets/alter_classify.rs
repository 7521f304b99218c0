//! Alteration classification and the format readers under it (PDF, CSV, JPEG, PNG,
//! TIFF/Exif), on an original and a claim cut from the input: no panic, similarity
//! in 0..=1, and the edit script rebuilds the claim.
#![no_main]

use custody::alter::{classify, edit_script};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = ["a.pdf", "a.csv", "a.jpg", "a.png", "a.txt", "a"];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 || data.len() > 8192 {
        return;
    }
    let name = NAMES[data[0] as usize % NAMES.len()];
    let cut = usize::from(u16::from_le_bytes([data[1], data[2]])) % (data.len() - 2);
    let (a, b) = data[3..].split_at(cut.min(data.len() - 3));
    let x = classify(a, b, name);
    assert!((0.0..=1.0).contains(&x.similarity));
    assert_eq!(edit_script(a, b).apply(a).unwrap(), b);
});
