//! A minimal, bounds-checked TIFF IFD reader for EXIF blocks (JPEG APP1 `Exif\0\0`,
//! PNG `eXIf`): enough to say which tags an edit changed, added or removed.

use std::collections::{BTreeMap, BTreeSet};

/// IFDs followed at most.
const MAX_IFDS: usize = 16;
/// Entries read per IFD at most.
const MAX_ENTRIES: usize = 1024;

/// Tags whose values are offsets into the block: they change whenever anything moves,
/// so they are not compared (what they point to is).
const POINTERS: [u16; 5] = [0x8769, 0x8825, 0xA005, 0x0201, 0x0111];

/// `(IFD name, tag)` → the tag's type, count and value bytes.
pub type Tags = BTreeMap<(&'static str, u16), (u16, u32, Vec<u8>)>;

/// Reads the tags of a TIFF block (`II*\0` or `MM\0*`), or `None` if it has no valid
/// header.
pub fn tags(tiff: &[u8]) -> Option<Tags> {
    let le = match tiff.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let r = Reader { d: tiff, le };
    let mut out = Tags::new();
    let mut queue = vec![("IFD0", r.u32(4)? as usize)];
    let mut seen = BTreeSet::new();
    let mut main_ifds = 0;
    while let Some((ifd, off)) = queue.pop() {
        if off == 0 || !seen.insert(off) || seen.len() > MAX_IFDS {
            continue;
        }
        let Some(n) = r.u16(off) else { continue };
        for k in 0..(n as usize).min(MAX_ENTRIES) {
            let e = off + 2 + 12 * k;
            let (Some(tag), Some(ty), Some(count)) = (r.u16(e), r.u16(e + 2), r.u32(e + 4)) else {
                break;
            };
            let size = type_size(ty).saturating_mul(count as usize);
            let value = if size <= 4 {
                tiff.get(e + 8..e + 8 + size).unwrap_or_default().to_vec()
            } else {
                r.u32(e + 8)
                    .and_then(|p| tiff.get(p as usize..(p as usize).checked_add(size)?))
                    .unwrap_or_default()
                    .to_vec()
            };
            match tag {
                0x8769 => queue.push(("Exif", r.u32(e + 8).unwrap_or(0) as usize)),
                0x8825 => queue.push(("GPS", r.u32(e + 8).unwrap_or(0) as usize)),
                0xA005 => queue.push(("Interop", r.u32(e + 8).unwrap_or(0) as usize)),
                _ => {}
            }
            if !POINTERS.contains(&tag) {
                out.insert((ifd, tag), (ty, count, value));
            }
        }
        if ifd == "IFD0" || ifd == "IFD1" {
            main_ifds += 1;
            if main_ifds < 2 {
                let next = r.u32(off + 2 + 12 * n as usize).unwrap_or(0) as usize;
                queue.push(("IFD1", next));
            }
        }
    }
    Some(out)
}

/// "Software, DateTime changed", "GPSLatitude added", "… removed": the differences
/// between two tag sets, at most `max` tags named per kind.
pub fn describe_changes(a: &Tags, b: &Tags, max: usize) -> Vec<String> {
    let mut changed = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => removed.push(tag_name(k.0, k.1)),
            Some(w) if w != v => changed.push(tag_name(k.0, k.1)),
            _ => {}
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            added.push(tag_name(k.0, k.1));
        }
    }
    let mut out = Vec::new();
    for (names, what) in [(changed, "changed"), (added, "added"), (removed, "removed")] {
        if !names.is_empty() {
            out.push(format!(
                "{} {what}",
                super::super::words::capped_list(&names, max, "tags")
            ));
        }
    }
    out
}

