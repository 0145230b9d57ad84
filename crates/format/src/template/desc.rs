use jigsmith_checksum::{Algorithm, Digest, Rsync64};

use crate::le;
use crate::{Error, Result};

/// One entry of a template's DESC table, as it is on the wire.
///
/// Entry types (FORMATS.md): 2 unmatched data; 5/8 image info (MD5/SHA-256);
/// 6/9 matched file; 7/10 a matched file already written (jigdo-file `.tmp`
/// images); 1 and 3 are obsolete image info and file forms without rsync sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescEntry {
    /// `len` bytes taken from the data parts (type 2).
    Unmatched {
        /// Byte count.
        len: u64,
    },
    /// A file found on a mirror (types 3, 6, 7, 9, 10).
    File {
        /// The file's length.
        len: u64,
        /// rsync64 of the file's first block; `None` only in obsolete type 3.
        rsync64: Option<Rsync64>,
        /// The file's digest: MD5 (format 1.x) or SHA-256 (2.x).
        digest: Digest,
        /// Already written into a partial image (types 7 and 10).
        written: bool,
    },
    /// The whole image's length and digest (types 1, 5, 8); always last.
    ImageInfo {
        /// The image length.
        len: u64,
        /// The image digest.
        digest: Digest,
        /// Block length of the rsync64 sums; `None` only in obsolete type 1.
        rsync_block_len: Option<u32>,
    },
}

impl DescEntry {
    /// Decodes one entry from the front of `buf`; returns it and its encoded length.
    ///
    /// `offset` is only used in error messages.
    ///
    /// # Errors
    /// [`Error::UnknownDescEntry`] or [`Error::Truncated`].
    pub fn decode(buf: &[u8], offset: u64) -> Result<(DescEntry, usize)> {
        let entry_type = *buf.first().ok_or(Error::Truncated {
            what: "DESC entry",
            offset,
            file_len: offset,
        })?;
        let need = |n: usize| -> Result<&[u8]> {
            buf.get(1..1 + n).ok_or(Error::Truncated {
                what: "DESC entry",
                offset,
                file_len: offset.saturating_add(buf.len() as u64),
            })
        };
        let digest = |alg: Algorithm, b: &[u8], at: usize| {
            let bytes = b.get(at..at + alg.len()).unwrap_or(&[]);
            Digest::new(alg, bytes).map_err(|_| Error::Truncated {
                what: "DESC entry",
                offset,
                file_len: offset.saturating_add(buf.len() as u64),
            })
        };
        let u48 = |b: &[u8], at| le::u48(b, at).unwrap_or(0);
        let entry = match entry_type {
            2 => {
                let b = need(6)?;
                DescEntry::Unmatched { len: u48(b, 0) }
            }
            1 | 5 | 8 => {
                let (alg, rsync) = match entry_type {
                    1 => (Algorithm::Md5, false),
                    5 => (Algorithm::Md5, true),
                    _ => (Algorithm::Sha256, true),
                };
                let b = need(6 + alg.len() + if rsync { 4 } else { 0 })?;
                DescEntry::ImageInfo {
                    len: u48(b, 0),
                    digest: digest(alg, b, 6)?,
                    rsync_block_len: if rsync {
                        le::u32(b, 6 + alg.len())
                    } else {
                        None
                    },
                }
            }
            3 => {
                let b = need(6 + 16)?;
                DescEntry::File {
                    len: u48(b, 0),
                    rsync64: None,
                    digest: digest(Algorithm::Md5, b, 6)?,
                    written: false,
                }
            }
            6 | 7 | 9 | 10 => {
                let alg = if entry_type <= 7 {
                    Algorithm::Md5
                } else {
                    Algorithm::Sha256
                };
                let b = need(6 + 8 + alg.len())?;
                DescEntry::File {
                    len: u48(b, 0),
                    rsync64: le::u64(b, 6).map(Rsync64::from_value),
                    digest: digest(alg, b, 14)?,
                    written: entry_type == 7 || entry_type == 10,
                }
            }
            _ => return Err(Error::UnknownDescEntry { entry_type, offset }),
        };
        Ok((entry, entry.encoded_len()))
    }

    /// The type byte this entry is written with.
    pub fn entry_type(&self) -> u8 {
        let sha = |d: &Digest| d.algorithm() == Algorithm::Sha256;
        match self {
            DescEntry::Unmatched { .. } => 2,
            DescEntry::File { rsync64: None, .. } => 3,
            DescEntry::File {
                digest, written, ..
            } => match (sha(digest), written) {
                (false, false) => 6,
                (false, true) => 7,
                (true, false) => 9,
                (true, true) => 10,
            },
            DescEntry::ImageInfo {
                rsync_block_len: None,
                ..
            } => 1,
            DescEntry::ImageInfo { digest, .. } => {
                if sha(digest) {
                    8
                } else {
                    5
                }
            }
        }
    }

    /// Length of the encoded entry, type byte included.
    pub fn encoded_len(&self) -> usize {
        match self {
            DescEntry::Unmatched { .. } => 7,
            DescEntry::File {
                rsync64, digest, ..
            } => 7 + digest.algorithm().len() + if rsync64.is_some() { 8 } else { 0 },
            DescEntry::ImageInfo {
                digest,
                rsync_block_len,
                ..
            } => 7 + digest.algorithm().len() + if rsync_block_len.is_some() { 4 } else { 0 },
        }
    }

