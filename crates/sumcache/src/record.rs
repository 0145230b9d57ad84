//! What is cached per file, and its byte encoding.

use std::fs::Metadata;
use std::time::UNIX_EPOCH;

use jigsmith_checksum::{Algorithm, Digest, Rsync64};

/// Length of the head and tail blocks whose rsync64 sums are cached: the
/// block length jigdo-file and libjte use, and the window `make-template`
/// rolls over an image.
pub const BLOCK_LEN: usize = 1024;

const VERSION: u8 = 1;
const HAS_MD5: u8 = 1;
const HAS_SHA256: u8 = 2;
const HAS_BLOCKS: u8 = 4;

/// What a file must still look like for its cached sums to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
}

impl Stamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &Metadata) -> Stamp {
        let mtime_ns = match meta.modified() {
            Ok(t) => match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i128,
                Err(before) => -(before.duration().as_nanos() as i128),
            },
            // no mtime on this file system: only the size can be compared,
            // so make the entry never match
            Err(_) => i128::MIN,
        };
        Stamp {
            size: meta.len(),
            mtime_ns,
        }
    }
}

/// rsync64 sums of a file's first and last [`BLOCK_LEN`] bytes (the same
/// block when the file is exactly that long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocks {
    /// Sum of the first block.
    pub head: Rsync64,
    /// Sum of the last block.
    pub tail: Rsync64,
}

/// A file's known sums; any of them may be missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSums {
    /// MD5 of the whole file.
    pub md5: Option<Digest>,
    /// SHA-256 of the whole file.
    pub sha256: Option<Digest>,
    /// Head and tail block sums; `None` for files shorter than [`BLOCK_LEN`].
    pub blocks: Option<Blocks>,
}

impl FileSums {
    /// The digest in `algorithm`, if known.
    pub fn digest(&self, algorithm: Algorithm) -> Option<Digest> {
        match algorithm {
            Algorithm::Md5 => self.md5,
            Algorithm::Sha256 => self.sha256,
            _ => None,
        }
    }

    /// Fills what `self` lacks from `other` (sums of the same file version).
    pub fn merge(&mut self, other: &FileSums) {
        self.md5 = self.md5.or(other.md5);
        self.sha256 = self.sha256.or(other.sha256);
        self.blocks = self.blocks.or(other.blocks);
    }

    pub(crate) fn encode(&self, stamp: Stamp) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + 16 + 1 + 16 + 32 + 16);
        out.push(VERSION);
        out.extend_from_slice(&stamp.size.to_le_bytes());
        out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
        let mut flags = 0;
        if self.md5.is_some() {
            flags |= HAS_MD5;
        }
        if self.sha256.is_some() {
            flags |= HAS_SHA256;
        }
        if self.blocks.is_some() {
            flags |= HAS_BLOCKS;
        }
        out.push(flags);
        for d in [self.md5, self.sha256].into_iter().flatten() {
            out.extend_from_slice(d.as_bytes());
        }
        if let Some(b) = self.blocks {
            out.extend_from_slice(&b.head.value().to_le_bytes());
            out.extend_from_slice(&b.tail.value().to_le_bytes());
        }
        out
    }

    /// The entry's stamp and sums; `None` if the bytes are not an entry.
    pub(crate) fn decode(bytes: &[u8]) -> Option<(Stamp, FileSums)> {
        let mut r = bytes;
        if take(&mut r, 1)? != [VERSION] {
            return None;
        }
        let size = u64::from_le_bytes(take(&mut r, 8)?.try_into().ok()?);
        let mtime_ns = i128::from_le_bytes(take(&mut r, 16)?.try_into().ok()?);
        let flags = *take(&mut r, 1)?.first()?;
        let mut sums = FileSums::default();
        if flags & HAS_MD5 != 0 {
            sums.md5 = Some(Digest::new(Algorithm::Md5, take(&mut r, 16)?).ok()?);
        }
        if flags & HAS_SHA256 != 0 {
            sums.sha256 = Some(Digest::new(Algorithm::Sha256, take(&mut r, 32)?).ok()?);
        }
        if flags & HAS_BLOCKS != 0 {
            let head = u64::from_le_bytes(take(&mut r, 8)?.try_into().ok()?);
            let tail = u64::from_le_bytes(take(&mut r, 8)?.try_into().ok()?);
            sums.blocks = Some(Blocks {
                head: Rsync64::from_value(head),
                tail: Rsync64::from_value(tail),
            });
        }
        if !r.is_empty() || flags & !(HAS_MD5 | HAS_SHA256 | HAS_BLOCKS) != 0 {
            return None;
        }
        Some((Stamp { size, mtime_ns }, sums))
    }
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = r.split_at_checked(n)?;
    *r = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn entries_round_trip(
            size in any::<u64>(),
            mtime_ns in any::<i128>(),
            md5 in proptest::option::of(any::<[u8; 16]>()),
            sha in proptest::option::of(any::<[u8; 32]>()),
            blocks in proptest::option::of(any::<(u64, u64)>()),
        ) {
            let sums = FileSums {
                md5: md5.map(|b| Digest::new(Algorithm::Md5, &b).unwrap()),
                sha256: sha.map(|b| Digest::new(Algorithm::Sha256, &b).unwrap()),
                blocks: blocks.map(|(h, t)| Blocks {
                    head: Rsync64::from_value(h),
                    tail: Rsync64::from_value(t),
                }),
            };
            let stamp = Stamp { size, mtime_ns };
            let bytes = sums.encode(stamp);
            prop_assert_eq!(FileSums::decode(&bytes), Some((stamp, sums)));
            // every truncation and any trailing byte is refused
            for n in 0..bytes.len() {
                prop_assert_eq!(FileSums::decode(&bytes[..n]), None);
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert_eq!(FileSums::decode(&longer), None);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = FileSums::decode(&bytes);
        }
    }
}
