//! Shared text formatting: sizes, counts, modes, JSON printing.

use std::io::Write;

use serde::Serialize;

use custody::{Error, Result};

/// Prints a report as pretty JSON on stdout.
pub fn json<T: Serialize>(report: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(report)
        .map_err(|e| Error::Invalid(format!("cannot encode report: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}").map_err(|e| Error::io("standard output", "write", e))
}

/// Writes text to stdout, mapping a closed pipe to an error rather than a panic.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("standard output", "write", e))
}

/// 1.5 KiB, 12.3 MiB...
pub fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// 1,234,567
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 file", "2 files".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// `drwxr-xr-x` from a mode.
/// "packed 2 tables: 3 MiB → 2 MiB": what packing did to `tables` (of which one
/// is named `one`, several `many`).
pub fn packed(tables: &[custody::store::repack::Repacked], one: &str, many: &str) -> String {
    let before: u64 = tables.iter().map(|t| t.bytes_before).sum();
    let after: u64 = tables.iter().map(|t| t.bytes_after).sum();
    format!(
        "packed {}: {} → {}",
        plural(tables.len() as u64, one, many),
        bytes(before),
        bytes(after)
    )
}

pub fn mode(m: u32) -> String {
    let kind = match m & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        _ => '-',
    };
    let mut s = String::from(kind);
    for shift in [6, 3, 0] {
        let b = (m >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Prints ingest-style warnings on stderr unless quiet.
pub fn warn(quiet: bool, line: &str) {
    if !quiet {
        eprintln!("custody: warning: {line}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_have_separators() {
        assert_eq!(super::count(0), "0");
        assert_eq!(super::count(1234), "1,234");
        assert_eq!(super::count(1234567), "1,234,567");
    }

    #[test]
    fn modes() {
        assert_eq!(super::mode(0o100644), "-rw-r--r--");
        assert_eq!(super::mode(0o040755), "drwxr-xr-x");
    }
}
