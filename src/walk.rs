//! Deterministic, depth-first walk of a directory tree that never follows symlinks.
//!
//! Names in each directory are sorted by their bytes, so the same tree always walks in
//! the same order. Everything below the root is opened relative to its parent's file
//! descriptor (`openat` with `O_NOFOLLOW`), which keeps paths longer than `PATH_MAX`
//! reachable and means a directory swapped for a symlink mid-walk is not followed.

use std::ffi::CStr;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::paths::{EntryPath, MAX_PATH_LEN};

/// What `lstat` said about a node, in the units custody stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStat {
    pub mode: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
    pub dev: u64,
}

impl NodeStat {
    pub fn from_stat(st: &Stat) -> Self {
        Self {
            mode: st.st_mode,
            size: st.st_size.max(0) as u64,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec as i64),
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec as i64),
            inode: st.st_ino,
            dev: st.st_dev,
        }
    }

    pub fn kind(&self) -> NodeKind {
        match FileType::from_raw_mode(self.mode) {
            FileType::RegularFile => NodeKind::File,
            FileType::Directory => NodeKind::Dir,
            FileType::Symlink => NodeKind::Symlink,
            FileType::Fifo => NodeKind::Special("FIFO"),
            FileType::Socket => NodeKind::Special("socket"),
            FileType::CharacterDevice => NodeKind::Special("character device"),
            FileType::BlockDevice => NodeKind::Special("block device"),
            _ => NodeKind::Special("unknown file type"),
        }
    }
}

fn ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
    Special(&'static str),
}

/// One node found by the walk.
#[derive(Debug)]
pub struct WalkItem {
    /// Path relative to the walk's root.
    pub path: EntryPath,
    /// The directory holding the node, to open it relative to.
    pub parent: Arc<OwnedFd>,
    /// The node's name within `parent`.
    pub name: Vec<u8>,
    pub stat: NodeStat,
    /// Symlink target, read during the walk.
    pub target: Vec<u8>,
}

impl WalkItem {
    pub fn kind(&self) -> NodeKind {
        self.stat.kind()
    }

    /// Opens the node for reading without following a symlink or blocking on a FIFO.
    pub fn open(&self) -> std::io::Result<std::fs::File> {
        let fd = rustix::fs::openat(
            &*self.parent,
            self.name.as_slice(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )?;
        Ok(std::fs::File::from(fd))
    }
}

/// Why a node could not be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Permission denied or an I/O error.
    Unreadable,
    /// It was listed but gone when looked at.
    Vanished,
    /// A directory whose contents could not be listed.
    UnreadableDir,
    /// A FIFO, socket or device: skipped on purpose.
    Special,
    /// The path is longer than custody stores.
    PathTooLong,
    /// The file changed while it was read.
    Changed,
    /// The store's own file, inside the tree being ingested.
    StoreFile,
    /// An archive whose members could not be indexed safely; stored as a plain file.
    ArchiveOpaque,
}

impl IssueKind {
    /// Whether the issue means data the user asked for was not stored (exit code 3).
    pub fn is_data_loss(self) -> bool {
        matches!(
            self,
            IssueKind::Unreadable
                | IssueKind::Vanished
                | IssueKind::UnreadableDir
                | IssueKind::PathTooLong
                | IssueKind::Changed
        )
    }
}

/// A problem with one node; the walk goes on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WalkIssue {
    pub path: EntryPath,
    pub kind: IssueKind,
    pub message: String,
}

#[derive(Debug)]
pub enum Walked {
    Item(WalkItem),
    Issue(WalkIssue),
}

struct Frame {
    fd: Arc<OwnedFd>,
    rel: EntryPath,
    names: std::vec::IntoIter<Vec<u8>>,
}

/// Iterator over a tree; see the module docs.
pub struct Walker {
    stack: Vec<Frame>,
    pending: Option<WalkIssue>,
}

fn open_dir_at(parent: &OwnedFd, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn list_dir(fd: &OwnedFd) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for ent in Dir::read_from(fd)? {
        let ent = ent?;
        let n: &CStr = ent.file_name();
        let b = n.to_bytes();
        if b != b"." && b != b".." {
            names.push(b.to_vec());
        }
    }
    names.sort_unstable();
    Ok(names)
}

fn describe(e: Errno) -> String {
    std::io::Error::from(e).to_string()
}

