use std::io;
use std::path::PathBuf;

use jigsmith_checksum::Algorithm;

/// Everything that can go wrong while making a template.
///
/// The image variants are fatal; the candidate variants only ever appear
/// inside a [`crate::Skipped`] entry of the report (an unreadable candidate
/// is left out, the scan goes on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Templates identify files by MD5 (format 1.1) or SHA-256 (format 2.0) only.
    #[error("{algorithm} cannot identify files in a template (use md5 or sha256)")]
    UnsupportedAlgorithm {
        /// The algorithm asked for.
        algorithm: Algorithm,
    },
    /// The image could not be opened (or its size not read).
    #[error("opening image {}", path.display())]
    OpenImage {
        /// The image.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading the image failed.
    #[error("reading image {} at byte {offset}", path.display())]
    ReadImage {
        /// The image.
        path: PathBuf,
        /// Where the failed read started.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The image's length changed while it was being read.
    #[error("image {} changed while it was scanned: it had {expected} bytes, {found} were read", path.display())]
    ImageChanged {
        /// The image.
        path: PathBuf,
        /// Its size when the scan started.
        expected: u64,
        /// Bytes actually read.
        found: u64,
    },
    /// The thread hashing the image died.
    #[error("the thread hashing image {} panicked", path.display())]
    HashThread {
        /// The image.
        path: PathBuf,
    },
    /// Writing the template failed.
    #[error("writing the template")]
    Template {
        /// The format crate's error.
        #[source]
        source: jigsmith_format::Error,
    },
    /// A candidate file could not be opened.
    #[error("opening candidate {}", path.display())]
    OpenCandidate {
        /// The candidate.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading a candidate file failed.
    #[error("reading candidate {} at byte {offset}", path.display())]
    ReadCandidate {
        /// The candidate.
        path: PathBuf,
        /// Where the failed read started.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A candidate's size on disk is not the size it was added with.
    #[error("candidate {} has {found} bytes, not the {expected} it was listed with", path.display())]
    CandidateSize {
        /// The candidate.
        path: PathBuf,
        /// The size given in the [`crate::Candidate`].
        expected: u64,
        /// The size on disk.
        found: u64,
    },
}

impl From<jigsmith_format::Error> for Error {
    fn from(source: jigsmith_format::Error) -> Self {
        Error::Template { source }
    }
}
