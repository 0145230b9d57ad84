use crate::Algorithm;

/// Why a checksum text or byte string was rejected.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The text is not hexadecimal, or has the wrong number of digits.
    #[error("{text:?} is not a {algorithm} checksum in hex ({} digits)", 2 * algorithm.len())]
    BadHex {
        /// What the checksum was expected to be.
        algorithm: Algorithm,
        /// The rejected text.
        text: String,
    },
    /// The text is not jigdo base64, or decodes to the wrong length.
    #[error("{text:?} is not a {algorithm} checksum in jigdo base64")]
    BadBase64 {
        /// What the checksum was expected to be.
        algorithm: Algorithm,
        /// The rejected text.
        text: String,
    },
    /// Raw digest bytes of the wrong length.
    #[error("a {algorithm} digest has {} bytes, not {got}", algorithm.len())]
    WrongLength {
        /// What the checksum was expected to be.
        algorithm: Algorithm,
        /// How many bytes were given.
        got: usize,
    },
    /// An algorithm name that is not known.
    #[error("unknown checksum algorithm {0:?} (known: md5, sha1, sha256, sha512)")]
    UnknownAlgorithm(String),
}