    /// The length field: bytes of image this entry covers (the whole image for image info).
    pub fn len(&self) -> u64 {
        match self {
            DescEntry::Unmatched { len }
            | DescEntry::File { len, .. }
            | DescEntry::ImageInfo { len, .. } => *len,
        }
    }

    /// Whether the length field is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The digest's algorithm, for entries that have one.
    pub fn algorithm(&self) -> Option<Algorithm> {
        match self {
            DescEntry::Unmatched { .. } => None,
            DescEntry::File { digest, .. } | DescEntry::ImageInfo { digest, .. } => {
                Some(digest.algorithm())
            }
        }
    }

    /// Appends the encoded entry to `out`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if the length does not fit 48 bits, and
    /// [`Error::WriterAlgorithm`] for digests other than MD5 and SHA-256 (or
    /// SHA-256 in an obsolete rsync-less form, which does not exist).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        if self.len() > le::U48_MAX {
            return Err(Error::TooLarge {
                what: "DESC entry",
                value: self.len(),
            });
        }
        let ty = self.entry_type();
        if let Some(alg) = self.algorithm() {
            let ok = match alg {
                Algorithm::Md5 => true,
                Algorithm::Sha256 => ty != 1 && ty != 3,
                _ => false,
            };
            if !ok {
                return Err(Error::WriterAlgorithm {
                    expected: Algorithm::Md5,
                    found: alg,
                });
            }
        }
        out.push(ty);
        le::put_u48(out, self.len());
        match self {
            DescEntry::Unmatched { .. } => {}
            DescEntry::File {
                rsync64, digest, ..
            } => {
                if let Some(r) = rsync64 {
                    out.extend_from_slice(&r.value().to_le_bytes());
                }
                out.extend_from_slice(digest.as_bytes());
            }
            DescEntry::ImageInfo {
                digest,
                rsync_block_len,
                ..
            } => {
                out.extend_from_slice(digest.as_bytes());
                if let Some(n) = rsync_block_len {
                    out.extend_from_slice(&n.to_le_bytes());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_digest(alg: Algorithm) -> impl Strategy<Value = Digest> {
        proptest::collection::vec(any::<u8>(), alg.len())
            .prop_map(move |b| Digest::new(alg, &b).unwrap())
    }

    fn arb_entry() -> impl Strategy<Value = DescEntry> {
        let len = 0u64..=le::U48_MAX;
        let alg = prop_oneof![Just(Algorithm::Md5), Just(Algorithm::Sha256)];
        prop_oneof![
            len.clone().prop_map(|len| DescEntry::Unmatched { len }),
            (
                len.clone(),
                alg.clone().prop_flat_map(arb_digest),
                any::<u64>(),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(|(len, digest, r, has_r, written)| DescEntry::File {
                    len,
                    rsync64: (has_r || digest.algorithm() == Algorithm::Sha256)
                        .then_some(Rsync64::from_value(r)),
                    digest,
                    written: written && (has_r || digest.algorithm() == Algorithm::Sha256),
                }),
            (
                len,
                alg.prop_flat_map(arb_digest),
                any::<u32>(),
                any::<bool>()
            )
                .prop_map(|(len, digest, n, has_n)| DescEntry::ImageInfo {
                    len,
                    rsync_block_len: (has_n || digest.algorithm() == Algorithm::Sha256)
                        .then_some(n),
                    digest,
                }),
        ]
    }

    proptest! {
        #[test]
        fn entries_round_trip(e in arb_entry()) {
            let mut buf = Vec::new();
            e.encode(&mut buf).unwrap();
            prop_assert_eq!(buf.len(), e.encoded_len());
            let (back, used) = DescEntry::decode(&buf, 0).unwrap();
            prop_assert_eq!(back, e);
            prop_assert_eq!(used, buf.len());
            // every prefix is an error, never a panic or a wrong entry
            for cut in 0..buf.len() {
                prop_assert!(DescEntry::decode(&buf[..cut], 0).is_err());
            }
        }
    }

    #[test]
    fn decodes_libjte_file_entry() {
        // from `jigdump` of an xorriso template: length 2400, rsync 3afc6c8156875480
        let mut buf = vec![6, 0x60, 0x09, 0, 0, 0, 0];
        buf.extend_from_slice(&[0x3a, 0xfc, 0x6c, 0x81, 0x56, 0x87, 0x54, 0x80]);
        buf.extend_from_slice(&[0x11; 16]);
        let (e, n) = DescEntry::decode(&buf, 0).unwrap();
        assert_eq!(n, 31);
        match e {
            DescEntry::File {
                len,
                rsync64,
                written,
                ..
            } => {
                assert_eq!(len, 2400);
                assert_eq!(rsync64.unwrap().value().to_le_bytes(), buf[7..15]);
                assert!(!written);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fuzz_desc_decode_offset_overflow() {
        // the offset only labels errors: one near u64::MAX must not overflow
        for buf in [&[2u8, 0][..], &[5, 1, 0, 0, 0, 0, 0, 1], &[9; 20]] {
            assert!(matches!(
                DescEntry::decode(buf, u64::MAX - 1),
                Err(Error::Truncated {
                    file_len: u64::MAX,
                    ..
                })
            ));
        }
    }

    #[test]
    fn unknown_type_is_an_error() {
        assert!(matches!(
            DescEntry::decode(&[4, 0, 0, 0, 0, 0, 0], 9),
            Err(Error::UnknownDescEntry {
                entry_type: 4,
                offset: 9
            })
        ));
    }
}
