//! A minimal, bounds-checked PNG chunk walker with CRC checks.

use std::ops::Range;

pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// One chunk: its type, its bytes in the file (length, type, data and CRC) and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub ty: [u8; 4],
    pub range: Range<usize>,
    pub data: Range<usize>,
    pub crc_ok: bool,
}

impl Chunk {
    /// Critical chunks (IHDR, PLTE, IDAT, IEND…) have an upper-case first letter.
    pub fn is_critical(&self) -> bool {
        self.ty[0].is_ascii_uppercase()
    }

    pub fn type_name(&self) -> String {
        String::from_utf8_lossy(&self.ty).into_owned()
    }

    /// "tEXt 'Comment'" for text chunks (with their keyword), else the type.
    pub fn label(&self, file: &[u8]) -> String {
        let name = self.type_name();
        match &self.ty {
            b"tEXt" | b"zTXt" | b"iTXt" => {
                let d = &file[self.data.clone()];
                let kw = &d[..d.iter().position(|&b| b == 0).unwrap_or(d.len()).min(79)];
                format!("{name} '{}'", String::from_utf8_lossy(kw))
            }
            _ => name,
        }
    }

    /// The text of a tEXt chunk, or of an uncompressed iTXt chunk.
    pub fn text(&self, file: &[u8]) -> Option<Vec<u8>> {
        let d = &file[self.data.clone()];
        let nul = d.iter().position(|&b| b == 0)?;
        match &self.ty {
            b"tEXt" => Some(d[nul + 1..].to_vec()),
            b"iTXt" => {
                let rest = d.get(nul + 1..)?;
                let (flag, rest) = (*rest.first()?, rest.get(2..)?);
                let lang_end = rest.iter().position(|&b| b == 0)?;
                let rest = &rest[lang_end + 1..];
                let kw_end = rest.iter().position(|&b| b == 0)?;
                (flag == 0).then(|| rest[kw_end + 1..].to_vec())
            }
            _ => None,
        }
    }
}

pub fn is_png(data: &[u8]) -> bool {
    data.starts_with(SIGNATURE)
}

/// The chunks of a PNG up to and including IEND, and the range of any bytes after
/// it; `None` if it is not a PNG or a chunk runs past the end.
pub fn chunks(data: &[u8]) -> Option<(Vec<Chunk>, Range<usize>)> {
    if !is_png(data) {
        return None;
    }
    let mut out = Vec::new();
    let mut i = SIGNATURE.len();
    while i < data.len() {
        let len = u32::from_be_bytes(data.get(i..i + 4)?.try_into().ok()?) as usize;
        let ty: [u8; 4] = data.get(i + 4..i + 8)?.try_into().ok()?;
        let data_end = (i + 8).checked_add(len)?;
        let end = data_end.checked_add(4)?;
        let crc = u32::from_be_bytes(data.get(data_end..end)?.try_into().ok()?);
        let crc_ok = crc32(&data[i + 4..data_end]) == crc;
        out.push(Chunk {
            ty,
            range: i..end,
            data: i + 8..data_end,
            crc_ok,
        });
        i = end;
        if &ty == b"IEND" {
            break;
        }
    }
    Some((out, i..data.len()))
}

/// CRC-32 (ISO 3309, as PNG uses it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

static CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[n] = c;
        n += 1;
    }
    t
};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(ty);
        v.extend_from_slice(data);
        v.extend(crc32(&v[4..]).to_be_bytes());
        v
    }

    /// IHDR, [before], tEXt Software, IDAT ×2, [after], IEND.
    pub fn sample_png(before: &[Vec<u8>], after: &[Vec<u8>]) -> Vec<u8> {
        let mut v = SIGNATURE.to_vec();
        v.extend(chunk(b"IHDR", &[0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0]));
        for c in before {
            v.extend_from_slice(c);
        }
        v.extend(chunk(b"tEXt", b"Software\0custody test"));
        let idat: Vec<u8> = (0..400u32).map(|i| (i * 73 % 256) as u8).collect();
        v.extend(chunk(b"IDAT", &idat[..250]));
        v.extend(chunk(b"IDAT", &idat[250..]));
        for c in after {
            v.extend_from_slice(c);
        }
        v.extend(chunk(b"IEND", b""));
        v
    }

    #[test]
    fn walks_chunks_and_checks_crcs() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        let p = sample_png(&[], &[]);
        let (c, trailer) = chunks(&p).unwrap();
        let types: Vec<String> = c.iter().map(Chunk::type_name).collect();
        assert_eq!(types, ["IHDR", "tEXt", "IDAT", "IDAT", "IEND"]);
        assert!(c.iter().all(|c| c.crc_ok));
        assert!(trailer.is_empty());
        assert_eq!(c[1].label(&p), "tEXt 'Software'");
        assert_eq!(c[1].text(&p).unwrap(), b"custody test");
        assert!(!c[1].is_critical() && c[0].is_critical());
        let mut bad = p.clone();
        bad[c[1].data.start] ^= 1;
        assert!(!chunks(&bad).unwrap().0[1].crc_ok);
        assert!(chunks(&p[..40]).is_none());
        let itxt = chunk(b"iTXt", b"Comment\0\0\0en\0\0hello");
        let (c, _) = chunks(&sample_png(&[itxt], &[])).unwrap();
        assert_eq!(
            c[1].text(&sample_png(
                &[chunk(b"iTXt", b"Comment\0\0\0en\0\0hello")],
                &[]
            ))
            .unwrap(),
            b"hello"
        );
    }
}
