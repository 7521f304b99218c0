//! Wording of summaries: numbers with thousands separators, counted nouns, lists and
//! short previews of bytes.

/// `1234567` → `"1,234,567"`.
pub fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `count(1, "row", "rows")` → `"1 row"`, `count(3112, …)` → `"3,112 rows"`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", num(n), if n == 1 { one } else { many })
}

/// `"1 byte"`, `"412 bytes"`.
pub fn bytes(n: u64) -> String {
    count(n, "byte", "bytes")
}

/// `["a"]` → `"a"`, `["a", "b"]` → `"a and b"`, `["a", "b", "c"]` → `"a, b and c"`.
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// At most `max` items in an [`and_list`], then `"and N more"` (with `what` naming the
/// rest, e.g. `"rows"`).
pub fn capped_list<S: AsRef<str>>(items: &[S], max: usize, what: &str) -> String {
    if items.len() <= max {
        return and_list(items);
    }
    let shown: Vec<&str> = items[..max].iter().map(AsRef::as_ref).collect();
    format!(
        "{} and {} more {what}",
        shown.join(", "),
        num((items.len() - max) as u64)
    )
}

/// Sorted numbers as runs: `[5, 6, 7, 10]` → `["5–7", "10"]`.
pub fn runs(sorted: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            num(sorted[i])
        } else {
            format!("{}–{}", num(sorted[i]), num(sorted[j]))
        });
        i = j + 1;
    }
    out
}

/// Bytes as text for a summary: lossy UTF-8, control characters escaped, cut to
/// about `max` characters with an ellipsis.
pub fn preview(data: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(max * 4)]);
    let mut out = String::new();
    for (shown, c) in text.chars().enumerate() {
        if shown >= max {
            out.push('…');
            return out;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    if data.len() > max * 4 {
        out.push('…');
    }
    out
}

/// `0x41`.
pub fn hex_byte(b: u8) -> String {
    format!("0x{b:02X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_lists() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1_048_576), "1,048,576");
        assert_eq!(num(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(bytes(1), "1 byte");
        assert_eq!(count(3112, "row", "rows"), "3,112 rows");
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(and_list::<&str>(&[]), "");
        assert_eq!(
            capped_list(&["1", "2", "3", "4"], 2, "rows"),
            "1, 2 and 2 more rows"
        );
        assert_eq!(
            runs(&[5, 6, 7, 10, 1000, 1001]),
            ["5–7", "10", "1,000–1,001"]
        );
        assert_eq!(preview(b"a\"b\n\x01", 10), "a\\\"b\\n\\x01");
        assert_eq!(preview("ééééé".as_bytes(), 3), "ééé…");
    }
}
