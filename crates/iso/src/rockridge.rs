//! Rock Ridge (RRIP 1.12) and SUSP 1.12 System Use entries, and how they are split between a
//! directory record and Continuation Areas.

use crate::dirrec::both32;
use crate::time::dir_date;
use crate::tree::Meta;

/// Length of a CE entry (SUSP 5.1).
pub(crate) const CE_LEN: usize = 28;
/// Most content one SUSP entry can hold after its 5-byte header (length is one byte).
const MAX_PAYLOAD: usize = 250;
/// A Continuation Area must not cross a logical block (SUSP 5.1).
pub(crate) const BLOCK: usize = 2048;

fn entry(sig: &[u8; 2], payload: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(4 + payload.len());
    e.extend_from_slice(sig);
    e.push(u8::try_from(4 + payload.len()).unwrap_or(u8::MAX));
    e.push(1);
    e.extend_from_slice(payload);
    e
}

/// SP: SUSP is in use, no bytes skipped (first entry of the root's "." record).
pub(crate) fn sp() -> Vec<u8> {
    entry(b"SP", &[0xBE, 0xEF, 0])
}

/// RR: the obsolete RRIP 1.09 summary of entries present, still read by some old readers.
pub(crate) fn rr(flags: u8) -> Vec<u8> {
    entry(b"RR", &[flags])
}

/// RR flag bits for the entries present.
pub(crate) const RR_PX: u8 = 1;
/// SL present.
pub(crate) const RR_SL: u8 = 4;
/// NM present.
pub(crate) const RR_NM: u8 = 8;
/// TF present.
pub(crate) const RR_TF: u8 = 0x80;

/// PX: mode, links, uid, gid and the file serial number (RRIP 1.12, 44 bytes).
pub(crate) fn px(meta: &Meta, nlink: u32, serial: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    p.extend_from_slice(&both32(meta.mode));
    p.extend_from_slice(&both32(nlink));
    p.extend_from_slice(&both32(meta.uid));
    p.extend_from_slice(&both32(meta.gid));
    p.extend_from_slice(&both32(serial));
    entry(b"PX", &p)
}

/// TF: modification, access and attribute-change times in the 7-byte format.
pub(crate) fn tf(meta: &Meta) -> Vec<u8> {
    let mut p = Vec::with_capacity(22);
    p.push(0x02 | 0x04 | 0x08);
    p.extend_from_slice(&dir_date(meta.mtime));
    p.extend_from_slice(&dir_date(meta.atime));
    p.extend_from_slice(&dir_date(meta.ctime));
    entry(b"TF", &p)
}

/// NM entries for a name, split with the CONTINUE flag when longer than one entry holds.
pub(crate) fn nm(name: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunks = name.chunks(MAX_PAYLOAD - 1).peekable();
    while let Some(c) = chunks.next() {
        let mut p = Vec::with_capacity(c.len() + 1);
        p.push(u8::from(chunks.peek().is_some()));
        p.extend_from_slice(c);
        out.push(entry(b"NM", &p));
    }
    out
}

/// SL entries for a symlink target: component records packed into entries of at most 255 bytes.
///
/// When the target needs several SL entries, each entry but the last ends in an empty component
/// piece with the CONTINUE flag: readers that restart the separator logic per SL entry (libarchive)
/// and readers that follow component continuation (Linux, isoinfo) then agree on the result.
pub(crate) fn sl(target: &[u8]) -> Vec<Vec<u8>> {
    // payload = flag byte + records + 2 reserved bytes for the empty continuation piece
    const RECORDS_MAX: usize = MAX_PAYLOAD - 1 - 2;
    const COMP_MAX: usize = RECORDS_MAX - 2;
    let mut records: Vec<Vec<u8>> = Vec::new();
    if target.first() == Some(&b'/') {
        records.push(vec![0x08, 0]);
    }
    for comp in target.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        match comp {
            b"." => records.push(vec![0x02, 0]),
            b".." => records.push(vec![0x04, 0]),
            _ => {
                let mut parts = comp.chunks(COMP_MAX).peekable();
                while let Some(part) = parts.next() {
                    let mut r = vec![
                        u8::from(parts.peek().is_some()),
                        u8::try_from(part.len()).unwrap_or(0),
                    ];
                    r.extend_from_slice(part);
                    records.push(r);
                }
            }
        }
    }
    if records.is_empty() {
        // an empty target cannot be expressed otherwise; "." is the least surprising
        records.push(vec![0x02, 0]);
    }
    let mut payloads: Vec<Vec<u8>> = vec![vec![0]];
    for r in records {
        let fits = payloads
            .last()
            .is_some_and(|p| p.len() - 1 + r.len() <= RECORDS_MAX);
        if !fits {
            if let Some(last) = payloads.last_mut() {
                if let Some(flag) = last.first_mut() {
                    *flag = 1;
                }
                last.extend_from_slice(&[0x01, 0]);
            }
            payloads.push(vec![0]);
        }
        if let Some(last) = payloads.last_mut() {
            last.extend_from_slice(&r);
        }
    }
    payloads.iter().map(|p| entry(b"SL", p)).collect()
}

