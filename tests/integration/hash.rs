//! `custody hash` prints what b3sum prints, checked against the blake3 crate.

use std::fs::File;
use std::io::Write;

use crate::common::*;

fn expected(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

#[test]
fn matches_blake3_on_many_sizes() {
    let s = Scratch::new();
    let sizes = [
        0usize,
        1,
        63,
        64,
        1023,
        1024,
        1025,
        2048,
        65535,
        65536,
        65537,
        1 << 20,
        (3 << 20) + 7,
    ];
    let mut args = vec!["hash".to_string()];
    let mut want = String::new();
    for n in sizes {
        let data = custody::ops::demo::pseudo_random(&format!("hash {n}"), n);
        let p = s.path().join(format!("f{n}"));
        std::fs::write(&p, &data).unwrap();
        want += &format!("{}  {}\n", expected(&data), p.display());
        args.push(p.display().to_string());
    }
    let a: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
    assert_eq!(s.ok(&a), want);
}

#[test]
fn stdin_and_escaped_names() {
    let s = Scratch::new();
    let o = s
        .cmd()
        .args(["hash", "-"])
        .write_stdin("hello\n")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), format!("{}  -\n", expected(b"hello\n")));
    let p = s.path().join("a\nb");
    std::fs::write(&p, b"x").unwrap();
    let out = s.ok(&["hash", p.to_str().unwrap()]);
    assert_eq!(
        out,
        format!(
            "\\{}  {}\n",
            expected(b"x"),
            p.display().to_string().replace('\n', "\\n")
        )
    );
}

/// A multi-GB sparse file: more than 4 GiB, so any 32-bit length would wrap.
#[test]
fn multi_gb_sparse_file() {
    let s = Scratch::new();
    let p = s.path().join("sparse");
    let len: u64 = (4 << 30) + 12345;
    {
        let mut f = File::create(&p).unwrap();
        f.set_len(len - 5).unwrap();
        use std::io::Seek;
        f.seek(std::io::SeekFrom::End(0)).unwrap();
        f.write_all(b"tail!").unwrap();
    }
    let mut h = blake3::Hasher::new();
    let zeros = vec![0u8; 1 << 20];
    let mut left = len - 5;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        h.update_rayon(&zeros[..n]);
        left -= n as u64;
    }
    h.update(b"tail!");
    let out = s.ok(&["hash", p.to_str().unwrap()]);
    assert_eq!(out, format!("{}  {}\n", h.finalize().to_hex(), p.display()));
}
