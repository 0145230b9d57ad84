use std::path::PathBuf;

/// What stops a template export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file under a `-jigdo-force-checksum` path has no matching checksum-list entry.
    #[error("{}: matches -jigdo-force-checksum pattern {pattern:?} but {why}", path.display())]
    ForcedFileUnmatched {
        /// The source file.
        path: PathBuf,
        /// The pattern it matched.
        pattern: String,
        /// Why it did not become a [Parts] entry.
        why: String,
    },
    /// A pattern that is not a valid regular expression.
    #[error("bad pattern {pattern:?}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// The parser's complaint.
        #[source]
        source: regex::Error,
    },
    /// Writing the image failed.
    #[error("writing the image")]
    WriteImage(#[source] std::io::Error),
    /// Writing the template failed.
    #[error("writing the template")]
    Template(#[source] jigsmith_format::Error),
    /// An image checksum thread or the file checker died.
    #[error("a checksum thread (image or file checker) stopped unexpectedly")]
    HasherGone,
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::WriteImage(io) => io,
            other => std::io::Error::other(other),
        }
    }
}
