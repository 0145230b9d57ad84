use std::path::PathBuf;

use jigsmith_checksum::{Algorithm, Digest};

use crate::Location;

/// Why an image could not be (re)built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The template is malformed or its data is corrupt.
    #[error("template {}", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: jigsmith_format::Error,
    },
    /// A source file or the output could not be read or written.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done ("reading", "opening", "writing").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the image failed.
    #[error("writing the image")]
    Output(#[source] std::io::Error),
    /// No usable file for a part: none known, none present, or none with the right checksum.
    #[error("no file for part {digest} ({len} bytes){}", describe_tried(tried))]
    Missing {
        /// The part's digest.
        digest: Digest,
        /// The part's length.
        len: u64,
        /// Where it was looked for, with why each place was rejected.
        tried: Vec<(Location, String)>,
    },
    /// A source file's content does not match its checksum.
    #[error("{}: checksum mismatch: expected {} {}, found {}", path.display(), expected.algorithm(), expected.to_hex(), actual.to_hex())]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// What the template says.
        expected: Digest,
        /// What the file holds.
        actual: Digest,
    },
    /// A source file changed size while it was being copied.
    #[error("{}: is {actual} bytes long, expected {expected}", path.display())]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// The template's length.
        expected: u64,
        /// What was read.
        actual: u64,
    },
    /// Every part matched but the whole image's checksum does not.
    #[error("the built image's checksum is {}, the template says {} ({})", actual.to_hex(), expected.to_hex(), expected.algorithm())]
    ImageMismatch {
        /// From the template.
        expected: Digest,
        /// Of the bytes written.
        actual: Digest,
    },
    /// A worker thread of the build stopped without a result (a bug: it panicked).
    #[error("internal error: {0} stopped unexpectedly")]
    WorkerGone(&'static str),
    /// A source file changed after it was checked (while a server or mount
    /// was using it); it is checked again before its next use.
    #[error("{}: changed since its checksum was checked", path.display())]
    SourceChanged {
        /// The file.
        path: PathBuf,
    },
    /// A `.jigdo` file could not be parsed.
    #[error(".jigdo file {}", path.display())]
    Jigdo {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: jigsmith_format::Error,
    },
    /// `.jigdo` files include each other in a circle.
    #[error("[Include] loop: {}", describe_chain(chain))]
    IncludeLoop {
        /// The files of the loop, the first one again at the end.
        chain: Vec<PathBuf>,
    },
    /// A `.jigdo` file's `[Include]` cannot be followed.
    #[error("{}: [Include {target}]: {why}", path.display())]
    Include {
        /// The including file.
        path: PathBuf,
        /// The include target as written.
        target: String,
        /// Why it cannot be followed.
        why: &'static str,
    },
    /// A `.jigdo` file names no template.
    #[error("{}: no [Image] Template= entry", path.display())]
    NoTemplate {
        /// The `.jigdo` file.
        path: PathBuf,
    },
    /// The template's checksum is not the one the `.jigdo` states: it
    /// belongs to another image (or is damaged).
    #[error("template {} does not belong to this .jigdo: its {} is {actual}, the .jigdo says {expected}", path.display(), algorithm.jigdo_name())]
    TemplateMismatch {
        /// The template file.
        path: PathBuf,
        /// The checksum compared.
        algorithm: Algorithm,
        /// What the `.jigdo` says.
        expected: Digest,
        /// What the file hashes to.
        actual: Digest,
    },
    /// A byte range that is not inside the image.
    #[error("byte range {start}..={end} is outside the image of {image_len} bytes")]
    BadRange {
        /// First byte asked for.
        start: u64,
        /// Last byte asked for.
        end: u64,
        /// The image's length.
        image_len: u64,
    },
}

fn describe_tried(tried: &[(Location, String)]) -> String {
    if tried.is_empty() {
        return ": no location known (check the .jigdo, --map and checksum lists)".into();
    }
    let list: Vec<String> = tried
        .iter()
        .map(|(place, why)| format!("{place} ({why})"))
        .collect();
    format!("; tried {}", list.join(", "))
}

impl Error {
    /// Whether the error means parts are missing or bad (exit code 1)
    /// rather than that something else went wrong (exit code 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::Missing { .. }
                | Error::ChecksumMismatch { .. }
                | Error::SizeMismatch { .. }
                | Error::ImageMismatch { .. }
                | Error::SourceChanged { .. }
        )
    }
}

fn describe_chain(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" includes ")
}
