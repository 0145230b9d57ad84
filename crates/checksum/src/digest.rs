use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::{Algorithm, Error};

const MAX_LEN: usize = 64;

/// A digest of some [`Algorithm`].
///
/// `Display` gives jigdo's base64 form (the form `.jigdo` files use);
/// [`Digest::to_hex`] gives the form `md5sum` prints.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    bytes: [u8; MAX_LEN],
}

impl Digest {
    /// Wraps raw digest bytes.
    ///
    /// # Errors
    /// [`Error::WrongLength`] if `bytes` is not `algorithm.len()` long.
    pub fn new(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        let mut out = [0u8; MAX_LEN];
        match out.get_mut(..algorithm.len()) {
            Some(dst) if bytes.len() == algorithm.len() => dst.copy_from_slice(bytes),
            _ => {
                return Err(Error::WrongLength {
                    algorithm,
                    got: bytes.len(),
                })
            }
        }
        Ok(Digest {
            algorithm,
            bytes: out,
        })
    }

    /// Wraps a hasher's output, whose length the digest crates guarantee.
    pub(crate) fn from_output(algorithm: Algorithm, output: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_LEN];
        for (dst, src) in bytes.iter_mut().zip(output) {
            *dst = *src;
        }
        Digest { algorithm, bytes }
    }

    /// Parses the hex form (either case).
    ///
    /// # Errors
    /// [`Error::BadHex`] if `text` is not exactly `2 * algorithm.len()` hex digits.
    pub fn from_hex(algorithm: Algorithm, text: &str) -> Result<Self, Error> {
        let bad = || Error::BadHex {
            algorithm,
            text: text.to_string(),
        };
        let raw = text.as_bytes();
        if raw.len() != 2 * algorithm.len() {
            return Err(bad());
        }
        let mut bytes = [0u8; MAX_LEN];
        for (dst, pair) in bytes.iter_mut().zip(raw.chunks_exact(2)) {
            let &[hi, lo] = pair else { return Err(bad()) };
            let hi = hex_value(hi).ok_or_else(bad)?;
            let lo = hex_value(lo).ok_or_else(bad)?;
            *dst = (hi << 4) | lo;
        }
        Ok(Digest { algorithm, bytes })
    }

    /// Parses jigdo's base64 form (url alphabet, no padding).
    ///
    /// # Errors
    /// [`Error::BadBase64`] if `text` is not valid or has the wrong length.
    pub fn from_base64(algorithm: Algorithm, text: &str) -> Result<Self, Error> {
        let bad = || Error::BadBase64 {
            algorithm,
            text: text.to_string(),
        };
        let raw = jigdo_base64_decode(text).ok_or_else(bad)?;
        Digest::new(algorithm, &raw).map_err(|_| bad())
    }

    /// The algorithm this digest was made with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.algorithm.len()).unwrap_or(&[])
    }

    /// Lower-case hex, as `md5sum` and friends print it.
    pub fn to_hex(&self) -> String {
        let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('?');
        let mut s = String::with_capacity(2 * self.algorithm.len());
        for b in self.as_bytes() {
            s.push(digit(b >> 4));
            s.push(digit(b & 15));
        }
        s
    }

    /// Jigdo's base64 form; the same as `to_string()`.
    pub fn to_base64(&self) -> String {
        jigdo_base64_encode(self.as_bytes())
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.to_hex())
    }
}

/// Encodes bytes in jigdo's base64: RFC 4648 url alphabet (`-`, `_`), no `=`.
pub fn jigdo_base64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes jigdo's base64; `None` if `text` is not valid.
///
/// Trailing bits that do not make a whole byte must be zero, as jigdo-file
/// writes them, so each digest has exactly one text form.
pub fn jigdo_base64_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // md5("") as jigdo-file prints it
        let d = Digest::from_hex(Algorithm::Md5, "d41d8cd98f00b204e9800998ecf8427e").unwrap();
        assert_eq!(d.to_string(), "1B2M2Y8AsgTpgAmY7PhCfg");
        let d = Digest::from_base64(Algorithm::Md5, "1B2M2Y8AsgTpgAmY7PhCfg").unwrap();
        assert_eq!(d.to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn rejects_bad_text() {
        assert!(Digest::from_hex(Algorithm::Md5, "d41d8cd98f00b204e9800998ecf8427").is_err());
        assert!(Digest::from_hex(Algorithm::Md5, "g41d8cd98f00b204e9800998ecf8427e").is_err());
        assert!(Digest::from_base64(Algorithm::Md5, "1B2M2Y8AsgTpgAmY7PhCf").is_err());
        assert!(Digest::from_base64(Algorithm::Md5, "1B2M2Y8AsgTpgAmY7PhC+g").is_err());
        assert!(Digest::from_base64(Algorithm::Sha256, "1B2M2Y8AsgTpgAmY7PhCfg").is_err());
        assert!(Digest::new(Algorithm::Sha1, &[0; 16]).is_err());
    }

    proptest! {
        #[test]
        fn text_forms_round_trip(bytes in proptest::collection::vec(any::<u8>(), 32)) {
            let d = Digest::new(Algorithm::Sha256, &bytes).unwrap();
            prop_assert_eq!(d.to_base64().len(), 43);
            prop_assert_eq!(Digest::from_base64(Algorithm::Sha256, &d.to_base64()).unwrap(), d);
            prop_assert_eq!(Digest::from_hex(Algorithm::Sha256, &d.to_hex()).unwrap(), d);
            prop_assert_eq!(d.as_bytes(), &bytes[..]);
        }
    }
}
