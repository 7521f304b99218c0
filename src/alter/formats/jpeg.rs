//! A minimal, bounds-checked JPEG segment walker: markers, their lengths, the
//! entropy-coded data after each SOS, and whatever follows EOI.

use std::ops::Range;

/// Pseudo-marker for entropy-coded data after an SOS segment.
pub const ENTROPY: u16 = 0x100;
/// Pseudo-marker for bytes after EOI.
pub const TRAILER: u16 = 0x101;

pub const SOI: u16 = 0xD8;
pub const EOI: u16 = 0xD9;
pub const SOS: u16 = 0xDA;
pub const COM: u16 = 0xFE;

/// One segment: its marker (the byte after `FF`, or [`ENTROPY`]/[`TRAILER`]) and its
/// bytes in the file, marker included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub marker: u16,
    pub range: Range<usize>,
}

impl Segment {
    /// APPn or COM: segments that carry metadata, not the image.
    pub fn is_metadata(&self) -> bool {
        matches!(self.marker, 0xE0..=0xEF) || self.marker == COM
    }

    /// The payload after the marker and length bytes.
    pub fn payload<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        let r = &data[self.range.clone()];
        if self.marker >= ENTROPY || r.len() < 4 {
            return if self.marker >= ENTROPY { r } else { &[] };
        }
        &r[4..]
    }

    /// A name for a person: "EXIF (APP1)", "comment (COM)", "DQT"…
    pub fn label(&self, data: &[u8]) -> String {
        let p = self.payload(data);
        let app = |name: &str| format!("{name} (APP{})", self.marker - 0xE0);
        match self.marker {
            0xE0 if p.starts_with(b"JFIF\0") => app("JFIF"),
            0xE0 if p.starts_with(b"JFXX\0") => app("JFXX"),
            0xE1 if p.starts_with(b"Exif\0") => app("EXIF"),
            0xE1 if p.starts_with(b"http://ns.adobe.com/xap/1.0/\0") => app("XMP"),
            0xE1 if p.starts_with(b"http://ns.adobe.com/xmp/extension/\0") => app("extended XMP"),
            0xE2 if p.starts_with(b"ICC_PROFILE\0") => app("ICC profile"),
            0xE2 if p.starts_with(b"MPF\0") => app("MPF"),
            0xED if p.starts_with(b"Photoshop 3.0\0") => app("Photoshop/IPTC"),
            0xEE if p.starts_with(b"Adobe") => app("Adobe"),
            0xE0..=0xEF => format!("APP{}", self.marker - 0xE0),
            COM => "comment (COM)".to_owned(),
            0xDB => "DQT".to_owned(),
            0xC4 => "DHT".to_owned(),
            0xDD => "DRI".to_owned(),
            0xC0..=0xCF => format!("SOF{}", self.marker - 0xC0),
            SOS => "SOS".to_owned(),
            SOI => "SOI".to_owned(),
            EOI => "EOI".to_owned(),
            ENTROPY => "entropy-coded data".to_owned(),
            TRAILER => "data after EOI".to_owned(),
            m => format!("marker 0xFF{m:02X}"),
        }
    }
}

/// Whether `data` starts like a JPEG (SOI then another marker).
pub fn is_jpeg(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// The segments of a JPEG, or `None` if it is not one or a segment runs past the end.
/// A file that stops without EOI (but between segments) is accepted.
pub fn segments(data: &[u8]) -> Option<Vec<Segment>> {
    if !is_jpeg(data) {
        return None;
    }
    let mut out = vec![Segment {
        marker: SOI,
        range: 0..2,
    }];
    let mut i = 2;
    while i < data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let mut j = i + 1;
        while j < data.len() && data[j] == 0xFF {
            j += 1; // fill bytes
        }
        let m = *data.get(j)?;
        match m {
            0x00 => return None,
            0xD9 => {
                out.push(Segment {
                    marker: EOI,
                    range: i..j + 1,
                });
                if j + 1 < data.len() {
                    out.push(Segment {
                        marker: TRAILER,
                        range: j + 1..data.len(),
                    });
                }
                return Some(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.push(Segment {
                    marker: m.into(),
                    range: i..j + 1,
                });
                i = j + 1;
            }
            _ => {
                let len = u16::from_be_bytes([*data.get(j + 1)?, *data.get(j + 2)?]) as usize;
                if len < 2 {
                    return None;
                }
                let end = j + 1 + len;
                if end > data.len() {
                    return None;
                }
                out.push(Segment {
                    marker: m.into(),
                    range: i..end,
                });
                i = end;
                if m == 0xDA {
                    let e = entropy_end(data, i);
                    if e > i {
                        out.push(Segment {
                            marker: ENTROPY,
                            range: i..e,
                        });
                    }
                    i = e;
                }
            }
        }
    }
    Some(out)
}

/// Where entropy-coded data starting at `i` ends: at the first `FF` that is not a
/// stuffed `FF 00` or a restart marker `FF D0`–`FF D7`.
fn entropy_end(data: &[u8], mut i: usize) -> usize {
    while let Some(p) = data[i..].iter().position(|&b| b == 0xFF) {
        let k = i + p;
        match data.get(k + 1) {
            Some(0x00) | Some(0xD0..=0xD7) => i = k + 2,
            Some(_) => return k,
            None => return data.len(),
        }
    }
    data.len()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// A small JPEG byte structure: SOI, APP0 JFIF, [extra], DQT, SOF0, DHT, SOS,
    /// entropy data with stuffing and a restart marker, EOI.
    pub fn sample_jpeg(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend(seg(0xE0, b"JFIF\0\x01\x01\x00\x00\x48\x00\x48\x00\x00"));
        for e in extra {
            v.extend_from_slice(e);
        }
        let dqt: Vec<u8> = std::iter::once(0u8)
            .chain((1..=64).map(|i| i as u8))
            .collect();
        v.extend(seg(0xDB, &dqt));
        v.extend(seg(
            0xC0,
            &[8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
        ));
        v.extend(seg(
            0xC4,
            &[
                0, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                10, 11,
            ],
        ));
        v.extend(seg(0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0]));
        // No 0xFF in the data (values stay below 251) but a stuffed FF 00 and a
        // restart marker.
        let mut entropy: Vec<u8> = (0..600u32).map(|i| (i * 37 % 251) as u8).collect();
        entropy[100..102].copy_from_slice(&[0xFF, 0x00]);
        entropy[300..302].copy_from_slice(&[0xFF, 0xD0]);
        v.extend(entropy);
        v.extend([0xFF, 0xD9]);
        v
    }

    #[test]
    fn walks_segments() {
        let j = sample_jpeg(&[seg(0xFE, b"hello")]);
        let s = segments(&j).unwrap();
        let markers: Vec<u16> = s.iter().map(|s| s.marker).collect();
        assert_eq!(
            markers,
            vec![SOI, 0xE0, COM, 0xDB, 0xC0, 0xC4, SOS, ENTROPY, EOI]
        );
        assert_eq!(s[1].label(&j), "JFIF (APP0)");
        assert_eq!(s[2].payload(&j), b"hello");
        assert_eq!(s[7].range.len(), 600);
        let mut t = j.clone();
        t.extend_from_slice(b"tail");
        assert_eq!(segments(&t).unwrap().last().unwrap().marker, TRAILER);
        assert!(segments(&j[..30]).is_none());
        assert!(segments(b"\xFF\xD8\xFF").is_none());
    }
}
