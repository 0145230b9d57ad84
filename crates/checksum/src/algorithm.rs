use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A checksum algorithm.
///
/// Jigdo format 1.x identifies files by MD5 and format 2.0 by SHA-256; SHA-1
/// and SHA-512 only appear in the checksum tools and in `# Image Hex` comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the order the old tools list them.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
    ];

    /// Digest length in bytes.
    #[allow(clippy::len_without_is_empty)] // a digest length is never zero
    pub const fn len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Lower-case name as used on command lines (`md5`, `sha256`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The spelling in `.jigdo` keys and libjte comments (`MD5`, `SHA256`, ...).
    pub const fn jigdo_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Accepts `md5`, `sha1`, `sha256`, `sha512` in any case, with or
    /// without a dash (`sha-256`) or a `sum` suffix (`md5sum`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect();
        let norm = norm.strip_suffix("sum").unwrap_or(&norm);
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == norm)
            .ok_or_else(|| Error::UnknownAlgorithm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings() {
        assert_eq!("MD5".parse::<Algorithm>(), Ok(Algorithm::Md5));
        assert_eq!("sha-256".parse::<Algorithm>(), Ok(Algorithm::Sha256));
        assert_eq!("sha512sum".parse::<Algorithm>(), Ok(Algorithm::Sha512));
        assert!("crc32".parse::<Algorithm>().is_err());
    }
}
