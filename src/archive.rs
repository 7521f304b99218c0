//! Members of zip, tar and tar.gz files found in a leak, read without trusting them.
//!
//! custody stores an archive file byte-exact like any other file and, in addition,
//! indexes its members as entries of their own (`dir/a.zip!/inner/doc.pdf`), so a
//! document inside an archive can be found, deduplicated and proved like one outside.
//! Leaks contain hostile archives (path traversal, symlinks, bombs, overlapping zip
//! entries, parser-confusing structures), so this module:
//!
//! - never writes anything to disk except an anonymous, already-unlinked temporary file
//!   (`tempfile::tempfile`) holding a nested archive while it is read;
//! - bounds memory (no buffer grows with a size the archive declares; what is kept per
//!   member is its name and a few numbers, and the member count is limited) and work
//!   (every decompressed byte counts against [`Limits`]);
//! - never panics on input: all parsing is checked, and the third-party decoders are
//!   additionally run under `catch_unwind` so a bug in one becomes
//!   [`ArchiveProblem::Broken`] instead of a crash;
//! - treats any doubt as a problem of the whole archive. The caller then keeps the
//!   archive as a plain file and warns; nothing is lost, because the archive's bytes
//!   are stored either way. Indexing is a convenience, exactness is not negotiable.
//!
//! # Zip
//!
//! The central directory is parsed here, not by `zip::ZipArchive`, so that its size is
//! checked against the limits before anything is allocated for it and so that every
//! check runs before the first member is handed out: names, flags (encryption),
//! compression methods, file types, declared sizes and ratios, duplicates, and the
//! local headers, whose byte ranges must not overlap (overlapping ranges are how
//! Fifield's non-recursive zip bombs reach 10⁶:1) and must agree with the central
//! directory. Only then is each member decompressed, by the `zip` crate's streaming
//! reader confined to that member's byte range, with the central directory's sizes and
//! CRC forced on it; the zip crate's own `enclosed_name()` is consulted as a second
//! opinion on every name.
//!
//! # Tar
//!
//! Tar is read as a stream (`tar::Archive::entries` in raw mode, through
//! `flate2::read::MultiGzDecoder` for .tar.gz, which is read to the end of the gzip
//! stream so its checksum is checked; data after the gzip stream makes the archive
//! broken). GNU long names and pax headers are interpreted here, with their size
//! bounded, rather than by the tar crate, which would read them into memory whatever
//! their declared size. A tar cannot be validated before its members are read, so
//! problems may surface after some callbacks; the caller discards what it collected
//! when [`read_members`] fails.
//!
//! # Nesting
//!
//! A member that is itself an archive (by [`detect`]) is reported as a member and, when
//! [`Limits::max_depth`] allows, copied to a private temporary file while the callback
//! reads it, then read in turn with its path as prefix (`a.zip!/b.tar!/c.txt`). A nested
//! archive beyond `max_depth`, or larger than [`Limits::max_spool_bytes`], is an ordinary
//! member: it is stored exactly, just not opened. That is deliberate: depth limits
//! protect custody, they do not say anything is wrong with the archive, so they must not
//! make the archive opaque. [`ArchiveProblem::TooDeep`] is reserved for the hard ceiling
//! [`MAX_NESTING_DEPTH`], which applies whatever `max_depth` a caller configures and
//! keeps a self-containing archive (a zip quine) from recursing without end.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use crate::paths::{ARCHIVE_SEPARATOR, EntryPath, escape_bytes};

/// Separator between an archive's path and a member path inside it. The same constant
/// as [`crate::paths::ARCHIVE_SEPARATOR`], re-exported so callers of this module need
/// not know where it lives.
pub const MEMBER_SEPARATOR: &[u8] = ARCHIVE_SEPARATOR;

/// Hard ceiling on archive nesting, whatever [`Limits::max_depth`] says. Each level
/// holds a temporary file and a stack frame; a zip that contains itself would
/// otherwise recurse until the byte limit, thousands of levels down.
pub const MAX_NESTING_DEPTH: u32 = 16;

/// Ratios are only checked once this many bytes would be produced. Small members of
/// repetitive text routinely compress better than 1000:1 (a 100 KiB run of spaces) and
/// cannot hurt anyone; the total limit bounds what many of them add up to.
pub const RATIO_MIN_BYTES: u64 = 1 << 20;

/// How many leading bytes of a member [`detect`] gets to decide whether it is an
/// archive (the tar magic sits at offset 257).
const HEAD_LEN: usize = 512;

/// Largest pax extended header accepted; real ones are a few hundred bytes.
const MAX_PAX_BYTES: u64 = 1 << 20;

/// Largest LZMA dictionary a zip member may make the decoder allocate. 7-Zip's
/// strongest preset uses 64 MiB; zstd's decoder refuses windows above 128 MiB by default,
/// so this keeps both decoders under the same bound.
const MAX_LZMA_DICT: u64 = 128 << 20;

/// Largest zip central directory read. Everything custody keeps about a zip's members
/// comes from it, so this bounds that memory; real directories are about 200 bytes a
/// member, so this is far above what [`Limits::max_members`] lets through anyway.
const MAX_CENTRAL_DIRECTORY: u64 = 256 << 20;

/// Memory the table of member paths may use (see [`Namespace`]), counting each distinct
/// path component with a fixed overhead: bounds hostile names (100,000 members of 8,000
/// one-letter components each) that stay within every other limit.
const MAX_NAMESPACE_BYTES: u64 = 256 << 20;
const NAMESPACE_NODE_COST: u64 = 64;

/// Zip compression methods the `zip` crate is built with here: stored, deflate,
/// deflate64, bzip2, lzma, zstd.
const ZIP_METHODS: [u16; 6] = [0, 8, 9, 12, 14, 93];

const ZIP_LOCAL_SIG: [u8; 4] = *b"PK\x03\x04";
const ZIP_CENTRAL_SIG: [u8; 4] = *b"PK\x01\x02";
const ZIP_END_SIG: [u8; 4] = *b"PK\x05\x06";
const ZIP64_END_SIG: [u8; 4] = *b"PK\x06\x06";
const ZIP64_LOCATOR_SIG: [u8; 4] = *b"PK\x06\x07";

/// The archive formats custody looks inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
}

/// Whether a file is an archive custody should look inside, and which kind.
///
/// Both the name and the content must agree: the name (case-insensitive `.zip`,
/// `.tar`, `.tar.gz`, `.tgz`) because many formats are zips underneath (docx, xlsx,
/// jar, epub, odt) and must stay documents, not become directories; the magic bytes of
/// `head` (the first bytes of the content, at least 512 when the file has them) because
/// a name alone proves nothing. Tar files without the `ustar` magic (pre-POSIX v7) are
/// not recognised and stay plain files.
pub fn detect(name: &[u8], head: &[u8]) -> Option<ArchiveKind> {
    let kind = kind_by_name(name)?;
    let magic = match kind {
        ArchiveKind::Zip => head.starts_with(&ZIP_LOCAL_SIG) || head.starts_with(&ZIP_END_SIG),
        ArchiveKind::TarGz => head.starts_with(&[0x1f, 0x8b]),
        ArchiveKind::Tar => head.get(257..262) == Some(&b"ustar"[..]),
    };
    magic.then_some(kind)
}

/// The kind an archive's name claims, from its last path component.
fn kind_by_name(name: &[u8]) -> Option<ArchiveKind> {
    let file = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    let has = |suffix: &[u8]| {
        file.len() > suffix.len()
            && file
                .get(file.len() - suffix.len()..)
                .is_some_and(|s| s.eq_ignore_ascii_case(suffix))
    };
    if has(b".tar.gz") || has(b".tgz") {
        Some(ArchiveKind::TarGz)
    } else if has(b".tar") {
        Some(ArchiveKind::Tar)
    } else if has(b".zip") {
        Some(ArchiveKind::Zip)
    } else {
        None
    }
}

/// Bounds on the work one archive (with everything nested in it) may cause.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How deep to open nested archives: 0 reads only the members of the archive
    /// itself; 2 (the default) still indexes `a.zip!/b.zip!/c.zip!/x`. Deeper archives
    /// are reported as plain members (see the module docs).
    pub max_depth: u32,
    /// Members (files and directories) of the archive, nested ones included.
    pub max_members: u64,
    /// Decompressed bytes of all members, nested ones included (a nested archive's
    /// members count in addition to the nested archive itself).
    pub max_total_bytes: u64,
    /// Largest decompressed/compressed ratio of one member (zip) and of a whole
    /// archive (declared member bytes against the zip's size; the decompressed stream
    /// against the .tar.gz's size). Only checked above [`RATIO_MIN_BYTES`].
    pub max_ratio: u64,
    /// Largest nested archive copied to a temporary file to be opened; a larger one is
    /// a plain member.
    pub max_spool_bytes: u64,
}

impl Default for Limits {
    /// Generous for real leaks (100,000 members, 16 GiB, nesting two levels deep),
    /// small enough that a hostile archive costs seconds and no more than 16 GiB of
    /// decompression. Deflate cannot exceed about 1032:1, so the 1000:1 ratio only
    /// stops data that is almost entirely one repeated byte, which is what bombs are.
    fn default() -> Self {
        Self {
            max_depth: 2,
            max_members: 100_000,
            max_total_bytes: 16 << 30,
            max_ratio: 1_000,
            max_spool_bytes: 1 << 30,
        }
    }
}

/// One regular-file member, as handed to the callback of [`read_members`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Path inside the outermost archive; a nested member's path goes through the
    /// nested archive's path (`inner.zip!/x/y`). The name's bytes as stored, normalised
    /// but not transcoded: zip names without the UTF-8 flag stay in whatever code page
    /// wrote them, as custody keeps every name byte-exact.
    pub path: EntryPath,
    /// Declared uncompressed size; the reader yields exactly this many bytes or fails.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch; best effort, 0 if unknown. Zip
    /// DOS times carry no zone and are taken as UTC; the Unix and NTFS extra fields,
    /// when present, are used instead.
    pub mtime_ns: i64,
    /// Permission bits (`0o777` at most: set-id bits are dropped), 0o644 if unknown.
    pub mode: u32,
    /// Nesting: 0 for members of the archive itself, 1 inside a nested archive, ...
    pub depth: u32,
}

/// Why an archive cannot be indexed. The caller keeps the archive as a plain file and
/// records this as a warning next to the archive's own path; the text names the member
/// (escaped like every custody path) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveProblem {
    /// A member name that is absolute, has `..`, `.` or empty components, a NUL byte or
    /// a drive letter, or is too long, once normalised.
    #[error("unsafe member path {0}")]
    UnsafePath(String),
    #[error("symbolic link member {0}")]
    SymlinkMember(String),
    /// Hard link, device, FIFO or socket.
    #[error("special member {0}")]
    SpecialMember(String),
    #[error("encrypted member {0}")]
    Encrypted(String),
    /// A ratio or the total size exceeded, or a member producing more than it declared.
    #[error("decompression bomb: {0}")]
    Bomb(String),
    /// The number is the limit that was exceeded.
    #[error("more than {0} members (nested archives included)")]
    TooManyMembers(u64),
    #[error("archives nested more than {MAX_NESTING_DEPTH} deep at {0}")]
    TooDeep(String),
    /// Zip members whose local byte ranges overlap.
    #[error("overlapping members {0}")]
    Overlapping(String),
    /// Two members with the same path, or a path that is both a file and a directory.
    #[error("duplicate member path {0}")]
    Duplicate(String),
    /// Unreadable structure: bad central directory, truncation, checksum mismatch,
    /// decoder error, headers that disagree.
    #[error("damaged archive: {0}")]
    Broken(String),
    /// A valid feature custody cannot read (compression method, multi-disk, sparse).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading the archive or writing the temporary file failed, or the callback did.
    #[error("I/O error: {0}")]
    Io(String),
}

/// What [`read_members`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// Regular-file members reported, nested ones included.
    pub members: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Nested archives opened.
    pub nested: u64,
}

/// The callback of [`read_members`].
type OnMember<'c> = dyn FnMut(&Member, &mut dyn Read) -> io::Result<()> + 'c;

