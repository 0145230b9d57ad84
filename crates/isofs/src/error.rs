/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the image failed.
    #[error("reading the image at byte {offset}")]
    Io {
        /// Where the read started.
        offset: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No primary volume descriptor in sectors 16 onward.
    #[error("not an ISO 9660 image: {why}")]
    NotIso {
        /// What was found instead.
        why: &'static str,
    },
    /// The primary volume descriptor states a block size other than 512, 1024 or 2048.
    #[error("unsupported logical block size {0}")]
    BlockSize(u16),
    /// A directory record is malformed.
    #[error("bad directory record at byte {offset}: {why}")]
    BadRecord {
        /// Where the record starts in the image.
        offset: u64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A directory's extent lies (partly) past the end of the image.
    #[error("directory at byte {offset} ({len} bytes) ends past the image end {image_len}")]
    DirectoryOutOfBounds {
        /// Where it starts.
        offset: u64,
        /// Its length.
        len: u64,
        /// The image length.
        image_len: u64,
    },
    /// A directory is larger than any real one.
    #[error("directory at byte {offset} claims {len} bytes (limit {limit})")]
    DirectoryTooBig {
        /// Where it starts.
        offset: u64,
        /// Its length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// Directories nest deeper than the limit.
    #[error("directories nest deeper than {0} levels")]
    TooDeep(usize),
    /// A directory reached twice: a loop, or two entries sharing one directory.
    #[error("directory at byte {offset} reached twice (a loop or cross-linked directories)")]
    Loop {
        /// The directory's start.
        offset: u64,
    },
    /// More entries than the limit (a hostile image cross-linking directories).
    #[error("more than {0} directory entries")]
    TooManyEntries(usize),
    /// System use (Rock Ridge) continuation areas chain past the limit.
    #[error("system use continuation areas at byte {offset}: {why}")]
    Continuation {
        /// The record's start.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// A name that cannot be a path component (`/`, NUL, `.`, `..`).
    #[error("bad file name {name:?} in the directory at byte {offset}")]
    BadName {
        /// The directory's start.
        offset: u64,
        /// The name, lossily decoded.
        name: String,
    },
}