/// CE: the rest of the System Use entries is at `block`, `offset`, `len`.
pub(crate) fn ce(block: u32, offset: u32, len: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(24);
    p.extend_from_slice(&both32(block));
    p.extend_from_slice(&both32(offset));
    p.extend_from_slice(&both32(len));
    entry(b"CE", &p)
}

/// ER: the extension in use is RRIP 1.12 ("RRIP_1991A", as mkisofs and libisofs write it).
pub(crate) fn er() -> Vec<u8> {
    const ID: &[u8] = b"RRIP_1991A";
    const DES: &[u8] =
        b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
    const SRC: &[u8] = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";
    let mut p = Vec::with_capacity(4 + ID.len() + DES.len() + SRC.len());
    for s in [ID, DES, SRC] {
        p.push(u8::try_from(s.len()).unwrap_or(0));
    }
    p.push(1);
    p.extend_from_slice(ID);
    p.extend_from_slice(DES);
    p.extend_from_slice(SRC);
    entry(b"ER", &p)
}

/// The System Use entries of one directory record after fitting them into the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SuspLayout {
    /// Entries inside the record (without the CE entry).
    pub inline: Vec<u8>,
    /// Continuation chunks (each at most one block including its trailing CE), with their byte
    /// offsets relative to the start of the continuation region.
    pub chunks: Vec<(u64, Vec<u8>)>,
}

impl SuspLayout {
    /// Bytes of System Use field inside the record.
    pub(crate) fn inline_len(&self) -> usize {
        self.inline.len() + if self.chunks.is_empty() { 0 } else { CE_LEN }
    }

    /// The System Use field with the CE entry pointing into the region at `region_lba`.
    pub(crate) fn field(&self, region_lba: u32) -> Vec<u8> {
        let mut out = self.inline.clone();
        if let Some((off, data)) = self.chunks.first() {
            out.extend_from_slice(&ce_to(region_lba, *off, data.len()));
        }
        out
    }

    /// Continuation chunks with their CE chain entries resolved: (region offset, bytes).
    pub(crate) fn resolved_chunks(&self, region_lba: u32) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.chunks.len());
        for (i, (off, data)) in self.chunks.iter().enumerate() {
            let mut bytes = data.clone();
            if let Some((noff, ndata)) = self.chunks.get(i + 1) {
                bytes.extend_from_slice(&ce_to(region_lba, *noff, ndata.len()));
            }
            out.push((*off, bytes));
        }
        out
    }
}

fn ce_to(region_lba: u32, off: u64, len: usize) -> Vec<u8> {
    let block = u64::from(region_lba) + off / BLOCK as u64;
    ce(
        u32::try_from(block).unwrap_or(u32::MAX),
        u32::try_from(off % BLOCK as u64).unwrap_or(0),
        u32::try_from(len).unwrap_or(0),
    )
}

/// Allocates Continuation Area space, never crossing a block.
#[derive(Debug, Default)]
pub(crate) struct CeAllocator {
    /// Bytes used so far in the continuation region.
    pub used: u64,
}

impl CeAllocator {
    fn alloc(&mut self, len: usize) -> u64 {
        let len = len as u64;
        let room = BLOCK as u64 - self.used % BLOCK as u64;
        if len > room {
            self.used += room;
        }
        let at = self.used;
        self.used += len;
        at
    }