/// Reads the archive in `file` (from its start, whatever its position) and hands each
/// regular-file member, in archive order, to `on_member` with a reader of exactly its
/// bytes.
///
/// Everything that can be checked before reading data is checked first (for zip the
/// whole central directory and every local header), so a hostile zip is refused before
/// any callback. The reader given to the callback fails, rather than yield a byte too
/// many, when a member decompresses to more than declared or a limit is reached; what
/// the callback leaves unread is read (and checked) after it returns. Directories are
/// not reported. A member that is an archive is reported, then opened (see the module
/// docs for nesting).
///
/// Returns the first problem found. Callbacks may already have run by then (a tar
/// stream, a damaged member late in a zip); the caller must discard what it collected.
/// An error returned by the callback stops the read and comes back as
/// [`ArchiveProblem::Io`], unless it came from the member reader, in which case the
/// reader's own problem is returned.
pub fn read_members(
    file: &mut File,
    kind: ArchiveKind,
    limits: &Limits,
    on_member: &mut dyn FnMut(&Member, &mut dyn Read) -> io::Result<()>,
) -> Result<ArchiveSummary, ArchiveProblem> {
    let mut ctx = Ctx {
        limits: *limits,
        summary: ArchiveSummary::default(),
        entries: 0,
        reserved: 0,
        names: Namespace::default(),
        on_member,
    };
    read_archive(&mut ctx, file, kind, &[], 0)?;
    Ok(ctx.summary)
}

/// State shared by an archive and everything nested in it.
struct Ctx<'c> {
    limits: Limits,
    summary: ArchiveSummary,
    /// Members (files and directories) seen, for `max_members`.
    entries: u64,
    /// Decompressed bytes promised so far (declared sizes), for `max_total_bytes`.
    reserved: u64,
    /// Every path of the outermost archive's namespace, nested members included, so a
    /// nested member cannot collide with a literal `x.zip!/y` member either.
    names: Namespace,
    on_member: &'c mut OnMember<'c>,
}

impl Ctx<'_> {
    fn count_entries(&mut self, n: u64) -> Result<(), ArchiveProblem> {
        let total = self.entries.saturating_add(n);
        if total > self.limits.max_members {
            return Err(ArchiveProblem::TooManyMembers(self.limits.max_members));
        }
        self.entries = total;
        Ok(())
    }

    fn reserve(&mut self, bytes: u64, what: &str) -> Result<(), ArchiveProblem> {
        let total = self.reserved.saturating_add(bytes);
        if total > self.limits.max_total_bytes {
            return Err(ArchiveProblem::Bomb(format!(
                "{what}: members add up to more than {} bytes",
                self.limits.max_total_bytes
            )));
        }
        self.reserved = total;
        Ok(())
    }

    fn over_ratio(&self, out: u64, input: u64) -> bool {
        out > RATIO_MIN_BYTES
            && u128::from(out) > u128::from(input.max(1)) * u128::from(self.limits.max_ratio)
    }
}

fn read_archive(
    ctx: &mut Ctx<'_>,
    file: &mut File,
    kind: ArchiveKind,
    prefix: &[u8],
    level: u32,
) -> Result<(), ArchiveProblem> {
    match kind {
        ArchiveKind::Zip => read_zip(ctx, file, prefix, level),
        ArchiveKind::Tar => read_tar(ctx, file, false, prefix, level),
        ArchiveKind::TarGz => read_tar(ctx, file, true, prefix, level),
    }
}

/// Hands one member to the callback, then opens it if it is a nested archive.
fn emit(ctx: &mut Ctx<'_>, member: Member, inner: &mut dyn Read) -> Result<(), ArchiveProblem> {
    let name = member.path.escaped();
    let level = member.depth;
    let mut reader = MemberReader::new(inner, member.size, name.clone());
    let mut nested = None;
    if level < ctx.limits.max_depth
        && member.size <= ctx.limits.max_spool_bytes
        && kind_by_name(member.path.file_name()).is_some()
    {
        reader.fill_head(HEAD_LEN)?;
        if let Some(kind) = detect(member.path.file_name(), &reader.head) {
            if level >= MAX_NESTING_DEPTH {
                return Err(ArchiveProblem::TooDeep(name));
            }
            let spool = tempfile::tempfile().map_err(|e| {
                ArchiveProblem::Io(format!("{name}: cannot create a temporary file: {e}"))
            })?;
            reader.start_spool(spool)?;
            nested = Some(kind);
        }
    }
    let result = (ctx.on_member)(&member, &mut reader);
    if let Some(p) = reader.problem.take() {
        return Err(p);
    }
    if let Err(e) = result {
        return Err(ArchiveProblem::Io(format!("{name}: {e}")));
    }
    reader.drain()?;
    ctx.summary.members += 1;
    ctx.summary.bytes = ctx.summary.bytes.saturating_add(member.size);
    if let (Some(kind), Some(mut spool)) = (nested, reader.spool.take()) {
        spool
            .seek(SeekFrom::Start(0))
            .map_err(|e| ArchiveProblem::Io(format!("{name}: temporary file: {e}")))?;
        ctx.summary.nested += 1;
        let mut prefix = member.path.into_bytes();
        prefix.extend_from_slice(MEMBER_SEPARATOR);
        read_archive(ctx, &mut spool, kind, &prefix, level + 1)?;
    }
    Ok(())
}

/// The reader handed to the callback: exactly `declared` bytes of a member, never more.
///
/// It asks the decoder for no more than what is left of the declared size; once that
/// is delivered it reads once more, which must report the end (that is also when the
/// zip reader checks the CRC). A decoder that ends early is truncation, one that has
/// more is a bomb. A problem is remembered, so it is reported even if the callback
/// swallows the error. Bytes may be teed to the spool file of a nested archive.
struct MemberReader<'r> {
    inner: &'r mut dyn Read,
    name: String,
    declared: u64,
    /// Bytes taken from `inner`.
    pulled: u64,
    /// Bytes taken early for [`detect`], served before `inner`.
    head: Vec<u8>,
    head_pos: usize,
    at_end: bool,
    spool: Option<File>,
    problem: Option<ArchiveProblem>,
}

impl<'r> MemberReader<'r> {
    fn new(inner: &'r mut dyn Read, declared: u64, name: String) -> Self {
        Self {
            inner,
            name,
            declared,
            pulled: 0,
            head: Vec::new(),
            head_pos: 0,
            at_end: false,
            spool: None,
            problem: None,
        }
    }

    fn pull(&mut self, buf: &mut [u8]) -> Result<usize, ArchiveProblem> {
        if self.pulled >= self.declared {
            self.check_end()?;
            return Ok(0);
        }
        let room = self.declared - self.pulled;
        let cap = usize::try_from(room).map_or(buf.len(), |r| r.min(buf.len()));
        let Some(window) = buf.get_mut(..cap) else {
            return Ok(0);
        };
        if window.is_empty() {
            return Ok(0);
        }
        let n = guarded_read(&mut *self.inner, window, &self.name)?;
        if n == 0 {
            return Err(ArchiveProblem::Broken(format!(
                "{}: data ends after {} of its {} bytes",
                self.name, self.pulled, self.declared
            )));
        }
        if let Some(spool) = &mut self.spool {
            spool
                .write_all(&window[..n])
                .map_err(|e| ArchiveProblem::Io(format!("{}: temporary file: {e}", self.name)))?;
        }
        self.pulled += n as u64;
        Ok(n)
    }

    fn check_end(&mut self) -> Result<(), ArchiveProblem> {
        if self.at_end {
            return Ok(());
        }
        let mut probe = [0u8; 1];
        if guarded_read(&mut *self.inner, &mut probe, &self.name)? > 0 {
            return Err(ArchiveProblem::Bomb(format!(
                "{}: decompresses to more than its declared {} bytes",
                self.name, self.declared
            )));
        }
        self.at_end = true;
        Ok(())
    }

    /// Takes up to `n` leading bytes so [`detect`] can look at them.
    fn fill_head(&mut self, n: usize) -> Result<(), ArchiveProblem> {
        let want = usize::try_from(self.declared).map_or(n, |d| d.min(n));
        let mut head = vec![0u8; want];
        let mut got = 0;
        while got < want {
            let k = self.pull(&mut head[got..])?;
            if k == 0 {
                break;
            }
            got += k;
        }
        head.truncate(got);
        self.head = head;
        Ok(())
    }

    fn start_spool(&mut self, mut spool: File) -> Result<(), ArchiveProblem> {
        spool
            .write_all(&self.head)
            .map_err(|e| ArchiveProblem::Io(format!("{}: temporary file: {e}", self.name)))?;
        self.spool = Some(spool);
        Ok(())
    }

    /// Reads what the callback left, so the member is checked to its end (and a nested
    /// archive spooled whole).
    fn drain(&mut self) -> Result<(), ArchiveProblem> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => {
                    return Err(self
                        .problem
                        .take()
                        .unwrap_or_else(|| ArchiveProblem::Broken(format!("{}: {e}", self.name))));
                }
            }
        }
    }
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(p) = &self.problem {
            return Err(io::Error::new(io::ErrorKind::InvalidData, p.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let rest = self.head.get(self.head_pos..).unwrap_or_default();
        if !rest.is_empty() {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.head_pos += n;
            return Ok(n);
        }
        match self.pull(buf) {
            Ok(n) => Ok(n),
            Err(p) => {
                let e = io::Error::new(io::ErrorKind::InvalidData, p.clone());
                self.problem = Some(p);
                Err(e)
            }
        }
    }
}

/// One read from a third-party decoder: retried when interrupted, its errors turned into
/// problems, and a panic inside it turned into [`ArchiveProblem::Broken`].
fn guarded_read(inner: &mut dyn Read, buf: &mut [u8], name: &str) -> Result<usize, ArchiveProblem> {
    loop {
        match catch_unwind(AssertUnwindSafe(|| inner.read(buf))) {
            Err(_) => {
                return Err(ArchiveProblem::Broken(format!(
                    "{name}: the decoder failed on this data"
                )));
            }
            Ok(Ok(n)) => return Ok(n.min(buf.len())),
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Err(classify(name, &e)),
        }
    }
}

/// Runs a third-party parser step, turning a panic into [`ArchiveProblem::Broken`].
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, ArchiveProblem> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| ArchiveProblem::Broken(format!("{what}: the parser failed on this data")))
}

/// The problem behind an I/O error from a decoder or parser. Problems raised further
/// down (the gzip budget) travel inside the error and come back out unchanged.
fn classify(name: &str, e: &io::Error) -> ArchiveProblem {
    if let Some(p) = e.get_ref().and_then(|i| i.downcast_ref::<ArchiveProblem>()) {
        return p.clone();
    }
    let msg = e.to_string();
    if msg.contains("declared uncompressed size") {
        // The zip reader refuses to go past the declared size itself.
        ArchiveProblem::Bomb(format!("{name}: {msg}"))
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        ArchiveProblem::Broken(format!("{name}: data is truncated"))
    } else {
        ArchiveProblem::Broken(format!("{name}: {msg}"))
    }
}

/// A failed read of the archive file itself at a known place.
fn file_problem(what: &str, e: &io::Error) -> ArchiveProblem {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ArchiveProblem::Broken(format!("{what}: past the end of the file (truncated?)"))
    } else {
        ArchiveProblem::Io(format!("{what}: {e}"))
    }
}

fn file_len(file: &File) -> Result<u64, ArchiveProblem> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| ArchiveProblem::Io(format!("cannot stat the archive: {e}")))
}

fn read_at(file: &File, pos: u64, buf: &mut [u8], what: &str) -> Result<(), ArchiveProblem> {
    file.read_exact_at(buf, pos)
        .map_err(|e| file_problem(what, &e))
}

