//! Typed errors of the library. The CLI turns them into messages and exit codes;
//! every variant that concerns a file names it.

use std::io;
use std::path::PathBuf;

use crate::codec::DecodeError;
use crate::id::BlobId;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("no store at {0} (create one with `custody init`, or pass --store / CUSTODY_STORE)")]
    StoreMissing(PathBuf),

    #[error("a store already exists at {0}")]
    StoreExists(PathBuf),

    #[error(
        "store {0} is in use by another custody process that is writing to it; wait for it to finish"
    )]
    StoreInUse(PathBuf),

    #[error("{path}: not a custody store ({reason})")]
    NotAStore { path: PathBuf, reason: String },

    #[error(
        "{path}: store format version {found} is not supported by this custody (it reads version {supported}); use a matching custody release"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error(
        "{path}: store format version {found} is older than this custody's {supported}; run `custody upgrade` once to convert it in place (one transaction: stopped part-way, the store stays as it was)"
    )]
    UpgradeNeeded {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("store database error: {0}")]
    Db(#[from] redb::Error),

    #[error(
        "{path}: no space left on device while writing the store; free space on that filesystem (or move the store there and point --store at it) and run the same ingest again: it resumes where this one stopped, and committed releases are intact"
    )]
    StoreFull {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },

    #[error("store is damaged: {what}: {source}")]
    Corrupt {
        what: String,
        #[source]
        source: DecodeError,
    },

    #[error("store is damaged: {0}")]
    Damaged(String),

    #[error("no release named {0:?} (see `custody releases`)")]
    ReleaseNotFound(String),

    #[error("release {0:?} already exists; releases are immutable, choose another name")]
    ReleaseExists(String),

    #[error("invalid release name {name:?}: {reason}")]
    BadReleaseName { name: String, reason: &'static str },

    #[error("release {release:?} has no entry {path}")]
    PathNotFound { release: String, path: String },

    #[error("release {release:?}: {path} is not a regular file")]
    NotAFile { release: String, path: String },

    #[error("{path}: content check failed: expected {expected}, got {actual}; nothing was written")]
    IntegrityMismatch {
        path: String,
        expected: BlobId,
        actual: BlobId,
    },

    #[error("{path}: refusing to overwrite an existing file (use --force)")]
    WouldOverwrite { path: PathBuf },

    #[error("{path}: refusing to write through a symlink or non-directory at {at}")]
    UnsafeTarget { path: PathBuf, at: PathBuf },

    #[error("entry path {path:?} is unsafe to extract: {reason}")]
    UnsafePath { path: String, reason: String },

    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// Whether the disk ran out of space somewhere down this error's chain (ENOSPC,
    /// or EDQUOT for a full quota).
    pub fn is_no_space(&self) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<io::Error>()
                && matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
            {
                return true;
            }
            // redb's errors do not chain their I/O errors as sources.
            if let Some(Error::Db(redb::Error::Io(io))) = e.downcast_ref::<Error>()
                && matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
            {
                return true;
            }
            cur = e.source();
        }
        false
    }

    /// Names the store file in an out-of-space error from writing to it.
    pub fn in_store(self, store: &std::path::Path) -> Self {
        match self {
            Error::StoreFull { .. } => self,
            e if e.is_no_space() => Error::StoreFull {
                path: store.to_path_buf(),
                source: Box::new(e),
            },
            e => e,
        }
    }

    pub fn corrupt(what: impl Into<String>, source: DecodeError) -> Self {
        Error::Corrupt {
            what: what.into(),
            source,
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Db(e.into())
            }
        })*
    };
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Attaches a path and operation to I/O results.
pub trait IoContext<T> {
    fn ctx(self, path: impl Into<PathBuf>, op: &'static str) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, path: impl Into<PathBuf>, op: &'static str) -> Result<T> {
        self.map_err(|e| Error::io(path, op, e))
    }
}
