//! Archive readers (zip, tar, tar.gz, nested) on arbitrary bytes: a list of members
//! or a problem, never a panic, and members never longer than they declared.
#![no_main]

use std::io::{Seek, SeekFrom, Write};

use custody::archive::{ArchiveKind, Limits, read_members};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let kind = match which % 3 {
        0 => ArchiveKind::Zip,
        1 => ArchiveKind::Tar,
        _ => ArchiveKind::TarGz,
    };
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let limits = Limits {
        max_total_bytes: 16 << 20,
        ..Limits::default()
    };
    let _ = read_members(&mut f, kind, &limits, &mut |m, r| {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        assert!(v.len() as u64 <= m.size);
        Ok(())
    });
});