/// Normalises a member name to custody's entry path rules. Returns the path (empty for
/// the archive's root, `./`) and whether the name ended in `/`.
///
/// Only a leading `./` is forgiven (tar files made with `tar -C dir .` are full of it);
/// anything else that would change the meaning of a name (`..`, `.`, empty components,
/// absolute names, drive letters, NUL) refuses the name rather than guess.
fn normalise(raw: &[u8], backslash_is_separator: bool) -> Result<(Vec<u8>, bool), &'static str> {
    let mut p: Vec<u8> = if backslash_is_separator {
        raw.iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect()
    } else {
        raw.to_vec()
    };
    if p.contains(&0) {
        return Err("contains a NUL byte");
    }
    if p.first() == Some(&b'/') {
        return Err("is absolute");
    }
    let dir = p.last() == Some(&b'/');
    if dir {
        p.pop();
    }
    let mut start = 0;
    while p.get(start..start + 2) == Some(&b"./"[..]) {
        start += 2;
    }
    let p = p.split_off(start);
    if p.is_empty() || p == b"." {
        return Ok((Vec::new(), dir));
    }
    if matches!(p.as_slice(), [d, b':', ..] if d.is_ascii_alphabetic()) {
        return Err("starts with a drive letter");
    }
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" => return Err("has an empty component"),
            b"." => return Err("has a '.' component"),
            b".." => return Err("has a '..' component"),
            _ => {}
        }
    }
    Ok((p, dir))
}

/// `prefix` + `path` as an entry path.
fn member_path(prefix: &[u8], path: &[u8], label: &str) -> Result<EntryPath, ArchiveProblem> {
    let mut full = Vec::with_capacity(prefix.len() + path.len());
    full.extend_from_slice(prefix);
    full.extend_from_slice(path);
    EntryPath::new(full).map_err(|e| ArchiveProblem::UnsafePath(format!("{label}: {e}")))
}

/// How a member name is shown in problems: escaped, with the nested archive's path.
fn label(prefix: &[u8], raw: &[u8]) -> String {
    let mut v = Vec::with_capacity(prefix.len() + raw.len());
    v.extend_from_slice(prefix);
    v.extend_from_slice(raw);
    escape_bytes(&v)
}

/// How the archive being read is shown in problems: "archive" for the outermost one
/// (the caller names it), else the nested archive's path.
fn archive_label(prefix: &[u8]) -> String {
    match prefix.strip_suffix(MEMBER_SEPARATOR) {
        Some(path) => escape_bytes(path),
        None => "archive".to_string(),
    }
}

/// Paths seen so far, as a tree of components, to find duplicates and paths that are
/// both a file and a directory. Storing components (not every prefix of every path)
/// keeps memory linear in the total length of the names.
#[derive(Default)]
struct Namespace {
    nodes: HashMap<(u64, Vec<u8>), Node>,
    next_id: u64,
    /// Estimated memory used, against [`MAX_NAMESPACE_BYTES`].
    bytes: u64,
}

#[derive(Clone, Copy)]
struct Node {
    id: u64,
    file: bool,
}

impl Namespace {
    fn add(&mut self, path: &[u8], is_dir: bool) -> Result<(), ArchiveProblem> {
        let mut parent = 0;
        let mut comps = path.split(|&b| b == b'/').peekable();
        while let Some(c) = comps.next() {
            let last = comps.peek().is_none();
            let key = (parent, c.to_vec());
            match self.nodes.get(&key) {
                Some(node) if last => {
                    if node.file || !is_dir {
                        return Err(ArchiveProblem::Duplicate(escape_bytes(path)));
                    }
                    return Ok(());
                }
                Some(node) if node.file => {
                    return Err(ArchiveProblem::Duplicate(format!(
                        "{} (a parent is also a file)",
                        escape_bytes(path)
                    )));
                }
                Some(node) => parent = node.id,
                None => {
                    self.bytes += c.len() as u64 + NAMESPACE_NODE_COST;
                    if self.bytes > MAX_NAMESPACE_BYTES {
                        return Err(ArchiveProblem::Unsupported(format!(
                            "member paths need more than {MAX_NAMESPACE_BYTES} bytes to index"
                        )));
                    }
                    self.next_id += 1;
                    let id = self.next_id;
                    self.nodes.insert(
                        key,
                        Node {
                            id,
                            file: last && !is_dir,
                        },
                    );
                    parent = id;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Zip

fn get_u16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at.checked_add(2)?)? {
        &[x, y] => Some(u16::from_le_bytes([x, y])),
        _ => None,
    }
}

fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

fn get_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Fields of fixed-size records whose length was checked when they were read.
fn u16_at(b: &[u8], at: usize) -> u16 {
    get_u16(b, at).unwrap_or(0)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    get_u32(b, at).unwrap_or(0)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    get_u64(b, at).unwrap_or(0)
}

/// The body of the first extra field with this id. Malformed trailing bytes end the
/// search: some writers pad the extra field, and readers ignore what they cannot parse.
fn extra_field(extra: &[u8], id: u16) -> Option<&[u8]> {
    let mut rest = extra;
    while let [a, b, c, d, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*c, *d]));
        let body = tail.get(..len)?;
        if u16::from_le_bytes([*a, *b]) == id {
            return Some(body);
        }
        rest = tail.get(len..)?;
    }
    None
}

/// Where the central directory is.
struct ZipEnd {
    entries: u64,
    cd_start: u64,
    cd_size: u64,
    /// Bytes before the archive proper (a self-extractor stub), added to every offset.
    archive_offset: u64,
}

/// Finds and checks the end of central directory record (and its zip64 form).
fn zip_end(file: &File, len: u64) -> Result<ZipEnd, ArchiveProblem> {
    const EOCD_LEN: u64 = 22;
    if len < EOCD_LEN {
        return Err(ArchiveProblem::Broken(
            "too short for a zip (no end of central directory record)".into(),
        ));
    }
    let tail_len = len.min(EOCD_LEN + 0xFFFF);
    let tail_start = len - tail_len;
    let mut tail = vec![0u8; tail_len as usize];
    read_at(file, tail_start, &mut tail, "end of central directory")?;
    // The record is followed only by its comment. Prefer a record whose comment ends
    // exactly at the end of the file, so a fake record inside a comment is not taken.
    let mut exact = None;
    let mut loose = None;
    for (i, w) in tail.windows(4).enumerate().rev() {
        if w != ZIP_END_SIG {
            continue;
        }
        let Some(comment) = get_u16(&tail, i + 20) else {
            continue;
        };
        let end = i + 22 + usize::from(comment);
        if end == tail.len() && exact.is_none() {
            exact = Some(i);
        }
        if end <= tail.len() && loose.is_none() {
            loose = Some(i);
        }
    }
    let Some(i) = exact.or(loose) else {
        return Err(ArchiveProblem::Broken(
            "no end of central directory record (not a zip, or truncated)".into(),
        ));
    };
    let rec = tail.get(i..i + 22).unwrap_or_default();
    let eocd_pos = tail_start + i as u64;
    let disk = u16_at(rec, 4);
    let cd_disk = u16_at(rec, 6);
    let disk_entries = u16_at(rec, 8);
    let entries16 = u16_at(rec, 10);
    let size32 = u32_at(rec, 12);
    let offset32 = u32_at(rec, 16);

    let mut locator = [0u8; 20];
    let has_locator = eocd_pos >= 20
        && file.read_exact_at(&mut locator, eocd_pos - 20).is_ok()
        && locator[..4] == ZIP64_LOCATOR_SIG;
    let saturated = entries16 == 0xFFFF || size32 == u32::MAX || offset32 == u32::MAX;

    let (entries, cd_size, cd_offset, cd_end) = if has_locator {
        if u32_at(&locator, 16) > 1 {
            return Err(ArchiveProblem::Unsupported("multi-disk zip".into()));
        }
        let z64_pos = u64_at(&locator, 8);
        if z64_pos
            .checked_add(56)
            .is_none_or(|end| end > eocd_pos - 20)
        {
            return Err(ArchiveProblem::Broken(
                "zip64 end of central directory is out of place".into(),
            ));
        }
        let mut z = [0u8; 56];
        read_at(file, z64_pos, &mut z, "zip64 end of central directory")?;
        if z[..4] != ZIP64_END_SIG {
            return Err(ArchiveProblem::Broken(
                "zip64 end of central directory record not found".into(),
            ));
        }
        if u32_at(&z, 16) != 0 || u32_at(&z, 20) != 0 || u64_at(&z, 24) != u64_at(&z, 32) {
            return Err(ArchiveProblem::Unsupported("multi-disk zip".into()));
        }
        (u64_at(&z, 32), u64_at(&z, 40), u64_at(&z, 48), z64_pos)
    } else if saturated {
        return Err(ArchiveProblem::Broken(
            "zip64 sizes announced but no zip64 end of central directory".into(),
        ));
    } else {
        if disk != 0 || cd_disk != 0 || disk_entries != entries16 {
            return Err(ArchiveProblem::Unsupported("multi-disk zip".into()));
        }
        (
            u64::from(entries16),
            u64::from(size32),
            u64::from(offset32),
            eocd_pos,
        )
    };
    // Data may precede the archive (a self-extractor stub); its offsets are then
    // relative to where the archive starts, which is where the directory says it is.
    let archive_offset = cd_end
        .checked_sub(cd_size)
        .and_then(|s| s.checked_sub(cd_offset))
        .ok_or_else(|| {
            ArchiveProblem::Broken("central directory extends past its end record".into())
        })?;
    if cd_size > MAX_CENTRAL_DIRECTORY {
        return Err(ArchiveProblem::Unsupported(format!(
            "central directory of {cd_size} bytes (limit {MAX_CENTRAL_DIRECTORY})"
        )));
    }
    if entries > cd_size / 46 {
        return Err(ArchiveProblem::Broken(format!(
            "{entries} members announced in a central directory of {cd_size} bytes"
        )));
    }
    Ok(ZipEnd {
        entries,
        cd_start: cd_offset + archive_offset,
        cd_size,
        archive_offset,
    })
}

/// A central directory record, checked.
struct ZipEntry {
    raw_name: Vec<u8>,
    label: String,
    /// Normalised path inside this archive (empty for a root directory entry).
    path: Vec<u8>,
    /// The member's entry path, for files.
    entry: Option<EntryPath>,
    is_dir: bool,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    /// Absolute offset of the local header.
    header: u64,
    /// End of the compressed data, from the local header (filled in later).
    data_end: u64,
    mtime_ns: i64,
    mode: u32,
}

fn read_zip(
    ctx: &mut Ctx<'_>,
    file: &mut File,
    prefix: &[u8],
    level: u32,
) -> Result<(), ArchiveProblem> {
    let len = file_len(file)?;
    let end = zip_end(file, len)?;
    // Before reading (and allocating for) the directory.
    ctx.count_entries(end.entries)?;

    file.seek(SeekFrom::Start(end.cd_start))
        .map_err(|e| file_problem("central directory", &e))?;
    let mut cd = BufReader::with_capacity(64 * 1024, Read::take(&mut *file, end.cd_size));
    let mut entries: Vec<ZipEntry> = Vec::with_capacity(end.entries.min(4096) as usize);
    for idx in 0..end.entries {
        entries.push(central_record(&mut cd, idx, prefix, end.archive_offset)?);
    }
    drop(cd);

    // Sizes and ratios, from what the directory declares.
    let archive_label = archive_label(prefix);
    let mut total: u64 = 0;
    for e in entries.iter().filter(|e| !e.is_dir) {
        if ctx.over_ratio(e.usize, e.csize) {
            return Err(ArchiveProblem::Bomb(format!(
                "{}: {} bytes compressed to {} (more than {}:1)",
                e.label, e.usize, e.csize, ctx.limits.max_ratio
            )));
        }
        total = total.saturating_add(e.usize);
    }
    if ctx.over_ratio(total, len) {
        return Err(ArchiveProblem::Bomb(format!(
            "{archive_label}: {total} bytes of members in {len} bytes (more than {}:1)",
            ctx.limits.max_ratio
        )));
    }
    ctx.reserve(total, &archive_label)?;

    for e in &entries {
        if e.path.is_empty() {
            continue;
        }
        let mut full = prefix.to_vec();
        full.extend_from_slice(&e.path);
        ctx.names.add(&full, e.is_dir)?;
    }

    check_local_headers(file, &mut entries, end.cd_start)?;

    for e in &entries {
        let Some(path) = &e.entry else {
            continue;
        };
        let member = Member {
            path: path.clone(),
            size: e.usize,
            mtime_ns: e.mtime_ns,
            mode: e.mode,
            depth: level,
        };
        if e.csize == 0 && e.usize == 0 {
            // Nothing to decode; some writers leave an empty deflated member with no
            // data at all, which a deflate decoder would call truncated.
            if e.crc != 0 {
                return Err(ArchiveProblem::Broken(format!(
                    "{}: empty but its CRC is not",
                    e.label
                )));
            }
            emit(ctx, member, &mut io::empty())?;
            continue;
        }
        file.seek(SeekFrom::Start(e.header))
            .map_err(|err| file_problem(&e.label, &err))?;
        let mut region = Read::take(&mut *file, e.data_end - e.header);
        let options = zip::ZipReadOptions::new()
            .override_compressed_size(e.csize)
            .override_uncompressed_size(e.usize)
            .override_crc(e.crc);
        let region_ref = &mut region;
        let mut zf = guarded(&e.label, move || {
            zip::read::read_zipfile_from_stream_with_options(region_ref, options)
        })?
        .map_err(|err| zip_problem(&e.label, err))?
        .ok_or_else(|| ArchiveProblem::Broken(format!("{}: no local header", e.label)))?;
        emit(ctx, member, &mut zf)?;
    }
    Ok(())
}