    /// Region size in blocks.
    pub(crate) fn blocks(&self) -> u64 {
        self.used.div_ceil(BLOCK as u64)
    }
}

/// Fits `entries` into `avail` bytes of a record's System Use field, spilling the rest into
/// Continuation Areas allocated from `ce`. Entry order is kept (NM/SL continuation relies on it).
pub(crate) fn fit(entries: Vec<Vec<u8>>, avail: usize, ce: &mut CeAllocator) -> SuspLayout {
    let total: usize = entries.iter().map(Vec::len).sum();
    if total <= avail {
        return SuspLayout {
            inline: entries.concat(),
            chunks: Vec::new(),
        };
    }
    let mut it = entries.into_iter().peekable();
    let mut inline = Vec::new();
    while let Some(e) = it.peek() {
        if inline.len() + e.len() + CE_LEN > avail {
            break;
        }
        inline.extend_from_slice(e);
        it.next();
    }
    let rest: Vec<Vec<u8>> = it.collect();
    let mut chunks = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let remaining_total =
        |from: usize, rest: &[Vec<u8>]| -> usize { rest.iter().skip(from).map(Vec::len).sum() };
    for (i, e) in rest.iter().enumerate() {
        let last_fits = cur.len() + remaining_total(i, &rest) <= BLOCK;
        if !last_fits && cur.len() + e.len() + CE_LEN > BLOCK {
            chunks.push(std::mem::take(&mut cur));
        }
        cur.extend_from_slice(e);
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    let n = chunks.len();
    let chunks = chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let len = c.len() + if i + 1 < n { CE_LEN } else { 0 };
            (ce.alloc(len), c)
        })
        .collect();
    SuspLayout { inline, chunks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_sizes() {
        let m = Meta {
            mode: 0o100644,
            uid: 1,
            gid: 2,
            mtime: 0,
            atime: 0,
            ctime: 0,
        };
        assert_eq!(sp().len(), 7);
        assert_eq!(px(&m, 1, 7).len(), 44);
        assert_eq!(tf(&m).len(), 26);
        assert_eq!(er().len(), 237);
        assert_eq!(ce(1, 2, 3).len(), CE_LEN);
        assert_eq!(nm(b"abc"), vec![b"NM\x08\x01\x00abc".to_vec()]);
    }

    #[test]
    fn long_name_is_continued() {
        let name = vec![b'x'; 300];
        let e = nm(&name);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0][4], 1);
        assert_eq!(e[1][4], 0);
        assert_eq!(e[0].len() - 5 + e[1].len() - 5, 300);
        assert!(e.iter().all(|x| x.len() <= 255 && x[2] as usize == x.len()));
    }

    #[test]
    fn symlink_components() {
        let e = sl(b"/usr/../lib/./x");
        assert_eq!(e.len(), 1);
        let p = &e[0][5..];
        assert_eq!(
            p,
            b"\x08\x00\x00\x03usr\x04\x00\x00\x03lib\x02\x00\x00\x01x"
        );
        let long = vec![b'a'; 600];
        let e = sl(&long);
        assert!(e.len() >= 3 && e.iter().all(|x| x.len() <= 255));
        assert_eq!(e.last().unwrap()[4], 0);
        assert_eq!(e[0][4], 1);
    }

    #[test]
    fn fitting_spills_into_continuation() {
        let mut ce_alloc = CeAllocator::default();
        let small = fit(vec![vec![1; 10], vec![2; 10]], 40, &mut ce_alloc);
        assert_eq!(small.inline.len(), 20);
        assert!(small.chunks.is_empty());
        let big = fit(
            vec![vec![1; 10], vec![2; 100], vec![3; 100]],
            60,
            &mut ce_alloc,
        );
        assert_eq!(big.inline.len(), 10);
        assert_eq!(big.chunks, vec![(0, [vec![2; 100], vec![3; 100]].concat())]);
        assert_eq!(big.inline_len(), 38);
        let huge = fit((0..20).map(|_| vec![9; 250]).collect(), 60, &mut ce_alloc);
        assert_eq!(huge.chunks.len(), 3);
        assert!(huge
            .chunks
            .iter()
            .all(|(off, c)| off % 2048 + c.len() as u64 + CE_LEN as u64 <= 2048));
        assert_eq!(huge.chunks[0].0, 2048);
    }
}