/// The EXIF tag name, or `IFD:0xTAG`.
pub fn tag_name(ifd: &str, tag: u16) -> String {
    let name = match (ifd, tag) {
        ("GPS", 0x00) => "GPSVersionID",
        ("GPS", 0x01) => "GPSLatitudeRef",
        ("GPS", 0x02) => "GPSLatitude",
        ("GPS", 0x03) => "GPSLongitudeRef",
        ("GPS", 0x04) => "GPSLongitude",
        ("GPS", 0x05) => "GPSAltitudeRef",
        ("GPS", 0x06) => "GPSAltitude",
        ("GPS", 0x07) => "GPSTimeStamp",
        ("GPS", 0x1D) => "GPSDateStamp",
        ("GPS", _) => "",
        (_, 0x010E) => "ImageDescription",
        (_, 0x010F) => "Make",
        (_, 0x0110) => "Model",
        (_, 0x0112) => "Orientation",
        (_, 0x011A) => "XResolution",
        (_, 0x011B) => "YResolution",
        (_, 0x0128) => "ResolutionUnit",
        (_, 0x0131) => "Software",
        (_, 0x0132) => "DateTime",
        (_, 0x013B) => "Artist",
        (_, 0x0202) => "ThumbnailLength",
        (_, 0x0213) => "YCbCrPositioning",
        (_, 0x8298) => "Copyright",
        (_, 0x829A) => "ExposureTime",
        (_, 0x829D) => "FNumber",
        (_, 0x8827) => "ISO",
        (_, 0x9000) => "ExifVersion",
        (_, 0x9003) => "DateTimeOriginal",
        (_, 0x9004) => "DateTimeDigitized",
        (_, 0x9010) => "OffsetTime",
        (_, 0x920A) => "FocalLength",
        (_, 0x927C) => "MakerNote",
        (_, 0x9286) => "UserComment",
        (_, 0xA002) => "PixelXDimension",
        (_, 0xA003) => "PixelYDimension",
        (_, 0xA420) => "ImageUniqueID",
        (_, 0xA430) => "CameraOwnerName",
        (_, 0xA431) => "BodySerialNumber",
        (_, 0xA434) => "LensModel",
        _ => "",
    };
    if name.is_empty() {
        format!("{ifd}:0x{tag:04X}")
    } else {
        name.to_owned()
    }
}

fn type_size(ty: u16) -> usize {
    match ty {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 => 4,
        5 | 10 | 12 => 8,
        _ => 0,
    }
}

struct Reader<'a> {
    d: &'a [u8],
    le: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.d.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.d.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little-endian EXIF block: IFD0 with Make, Software and DateTime, plus a GPS
    /// IFD with latitude when `gps`.
    pub fn exif(software: &str, gps: bool) -> Vec<u8> {
        let mut entries: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (0x010F, 2, 6, b"Canon\0".to_vec()),
            (
                0x0131,
                2,
                software.len() as u32 + 1,
                [software.as_bytes(), b"\0"].concat(),
            ),
            (0x0132, 2, 20, b"2020:06:19 10:00:00\0".to_vec()),
        ];
        if gps {
            entries.push((0x8825, 4, 1, vec![]));
        }
        let ifd0 = 8usize;
        let ifd_len = |n: usize| 2 + 12 * n + 4;
        let mut data_at = ifd0 + ifd_len(entries.len());
        let gps_at = data_at
            + entries
                .iter()
                .map(|e| if e.3.len() > 4 { e.3.len() } else { 0 })
                .sum::<usize>();
        let mut head = b"II*\0".to_vec();
        head.extend(8u32.to_le_bytes());
        let mut ifd = (entries.len() as u16).to_le_bytes().to_vec();
        let mut blob = Vec::new();
        for (tag, ty, count, value) in &entries {
            ifd.extend(tag.to_le_bytes());
            ifd.extend(ty.to_le_bytes());
            ifd.extend(count.to_le_bytes());
            if *tag == 0x8825 {
                ifd.extend((gps_at as u32).to_le_bytes());
            } else if value.len() > 4 {
                ifd.extend((data_at as u32).to_le_bytes());
                blob.extend(value);
                data_at += value.len();
            } else {
                let mut v = value.clone();
                v.resize(4, 0);
                ifd.extend(v);
            }
        }
        ifd.extend(0u32.to_le_bytes());
        let mut out = [head, ifd, blob].concat();
        if gps {
            let lat_at = gps_at + ifd_len(2);
            out.extend(2u16.to_le_bytes());
            out.extend([1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
            out.extend([2, 0, 5, 0, 3, 0, 0, 0]);
            out.extend((lat_at as u32).to_le_bytes());
            out.extend(0u32.to_le_bytes());
            for v in [30u32, 1, 15, 1, 0, 1] {
                out.extend(v.to_le_bytes());
            }
        }
        out
    }

    #[test]
    fn reads_and_compares_tags() {
        let a = tags(&exif("GIMP 2.10", true)).unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!(a[&("IFD0", 0x0131)].2, b"GIMP 2.10\0");
        assert_eq!(a[&("GPS", 2)].2.len(), 24);
        let b = tags(&exif("Photoshop", false)).unwrap();
        assert_eq!(
            describe_changes(&a, &b, 5),
            vec!["Software changed", "GPSLatitudeRef and GPSLatitude removed"]
        );
        assert!(tags(b"II*\0\xff\xff\xff\xff").unwrap().is_empty());
        assert!(tags(b"XX").is_none());
    }
}
