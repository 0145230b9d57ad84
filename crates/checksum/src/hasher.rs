use rayon::prelude::*;
use sha2::Digest as _;

use crate::{Algorithm, Digest};

/// An incremental hash of one [`Algorithm`].
#[derive(Clone)]
pub enum Hasher {
    /// MD5, on md5-lanes' single-stream kernel: a whole image's MD5 is one
    /// long sequential chain and sets the pace of verify, make-image and
    /// make-template, and that kernel is a few percent faster than `md-5`.
    Md5(jigsmith_md5_lanes::Md5),
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Md5 => Hasher::Md5(jigsmith_md5_lanes::Md5::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// The algorithm being computed.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Md5(_) => Algorithm::Md5,
            Hasher::Sha1(_) => Algorithm::Sha1,
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finalize(self) -> Digest {
        let algorithm = self.algorithm();
        match self {
            Hasher::Md5(h) => Digest::from_output(algorithm, &h.finalize()),
            Hasher::Sha1(h) => Digest::from_output(algorithm, &h.finalize()),
            Hasher::Sha256(h) => Digest::from_output(algorithm, &h.finalize()),
            Hasher::Sha512(h) => Digest::from_output(algorithm, &h.finalize()),
        }
    }

    /// Digest of one byte string.
    pub fn digest(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut h = Hasher::new(algorithm);
        h.update(bytes);
        h.finalize()
    }
}

/// Bytes written are hashed, so `std::io::copy` can feed a hasher from any reader.
impl std::io::Write for Hasher {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// From this size on, a block is worth spreading over threads.
const PARALLEL_BLOCK: usize = 256 << 10;

/// Several hashers fed the same bytes: one read of a file, many digests.
#[derive(Clone)]
pub struct MultiHasher {
    hashers: Vec<Hasher>,
}

impl MultiHasher {
    /// One hasher per algorithm, in the given order (duplicates are kept).
    pub fn new(algorithms: &[Algorithm]) -> Self {
        MultiHasher {
            hashers: algorithms.iter().map(|a| Hasher::new(*a)).collect(),
        }
    }

    /// Feeds bytes to every hasher; a large block is hashed by the
    /// algorithms in parallel (rayon), so one read of a file keeps every
    /// core busy.
    pub fn update(&mut self, bytes: &[u8]) {
        if self.hashers.len() > 1 && bytes.len() >= PARALLEL_BLOCK {
            self.hashers.par_iter_mut().for_each(|h| h.update(bytes));
        } else {
            for h in &mut self.hashers {
                h.update(bytes);
            }
        }
    }

    /// The digests, in the order of the algorithms given to [`MultiHasher::new`].
    pub fn finalize(self) -> Vec<Digest> {
        self.hashers.into_iter().map(Hasher::finalize).collect()
    }
}

/// Bytes written are fed to every hasher, as with [`Hasher`].
impl std::io::Write for MultiHasher {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_copy_feeds_hashers() {
        let data = vec![7u8; 100_000];
        let mut one = Hasher::new(Algorithm::Md5);
        assert_eq!(std::io::copy(&mut &data[..], &mut one).unwrap(), 100_000);
        let mut many = MultiHasher::new(&[Algorithm::Sha1, Algorithm::Md5]);
        std::io::copy(&mut &data[..], &mut many).unwrap();
        let want = Hasher::digest(Algorithm::Md5, &data);
        assert_eq!(one.finalize(), want);
        assert_eq!(many.finalize()[1], want);
    }

    #[test]
    fn known_digests_of_abc() {
        let want = [
            "900150983cd24fb0d6963f7d28e17f72",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ];
        let mut m = MultiHasher::new(&Algorithm::ALL);
        m.update(b"a");
        m.update(b"bc");
        for (d, w) in m.finalize().iter().zip(want) {
            assert_eq!(d.to_hex(), w);
        }
    }
}

#[cfg(test)]
mod md5_vectors {
    use super::*;

    /// RFC 1321's test suite, fed whole and byte by byte.
    #[test]
    fn rfc_1321() {
        let long = "12345678901234567890".repeat(4);
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (long.as_str(), "57edf4a22be3c955ac49da2e2107b67a"),
        ];
        for (text, hex) in cases {
            assert_eq!(
                Hasher::digest(Algorithm::Md5, text.as_bytes()).to_hex(),
                hex
            );
            let mut h = Hasher::new(Algorithm::Md5);
            for b in text.bytes() {
                h.update(&[b]);
            }
            assert_eq!(h.finalize().to_hex(), hex, "{text:?} byte by byte");
        }
    }
}