/// Reads and checks one central directory record.
fn central_record(
    r: &mut impl Read,
    idx: u64,
    prefix: &[u8],
    archive_offset: u64,
) -> Result<ZipEntry, ArchiveProblem> {
    let what = || format!("central directory record {idx}");
    let mut h = [0u8; 46];
    r.read_exact(&mut h)
        .map_err(|e| file_problem(&what(), &e))?;
    if h[..4] != ZIP_CENTRAL_SIG {
        return Err(ArchiveProblem::Broken(format!(
            "{} is not a central directory record",
            what()
        )));
    }
    let host = h[5];
    let flags = u16_at(&h, 8);
    let method = u16_at(&h, 10);
    let (time, date) = (u16_at(&h, 12), u16_at(&h, 14));
    let crc = u32_at(&h, 16);
    let csize32 = u32_at(&h, 20);
    let usize32 = u32_at(&h, 24);
    let name_len = usize::from(u16_at(&h, 28));
    let extra_len = usize::from(u16_at(&h, 30));
    let comment_len = u64::from(u16_at(&h, 32));
    let disk16 = u16_at(&h, 34);
    let ext_attr = u32_at(&h, 38);
    let offset32 = u32_at(&h, 42);

    let mut raw_name = vec![0u8; name_len];
    r.read_exact(&mut raw_name)
        .map_err(|e| file_problem(&what(), &e))?;
    let mut extra = vec![0u8; extra_len];
    r.read_exact(&mut extra)
        .map_err(|e| file_problem(&what(), &e))?;
    let skipped = io::copy(&mut r.take(comment_len), &mut io::sink())
        .map_err(|e| file_problem(&what(), &e))?;
    if skipped != comment_len {
        return Err(ArchiveProblem::Broken(format!("{} is truncated", what())));
    }
    let label = label(prefix, &raw_name);

    // Zip64: the saturated 32-bit fields are in the extra field, in this order.
    let mut csize = u64::from(csize32);
    let mut usize = u64::from(usize32);
    let mut offset = u64::from(offset32);
    let mut disk = u32::from(disk16);
    if usize32 == u32::MAX || csize32 == u32::MAX || offset32 == u32::MAX || disk16 == 0xFFFF {
        let missing = || ArchiveProblem::Broken(format!("{label}: zip64 extra field missing"));
        let z = extra_field(&extra, 0x0001).ok_or_else(missing)?;
        let mut at = 0;
        if usize32 == u32::MAX {
            usize = get_u64(z, at).ok_or_else(missing)?;
            at += 8;
        }
        if csize32 == u32::MAX {
            csize = get_u64(z, at).ok_or_else(missing)?;
            at += 8;
        }
        if offset32 == u32::MAX {
            offset = get_u64(z, at).ok_or_else(missing)?;
            at += 8;
        }
        if disk16 == 0xFFFF {
            disk = get_u32(z, at).ok_or_else(missing)?;
        }
    }
    if disk != 0 {
        return Err(ArchiveProblem::Unsupported(format!(
            "{label}: on another disk of a multi-disk zip"
        )));
    }

    // Names. `\` separates only in names written on DOS/Windows hosts, and only in
    // names that are UTF-8 (so ASCII): in Shift-JIS and other legacy encodings 0x5C is
    // the second byte of many characters.
    let dos_host = matches!(host, 0 | 6 | 10 | 14);
    let backslash = dos_host && std::str::from_utf8(&raw_name).is_ok();
    let (path, slash) = normalise(&raw_name, backslash)
        .map_err(|why| ArchiveProblem::UnsafePath(format!("{label}: {why}")))?;
    // The Info-ZIP Unicode Path field is what other tools extract to: it must be safe
    // too, even though custody keeps the raw name.
    if let Some(body) = extra_field(&extra, 0x7075)
        && let Some(upath) = body.get(5..)
    {
        normalise(upath, dos_host).map_err(|why| {
            ArchiveProblem::UnsafePath(format!("{label}: its Unicode Path field {why}"))
        })?;
    }

    if flags & 0x0001 != 0 || flags & 0x0040 != 0 || flags & 0x2000 != 0 || method == 99 {
        return Err(ArchiveProblem::Encrypted(label));
    }

    // File type and permissions.
    let unix_bits = if matches!(host, 3 | 19) {
        ext_attr >> 16
    } else {
        0
    };
    let file_type = unix_bits & 0o170000;
    let is_dir = slash || file_type == 0o040000 || (unix_bits == 0 && ext_attr & 0x10 != 0);
    match file_type {
        0o120000 => return Err(ArchiveProblem::SymlinkMember(label)),
        0 | 0o100000 | 0o040000 => {}
        0o010000 => return Err(ArchiveProblem::SpecialMember(format!("{label}: FIFO"))),
        0o020000 => {
            return Err(ArchiveProblem::SpecialMember(format!(
                "{label}: character device"
            )));
        }
        0o060000 => {
            return Err(ArchiveProblem::SpecialMember(format!(
                "{label}: block device"
            )));
        }
        0o140000 => return Err(ArchiveProblem::SpecialMember(format!("{label}: socket"))),
        _ => {
            return Err(ArchiveProblem::SpecialMember(format!(
                "{label}: unknown file type {file_type:o}"
            )));
        }
    }
    let mode = if unix_bits != 0 {
        unix_bits & 0o777
    } else if ext_attr & 0x01 != 0 {
        0o444
    } else {
        0o644
    };

    if !ZIP_METHODS.contains(&method) {
        return Err(ArchiveProblem::Unsupported(format!(
            "{label}: compression method {method}"
        )));
    }
    let entry = if is_dir {
        if usize != 0 {
            return Err(ArchiveProblem::Broken(format!(
                "{label}: directory with {usize} bytes of data"
            )));
        }
        None
    } else {
        if path.is_empty() {
            return Err(ArchiveProblem::UnsafePath(format!("{label}: empty name")));
        }
        if method == 0 && csize != usize {
            return Err(ArchiveProblem::Broken(format!(
                "{label}: stored with {csize} bytes but declares {usize}"
            )));
        }
        Some(member_path(prefix, &path, &label)?)
    };

    let header = offset
        .checked_add(archive_offset)
        .ok_or_else(|| ArchiveProblem::Broken(format!("{label}: local header offset overflows")))?;
    Ok(ZipEntry {
        raw_name,
        label,
        path,
        entry,
        is_dir,
        method,
        crc,
        csize,
        usize,
        header,
        data_end: 0,
        mtime_ns: zip_mtime(&extra, date, time),
        mode,
    })
}

/// Reads every local header: each must agree with its central record, and no two
/// members' bytes may overlap. Overlap is reported before the other disagreements it
/// causes, as it is the more telling diagnosis.
fn check_local_headers(
    file: &File,
    entries: &mut [ZipEntry],
    cd_start: u64,
) -> Result<(), ArchiveProblem> {
    let mut first_problem = None;
    for e in entries.iter_mut() {
        if let Err(p) = local_header(file, e, cd_start) {
            first_problem.get_or_insert(p);
            // Keep a range for the overlap check even so.
            e.data_end = e.data_end.max(e.header.saturating_add(30));
        }
    }
    let mut ranges: Vec<(u64, u64, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.header, e.data_end, i))
        .collect();
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if let [(_, end_a, a), (start_b, _, b)] = w
            && start_b < end_a
        {
            let name = |i: usize| entries.get(i).map_or("?", |e| e.label.as_str());
            return Err(ArchiveProblem::Overlapping(format!(
                "{} and {}",
                name(*a),
                name(*b)
            )));
        }
    }
    first_problem.map_or(Ok(()), Err)
}

fn local_header(file: &File, e: &mut ZipEntry, cd_start: u64) -> Result<(), ArchiveProblem> {
    let label = e.label.clone();
    let broken = |why: &str| ArchiveProblem::Broken(format!("{label}: {why}"));
    let mut fixed = [0u8; 30];
    read_at(file, e.header, &mut fixed, &label)?;
    if fixed[..4] != ZIP_LOCAL_SIG {
        return Err(broken("no local header where the central directory points"));
    }
    let flags = u16_at(&fixed, 6);
    let method = u16_at(&fixed, 8);
    let crc = u32_at(&fixed, 14);
    let csize32 = u32_at(&fixed, 18);
    let usize32 = u32_at(&fixed, 22);
    let name_len = u64::from(u16_at(&fixed, 26));
    let extra_len = u64::from(u16_at(&fixed, 28));
    let data_start = e.header + 30 + name_len + extra_len;
    e.data_end = data_start
        .checked_add(e.csize)
        .ok_or_else(|| broken("compressed size overflows"))?;
    if e.data_end > cd_start {
        return Err(broken("data runs into the central directory"));
    }
    let mut var = vec![0u8; (name_len + extra_len) as usize];
    read_at(file, e.header + 30, &mut var, &label)?;
    let (name, extra) = var.split_at(name_len as usize);
    if flags & 0x0001 != 0 || flags & 0x0040 != 0 {
        return Err(ArchiveProblem::Encrypted(label));
    }
    if method != e.method {
        return Err(broken(
            "local header and central directory disagree on the compression method",
        ));
    }
    if name != e.raw_name.as_slice() {
        return Err(broken(
            "local header and central directory disagree on the name",
        ));
    }
    // Without a data descriptor, the zip reader trusts the local compressed size.
    if flags & 0x0008 == 0 {
        let (lc, lu) = if csize32 == u32::MAX || usize32 == u32::MAX {
            let z =
                extra_field(extra, 0x0001).ok_or_else(|| broken("zip64 extra field missing"))?;
            match (get_u64(z, 0), get_u64(z, 8)) {
                (Some(u), Some(c)) => (c, u),
                _ => return Err(broken("zip64 extra field too short")),
            }
        } else {
            (u64::from(csize32), u64::from(usize32))
        };
        if lc != e.csize || lu != e.usize || crc != e.crc {
            return Err(broken(
                "local header and central directory disagree on sizes or CRC",
            ));
        }
    }
    if e.method == 14 && !e.is_dir {
        // LZMA: version (2), properties size (2), properties (1), dictionary size (4).
        let mut props = [0u8; 9];
        if e.csize < 9 {
            return Err(broken("LZMA data too short"));
        }
        read_at(file, data_start, &mut props, &label)?;
        let dict = u64::from(u32_at(&props, 5)).min(e.usize);
        if dict > MAX_LZMA_DICT {
            return Err(ArchiveProblem::Unsupported(format!(
                "{label}: LZMA dictionary of {dict} bytes (limit {MAX_LZMA_DICT})"
            )));
        }
    }
    // Second opinion on the name from the zip crate, which also applies the local
    // Unicode Path field. Parsing the local header does not touch the data.
    let mut header_bytes = fixed.to_vec();
    header_bytes.extend_from_slice(&var);
    let mut cursor = Cursor::new(header_bytes);
    let options = zip::ZipReadOptions::new()
        .override_compressed_size(0)
        .override_uncompressed_size(e.usize)
        .override_crc(e.crc);
    let cursor_ref = &mut cursor;
    let parsed = guarded(&label, move || {
        zip::read::read_zipfile_from_stream_with_options(cursor_ref, options)
            .map(|zf| zf.map(|zf| zf.enclosed_name().is_some()))
    })?;
    match parsed.map_err(|err| zip_problem(&label, err))? {
        Some(true) => Ok(()),
        Some(false) => Err(ArchiveProblem::UnsafePath(format!(
            "{label}: refused by the zip library's path check"
        ))),
        None => Err(broken("no local header")),
    }
}