impl Walker {
    /// Starts a walk at `root`, which must be a directory (a symlink to one is followed,
    /// since the user named it).
    pub fn new(root: &Path) -> Result<Self> {
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(root, "open directory", e.into()))?;
        let names = list_dir(&fd).map_err(|e| Error::io(root, "list directory", e.into()))?;
        Ok(Self {
            stack: vec![Frame {
                fd: Arc::new(fd),
                rel: EntryPath::default(),
                names: names.into_iter(),
            }],
            pending: None,
        })
    }
}

impl Iterator for Walker {
    type Item = Walked;

    fn next(&mut self) -> Option<Walked> {
        if let Some(issue) = self.pending.take() {
            return Some(Walked::Issue(issue));
        }
        loop {
            let frame = self.stack.last_mut()?;
            let Some(name) = frame.names.next() else {
                self.stack.pop();
                continue;
            };
            let path = frame.rel.join(&name);
            let parent = frame.fd.clone();
            if path.len() > MAX_PATH_LEN {
                return Some(Walked::Issue(WalkIssue {
                    path,
                    kind: IssueKind::PathTooLong,
                    message: format!("path longer than {MAX_PATH_LEN} bytes, skipped"),
                }));
            }
            let st = match rustix::fs::statat(&*parent, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
            {
                Ok(st) => NodeStat::from_stat(&st),
                Err(Errno::NOENT) => {
                    return Some(Walked::Issue(WalkIssue {
                        path,
                        kind: IssueKind::Vanished,
                        message: "vanished before it could be read".into(),
                    }));
                }
                Err(e) => {
                    return Some(Walked::Issue(WalkIssue {
                        path,
                        kind: IssueKind::Unreadable,
                        message: describe(e),
                    }));
                }
            };
            let mut target = Vec::new();
            match st.kind() {
                NodeKind::Dir => {
                    match open_dir_at(&parent, &name).and_then(|fd| Ok((list_dir(&fd)?, fd))) {
                        Ok((names, fd)) => self.stack.push(Frame {
                            fd: Arc::new(fd),
                            rel: path.clone(),
                            names: names.into_iter(),
                        }),
                        Err(e) => {
                            self.pending = Some(WalkIssue {
                                path: path.clone(),
                                kind: if e == Errno::NOENT {
                                    IssueKind::Vanished
                                } else {
                                    IssueKind::UnreadableDir
                                },
                                message: format!("cannot list directory: {}", describe(e)),
                            });
                        }
                    }
                }
                NodeKind::Symlink => {
                    match rustix::fs::readlinkat(&*parent, name.as_slice(), Vec::new()) {
                        Ok(t) => target = t.into_bytes(),
                        Err(e) => {
                            return Some(Walked::Issue(WalkIssue {
                                path,
                                kind: if e == Errno::NOENT {
                                    IssueKind::Vanished
                                } else {
                                    IssueKind::Unreadable
                                },
                                message: format!("cannot read symlink: {}", describe(e)),
                            }));
                        }
                    }
                }
                _ => {}
            }
            return Some(Walked::Item(WalkItem {
                path,
                parent,
                name,
                stat: st,
                target,
            }));
        }
    }
}

/// Raises the soft open-file limit to the hard limit, since a deep tree keeps one
/// descriptor open per level. Failure is harmless: the walk reports what it cannot open.
pub fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if let Some(max) = lim.maximum
        && lim.current != Some(max)
    {
        let _ = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit {
                current: Some(max),
                maximum: Some(max),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn walk_paths(root: &Path) -> Vec<(String, NodeKind)> {
        Walker::new(root)
            .unwrap()
            .filter_map(|w| match w {
                Walked::Item(i) => Some((i.path.to_string(), i.kind())),
                Walked::Issue(_) => None,
            })
            .collect()
    }

    #[test]
    fn walks_sorted_depth_first_without_following_links() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("b/inner")).unwrap();
        fs::write(r.join("b/inner/x"), b"x").unwrap();
        fs::write(r.join("a.txt"), b"a").unwrap();
        fs::create_dir(r.join("a")).unwrap();
        std::os::unix::fs::symlink("/etc", r.join("link")).unwrap();
        let got = walk_paths(r);
        let names: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["a", "a.txt", "b", "b/inner", "b/inner/x", "link"]);
        assert_eq!(got[5].1, NodeKind::Symlink);
    }
}
