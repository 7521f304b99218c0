//! Just enough PDF syntax to read an appended incremental update: the indirect
//! objects it defines and the dictionary keys they hold.

use serde::Serialize;

/// Deepest nesting of arrays and dictionaries followed.
const MAX_DEPTH: usize = 64;
/// Objects read from an update at most.
const MAX_OBJECTS: usize = 10_000;

/// Whether `data` is a PDF (`%PDF-` within its first 1024 bytes, as readers allow).
pub fn is_pdf(data: &[u8]) -> bool {
    find(&data[..data.len().min(1024)], b"%PDF-").is_some()
}

/// Whether `data` ends with `%%EOF` (and at most some whitespace).
pub fn ends_with_eof(data: &[u8]) -> bool {
    let end = data
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    data[..end].ends_with(b"%%EOF")
}

/// Occurrences of `%%EOF` in `data`.
pub fn count_eof(data: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while let Some(p) = find(&data[i..], b"%%EOF") {
        n += 1;
        i += p + 5;
    }
    n
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An indirect object defined in an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Object {
    pub number: u64,
    pub generation: u64,
    /// Offset of `N G obj` in the data read.
    pub offset: u64,
    /// Its dictionary keys (nested dictionaries included), in order, without repeats.
    pub keys: Vec<String>,
    /// The value of its `/Type` key, if a name (`/XRef`, `/Annot`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    pub has_stream: bool,
}

impl Object {
    /// Cross-reference streams and object streams: bookkeeping, not content.
    pub fn is_structural(&self) -> bool {
        matches!(self.type_name.as_deref(), Some("/XRef" | "/ObjStm"))
    }
}

/// The objects an update defines, and every key they use (first appearance order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Update {
    pub objects: Vec<Object>,
    pub keys: Vec<String>,
    pub has_xref_table: bool,
    pub has_trailer: bool,
}

