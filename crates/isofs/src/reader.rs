//! Volume descriptors and the directory walk.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};

use crate::record::{le_u16, le_u32, Record, SystemUse, FLAG_MULTI_EXTENT};
use crate::{Error, Result};

/// Volume descriptors always sit in 2 KiB sectors from sector 16 on.
const DESCRIPTOR_START: u64 = 16 * 2048;
/// Descriptors read before giving up on finding the terminator.
const MAX_DESCRIPTORS: u64 = 64;
/// Far above real directories (100 000 entries take ~ 10 MiB).
const MAX_DIR_LEN: u64 = 64 << 20;
/// Rock Ridge lifts ISO 9660's eight levels; real trees stay far below this.
const MAX_DEPTH: usize = 256;
/// Directory records visited in all, against images that cross-link directories.
const MAX_ENTRIES: usize = 8 << 20;
/// Continuation areas followed per record, and their total size.
const MAX_CONTINUATIONS: usize = 32;
const MAX_SYSTEM_USE: usize = 256 << 10;

/// Which directory tree names come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// The primary tree with Rock Ridge names (POSIX, any length).
    RockRidge,
    /// The Joliet tree (UCS-2 names up to 64 characters).
    Joliet,
    /// Plain ISO 9660 names (`;1` versions and trailing dots removed).
    Iso9660,
}

/// One contiguous run of a file's bytes in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset in the image.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// A regular file of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoFile {
    /// Path from the root, `/`-separated, no leading `/`.
    pub path: String,
    /// Its extents in file order (more than one for multi-extent files of
    /// 4 GiB and more).
    pub extents: Vec<Extent>,
    /// Its length: the sum of the extents' lengths.
    pub len: u64,
}

impl IsoFile {
    /// The image offset of the file's first byte when its bytes are one
    /// contiguous run (as xorriso and genisoimage write multi-extent files),
    /// else `None`. An empty file starts at its extent.
    pub fn contiguous_offset(&self) -> Option<u64> {
        let first = self.extents.first()?;
        let mut end = first.offset;
        for e in &self.extents {
            if e.offset != end {
                return None;
            }
            end = e.offset.checked_add(e.len)?;
        }
        Some(first.offset)
    }
}

/// Where a directory tree starts.
#[derive(Debug, Clone, Copy)]
struct Root {
    extent: u32,
    len: u32,
}

/// A read-only view of an ISO 9660 image.
///
/// # Security
/// Everything read from the image is bounds-checked: directories must lie
/// inside the image and stay under 64 MiB, nesting stops at 256 levels, a
/// directory reached twice (a loop or cross-link) is an error, the walk
/// visits at most 8 Mi records, and Rock Ridge continuation areas are
/// followed at most 32 times per record.
pub struct IsoFs<R> {
    reader: R,
    image_len: u64,
    block: u64,
    primary: Root,
    joliet: Option<Root>,
    /// SUSP skip length when the primary tree carries Rock Ridge.
    rock_ridge: Option<u8>,
}

impl<R: Read + Seek> IsoFs<R> {
    /// Reads the volume descriptors and checks for Rock Ridge.
    ///
    /// # Errors
    /// [`Error::NotIso`] without a primary volume descriptor,
    /// [`Error::BlockSize`], [`Error::Io`], [`Error::BadRecord`].
    pub fn open(mut reader: R) -> Result<IsoFs<R>> {
        let image_len = reader
            .seek(SeekFrom::End(0))
            .map_err(|source| Error::Io { offset: 0, source })?;
        let mut primary = None;
        let mut joliet = None;
        let mut block = 2048;
        for i in 0..MAX_DESCRIPTORS {
            let at = DESCRIPTOR_START + i * 2048;
            if at + 2048 > image_len {
                break;
            }
            let d = read_exact_at(&mut reader, at, 2048)?;
            if d.get(1..6) != Some(b"CD001") {
                break;
            }
            let root = Root {
                extent: le_u32(&d, 156 + 2),
                len: le_u32(&d, 156 + 10),
            };
            match d.first() {
                Some(1) if primary.is_none() => {
                    block = le_u16(&d, 128);
                    primary = Some(root);
                }
                Some(2) if is_joliet(&d) && joliet.is_none() => joliet = Some(root),
                Some(255) => break,
                _ => {}
            }
        }
        let primary = primary.ok_or(Error::NotIso {
            why: "no primary volume descriptor",
        })?;
        if !matches!(block, 512 | 1024 | 2048) {
            return Err(Error::BlockSize(block));
        }
        let mut fs = IsoFs {
            reader,
            image_len,
            block: u64::from(block),
            primary,
            joliet,
            rock_ridge: None,
        };
        fs.rock_ridge = fs.find_susp()?;
        Ok(fs)
    }

