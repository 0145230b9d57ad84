//! A DESC part on its own: what ends both a `.template` and a jigdo-file
//! `.tmp` image (the partial image followed by a DESC table whose written
//! files have types 7/10), read from the end of the file and written whole.

use std::io::{Read, Seek, SeekFrom};

use super::DescEntry;
use crate::le;
use crate::{Error, Result};

/// Largest DESC table loaded, from a template or a `.tmp` (a Blu-ray
/// image's is a few MiB).
pub(super) const MAX_DESC: u64 = 1 << 30;

/// Reads the DESC table that ends `r` (a template or a `.tmp` image): the
/// last six bytes give its length, the part starts with `DESC`.
///
/// Returns the entries and the byte where the DESC part starts (for a
/// `.tmp` image, the image length).
///
/// # Errors
/// [`Error::Truncated`], [`Error::BadPartLength`], [`Error::UnknownPart`],
/// [`Error::TooLarge`], [`Error::UnknownDescEntry`] or [`Error::Io`].
///
/// # Security
/// The length is checked against the file size and capped at 1 GiB before
/// anything is allocated.
pub fn read_desc_table<R: Read + Seek>(r: &mut R) -> Result<(Vec<DescEntry>, u64)> {
    let file_len = r
        .seek(SeekFrom::End(0))
        .map_err(Error::io("finding the file size"))?;
    let truncated = |offset| Error::Truncated {
        what: "DESC part",
        offset,
        file_len,
    };
    if file_len < 16 {
        return Err(truncated(0));
    }
    let mut trailer = [0u8; 6];
    r.seek(SeekFrom::Start(file_len - 6))
        .and_then(|_| r.read_exact(&mut trailer))
        .map_err(Error::io("reading the DESC trailer"))?;
    let desc_len = le::u48(&trailer, 0).ok_or_else(|| truncated(file_len - 6))?;
    if !(16..=file_len).contains(&desc_len) {
        return Err(Error::BadPartLength {
            offset: file_len - 6,
            len: desc_len,
        });
    }
    if desc_len > MAX_DESC {
        return Err(Error::TooLarge {
            what: "DESC table",
            value: desc_len,
        });
    }
    let start = file_len - desc_len;
    let mut part = Vec::new();
    r.seek(SeekFrom::Start(start))
        .map_err(Error::io("reading the DESC table"))?;
    r.take(desc_len)
        .read_to_end(&mut part)
        .map_err(Error::io("reading the DESC table"))?;
    let (Some(id), Some(len)) = (part.get(0..4), le::u48(&part, 4)) else {
        return Err(truncated(start));
    };
    if id != b"DESC" {
        return Err(Error::UnknownPart {
            id: String::from_utf8_lossy(id).into_owned(),
            offset: start,
        });
    }
    if len != desc_len {
        return Err(Error::BadPartLength { offset: start, len });
    }
    let table = part
        .get(10..part.len().saturating_sub(6))
        .ok_or_else(|| truncated(start))?;
    Ok((decode_desc(table, start + 10)?, start))
}

/// The entries of a DESC table's body; `base` is its offset in the file.
pub(super) fn decode_desc(table: &[u8], base: u64) -> Result<Vec<DescEntry>> {
    // an entry is at least 7 bytes: bound the preallocation by what the table can hold
    let mut entries = Vec::with_capacity(table.len() / 31);
    let mut pos = 0usize;
    while pos < table.len() {
        let rest = table.get(pos..).unwrap_or(&[]);
        let (entry, used) = DescEntry::decode(rest, base + pos as u64)?;
        entries.push(entry);
        pos += used;
    }
    Ok(entries)
}

/// Encodes a whole DESC part: `DESC`, its length, the entries, the length again.
///
/// # Errors
/// As [`DescEntry::encode`].
pub fn encode_desc_table(entries: &[DescEntry]) -> Result<Vec<u8>> {
    encode_desc_entries(entries)
}

/// [`encode_desc_table`] of any run of entries (the writer's, then its
/// image info).
pub(super) fn encode_desc_entries<'a>(
    entries: impl IntoIterator<Item = &'a DescEntry>,
) -> Result<Vec<u8>> {
    let entries = entries.into_iter();
    let mut desc = Vec::with_capacity(16 + entries.size_hint().0 * 40);
    desc.extend_from_slice(b"DESC");
    desc.extend_from_slice(&[0; 6]);
    for e in entries {
        e.encode(&mut desc)?;
    }
    let desc_len = desc.len() as u64 + 6;
    let mut len_bytes = Vec::with_capacity(6);
    le::put_u48(&mut len_bytes, desc_len);
    if let Some(slot) = desc.get_mut(4..10) {
        slot.copy_from_slice(&len_bytes);
    }
    desc.extend_from_slice(&len_bytes);
    Ok(desc)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use jigsmith_checksum::{Algorithm, Hasher, Rsync64};

    use super::*;

    #[test]
    fn a_tmp_image_round_trips() {
        let entries = vec![
            DescEntry::Unmatched { len: 3 },
            DescEntry::File {
                len: 5,
                rsync64: Some(Rsync64::of(b"hello")),
                digest: Hasher::digest(Algorithm::Md5, b"hello"),
                written: true,
            },
            DescEntry::ImageInfo {
                len: 8,
                digest: Hasher::digest(Algorithm::Md5, b"abchello"),
                rsync_block_len: Some(1024),
            },
        ];
        let mut file = b"abchello".to_vec();
        file.extend(encode_desc_table(&entries).unwrap());
        let (read, start) = read_desc_table(&mut Cursor::new(file)).unwrap();
        assert_eq!((read, start), (entries, 8));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"0123456789abcdef", &[0xff; 40]] {
            assert!(read_desc_table(&mut Cursor::new(bad.to_vec())).is_err());
        }
    }
}