fn zip_problem(name: &str, e: zip::result::ZipError) -> ArchiveProblem {
    use zip::result::ZipError;
    match e {
        ZipError::UnsupportedArchive(m) if m == ZipError::PASSWORD_REQUIRED => {
            ArchiveProblem::Encrypted(name.to_string())
        }
        ZipError::InvalidPassword => ArchiveProblem::Encrypted(name.to_string()),
        ZipError::UnsupportedArchive(m) => ArchiveProblem::Unsupported(format!("{name}: {m}")),
        ZipError::CompressionMethodNotSupported(m) => {
            ArchiveProblem::Unsupported(format!("{name}: compression method {m}"))
        }
        ZipError::Io(e) => classify(name, &e),
        other => ArchiveProblem::Broken(format!("{name}: {other}")),
    }
}

/// Modification time of a zip member: the Unix extended timestamp, else the NTFS one,
/// else the DOS date and time taken as UTC.
fn zip_mtime(extra: &[u8], date: u16, time: u16) -> i64 {
    if let Some(ut) = extra_field(extra, 0x5455)
        && ut.first().is_some_and(|f| f & 1 != 0)
        && let Some(secs) = get_u32(ut, 1)
    {
        return i64::from(secs as i32) * 1_000_000_000;
    }
    if let Some(ntfs) = extra_field(extra, 0x000a) {
        let mut rest = ntfs.get(4..).unwrap_or_default();
        while let [a, b, c, d, tail @ ..] = rest {
            let len = usize::from(u16::from_le_bytes([*c, *d]));
            let Some(body) = tail.get(..len) else { break };
            if u16::from_le_bytes([*a, *b]) == 1
                && let Some(ticks) = get_u64(body, 0)
            {
                // 100 ns ticks since 1601-01-01.
                let ns = (i128::from(ticks) - 116_444_736_000_000_000) * 100;
                return i64::try_from(ns).unwrap_or(0);
            }
            rest = tail.get(len..).unwrap_or_default();
        }
    }
    dos_time_ns(date, time)
}

fn dos_time_ns(date: u16, time: u16) -> i64 {
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0x0F);
    let day = i64::from(date & 0x1F);
    let hour = i64::from(time >> 11);
    let min = i64::from((time >> 5) & 0x3F);
    let sec = i64::from(time & 0x1F) * 2;
    if !(1..=12).contains(&month) || day == 0 || hour > 23 || min > 59 || sec > 59 {
        return 0;
    }
    let days = days_from_civil(year, month, day);
    (days * 86_400 + hour * 3_600 + min * 60 + sec) * 1_000_000_000
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------
// Tar

/// The decompressed stream of a .tar.gz, counted against the limits. It sits below the
/// tar parser, so every byte the parser reads or skips is counted; its problems travel
/// up inside I/O errors and are also kept in `problem` in case a layer above rewraps
/// them.
struct StreamBudget<R> {
    inner: R,
    count: u64,
    max_total: u64,
    ratio_cap: u64,
    max_ratio: u64,
    label: String,
    problem: Rc<RefCell<Option<ArchiveProblem>>>,
}

impl<R: Read> StreamBudget<R> {
    fn fail(&self, p: ArchiveProblem) -> io::Error {
        self.problem.borrow_mut().get_or_insert_with(|| p.clone());
        io::Error::new(io::ErrorKind::InvalidData, p)
    }
}

impl<R: Read> Read for StreamBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match catch_unwind(AssertUnwindSafe(|| self.inner.read(buf))) {
                Err(_) => {
                    let p = ArchiveProblem::Broken(format!(
                        "{}: the gzip decoder failed on this data",
                        self.label
                    ));
                    return Err(self.fail(p));
                }
                Ok(Ok(n)) => break n.min(buf.len()),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => {
                    let p = ArchiveProblem::Broken(format!("{}: gzip: {e}", self.label));
                    return Err(self.fail(p));
                }
            }
        };
        self.count = self.count.saturating_add(n as u64);
        if self.count > self.max_total {
            let p = ArchiveProblem::Bomb(format!(
                "{}: decompresses to more than {} bytes",
                self.label, self.max_total
            ));
            return Err(self.fail(p));
        }
        if self.count > self.ratio_cap {
            let p = ArchiveProblem::Bomb(format!(
                "{}: decompresses to more than {} times its size",
                self.label, self.max_ratio
            ));
            return Err(self.fail(p));
        }
        Ok(n)
    }
}

/// What GNU long-name and pax headers say about the entry that follows them.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: bool,
    pax: Option<Pax>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.long_name.is_none() && !self.long_link && self.pax.is_none()
    }
}

#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    size: Option<u64>,
    mtime_ns: Option<i64>,
    sparse: bool,
}

fn read_tar(
    ctx: &mut Ctx<'_>,
    file: &mut File,
    gz: bool,
    prefix: &[u8],
    level: u32,
) -> Result<(), ArchiveProblem> {
    let len = file_len(file)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| file_problem("archive", &e))?;
    let archive_label = archive_label(prefix);
    let cell = Rc::new(RefCell::new(None));
    let source: Box<dyn Read + '_> = if gz {
        Box::new(StreamBudget {
            inner: flate2::read::MultiGzDecoder::new(&mut *file),
            count: 0,
            max_total: ctx.limits.max_total_bytes,
            ratio_cap: len
                .saturating_mul(ctx.limits.max_ratio)
                .max(RATIO_MIN_BYTES),
            max_ratio: ctx.limits.max_ratio,
            label: archive_label.clone(),
            problem: Rc::clone(&cell),
        })
    } else {
        Box::new(&mut *file)
    };
    let mut archive = tar::Archive::new(BufReader::with_capacity(64 * 1024, source));
    // What went wrong below the tar parser explains its error better than it does.
    let fail = |p: ArchiveProblem| cell.borrow_mut().take().unwrap_or(p);

    {
        let mut entries = archive
            .entries()
            .map_err(|e| fail(classify(&archive_label, &e)))?
            .raw(true);
        let mut pending = Pending::default();
        loop {
            let next = guarded(&archive_label, || entries.next()).map_err(fail)?;
            let Some(item) = next else { break };
            let mut entry = item.map_err(|e| fail(classify(&archive_label, &e)))?;
            tar_entry(ctx, &mut entry, &mut pending, prefix, level).map_err(fail)?;
        }
        if !pending.is_empty() {
            return Err(ArchiveProblem::Broken(format!(
                "{archive_label}: extended header without an entry after it"
            )));
        }
    }
    if gz {
        // Read the rest of the gzip stream so its checksum is checked too.
        let mut rest = archive.into_inner();
        guarded(&archive_label, || io::copy(&mut rest, &mut io::sink()))
            .map_err(fail)?
            .map_err(|e| fail(classify(&archive_label, &e)))?;
    }
    Ok(())
}

/// Reads the body of an extension header, refusing one larger than `max`.
fn read_small(
    entry: &mut dyn Read,
    size: u64,
    max: u64,
    what: &str,
) -> Result<Vec<u8>, ArchiveProblem> {
    if size > max {
        return Err(ArchiveProblem::Unsupported(format!(
            "{what} of {size} bytes (limit {max})"
        )));
    }
    let mut v = Vec::with_capacity(size as usize);
    let mut reader = entry.take(size);
    guarded(what, || reader.read_to_end(&mut v))?.map_err(|e| classify(what, &e))?;
    if v.len() as u64 != size {
        return Err(ArchiveProblem::Broken(format!("{what} is truncated")));
    }
    Ok(v)
}

fn parse_pax(data: &[u8], what: &str) -> Result<Pax, ArchiveProblem> {
    let mut pax = Pax::default();
    for ext in tar::PaxExtensions::new(data) {
        let ext = ext.map_err(|e| ArchiveProblem::Broken(format!("{what}: {e}")))?;
        let value = ext.value_bytes();
        match ext.key_bytes() {
            b"path" => pax.path = Some(value.to_vec()),
            b"size" => {
                let size = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| ArchiveProblem::Broken(format!("{what}: bad size")))?;
                pax.size = Some(size);
            }
            b"mtime" => pax.mtime_ns = pax_time(value),
            k if k.starts_with(b"GNU.sparse.") => pax.sparse = true,
            _ => {}
        }
    }
    Ok(pax)
}

