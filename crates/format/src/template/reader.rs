use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use jigsmith_checksum::{Algorithm, Digest, Rsync64};

use super::desc_table::{decode_desc, MAX_DESC};
use super::{Compression, DataPart, DescEntry, TemplateHeader};
use crate::le;
use crate::{Error, Result};

/// A piece of the image, in image order: unmatched data or a matched file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Where it starts in the image.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// Where its bytes come from.
    pub kind: ItemKind,
}

impl Item {
    /// Where it ends in the image (exclusive).
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// Where an [`Item`]'s bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Template data, starting at `data_offset` of the unmatched stream.
    Unmatched {
        /// Offset into the concatenated raw data of all parts.
        data_offset: u64,
    },
    /// A file identified by digest and length.
    File {
        /// The file's digest.
        digest: Digest,
        /// rsync64 of its first block, if the template recorded it.
        rsync64: Option<Rsync64>,
    },
}

/// A parsed, validated template: everything but the compressed data, which
/// stays in the file and is read with [`crate::UnmatchedReader`].
///
/// Validation guarantees: exactly one image info entry, last; entries in the
/// algorithm of the format version; entry lengths adding up to the image
/// length; unmatched entries adding up to the parts' raw data.
#[derive(Debug, Clone)]
pub struct Template {
    header: TemplateHeader,
    algorithm: Algorithm,
    parts: Arc<[DataPart]>,
    desc: Vec<DescEntry>,
    items: Vec<Item>,
    image_len: u64,
    image_digest: Digest,
    rsync_block_len: Option<u32>,
    file_len: u64,
    desc_offset: u64,
}

impl Template {
    /// Reads and validates a template's structure (not its compressed data).
    ///
    /// # Errors
    /// Any structural [`Error`]: bad magic or version, truncation, unknown
    /// parts or entries, inconsistent lengths.
    ///
    /// # Security
    /// Every length is checked against the file size before use, and the
    /// DESC table is capped at 1 GiB, so hostile input cannot make it
    /// allocate more than the file holds or index out of bounds.
    pub fn read<R: Read + Seek>(r: &mut R) -> Result<Template> {
        Self::read_dyn(r)
    }

    fn read_dyn(r: &mut dyn ReadSeek) -> Result<Template> {
        let file_len = r
            .seek(SeekFrom::End(0))
            .map_err(Error::io("finding the template size"))?;
        r.seek(SeekFrom::Start(0))
            .map_err(Error::io("reading the template header"))?;
        let header = TemplateHeader::read(&mut *r)?;
        let algorithm = header.algorithm()?;

        let (parts, desc_offset) = walk_parts(r, header.len, file_len)?;
        let desc_len = read_u48_at(r, desc_offset + 4, "DESC header", file_len)?;
        if desc_len < 16 || desc_offset.checked_add(desc_len) != Some(file_len) {
            return Err(Error::BadPartLength {
                offset: desc_offset,
                len: desc_len,
            });
        }
        if desc_len > MAX_DESC {
            return Err(Error::TooLarge {
                what: "DESC table",
                value: desc_len,
            });
        }
        let trailer = read_u48_at(r, file_len - 6, "DESC trailer", file_len)?;
        if trailer != desc_len {
            return Err(Error::DescMisplaced {
                walked: desc_offset,
                trailer: file_len.saturating_sub(trailer),
            });
        }
        let mut table = Vec::new();
        r.seek(SeekFrom::Start(desc_offset + 10))
            .map_err(Error::io("reading the DESC table"))?;
        r.take(desc_len - 16)
            .read_to_end(&mut table)
            .map_err(Error::io("reading the DESC table"))?;
        let desc = decode_desc(&table, desc_offset + 10)?;

        let mut t = Template {
            header,
            algorithm,
            parts: parts.into(),
            desc,
            items: Vec::new(),
            image_len: 0,
            image_digest: jigsmith_checksum::Hasher::digest(algorithm, b""),
            rsync_block_len: None,
            file_len,
            desc_offset,
        };
        t.validate()?;
        Ok(t)
    }

    fn validate(&mut self) -> Result<()> {
        let Some((
            DescEntry::ImageInfo {
                len,
                digest,
                rsync_block_len,
            },
            rest,
        )) = self.desc.split_last()
        else {
            return Err(Error::NoImageInfo);
        };
        let (image_len, image_digest, rsync_block_len) = (*len, *digest, *rsync_block_len);
        let mut items = Vec::with_capacity(rest.len());
        let mut offset = 0u64;
        let mut data_offset = 0u64;
        let mut entry_pos = self.desc_offset + 10;
        let overflow = || Error::TooLarge {
            what: "sum of DESC entries",
            value: u64::MAX,
        };
        for entry in &self.desc {
            if let Some(found) = entry.algorithm() {
                if found != self.algorithm {
                    return Err(Error::WrongAlgorithm {
                        offset: entry_pos,
                        version: self.header.version.clone(),
                        expected: self.algorithm,
                        found,
                    });
                }
            }
            entry_pos += entry.encoded_len() as u64;
        }
        for entry in rest {
            let kind = match *entry {
                DescEntry::Unmatched { len } => {
                    let k = ItemKind::Unmatched { data_offset };
                    data_offset = data_offset.checked_add(len).ok_or_else(overflow)?;
                    k
                }
                DescEntry::File {
                    digest, rsync64, ..
                } => ItemKind::File { digest, rsync64 },
                DescEntry::ImageInfo { .. } => return Err(Error::NoImageInfo),
            };
            let len = entry.len();
            if len > 0 {
                items.push(Item { offset, len, kind });
            }
            offset = offset.checked_add(len).ok_or_else(overflow)?;
        }
        if offset != image_len {
            return Err(Error::LengthMismatch {
                sum: offset,
                image_len,
            });
        }
        let available = self.parts.last().map_or(0, DataPart::raw_end);
        if data_offset != available {
            return Err(Error::DataMismatch {
                needed: data_offset,
                available,
            });
        }
        self.items = items;
        self.image_len = image_len;
        self.image_digest = image_digest;
        self.rsync_block_len = rsync_block_len;
        Ok(())
    }