    /// Which names [`IsoFs::files`] reports: Rock Ridge, else Joliet, else ISO 9660.
    pub fn names(&self) -> Names {
        match (self.rock_ridge, self.joliet) {
            (Some(_), _) => Names::RockRidge,
            (None, Some(_)) => Names::Joliet,
            (None, None) => Names::Iso9660,
        }
    }

    /// The image's length in bytes.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// Every regular file of the image, in directory order (depth first).
    /// Symlinks, devices and interleaved files are left out.
    ///
    /// # Errors
    /// [`Error::Io`] and the structural errors of [`Error`]; see the
    /// `# Security` section of [`IsoFs`].
    pub fn files(&mut self) -> Result<Vec<IsoFile>> {
        let names = self.names();
        let root = match names {
            Names::Joliet => self.joliet.unwrap_or(self.primary),
            _ => self.primary,
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut entries = 0usize;
        // (directory extent, length, path prefix, depth)
        let mut stack = vec![(root.extent, root.len, String::new(), 0usize)];
        while let Some((extent, len, prefix, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(Error::TooDeep(MAX_DEPTH));
            }
            let offset = u64::from(extent) * self.block;
            if !seen.insert(offset) {
                return Err(Error::Loop { offset });
            }
            let dir = self.read_dir(offset, u64::from(len))?;
            let mut subdirs = Vec::new();
            let mut pending: Option<IsoFile> = None;
            for (at, rec_buf) in records(&dir, offset, self.block)? {
                entries += 1;
                if entries > MAX_ENTRIES {
                    return Err(Error::TooManyEntries(MAX_ENTRIES));
                }
                let rec = Record::parse(rec_buf, at)?;
                if rec.is_self_or_parent() {
                    continue;
                }
                let su = match names {
                    Names::RockRidge => self.system_use(&rec, at)?,
                    _ => SystemUse::default(),
                };
                if su.relocated || su.name_is_special {
                    continue;
                }
                let name = display_name(names, &rec, &su);
                if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
                    return Err(Error::BadName { offset, name });
                }
                let path = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                if let Some(target) = su.child_link {
                    let target_len = self.dir_len_at(target)?;
                    subdirs.push((target, target_len, path, depth + 1));
                    continue;
                }
                if rec.is_dir() {
                    subdirs.push((rec.extent, rec.data_len, path, depth + 1));
                    continue;
                }
                let start = (u64::from(rec.extent) + u64::from(rec.ext_attr_len)) * self.block;
                let extent = Extent {
                    offset: start,
                    len: u64::from(rec.data_len),
                };
                let file = match pending.take() {
                    // later extents of a multi-extent file carry the same name
                    Some(mut f) if f.path == path => {
                        f.extents.push(extent);
                        f.len += extent.len;
                        f
                    }
                    _ => IsoFile {
                        path,
                        extents: vec![extent],
                        len: extent.len,
                    },
                };
                if rec.flags & FLAG_MULTI_EXTENT != 0 {
                    pending = Some(file);
                } else if rec.unit_size == 0 && !su.is_special_file() {
                    out.push(file);
                }
            }
            // depth first, in directory order
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }

    /// The skip length of the SUSP `SP` entry in the root's `.` record, if
    /// the primary tree uses SUSP (Rock Ridge).
    fn find_susp(&mut self) -> Result<Option<u8>> {
        let offset = u64::from(self.primary.extent) * self.block;
        if offset + 34 > self.image_len {
            return Err(Error::DirectoryOutOfBounds {
                offset,
                len: u64::from(self.primary.len),
                image_len: self.image_len,
            });
        }
        let first = read_exact_at(&mut self.reader, offset, 255.min(self.image_len - offset))?;
        let len = usize::from(first.first().copied().unwrap_or(0));
        let rec_buf = first.get(..len).ok_or(Error::BadRecord {
            offset,
            why: "root record runs past its sector",
        })?;
        let rec = Record::parse(rec_buf, offset)?;
        let mut su = SystemUse::default();
        su.scan(rec.system_use);
        Ok(su.sp_skip)
    }

    /// The length of the directory whose `.` record is at `block`.
    fn dir_len_at(&mut self, block: u32) -> Result<u32> {
        let offset = u64::from(block) * self.block;
        let avail = self.image_len.saturating_sub(offset).min(255);
        let buf = read_exact_at(&mut self.reader, offset, avail)?;
        let len = usize::from(buf.first().copied().unwrap_or(0));
        let rec = Record::parse(buf.get(..len).unwrap_or(&[]), offset)?;
        Ok(rec.data_len)
    }

    /// A record's System Use entries, continuation areas followed.
    fn system_use(&mut self, rec: &Record<'_>, at: u64) -> Result<SystemUse> {
        let skip = usize::from(self.rock_ridge.unwrap_or(0));
        let mut su = SystemUse::default();
        su.scan(rec.system_use.get(skip..).unwrap_or(&[]));
        let mut hops = 0;
        let mut total = 0usize;
        let mut seen = HashSet::new();
        while let Some(ce) = su.continuation {
            let bad = |why| Error::Continuation { offset: at, why };
            hops += 1;
            total += ce.len as usize;
            if hops > MAX_CONTINUATIONS || total > MAX_SYSTEM_USE {
                return Err(bad("too many or too large"));
            }
            if !seen.insert(ce) {
                return Err(bad("a loop"));
            }
            let start = u64::from(ce.block) * self.block + u64::from(ce.offset);
            if start + u64::from(ce.len) > self.image_len {
                return Err(bad("past the image end"));
            }
            let area = read_exact_at(&mut self.reader, start, u64::from(ce.len))?;
            su.scan(&area);
        }
        Ok(su)
    }

    fn read_dir(&mut self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if len > MAX_DIR_LEN {
            return Err(Error::DirectoryTooBig {
                offset,
                len,
                limit: MAX_DIR_LEN,
            });
        }
        if offset + len > self.image_len {
            return Err(Error::DirectoryOutOfBounds {
                offset,
                len,
                image_len: self.image_len,
            });
        }
        read_exact_at(&mut self.reader, offset, len)
    }
}

/// The records of a directory: `(image offset, bytes)`. A record never
/// crosses a block boundary; a zero length byte means "no more in this
/// block" (ECMA-119 6.8.1.1).
fn records(dir: &[u8], offset: u64, block: u64) -> Result<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let block = usize::try_from(block).unwrap_or(2048);
    while pos < dir.len() {
        let len = usize::from(dir.get(pos).copied().unwrap_or(0));
        if len == 0 {
            pos = (pos / block + 1) * block;
            continue;
        }
        let at = offset + pos as u64;
        let block_end = (pos / block + 1) * block;
        if pos + len > block_end || pos + len > dir.len() {
            return Err(Error::BadRecord {
                offset: at,
                why: "crosses a block boundary or the directory end",
            });
        }
        if let Some(rec) = dir.get(pos..pos + len) {
            out.push((at, rec));
        }
        pos += len;
    }
    Ok(out)
}

