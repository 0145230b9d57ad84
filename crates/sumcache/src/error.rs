use std::path::PathBuf;

/// What can go wrong with the cache or a file being hashed for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cache file could not be opened or created (also: another process
    /// has it open, or it is not a cache file).
    #[error("cannot open checksum cache {path}: {source}")]
    Open {
        /// The cache file.
        path: PathBuf,
        /// Why.
        #[source]
        source: redb::DatabaseError,
    },
    /// Reading or writing the cache failed.
    #[error("checksum cache {path}: {source}")]
    Store {
        /// The cache file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<redb::Error>,
    },
    /// An entry in the cache is not one this version wrote.
    #[error("checksum cache {path}: damaged entry for {file}")]
    Damaged {
        /// The cache file.
        path: PathBuf,
        /// The file the entry is for.
        file: PathBuf,
    },
    /// A file to be hashed could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file changed (size or mtime) while it was being hashed.
    #[error("{path} changed while it was being read")]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn store(path: &std::path::Path, e: impl Into<redb::Error>) -> Error {
        Error::Store {
            path: path.to_path_buf(),
            source: Box::new(e.into()),
        }
    }
}
