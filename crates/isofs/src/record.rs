//! Directory records (ECMA-119 9.1) and the System Use entries inside them
//! (SUSP 1.12 and Rock Ridge 1.12: SP, CE, NM, PX, CL, RE, ST).

use crate::{Error, Result};

/// Directory record flag: a directory.
pub(crate) const FLAG_DIR: u8 = 0x02;
/// Directory record flag: more extents of this file follow.
pub(crate) const FLAG_MULTI_EXTENT: u8 = 0x80;
/// Bytes before the file identifier.
const FIXED_LEN: usize = 33;

/// One directory record, decoded and bounds-checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub extent: u32,
    pub ext_attr_len: u8,
    pub data_len: u32,
    pub flags: u8,
    /// Non-zero for interleaved files, whose bytes are not contiguous.
    pub unit_size: u8,
    pub name: &'a [u8],
    pub system_use: &'a [u8],
}

impl<'a> Record<'a> {
    /// Decodes the record that fills `buf` (its first byte is its length);
    /// `at` is its image offset for errors.
    pub fn parse(buf: &'a [u8], at: u64) -> Result<Record<'a>> {
        let bad = |why| Error::BadRecord { offset: at, why };
        if buf.len() < FIXED_LEN {
            return Err(bad("shorter than 33 bytes"));
        }
        let name_len = usize::from(byte(buf, 32));
        let name_end = FIXED_LEN + name_len;
        let name = buf
            .get(FIXED_LEN..name_end)
            .ok_or(bad("name runs past the record"))?;
        if name_len == 0 {
            return Err(bad("empty file identifier"));
        }
        // a pad byte keeps the system use area at an even offset
        let su_start = name_end + usize::from(name_len % 2 == 0);
        let system_use = buf.get(su_start..).unwrap_or(&[]);
        Ok(Record {
            extent: le_u32(buf, 2),
            ext_attr_len: byte(buf, 1),
            data_len: le_u32(buf, 10),
            flags: byte(buf, 25),
            unit_size: byte(buf, 26),
            name,
            system_use,
        })
    }

    pub fn is_dir(&self) -> bool {
        self.flags & FLAG_DIR != 0
    }

    /// `.` and `..` (identifiers 0x00 and 0x01).
    pub fn is_self_or_parent(&self) -> bool {
        matches!(self.name, [0] | [1])
    }
}

fn byte(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

/// The little-endian half of a both-endian field (ECMA-119 7.3.3);
/// 0 when out of the buffer.
pub(crate) fn le_u32(buf: &[u8], at: usize) -> u32 {
    buf.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

pub(crate) fn le_u16(buf: &[u8], at: usize) -> u16 {
    buf.get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

/// A continuation area: where more System Use entries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Continuation {
    pub block: u32,
    pub offset: u32,
    pub len: u32,
}

/// What the System Use entries of one record say.
#[derive(Debug, Default, Clone)]
pub(crate) struct SystemUse {
    /// `SP` seen (only meaningful in the root's `.` record), with its skip length.
    pub sp_skip: Option<u8>,
    /// The Rock Ridge name, concatenated over NM entries.
    pub name: Option<Vec<u8>>,
    /// An NM entry meaning `.` or `..`.
    pub name_is_special: bool,
    /// PX file mode.
    pub mode: Option<u32>,
    /// CL: the directory relocated away from here lives at this block.
    pub child_link: Option<u32>,
    /// RE: this is a relocated directory, listed where its CL points from.
    pub relocated: bool,
    /// The next continuation area, if any.
    pub continuation: Option<Continuation>,
}

/// POSIX file type bits of a PX mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

impl SystemUse {
    /// Reads the entries in `area`, adding to what earlier areas said.
    /// Stops at `ST`, at padding, or at a malformed entry (the rest of a
    /// damaged area is ignored, as Linux does).
    pub fn scan(&mut self, mut area: &[u8]) {
        self.continuation = None;
        while area.len() >= 4 {
            let len = usize::from(byte(area, 2));
            let Some(entry) = area.get(..len).filter(|_| len >= 4) else {
                break;
            };
            let data = entry.get(4..).unwrap_or(&[]);
            match entry.get(..2) {
                Some(b"SP") if data.get(..2) == Some(&[0xBE, 0xEF][..]) => {
                    self.sp_skip = Some(byte(data, 2));
                }
                Some(b"NM") => {
                    let flags = byte(data, 0);
                    // CURRENT (2) or PARENT (4): `.` and `..`
                    if flags & 0x06 != 0 {
                        self.name_is_special = true;
                    }
                    self.name
                        .get_or_insert_with(Vec::new)
                        .extend_from_slice(data.get(1..).unwrap_or(&[]));
                }
                Some(b"PX") if data.len() >= 8 => self.mode = Some(le_u32(data, 0)),
                Some(b"CL") if data.len() >= 8 => self.child_link = Some(le_u32(data, 0)),
                Some(b"RE") => self.relocated = true,
                Some(b"CE") if data.len() >= 24 => {
                    self.continuation = Some(Continuation {
                        block: le_u32(data, 0),
                        offset: le_u32(data, 8),
                        len: le_u32(data, 16),
                    });
                }
                Some(b"ST") => break,
                _ => {}
            }
            area = area.get(len..).unwrap_or(&[]);
        }
    }

    /// Whether PX says this is something other than a regular file or a
    /// directory (symlink, device, fifo, socket).
    pub fn is_special_file(&self) -> bool {
        self.mode
            .is_some_and(|m| !matches!(m & S_IFMT, S_IFREG | S_IFDIR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &[u8], su: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 33];
        r.extend_from_slice(name);
        if name.len() % 2 == 0 {
            r.push(0);
        }
        r.extend_from_slice(su);
        r[0] = r.len() as u8;
        r[2..6].copy_from_slice(&20u32.to_le_bytes());
        r[10..14].copy_from_slice(&5u32.to_le_bytes());
        r[32] = name.len() as u8;
        r
    }

    #[test]
    fn decodes_names_and_system_use() {
        let su = [
            b"NM\x08\x01\x01abc".as_slice(),
            b"NM\x07\x01\x00de".as_slice(),
            b"PX\x0c\x01\xa4\x81\x00\x00\x00\x00\x81\xa4".as_slice(),
            b"ST\x04\x01NM\x06\x01\x00zz".as_slice(),
        ]
        .concat();
        let buf = record(b"ABC.;1", &su);
        let r = Record::parse(&buf, 0).unwrap();
        assert_eq!((r.extent, r.data_len, r.name), (20, 5, &b"ABC.;1"[..]));
        let mut s = SystemUse::default();
        s.scan(r.system_use);
        assert_eq!(s.name.as_deref(), Some(&b"abcde"[..]));
        assert!(!s.is_special_file());
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let buf = record(b"NAME", &[]);
        for cut in 0..buf.len() {
            let _ = Record::parse(&buf[..cut], 0);
        }
        let mut s = SystemUse::default();
        s.scan(b"NM\xff\x01abc");
        s.scan(b"CE\x05\x01");
        assert!(s.name.is_none() && s.continuation.is_none());
    }
}