/// A Joliet supplementary volume descriptor names a UCS-2 level in its
/// escape sequences (`%/@`, `%/C`, `%/E`).
fn is_joliet(d: &[u8]) -> bool {
    let esc = d.get(88..120).unwrap_or(&[]);
    esc.windows(3)
        .any(|w| matches!(w, b"%/@" | b"%/C" | b"%/E"))
}

fn display_name(names: Names, rec: &Record<'_>, su: &SystemUse) -> String {
    match (names, &su.name) {
        (Names::RockRidge, Some(n)) => String::from_utf8_lossy(n).into_owned(),
        (Names::Joliet, _) => {
            let units = rec.name.chunks_exact(2).map(|c| {
                u16::from_be_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            });
            let s: String = char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            strip_version(&s).to_string()
        }
        _ => {
            let s = String::from_utf8_lossy(rec.name);
            let s = strip_version(&s);
            // `README.;1`: the dot only separates an empty extension
            s.strip_suffix('.').unwrap_or(s).to_string()
        }
    }
}

fn strip_version(s: &str) -> &str {
    match s.rsplit_once(';') {
        Some((base, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => s,
    }
}

fn read_exact_at<R: Read + Seek>(r: &mut R, offset: u64, len: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io { offset, source };
    r.seek(SeekFrom::Start(offset)).map_err(io)?;
    let n = usize::try_from(len).map_err(|_| Error::DirectoryTooBig {
        offset,
        len,
        limit: MAX_DIR_LEN,
    })?;
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).map_err(io)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FLAG_MULTI_EXTENT;

    #[test]
    fn versions_are_stripped() {
        assert_eq!(strip_version("A.TXT;1"), "A.TXT");
        assert_eq!(strip_version("a;b"), "a;b");
        assert_eq!(strip_version("x;"), "x;");
    }

    /// A directory record for the tests' hand-made images.
    fn rec(name: &[u8], lba: u32, len: u32, flags: u8) -> Vec<u8> {
        let mut r = vec![0u8; 33];
        r.extend_from_slice(name);
        if name.len() % 2 == 0 {
            r.push(0);
        }
        r[0] = r.len() as u8;
        r[2..6].copy_from_slice(&lba.to_le_bytes());
        r[10..14].copy_from_slice(&len.to_le_bytes());
        r[25] = flags;
        r[32] = name.len() as u8;
        r
    }

    /// A plain ISO 9660 image: root at sector 20 holding `records`.
    fn image(records: &[Vec<u8>]) -> Vec<u8> {
        let mut img = vec![0u8; 30 * 2048];
        let pvd = 16 * 2048;
        img[pvd] = 1;
        img[pvd + 1..pvd + 6].copy_from_slice(b"CD001");
        img[pvd + 128..pvd + 130].copy_from_slice(&2048u16.to_le_bytes());
        let root = rec(&[0], 20, 2048, 2);
        img[pvd + 156..pvd + 156 + root.len()].copy_from_slice(&root);
        img[17 * 2048] = 255;
        img[17 * 2048 + 1..17 * 2048 + 6].copy_from_slice(b"CD001");
        let mut at = 20 * 2048;
        for r in [rec(&[0], 20, 2048, 2), rec(&[1], 20, 2048, 2)]
            .iter()
            .chain(records)
        {
            img[at..at + r.len()].copy_from_slice(r);
            at += r.len();
        }
        img
    }

    #[test]
    fn multi_extent_files_are_one_file() {
        let img = image(&[
            rec(b"BIG.;1", 22, 2048, FLAG_MULTI_EXTENT),
            rec(b"BIG.;1", 23, 100, 0),
            rec(b"SMALL.TXT;1", 25, 7, 0),
        ]);
        let mut fs = IsoFs::open(std::io::Cursor::new(img)).unwrap();
        assert_eq!(fs.names(), Names::Iso9660);
        let files = fs.files().unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[0].path, "BIG");
        assert_eq!(files[0].len, 2148);
        assert_eq!(files[0].contiguous_offset(), Some(22 * 2048));
        assert_eq!(files[1].path, "SMALL.TXT");
        // extents that are not back to back have no single offset
        let split = IsoFile {
            path: "x".into(),
            extents: vec![
                Extent {
                    offset: 0,
                    len: 2048,
                },
                Extent {
                    offset: 4096,
                    len: 1,
                },
            ],
            len: 2049,
        };
        assert_eq!(split.contiguous_offset(), None);
    }

    #[test]
    fn records_crossing_a_block_are_refused() {
        // eight records of 250 bytes, then one of 100 that would cross 2048
        let mut dir = vec![0u8; 4096];
        for i in 0..8 {
            dir[i * 250] = 250;
        }
        dir[2000] = 100;
        let err = records(&dir, 0, 2048);
        assert!(
            matches!(err, Err(Error::BadRecord { offset: 2000, .. })),
            "{err:?}"
        );
        dir[2000] = 0; // padding: the next record starts in the next block
        dir[2048] = 34;
        assert_eq!(records(&dir, 0, 2048).unwrap().len(), 9);
    }

    #[test]
    fn garbage_is_not_an_iso() {
        let data = vec![0u8; 40000];
        assert!(matches!(
            IsoFs::open(std::io::Cursor::new(data)),
            Err(Error::NotIso { .. })
        ));
    }
}
