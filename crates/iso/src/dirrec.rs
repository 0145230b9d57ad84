//! Directory records (ECMA-119 9.1) and the both-byte-order integers they use.

/// A 32-bit number in both byte orders (ECMA-119 7.3.3).
pub(crate) fn both32(v: u32) -> [u8; 8] {
    let l = v.to_le_bytes();
    let b = v.to_be_bytes();
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

/// A 16-bit number in both byte orders (ECMA-119 7.2.3).
pub(crate) fn both16(v: u16) -> [u8; 4] {
    let l = v.to_le_bytes();
    let b = v.to_be_bytes();
    [l[0], l[1], b[0], b[1]]
}

/// File flag: directory.
pub(crate) const FLAG_DIR: u8 = 0x02;
/// File flag: not the final record of a multi-extent file.
pub(crate) const FLAG_MULTI_EXTENT: u8 = 0x80;

/// Identifier of the "." record.
pub(crate) const SELF_ID: &[u8] = &[0];
/// Identifier of the ".." record.
pub(crate) const PARENT_ID: &[u8] = &[1];

/// Length of a directory record with an identifier of `ident_len` bytes and `su_len` bytes of System
/// Use field; always even (the System Use field is padded).
pub(crate) fn record_len(ident_len: usize, su_len: usize) -> usize {
    let base = 33 + ident_len + usize::from(ident_len % 2 == 0);
    let len = base + su_len;
    len + len % 2
}

/// Room left for the System Use field in a record of at most 254 bytes (an even length).
pub(crate) fn su_room(ident_len: usize) -> usize {
    254usize.saturating_sub(33 + ident_len + usize::from(ident_len % 2 == 0))
}

/// The fields of one directory record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DirRecord<'a> {
    pub extent: u32,
    pub size: u32,
    pub date: [u8; 7],
    pub flags: u8,
    pub ident: &'a [u8],
    pub system_use: &'a [u8],
}

impl DirRecord<'_> {
    /// Appends the encoded record to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let len = record_len(self.ident.len(), self.system_use.len());
        let start = out.len();
        out.push(u8::try_from(len).unwrap_or(u8::MAX));
        out.push(0);
        out.extend_from_slice(&both32(self.extent));
        out.extend_from_slice(&both32(self.size));
        out.extend_from_slice(&self.date);
        out.push(self.flags);
        out.push(0);
        out.push(0);
        out.extend_from_slice(&both16(1));
        out.push(u8::try_from(self.ident.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.ident);
        if self.ident.len() % 2 == 0 {
            out.push(0);
        }
        out.extend_from_slice(self.system_use);
        out.resize(start + len, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_root_record() {
        let mut out = Vec::new();
        DirRecord {
            extent: 20,
            size: 2048,
            date: [70, 1, 1, 0, 0, 0, 0],
            flags: FLAG_DIR,
            ident: SELF_ID,
            system_use: &[],
        }
        .encode(&mut out);
        assert_eq!(out.len(), 34);
        assert_eq!(out[0], 34);
        assert_eq!(&out[2..10], &[20, 0, 0, 0, 0, 0, 0, 20]);
        assert_eq!(&out[10..18], &[0, 8, 0, 0, 0, 0, 8, 0]);
        assert_eq!(out[25], FLAG_DIR);
        assert_eq!(&out[28..32], &[1, 0, 0, 1]);
        assert_eq!(out[32], 1);
    }

    #[test]
    fn lengths_are_even_and_bounded() {
        for ident in 1..=210 {
            let su = su_room(ident);
            let len = record_len(ident, su);
            assert!(len <= 255 && len % 2 == 0, "{ident} {su} {len}");
        }
        assert_eq!(record_len(8, 7), 33 + 8 + 1 + 7 + 1);
    }
}