    /// The text header.
    pub fn header(&self) -> &TemplateHeader {
        &self.header
    }

    /// The digest algorithm of every file and of the image.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The image's length in bytes.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// The image's digest.
    pub fn image_digest(&self) -> Digest {
        self.image_digest
    }

    /// Block length of the rsync64 sums (1024 in practice).
    pub fn rsync_block_len(&self) -> Option<u32> {
        self.rsync_block_len
    }

    /// The data parts, in file order.
    pub fn parts(&self) -> &[DataPart] {
        &self.parts
    }

    /// The data parts, shareable with [`crate::UnmatchedReader`]s.
    pub fn shared_parts(&self) -> Arc<[DataPart]> {
        Arc::clone(&self.parts)
    }

    /// The DESC table as on the wire (image info last).
    pub fn desc_entries(&self) -> &[DescEntry] {
        &self.desc
    }

    /// Where the DESC part starts in the template file.
    pub fn desc_offset(&self) -> u64 {
        self.desc_offset
    }

    /// The template file's size.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The image's pieces in order; zero-length entries are left out.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The matched files, in image order: `(item, digest)`.
    pub fn files(&self) -> impl Iterator<Item = (&Item, Digest)> + '_ {
        self.items.iter().filter_map(|i| match i.kind {
            ItemKind::File { digest, .. } => Some((i, digest)),
            ItemKind::Unmatched { .. } => None,
        })
    }

    /// Index of the item holding image byte `offset`, if it is inside the image.
    pub fn item_at(&self, offset: u64) -> Option<usize> {
        let i = self.items.partition_point(|it| it.end() <= offset);
        (i < self.items.len()).then_some(i)
    }
}

/// `Read + Seek` as one object-safe trait, for the non-generic core.
trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

fn read_u48_at(r: &mut dyn ReadSeek, at: u64, what: &'static str, file_len: u64) -> Result<u64> {
    let mut b = [0u8; 6];
    let truncated = || Error::Truncated {
        what,
        offset: at,
        file_len,
    };
    if at.checked_add(6).is_none_or(|end| end > file_len) {
        return Err(truncated());
    }
    r.seek(SeekFrom::Start(at))
        .map_err(Error::io("reading a template part header"))?;
    r.read_exact(&mut b).map_err(|_| truncated())?;
    le::u48(&b, 0).ok_or_else(truncated)
}

/// Walks the part headers from `start`; returns the data parts and where DESC starts.
fn walk_parts(r: &mut dyn ReadSeek, start: u64, file_len: u64) -> Result<(Vec<DataPart>, u64)> {
    let mut parts = Vec::new();
    let mut offset = start;
    let mut raw_offset = 0u64;
    loop {
        let mut hdr = [0u8; 16];
        let avail = file_len.saturating_sub(offset);
        let want = avail.min(16) as usize;
        if want < 10 {
            return Err(Error::Truncated {
                what: "part header",
                offset,
                file_len,
            });
        }
        r.seek(SeekFrom::Start(offset))
            .map_err(Error::io("reading a template part header"))?;
        let hdr = hdr.get_mut(..want).unwrap_or(&mut []);
        r.read_exact(hdr)
            .map_err(Error::io("reading a template part header"))?;
        let id = hdr.get(..4).unwrap_or(&[]);
        if id == b"DESC" {
            return Ok((parts, offset));
        }
        let Some(compression) = Compression::from_part_id(id) else {
            return Err(Error::UnknownPart {
                id: String::from_utf8_lossy(id).into_owned(),
                offset,
            });
        };
        let (Some(part_len), Some(raw_len)) = (le::u48(hdr, 4), le::u48(hdr, 10)) else {
            return Err(Error::Truncated {
                what: "part header",
                offset,
                file_len,
            });
        };
        let end = offset.checked_add(part_len);
        if part_len < 16 || end.is_none_or(|e| e > file_len) {
            return Err(if part_len < 16 {
                Error::BadPartLength {
                    offset,
                    len: part_len,
                }
            } else {
                Error::Truncated {
                    what: "data part",
                    offset,
                    file_len,
                }
            });
        }
        parts.push(DataPart {
            compression,
            offset,
            compressed_len: part_len - 16,
            raw_len,
            raw_offset,
        });
        raw_offset = raw_offset
            .checked_add(raw_len)
            .ok_or(Error::BadPartLength {
                offset,
                len: raw_len,
            })?;
        offset += part_len;
    }
}