/// A pax time (`1592568000.5`, maybe negative) in nanoseconds, if it parses.
fn pax_time(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = int.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    for _ in digits.len()..9 {
        nanos *= 10;
    }
    let nanos = if int.starts_with('-') { -nanos } else { nanos };
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn tar_entry<R: Read>(
    ctx: &mut Ctx<'_>,
    entry: &mut tar::Entry<'_, R>,
    pending: &mut Pending,
    prefix: &[u8],
    level: u32,
) -> Result<(), ArchiveProblem> {
    let header = entry.header().clone();
    let size = entry.size();
    let ty = header.entry_type();
    let here = label(prefix, &header.path_bytes());
    match ty {
        tar::EntryType::GNULongName => {
            if pending.long_name.is_some() {
                return Err(ArchiveProblem::Broken(format!(
                    "{here}: two long names in a row"
                )));
            }
            let limit = crate::paths::MAX_PATH_LEN as u64 + 1;
            let mut name =
                read_small(entry, size, limit, "GNU long name").map_err(|p| match p {
                    ArchiveProblem::Unsupported(m) => ArchiveProblem::UnsafePath(m),
                    other => other,
                })?;
            while name.last() == Some(&0) {
                name.pop();
            }
            pending.long_name = Some(name);
            return Ok(());
        }
        tar::EntryType::GNULongLink => {
            let limit = crate::paths::MAX_PATH_LEN as u64 + 1;
            read_small(entry, size, limit, "GNU long link name")?;
            pending.long_link = true;
            return Ok(());
        }
        tar::EntryType::XHeader => {
            if pending.pax.is_some() {
                return Err(ArchiveProblem::Broken(format!(
                    "{here}: two pax headers in a row"
                )));
            }
            let data = read_small(entry, size, MAX_PAX_BYTES, "pax header")?;
            pending.pax = Some(parse_pax(&data, "pax header")?);
            return Ok(());
        }
        tar::EntryType::XGlobalHeader => {
            read_small(entry, size, MAX_PAX_BYTES, "pax global header")?;
            return Ok(());
        }
        _ => {}
    }

    ctx.count_entries(1)?;
    let taken = std::mem::take(pending);
    let pax = taken.pax.unwrap_or_default();
    let raw = match (pax.path, taken.long_name) {
        (Some(p), _) => p,
        (None, Some(n)) => n,
        (None, None) => header.path_bytes().into_owned(),
    };
    let label = label(prefix, &raw);
    let (path, slash) = normalise(&raw, false)
        .map_err(|why| ArchiveProblem::UnsafePath(format!("{label}: {why}")))?;
    let is_dir = match ty {
        tar::EntryType::Directory => true,
        // Pre-POSIX tars mark directories only by the trailing slash.
        tar::EntryType::Regular | tar::EntryType::Continuous if slash && size == 0 => true,
        tar::EntryType::Regular | tar::EntryType::Continuous => false,
        tar::EntryType::Symlink => return Err(ArchiveProblem::SymlinkMember(label)),
        tar::EntryType::Link => {
            return Err(ArchiveProblem::SpecialMember(format!("{label}: hard link")));
        }
        tar::EntryType::Char => {
            return Err(ArchiveProblem::SpecialMember(format!(
                "{label}: character device"
            )));
        }
        tar::EntryType::Block => {
            return Err(ArchiveProblem::SpecialMember(format!(
                "{label}: block device"
            )));
        }
        tar::EntryType::Fifo => {
            return Err(ArchiveProblem::SpecialMember(format!("{label}: FIFO")));
        }
        tar::EntryType::GNUSparse => {
            return Err(ArchiveProblem::Unsupported(format!("{label}: sparse file")));
        }
        other => {
            return Err(ArchiveProblem::Unsupported(format!(
                "{label}: tar entry type {:?}",
                char::from(other.as_byte())
            )));
        }
    };
    if is_dir {
        if !path.is_empty() {
            let mut full = prefix.to_vec();
            full.extend_from_slice(&path);
            ctx.names.add(&full, true)?;
        }
        return Ok(());
    }
    if slash || path.is_empty() {
        return Err(ArchiveProblem::UnsafePath(format!(
            "{label}: not a file name"
        )));
    }
    if pax.sparse {
        return Err(ArchiveProblem::Unsupported(format!("{label}: sparse file")));
    }
    if let Some(pax_size) = pax.size
        && pax_size != size
    {
        // The tar parser walks by the header's size; other tools by the pax size.
        return Err(ArchiveProblem::Broken(format!(
            "{label}: pax size {pax_size} differs from header size {size}"
        )));
    }
    let entry_path = member_path(prefix, &path, &label)?;
    ctx.names.add(entry_path.as_bytes(), false)?;
    ctx.reserve(size, &label)?;
    let mtime_ns = pax.mtime_ns.unwrap_or_else(|| {
        header
            .mtime()
            .ok()
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| s.checked_mul(1_000_000_000))
            .unwrap_or(0)
    });
    let mode = header.mode().map_or(0o644, |m| m & 0o777);
    let member = Member {
        path: entry_path,
        size,
        mtime_ns,
        mode,
        depth: level,
    };
    emit(ctx, member, entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Instant;
    use tar::{EntryType, Header};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    type Got = Vec<(Member, Vec<u8>)>;

    fn temp_with(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        // read_members must not depend on the position it is given.
        f.seek(SeekFrom::Start(1.min(bytes.len() as u64))).unwrap();
        f
    }

    fn read_with(
        bytes: &[u8],
        kind: ArchiveKind,
        limits: &Limits,
    ) -> Result<(Got, ArchiveSummary), ArchiveProblem> {
        let mut f = temp_with(bytes);
        let mut got = Vec::new();
        let summary = read_members(&mut f, kind, limits, &mut |m, r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)?;
            got.push((m.clone(), v));
            Ok(())
        })?;
        Ok((got, summary))
    }

    fn read_ok(bytes: &[u8], kind: ArchiveKind) -> (Got, ArchiveSummary) {
        read_with(bytes, kind, &Limits::default()).unwrap()
    }

    fn problem(bytes: &[u8], kind: ArchiveKind) -> ArchiveProblem {
        problem_with(bytes, kind, &Limits::default())
    }

    fn problem_with(bytes: &[u8], kind: ArchiveKind, limits: &Limits) -> ArchiveProblem {
        match read_with(bytes, kind, limits) {
            Ok((got, _)) => panic!("expected a problem, got {} members", got.len()),
            Err(p) => p,
        }
    }

    fn paths(got: &Got) -> Vec<String> {
        got.iter().map(|(m, _)| m.path.escaped()).collect()
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = flate2::Crc::new();
        c.update(data);
        c.sum()
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i)
            .collect()
    }

    fn zip_of(files: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in files {
            w.start_file(
                *name,
                SimpleFileOptions::default().compression_method(*method),
            )
            .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// A zip entry written byte by byte, for what `ZipWriter` refuses to write.
    struct Raw {
        name: Vec<u8>,
        data: Vec<u8>,
        method: u16,
        crc: u32,
        size: u64,
        local_size: u64,
        host: u8,
        attr: u32,
    }

    impl Raw {
        fn stored(name: &[u8], content: &[u8]) -> Raw {
            Raw {
                name: name.to_vec(),
                data: content.to_vec(),
                method: 0,
                crc: crc32(content),
                size: content.len() as u64,
                local_size: content.len() as u64,
                host: 3,
                attr: 0o100644 << 16,
            }
        }

        fn deflated(name: &[u8], content: &[u8]) -> Raw {
            Raw {
                data: deflate(content),
                method: 8,
                ..Raw::stored(name, content)
            }
        }
    }

    fn raw_zip(entries: &[Raw]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for e in entries {
            offsets.push(out.len() as u32);
            out.extend_from_slice(&ZIP_LOCAL_SIG);
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // flags
            out.extend_from_slice(&e.method.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // time
            out.extend_from_slice(&0x21u16.to_le_bytes()); // 1980-01-01
            out.extend_from_slice(&e.crc.to_le_bytes());
            out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(e.local_size as u32).to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&e.name);
            out.extend_from_slice(&e.data);
        }
        let cd_start = out.len();
        for (e, off) in entries.iter().zip(offsets) {
            out.extend_from_slice(&ZIP_CENTRAL_SIG);
            out.extend_from_slice(&(u16::from(e.host) << 8 | 20).to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // flags
            out.extend_from_slice(&e.method.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&0x21u16.to_le_bytes());
            out.extend_from_slice(&e.crc.to_le_bytes());
            out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(e.size as u32).to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            out.extend_from_slice(&e.attr.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&e.name);
        }
        let cd_size = out.len() - cd_start;
        out.extend_from_slice(&ZIP_END_SIG);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd_size as u32).to_le_bytes());
        out.extend_from_slice(&(cd_start as u32).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    /// `raw_zip` with its end record in zip64 form, all 32-bit fields saturated.
    fn raw_zip64(entries: &[Raw]) -> Vec<u8> {
        let mut out = raw_zip(entries);
        let end = out.split_off(out.len() - 22);
        let cd_size = u64::from(u32_at(&end, 12));
        let cd_start = u64::from(u32_at(&end, 16));
        let n = entries.len() as u64;
        let z64_pos = out.len() as u64;
        out.extend_from_slice(&ZIP64_END_SIG);
        out.extend_from_slice(&44u64.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // disks
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_start.to_le_bytes());
        out.extend_from_slice(&ZIP64_LOCATOR_SIG);
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&z64_pos.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&ZIP_END_SIG);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&[0xFF; 12]);
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn tar_header(name: &[u8], ty: EntryType, size: u64) -> Header {
        let mut h = Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(ty);
        h.set_size(size);
        h.set_mode(0o640);
        h.set_mtime(1_600_000_000);
        h.set_cksum();
        h
    }

    fn tar_of(entries: &[(&[u8], EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, ty, data) in entries {
            b.append(&tar_header(name, *ty, data.len() as u64), *data)
                .unwrap();
        }
        b.into_inner().unwrap()
    }

    fn pax_record(key: &str, value: &str) -> Vec<u8> {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}").len() + body.len() != len {
            len += 1;
        }
        format!("{len}{body}").into_bytes()
    }

    /// `depth` zips each holding the next as `n{i}.zip`, the innermost holding `x.txt`.
    fn nested_zips(depth: usize) -> Vec<u8> {
        let mut z = zip_of(&[("x.txt", b"deep", CompressionMethod::Stored)]);
        for i in (1..depth).rev() {
            z = zip_of(&[(&format!("n{i}.zip"), &z, CompressionMethod::Stored)]);
        }
        z
    }

    #[test]
    fn zip_members_come_back_exactly_in_order() {
        let inner = zip_of(&[("x/y.txt", b"inner text", CompressionMethod::Deflated)]);
        let big = b"bravo ".repeat(1000);
        let when = zip::DateTime::from_date_and_time(2020, 6, 19, 12, 0, 0).unwrap();
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().last_modified_time(when);
        w.add_directory("docs/", opts).unwrap();
        w.start_file(
            "docs/a.txt",
            opts.compression_method(CompressionMethod::Stored)
                .unix_permissions(0o600),
        )
        .unwrap();
        w.write_all(b"alpha").unwrap();
        w.start_file(
            "docs/b.txt",
            opts.compression_method(CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(&big).unwrap();
        w.start_file(
            "inner.zip",
            opts.compression_method(CompressionMethod::Stored),
        )
        .unwrap();
        w.write_all(&inner).unwrap();
        let outer = w.finish().unwrap().into_inner();

        let (got, summary) = read_ok(&outer, ArchiveKind::Zip);
        assert_eq!(
            paths(&got),
            [
                "docs/a.txt",
                "docs/b.txt",
                "inner.zip",
                "inner.zip!/x/y.txt"
            ]
        );
        assert_eq!(got[0].1, b"alpha");
        assert_eq!(got[1].1, big);
        assert_eq!(got[2].1, inner);
        assert_eq!(got[3].1, b"inner text");
        let depths: Vec<u32> = got.iter().map(|(m, _)| m.depth).collect();
        assert_eq!(depths, [0, 0, 0, 1]);
        assert_eq!(got[0].0.mode, 0o600);
        assert_eq!(got[0].0.size, 5);
        assert_eq!(got[0].0.mtime_ns, 1_592_568_000 * 1_000_000_000);
        assert_eq!(
            summary,
            ArchiveSummary {
                members: 4,
                bytes: 5 + big.len() as u64 + inner.len() as u64 + 10,
                nested: 1
            }
        );
    }

    #[test]
    fn zip64_and_other_methods_read_back() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, method, large) in [
            ("big.bin", CompressionMethod::Deflated, true),
            ("b.bz2", CompressionMethod::Bzip2, false),
            ("z.zst", CompressionMethod::Zstd, false),
        ] {
            let opts = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(large);
            w.start_file(name, opts).unwrap();
            w.write_all(name.as_bytes()).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let (got, _) = read_ok(&bytes, ArchiveKind::Zip);
        assert_eq!(paths(&got), ["big.bin", "b.bz2", "z.zst"]);
        for (m, data) in &got {
            assert_eq!(data, m.path.as_bytes());
        }
        // A zip64 end of central directory, and data before the archive (a
        // self-extractor stub) with offsets relative to the archive.
        let z64 = raw_zip64(&[Raw::stored(b"a", b"1"), Raw::deflated(b"b", b"22")]);
        assert_eq!(paths(&read_ok(&z64, ArchiveKind::Zip).0), ["a", "b"]);
        let mut sfx = b"MZ stub ".repeat(100);
        sfx.extend_from_slice(&raw_zip(&[Raw::stored(b"a", b"1")]));
        assert_eq!(read_ok(&sfx, ArchiveKind::Zip).0[0].1, b"1");
    }

    #[test]
    fn callback_that_reads_nothing_still_gets_nested_members() {
        let inner = zip_of(&[("y.txt", b"why", CompressionMethod::Deflated)]);
        let outer = zip_of(&[("in.zip", &inner, CompressionMethod::Deflated)]);
        let mut f = temp_with(&outer);
        let mut seen = Vec::new();
        let summary = read_members(&mut f, ArchiveKind::Zip, &Limits::default(), &mut |m, _| {
            seen.push(m.path.escaped());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["in.zip", "in.zip!/y.txt"]);
        assert_eq!(summary.nested, 1);
    }

    #[test]
    fn tar_and_tar_gz_members_come_back_exactly() {
        let long = format!("{}/long.txt", "d".repeat(120));
        let mut b = tar::Builder::new(Vec::new());
        b.append(&tar_header(b"./", EntryType::Directory, 0), &b""[..])
            .unwrap();
        b.append(&tar_header(b"./d/", EntryType::Directory, 0), &b""[..])
            .unwrap();
        b.append(
            &tar_header(b"./d/one.txt", EntryType::Regular, 3),
            &b"one"[..],
        )
        .unwrap();
        let mut gnu = Header::new_gnu();
        gnu.set_size(4);
        gnu.set_mode(0o644);
        b.append_data(&mut gnu, &long, &b"long"[..]).unwrap();
        let pax = pax_record("path", "pax/named.txt");
        b.append(
            &tar_header(b"PaxHeader", EntryType::XHeader, pax.len() as u64),
            &pax[..],
        )
        .unwrap();
        b.append(
            &tar_header(b"ignored.txt", EntryType::Regular, 3),
            &b"pax"[..],
        )
        .unwrap();
        let tar = b.into_inner().unwrap();

        for (bytes, kind) in [
            (tar.clone(), ArchiveKind::Tar),
            (gz(&tar), ArchiveKind::TarGz),
        ] {
            let (got, summary) = read_ok(&bytes, kind);
            assert_eq!(paths(&got), ["d/one.txt", long.as_str(), "pax/named.txt"]);
            assert_eq!(got[0].1, b"one");
            assert_eq!(got[1].1, b"long");
            assert_eq!(got[2].1, b"pax");
            assert_eq!(got[0].0.mode, 0o640);
            assert_eq!(got[0].0.mtime_ns, 1_600_000_000 * 1_000_000_000);
            assert_eq!(summary.members, 3);
            assert_eq!(summary.bytes, 10);
        }
    }

    #[test]
    fn tar_inside_zip_inside_tar_gz() {
        let tar = tar_of(&[(b"t.txt", EntryType::Regular, b"tee")]);
        let zip = zip_of(&[("in.tar", &tar, CompressionMethod::Deflated)]);
        let outer = gz(&tar_of(&[(b"z.zip", EntryType::Regular, &zip)]));
        let (got, summary) = read_ok(&outer, ArchiveKind::TarGz);
        assert_eq!(
            paths(&got),
            ["z.zip", "z.zip!/in.tar", "z.zip!/in.tar!/t.txt"]
        );
        assert_eq!(got[2].1, b"tee");
        assert_eq!(got[2].0.depth, 2);
        assert_eq!(summary.nested, 2);
    }

    #[test]
    fn zip_traversal_and_absolute_names_are_unsafe() {
        for name in [
            "../evil",
            "/etc/passwd",
            "a/../../b",
            "C:/x",
            "a//b",
            "a/./b",
        ] {
            let z = raw_zip(&[Raw::stored(name.as_bytes(), b"x")]);
            assert!(
                matches!(problem(&z, ArchiveKind::Zip), ArchiveProblem::UnsafePath(_)),
                "{name}"
            );
        }
        // Backslashes separate only in names written on DOS/Windows.
        let dos = raw_zip(&[Raw {
            host: 0,
            attr: 0,
            ..Raw::stored(b"..\\evil", b"x")
        }]);
        assert!(matches!(
            problem(&dos, ArchiveKind::Zip),
            ArchiveProblem::UnsafePath(_)
        ));
        let dos_ok = raw_zip(&[Raw {
            host: 0,
            attr: 0x01,
            ..Raw::stored(b"dir\\file.txt", b"x")
        }]);
        let (got, _) = read_ok(&dos_ok, ArchiveKind::Zip);
        assert_eq!(paths(&got), ["dir/file.txt"]);
        assert_eq!(got[0].0.mode, 0o444);
        let unix = raw_zip(&[Raw::stored(b"back\\slash", b"x")]);
        let (got, _) = read_ok(&unix, ArchiveKind::Zip);
        assert_eq!(got[0].0.path.as_bytes(), b"back\\slash");
        // A leading ./ is harmless.
        let dot = raw_zip(&[Raw::stored(b"./a.txt", b"x")]);
        assert_eq!(paths(&read_ok(&dot, ArchiveKind::Zip).0), ["a.txt"]);
    }

    #[test]
    fn tar_traversal_and_absolute_names_are_unsafe() {
        for name in [&b"../evil"[..], b"/etc/passwd", b"a/../../b"] {
            let t = tar_of(&[(name, EntryType::Regular, b"x")]);
            assert!(
                matches!(problem(&t, ArchiveKind::Tar), ArchiveProblem::UnsafePath(_)),
                "{name:?}"
            );
        }
    }

    #[test]
    fn symlinks_are_refused() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        w.add_symlink("link", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let z = w.finish().unwrap().into_inner();
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::SymlinkMember(_)
        ));
        // What `unix_permissions(0o120777)` means, written directly: `zip` 9 masks
        // the file type out of `unix_permissions`.
        let z = raw_zip(&[Raw {
            attr: 0o120777 << 16,
            ..Raw::stored(b"link", b"/etc/passwd")
        }]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::SymlinkMember(_)
        ));

        let mut h = tar_header(b"link", EntryType::Symlink, 0);
        h.set_link_name("/etc/passwd").unwrap();
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b""[..]).unwrap();
        let t = b.into_inner().unwrap();
        assert!(matches!(
            problem(&t, ArchiveKind::Tar),
            ArchiveProblem::SymlinkMember(_)
        ));
    }

    #[test]
    fn tar_special_members_are_refused() {
        for ty in [
            EntryType::Link,
            EntryType::Char,
            EntryType::Block,
            EntryType::Fifo,
        ] {
            let mut h = tar_header(b"special", ty, 0);
            if ty == EntryType::Link {
                h.set_link_name("other").unwrap();
            } else {
                h.set_device_major(1).unwrap();
            }
            h.set_cksum();
            let mut b = tar::Builder::new(Vec::new());
            b.append(&tar_header(b"other", EntryType::Regular, 1), &b"o"[..])
                .unwrap();
            b.append(&h, &b""[..]).unwrap();
            let t = b.into_inner().unwrap();
            assert!(
                matches!(
                    problem(&t, ArchiveKind::Tar),
                    ArchiveProblem::SpecialMember(_)
                ),
                "{ty:?}"
            );
        }
        let fifo = raw_zip(&[Raw {
            attr: 0o010644 << 16,
            ..Raw::stored(b"fifo", b"")
        }]);
        assert!(matches!(
            problem(&fifo, ArchiveKind::Zip),
            ArchiveProblem::SpecialMember(_)
        ));
    }

    #[test]
    fn encrypted_zip_is_refused() {
        let mut z = zip_of(&[("secret.txt", b"attack at dawn", CompressionMethod::Stored)]);
        let local = find_all(&z, &ZIP_LOCAL_SIG)[0];
        let central = find_all(&z, &ZIP_CENTRAL_SIG)[0];
        z[local + 6] |= 1;
        z[central + 8] |= 1;
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Encrypted(_)
        ));
        // The local flag alone is enough.
        let mut z = zip_of(&[("secret.txt", b"attack at dawn", CompressionMethod::Stored)]);
        z[local + 6] |= 1;
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Encrypted(_)
        ));
    }

    /// A raw deflate stream of `chunks` × `chunk` zero bytes, built without compressing
    /// them all: after a full flush the compressor forgets its history, so the output
    /// for one chunk can be repeated.
    fn zeros_deflated(chunk: usize, chunks: usize) -> (Vec<u8>, u32) {
        let zeros = vec![0u8; chunk];
        let mut c = flate2::Compress::new(flate2::Compression::best(), false);
        let mut one = Vec::with_capacity(chunk / 500 + 4096);
        c.compress_vec(&zeros, &mut one, flate2::FlushCompress::Full)
            .unwrap();
        assert_eq!(c.total_in(), chunk as u64);
        let mut stream = one.repeat(chunks);
        stream.extend_from_slice(&[0x03, 0x00]); // final, empty, fixed-Huffman block
        let mut crc = flate2::Crc::new();
        for _ in 0..chunks {
            crc.update(&zeros);
        }
        (stream, crc.sum())
    }

    #[test]
    fn zip_bomb_is_refused_before_inflating() {
        let start = Instant::now();
        let (stream, crc) = zeros_deflated(8 << 20, 25);
        let size = 200u64 << 20;
        let z = raw_zip(&[Raw {
            name: b"zeros.bin".to_vec(),
            data: stream,
            method: 8,
            crc,
            size,
            local_size: size,
            host: 3,
            attr: 0o100644 << 16,
        }]);
        assert!(z.len() < 300_000, "{}", z.len());
        let mut f = temp_with(&z);
        let mut called = false;
        let r = read_members(&mut f, ArchiveKind::Zip, &Limits::default(), &mut |_, _| {
            called = true;
            Ok(())
        });
        assert!(matches!(r, Err(ArchiveProblem::Bomb(_))), "{r:?}");
        assert!(!called);
        assert!(start.elapsed().as_secs_f64() < 1.0);
    }

    #[test]
    fn long_zero_runs_stream_when_the_ratio_allows() {
        // The same construction, let through: it is read in bounded pieces.
        let (stream, crc) = zeros_deflated(1 << 20, 16);
        let size = 16u64 << 20;
        let z = raw_zip(&[Raw {
            name: b"zeros.bin".to_vec(),
            data: stream,
            method: 8,
            crc,
            size,
            local_size: size,
            host: 3,
            attr: 0o100644 << 16,
        }]);
        let limits = Limits {
            max_ratio: 10_000,
            ..Limits::default()
        };
        let mut f = temp_with(&z);
        let mut total = 0u64;
        read_members(&mut f, ArchiveKind::Zip, &limits, &mut |_, r| {
            let mut buf = [0u8; 8192];
            loop {
                let n = r.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                assert!(buf[..n].iter().all(|&b| b == 0));
                total += n as u64;
            }
        })
        .unwrap();
        assert_eq!(total, size);
    }

    #[test]
    fn tar_gz_bomb_is_stopped_while_streaming() {
        let zeros = vec![0u8; 20 << 20];
        let t = gz(&tar_of(&[(b"zeros", EntryType::Regular, &zeros)]));
        let limits = Limits {
            max_ratio: 100,
            ..Limits::default()
        };
        let mut f = temp_with(&t);
        let mut delivered = 0u64;
        let r = read_members(&mut f, ArchiveKind::TarGz, &limits, &mut |_, r| {
            delivered = io::copy(r, &mut io::sink())?;
            Ok(())
        });
        assert!(matches!(r, Err(ArchiveProblem::Bomb(_))), "{r:?}");
        assert!(delivered < 20 << 20);
        // A total that the declared size already exceeds stops it before any data.
        let limits = Limits {
            max_total_bytes: 1 << 20,
            ..Limits::default()
        };
        assert!(matches!(
            problem_with(&t, ArchiveKind::TarGz, &limits),
            ArchiveProblem::Bomb(_)
        ));
    }

    #[test]
    fn member_larger_than_declared_never_yields_more() {
        let content = vec![b'x'; 1000];
        // Both headers lie the same way: only decompression can tell.
        let z = raw_zip(&[Raw {
            size: 500,
            local_size: 500,
            ..Raw::deflated(b"liar.txt", &content)
        }]);
        let mut f = temp_with(&z);
        let mut delivered = 0u64;
        let r = read_members(&mut f, ArchiveKind::Zip, &Limits::default(), &mut |_, r| {
            let mut buf = [0u8; 64];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => delivered += n as u64,
                    Err(e) => return Err(e),
                }
            }
        });
        assert!(matches!(r, Err(ArchiveProblem::Bomb(_))), "{r:?}");
        assert!(delivered <= 500, "{delivered}");

        // Only the central directory lies: the headers disagree.
        let z = raw_zip(&[Raw {
            size: 500,
            ..Raw::deflated(b"liar.txt", &content)
        }]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Broken(_)
        ));

        // Data shorter than declared, with a matching CRC, is truncation.
        let z = raw_zip(&[Raw {
            size: 2000,
            local_size: 2000,
            ..Raw::deflated(b"short.txt", &content)
        }]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Broken(_)
        ));
    }

    #[test]
    fn empty_members_and_totals() {
        // An empty deflated member with no data at all.
        let z = raw_zip(&[Raw {
            method: 8,
            ..Raw::stored(b"empty", b"")
        }]);
        let (got, _) = read_ok(&z, ArchiveKind::Zip);
        assert_eq!(got[0].1, b"");
        let z = zip_of(&[
            ("a", b"abc", CompressionMethod::Stored),
            ("b", b"def", CompressionMethod::Deflated),
        ]);
        let limits = Limits {
            max_total_bytes: 4,
            ..Limits::default()
        };
        assert!(matches!(
            problem_with(&z, ArchiveKind::Zip, &limits),
            ArchiveProblem::Bomb(_)
        ));
    }

    #[test]
    fn huge_lzma_dictionary_is_refused() {
        // Version 5.2, properties size 5, lc/lp/pb byte, then a 4 GiB dictionary.
        let mut data = vec![5, 2, 5, 0, 0x5d, 0xff, 0xff, 0xff, 0xff];
        data.resize(200_000, 0);
        let z = raw_zip(&[Raw {
            name: b"big.lzma".to_vec(),
            data,
            method: 14,
            crc: 0,
            size: 150 << 20,
            local_size: 150 << 20,
            host: 3,
            attr: 0o100644 << 16,
        }]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Unsupported(_)
        ));
    }

    #[test]
    fn crc_mismatch_is_broken() {
        let z = raw_zip(&[Raw {
            crc: 0x1234_5678,
            ..Raw::deflated(b"a.txt", b"some text")
        }]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Broken(_)
        ));
    }

    #[test]
    fn overlapping_entries_are_refused() {
        let mut z = raw_zip(&[Raw::stored(b"a", b"first"), Raw::stored(b"b", b"second")]);
        let central = find_all(&z, &ZIP_CENTRAL_SIG);
        let first_offset: [u8; 4] = z[central[0] + 42..central[0] + 46].try_into().unwrap();
        z[central[1] + 42..central[1] + 46].copy_from_slice(&first_offset);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Overlapping(_)
        ));
    }

    #[test]
    fn truncated_and_garbage_zips_are_broken() {
        let z = zip_of(&[
            ("a.txt", b"alpha", CompressionMethod::Deflated),
            ("b.txt", b"bravo", CompressionMethod::Stored),
        ]);
        for cut in [z.len() - 10, z.len() / 2, 3] {
            assert!(
                matches!(
                    problem(&z[..cut], ArchiveKind::Zip),
                    ArchiveProblem::Broken(_)
                ),
                "cut at {cut}"
            );
        }
        let mut g = z.clone();
        let cd = find_all(&g, &ZIP_CENTRAL_SIG)[0];
        let end = find_all(&g, &ZIP_END_SIG)[0];
        g[cd..end].fill(0xAA);
        assert!(matches!(
            problem(&g, ArchiveKind::Zip),
            ArchiveProblem::Broken(_)
        ));
        assert!(matches!(
            problem(b"", ArchiveKind::Zip),
            ArchiveProblem::Broken(_)
        ));
    }

    #[test]
    fn damaged_tars_are_broken() {
        let t = tar_of(&[(b"a.txt", EntryType::Regular, &[7u8; 2000])]);
        assert!(matches!(
            problem(&t[..1024], ArchiveKind::Tar),
            ArchiveProblem::Broken(_)
        ));
        let mut bad_sum = t.clone();
        bad_sum[0] ^= 0x01;
        assert!(matches!(
            problem(&bad_sum, ArchiveKind::Tar),
            ArchiveProblem::Broken(_)
        ));
        let mut g = gz(&t);
        let n = g.len();
        g[n - 6] ^= 0xFF; // inside the gzip trailer's CRC
        assert!(matches!(
            problem(&g, ArchiveKind::TarGz),
            ArchiveProblem::Broken(_)
        ));
        assert!(matches!(
            problem(&t, ArchiveKind::TarGz),
            ArchiveProblem::Broken(_)
        ));
    }

    #[test]
    fn unsupported_compression_is_reported() {
        let z = raw_zip(&[Raw {
            method: 98, // PPMd
            ..Raw::stored(b"a.txt", b"x")
        }]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Unsupported(_)
        ));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut z = raw_zip(&[Raw::stored(b"aaaa", b"1"), Raw::stored(b"bbbb", b"2")]);
        for at in find_all(&z, b"bbbb") {
            z[at..at + 4].copy_from_slice(b"aaaa");
        }
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Duplicate(_)
        ));
        let t = tar_of(&[
            (b"same", EntryType::Regular, b"1"),
            (b"same", EntryType::Regular, b"2"),
        ]);
        assert!(matches!(
            problem(&t, ArchiveKind::Tar),
            ArchiveProblem::Duplicate(_)
        ));
        // A path that is a file and a directory.
        let t = tar_of(&[
            (b"a", EntryType::Regular, b"1"),
            (b"a/b", EntryType::Regular, b"2"),
        ]);
        assert!(matches!(
            problem(&t, ArchiveKind::Tar),
            ArchiveProblem::Duplicate(_)
        ));
        // A literal member colliding with a nested one.
        let inner = zip_of(&[("y", b"nested", CompressionMethod::Stored)]);
        let z = raw_zip(&[
            Raw::stored(b"x.zip", &inner),
            Raw::stored(b"x.zip!/y", b"literal"),
        ]);
        assert!(matches!(
            problem(&z, ArchiveKind::Zip),
            ArchiveProblem::Duplicate(_)
        ));
        // Repeated directory entries are fine.
        let t = tar_of(&[
            (b"d/", EntryType::Directory, b""),
            (b"d/", EntryType::Directory, b""),
            (b"d/f", EntryType::Regular, b"f"),
        ]);
        assert_eq!(paths(&read_ok(&t, ArchiveKind::Tar).0), ["d/f"]);
    }

    #[test]
    fn nesting_beyond_max_depth_is_a_plain_member() {
        let z = nested_zips(5);
        let (got, summary) = read_ok(&z, ArchiveKind::Zip);
        assert_eq!(
            paths(&got),
            ["n1.zip", "n1.zip!/n2.zip", "n1.zip!/n2.zip!/n3.zip"]
        );
        assert_eq!(summary.nested, 2);
        let limits = Limits {
            max_depth: 0,
            ..Limits::default()
        };
        let (got, _) = read_with(&z, ArchiveKind::Zip, &limits).unwrap();
        assert_eq!(paths(&got), ["n1.zip"]);
        // Too big to spool: also a plain member.
        let limits = Limits {
            max_spool_bytes: 10,
            ..Limits::default()
        };
        let (got, _) = read_with(&z, ArchiveKind::Zip, &limits).unwrap();
        assert_eq!(paths(&got), ["n1.zip"]);
    }

    #[test]
    fn nesting_beyond_the_hard_ceiling_is_too_deep() {
        let z = nested_zips(MAX_NESTING_DEPTH as usize + 3);
        let limits = Limits {
            max_depth: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            problem_with(&z, ArchiveKind::Zip, &limits),
            ArchiveProblem::TooDeep(_)
        ));
        let ok = nested_zips(MAX_NESTING_DEPTH as usize + 1);
        let (got, _) = read_with(&ok, ArchiveKind::Zip, &limits).unwrap();
        assert_eq!(got.last().unwrap().1, b"deep");
    }

    #[test]
    fn too_many_members_are_refused() {
        let limits = Limits {
            max_members: 3,
            ..Limits::default()
        };
        let names: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
        let files: Vec<(&str, &[u8], CompressionMethod)> = names
            .iter()
            .map(|n| (n.as_str(), &b"x"[..], CompressionMethod::Stored))
            .collect();
        let z = zip_of(&files);
        assert_eq!(
            problem_with(&z, ArchiveKind::Zip, &limits),
            ArchiveProblem::TooManyMembers(3)
        );
        let entries: Vec<(&[u8], EntryType, &[u8])> = names
            .iter()
            .map(|n| (n.as_bytes(), EntryType::Regular, &b"x"[..]))
            .collect();
        let t = tar_of(&entries);
        assert_eq!(
            problem_with(&t, ArchiveKind::Tar, &limits),
            ArchiveProblem::TooManyMembers(3)
        );
        // Nested members count too.
        let inner = zip_of(&files[..3]);
        let outer = zip_of(&[("in.zip", &inner, CompressionMethod::Stored)]);
        assert_eq!(
            problem_with(&outer, ArchiveKind::Zip, &limits),
            ArchiveProblem::TooManyMembers(3)
        );
    }

    #[test]
    fn callback_errors_stop_the_read() {
        let z = zip_of(&[
            ("a", b"1", CompressionMethod::Stored),
            ("b", b"2", CompressionMethod::Stored),
        ]);
        let mut f = temp_with(&z);
        let mut calls = 0;
        let r = read_members(&mut f, ArchiveKind::Zip, &Limits::default(), &mut |_, _| {
            calls += 1;
            Err(io::Error::other("disk full"))
        });
        assert!(matches!(r, Err(ArchiveProblem::Io(_))), "{r:?}");
        assert_eq!(calls, 1);
    }

    #[test]
    fn detect_needs_name_and_magic() {
        let zip = zip_of(&[("a", b"1", CompressionMethod::Stored)]);
        let empty_zip = zip_of(&[]);
        let tar = tar_of(&[(b"a", EntryType::Regular, b"1")]);
        let tgz = gz(&tar);
        assert_eq!(detect(b"x/a.zip", &zip), Some(ArchiveKind::Zip));
        assert_eq!(detect(b"A.ZIP", &zip), Some(ArchiveKind::Zip));
        assert_eq!(detect(b"empty.zip", &empty_zip), Some(ArchiveKind::Zip));
        assert_eq!(detect(b"a.docx", &zip), None);
        assert_eq!(detect(b"a.jar", &zip), None);
        assert_eq!(detect(b"a.xlsx", &zip), None);
        assert_eq!(detect(b"a.zip", b"not a zip at all"), None);
        assert_eq!(detect(b"a.tar", &tar), Some(ArchiveKind::Tar));
        assert_eq!(detect(b"a.tar", &tar[..200]), None);
        assert_eq!(detect(b"a.tar.gz", &tgz), Some(ArchiveKind::TarGz));
        assert_eq!(detect(b"a.TGZ", &tgz), Some(ArchiveKind::TarGz));
        assert_eq!(detect(b"a.gz", &tgz), None);
        assert_eq!(detect(b"a.tar", &tgz), None);
        assert_eq!(detect(b".zip", &zip), None);
        assert_eq!(detect(b"zip.zip/readme", &zip), None);
    }

    #[test]
    fn empty_archives_have_no_members() {
        let (got, summary) = read_ok(&zip_of(&[]), ArchiveKind::Zip);
        assert!(got.is_empty());
        assert_eq!(summary, ArchiveSummary::default());
        let (got, _) = read_ok(&tar_of(&[]), ArchiveKind::Tar);
        assert!(got.is_empty());
    }

    #[test]
    fn dos_times_convert_as_utc() {
        // 2020-06-19 12:00:00
        let date = ((2020 - 1980) << 9) | (6 << 5) | 19;
        let time = 12 << 11;
        assert_eq!(dos_time_ns(date, time), 1_592_568_000 * 1_000_000_000);
        assert_eq!(dos_time_ns(0, 0), 0);
        assert_eq!(pax_time(b"1592568000.5"), Some(1_592_568_000_500_000_000));
        assert_eq!(pax_time(b"-1.5"), Some(-1_500_000_000));
        assert_eq!(pax_time(b"x"), None);
    }

    fn samples() -> Vec<(ArchiveKind, Vec<u8>)> {
        let inner = zip_of(&[("i.txt", b"inner", CompressionMethod::Deflated)]);
        let zip = zip_of(&[
            ("a.txt", b"alpha alpha alpha", CompressionMethod::Deflated),
            ("b.txt", b"bravo", CompressionMethod::Stored),
            ("n.zip", &inner, CompressionMethod::Stored),
        ]);
        let tar = tar_of(&[
            (b"d/", EntryType::Directory, b""),
            (b"d/a.txt", EntryType::Regular, b"alpha"),
            (b"n.zip", EntryType::Regular, &inner),
        ]);
        vec![
            (ArchiveKind::Zip, zip),
            (ArchiveKind::TarGz, gz(&tar)),
            (ArchiveKind::Tar, tar),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            for kind in [ArchiveKind::Zip, ArchiveKind::Tar, ArchiveKind::TarGz] {
                let _ = read_with(&bytes, kind, &Limits::default());
            }
        }

        #[test]
        fn damaged_archives_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            for (kind, mut bytes) in samples() {
                for (at, value) in &edits {
                    let i = at.index(bytes.len());
                    bytes[i] = *value;
                }
                if let Some(cut) = &cut {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                if let Ok((got, summary)) = read_with(&bytes, kind, &Limits::default()) {
                    // Whatever comes back is consistent with what was reported.
                    prop_assert_eq!(got.len() as u64, summary.members);
                    for (m, data) in &got {
                        prop_assert_eq!(data.len() as u64, m.size);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "archive_props.rs"]
mod props;