/// Reads the objects of an appended update. Never fails: what it cannot read it skips.
pub fn read_update(data: &[u8]) -> Update {
    let mut lx = Lexer { d: data, i: 0 };
    let mut up = Update::default();
    // The last three tokens, to spot `N G obj`.
    let mut prev: [Option<Tok>; 2] = [None, None];
    while let Some((tok, at)) = lx.next() {
        match tok {
            Tok::Word(w) if w == b"obj" => {
                if let [Some(Tok::Int(n, start)), Some(Tok::Int(g, _))] = prev {
                    let mut obj = Object {
                        number: n,
                        generation: g,
                        offset: start as u64,
                        keys: Vec::new(),
                        type_name: None,
                        has_stream: false,
                    };
                    lx.value(&mut obj.keys, &mut obj.type_name, 0);
                    if lx.peek_word(b"stream") {
                        obj.has_stream = true;
                        lx.skip_stream();
                    }
                    for k in &obj.keys {
                        if !up.keys.contains(k) {
                            up.keys.push(k.clone());
                        }
                    }
                    if up.objects.len() < MAX_OBJECTS {
                        up.objects.push(obj);
                    }
                }
                prev = [None, None];
            }
            Tok::Word(w) if w == b"xref" => {
                up.has_xref_table = true;
                prev = [None, None];
            }
            Tok::Word(w) if w == b"trailer" => {
                up.has_trailer = true;
                // Skip the trailer dictionary so its keys are not taken for objects'.
                lx.value(&mut Vec::new(), &mut None, 0);
                prev = [None, None];
            }
            t => {
                let t = match t {
                    Tok::Int(n, _) => Tok::Int(n, at),
                    t => t,
                };
                prev = [prev[1].take(), Some(t)];
            }
        }
    }
    up
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    DictOpen,
    DictClose,
    ArrOpen,
    ArrClose,
    Name(String),
    Str,
    /// A non-negative integer and where it starts.
    Int(u64, usize),
    Word(&'a [u8]),
}

struct Lexer<'a> {
    d: &'a [u8],
    i: usize,
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_space(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        while self.i < self.d.len() {
            let b = self.d[self.i];
            if is_space(b) {
                self.i += 1;
            } else if b == b'%' {
                while self.i < self.d.len() && !matches!(self.d[self.i], b'\n' | b'\r') {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn next(&mut self) -> Option<(Tok<'a>, usize)> {
        self.skip_space();
        let start = self.i;
        let d = self.d;
        let b = *d.get(self.i)?;
        let tok = match b {
            b'<' if d.get(self.i + 1) == Some(&b'<') => {
                self.i += 2;
                Tok::DictOpen
            }
            b'>' if d.get(self.i + 1) == Some(&b'>') => {
                self.i += 2;
                Tok::DictClose
            }
            b'<' => {
                while self.i < d.len() && d[self.i] != b'>' {
                    self.i += 1;
                }
                self.i = (self.i + 1).min(d.len());
                Tok::Str
            }
            b'(' => {
                let mut depth = 0usize;
                while self.i < d.len() {
                    match d[self.i] {
                        b'\\' => self.i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                self.i = self.i.min(d.len());
                Tok::Str
            }
            b'[' => {
                self.i += 1;
                Tok::ArrOpen
            }
            b']' => {
                self.i += 1;
                Tok::ArrClose
            }
            b'/' => {
                self.i += 1;
                let s = self.i;
                while self.i < d.len() && !is_space(d[self.i]) && !is_delim(d[self.i]) {
                    self.i += 1;
                }
                Tok::Name(decode_name(&d[s..self.i]))
            }
            _ => {
                while self.i < d.len() && !is_space(d[self.i]) && !is_delim(d[self.i]) {
                    self.i += 1;
                }
                if self.i == start {
                    self.i += 1; // a stray delimiter such as ')' or '>'
                }
                let w = &d[start..self.i];
                match std::str::from_utf8(w)
                    .ok()
                    .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|s| s.parse().ok())
                {
                    Some(n) => Tok::Int(n, start),
                    None => Tok::Word(w),
                }
            }
        };
        Some((tok, start))
    }

    fn peek_word(&mut self, w: &[u8]) -> bool {
        let save = self.i;
        let hit = matches!(self.next(), Some((Tok::Word(x), _)) if x == w);
        if !hit {
            self.i = save;
        }
        hit
    }

    /// Skips stream data up to and including `endstream`.
    fn skip_stream(&mut self) {
        match find(&self.d[self.i..], b"endstream") {
            Some(p) => self.i += p + b"endstream".len(),
            None => self.i = self.d.len(),
        }
    }

    /// Reads one value, collecting dictionary keys, and the `/Type` of the outermost
    /// dictionary.
    fn value(&mut self, keys: &mut Vec<String>, ty: &mut Option<String>, depth: usize) {
        let Some((tok, _)) = self.next() else { return };
        if depth >= MAX_DEPTH {
            return;
        }
        match tok {
            Tok::DictOpen => loop {
                let save = self.i;
                match self.next() {
                    None | Some((Tok::DictClose, _)) => return,
                    Some((Tok::Name(k), _)) => {
                        if depth == 0 && k == "Type" {
                            let save = self.i;
                            if let Some((Tok::Name(v), _)) = self.next() {
                                *ty = Some(format!("/{v}"));
                            }
                            self.i = save;
                        }
                        let k = format!("/{k}");
                        if !keys.contains(&k) {
                            keys.push(k);
                        }
                        self.value(keys, &mut None, depth + 1);
                    }
                    Some((Tok::Word(w), _)) if w == b"endobj" || w == b"stream" => {
                        self.i = save;
                        return;
                    }
                    Some(_) => {} // malformed: skip
                }
            },
            Tok::ArrOpen => loop {
                let save = self.i;
                match self.next() {
                    None | Some((Tok::ArrClose, _)) => return,
                    Some((Tok::Word(w), _)) if w == b"endobj" => {
                        self.i = save;
                        return;
                    }
                    Some(_) => {
                        self.i = save;
                        self.value(keys, &mut None, depth + 1);
                    }
                }
            },
            Tok::Int(..) => {
                // `N G R` is one value.
                let save = self.i;
                let is_ref = matches!(self.next(), Some((Tok::Int(..), _)))
                    && matches!(self.next(), Some((Tok::Word(b"R"), _)));
                if !is_ref {
                    self.i = save;
                }
            }
            _ => {}
        }
    }
}

/// A name with `#xx` escapes decoded.
fn decode_name(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && let Some(h) = raw.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(h), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small but well-formed PDF: catalog, pages, one page with a content stream,
    /// an info dictionary, xref table and trailer.
    pub fn sample_pdf() -> Vec<u8> {
        let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let content = b"BT /F1 12 Tf 72 720 Td (Operations summary, June 2020) Tj ET";
        let objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
            [format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(), content, b"\nendstream"].concat(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
            b"<< /Producer (LibreOffice 6.4) /CreationDate (D:20200601090000) /Title (Summary \\(draft\\)) >>".to_vec(),
        ];
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend(o);
            out.extend(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for o in offsets {
            out.extend(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    #[test]
    fn reads_update_keys() {
        let up = read_update(b"\n%% incremental update\n1234 0 obj\n<< /Producer (Acrobat 20.1) /ModDate (D:20200620123456) >>\nendobj\nstartxref\n5678\n%%EOF\n");
        assert_eq!(up.keys, ["/Producer", "/ModDate"]);
        assert_eq!(up.objects.len(), 1);
        assert_eq!((up.objects[0].number, up.objects[0].generation), (1234, 0));
        let pdf = sample_pdf();
        assert!(is_pdf(&pdf) && ends_with_eof(&pdf));
        let all = read_update(&pdf);
        assert_eq!(all.objects.len(), 6);
        assert!(all.objects[3].has_stream);
        assert_eq!(all.objects[0].type_name.as_deref(), Some("/Catalog"));
        assert!(all.keys.contains(&"/Font".to_owned()) && all.keys.contains(&"/F1".to_owned()));
        assert!(
            !all.keys.contains(&"/Root".to_owned()),
            "trailer keys are not object keys"
        );
        assert!(all.has_xref_table && all.has_trailer);
        assert_eq!(decode_name(b"A#20B"), "A B");
        // Malformed input is skipped, not fatal.
        let junk = read_update(b"1 0 obj << /A [ ( ) /B << >> >> >> >> ] ] endobj 2 0 obj ((( <<");
        assert_eq!(junk.objects.len(), 2);
    }
}
