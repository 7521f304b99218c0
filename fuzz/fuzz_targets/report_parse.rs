//! Alteration reports: parsing never panics and text that parses is exactly the
//! encoding of the parsed report.
#![no_main]

use custody::ops::report::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Report::parse(s) {
        assert_eq!(r.encode(), s, "non-canonical report");
    }
});
