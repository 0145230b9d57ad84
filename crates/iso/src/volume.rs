//! Volume descriptors (ECMA-119 8): primary, Joliet supplementary, El Torito boot record, terminator.

use crate::dirrec::{both16, both32};
use crate::layout::{Layout, View};
use crate::options::IsoOptions;
use crate::time::volume_date;

const STD_ID: &[u8; 5] = b"CD001";

fn header(kind: u8) -> [u8; 2048] {
    let mut d = [0u8; 2048];
    d[0] = kind;
    d[1..6].copy_from_slice(STD_ID);
    d[6] = 1;
    d
}

/// Writes `text` into `field`, padded with spaces (truncated to fit).
fn put_a(field: &mut [u8], text: &str) {
    field.fill(b' ');
    for (dst, src) in field.iter_mut().zip(text.bytes()) {
        *dst = src;
    }
}

/// Writes `text` as UCS-2BE into `field`, padded with spaces (whole characters only).
fn put_ucs2(field: &mut [u8], text: &str) {
    for pair in field.chunks_mut(2) {
        for (d, s) in pair.iter_mut().zip([0, b' ']) {
            *d = s;
        }
    }
    let units = text
        .chars()
        .map(|c| u16::try_from(c as u32).unwrap_or(u16::from(b'_')));
    for (pair, u) in field.chunks_exact_mut(2).zip(units) {
        pair.copy_from_slice(&u.to_be_bytes());
    }
}

/// Identifiers and dates shared by the primary and Joliet descriptors.
pub(crate) struct VolumeInfo<'a> {
    pub opts: &'a IsoOptions,
    pub layout: &'a Layout,
    pub created: i64,
}

fn descriptor(info: &VolumeInfo<'_>, view: &View, joliet: bool) -> Vec<u8> {
    let o = info.opts;
    let mut d = header(if joliet { 2 } else { 1 });
    let put = |d: &mut [u8; 2048], at: usize, len: usize, text: &str| {
        if let Some(f) = d.get_mut(at..at + len) {
            if joliet {
                put_ucs2(f, text);
            } else {
                put_a(f, text);
            }
        }
    };
    put(&mut d, 8, 32, &o.system_id);
    put(&mut d, 40, 32, &o.volume_id);
    // a partition's descriptors count its blocks only (libisofs: image size - partition offset)
    d[80..88].copy_from_slice(&both32(view.rel(info.layout.total_blocks)));
    if joliet {
        // UCS-2 level 3 escape sequence (Joliet specification 2.2)
        d[88..91].copy_from_slice(b"%/E");
    }
    d[120..124].copy_from_slice(&both16(1));
    d[124..128].copy_from_slice(&both16(1));
    d[128..132].copy_from_slice(&both16(2048));
    d[132..140].copy_from_slice(&both32(view.path_table_size));
    d[140..144].copy_from_slice(&view.rel(view.l_table_lba).to_le_bytes());
    d[148..152].copy_from_slice(&view.rel(view.m_table_lba).to_be_bytes());
    let root = info.layout.root_record(view);
    if let Some(f) = d.get_mut(156..156 + root.len()) {
        f.copy_from_slice(&root);
    }
    put(&mut d, 190, 128, &o.volume_set_id);
    put(&mut d, 318, 128, &o.publisher_id);
    put(&mut d, 446, 128, &o.preparer_id);
    put(&mut d, 574, 128, &o.application_id);
    put(&mut d, 702, 37, "");
    put(&mut d, 739, 37, "");
    put(&mut d, 776, 37, "");
    let date = volume_date(Some(info.created));
    d[813..830].copy_from_slice(&date);
    d[830..847].copy_from_slice(&date);
    d[847..864].copy_from_slice(&volume_date(None));
    d[864..881].copy_from_slice(&date);
    d[881] = 1;
    d.to_vec()
}

/// The primary volume descriptor of `view` (the image's ISO 9660 tree, or the partition's).
pub(crate) fn primary(info: &VolumeInfo<'_>, view: &View) -> Vec<u8> {
    descriptor(info, view, false)
}

/// The Joliet supplementary volume descriptor.
pub(crate) fn joliet(info: &VolumeInfo<'_>, view: &View) -> Vec<u8> {
    descriptor(info, view, true)
}

/// The El Torito boot record volume descriptor (El Torito 2.0).
pub(crate) fn boot_record(catalog_lba: u32) -> Vec<u8> {
    let mut d = header(0);
    let id = b"EL TORITO SPECIFICATION";
    d[7..30].copy_from_slice(id);
    d[0x47..0x4B].copy_from_slice(&catalog_lba.to_le_bytes());
    d.to_vec()
}

/// The volume descriptor set terminator.
pub(crate) fn terminator() -> Vec<u8> {
    header(255).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_ucs2() {
        let mut f = [0u8; 8];
        put_a(&mut f, "AB");
        assert_eq!(&f, b"AB      ");
        put_a(&mut f, "123456789");
        assert_eq!(&f, b"12345678");
        let mut f = [0u8; 7];
        put_ucs2(&mut f, "é");
        assert_eq!(f, [0, 0xE9, 0, b' ', 0, b' ', 0]);
        assert_eq!(&terminator()[..7], b"\xffCD001\x01");
        let br = boot_record(33);
        assert_eq!(&br[7..30], b"EL TORITO SPECIFICATION");
        assert_eq!(&br[0x47..0x4B], &[33, 0, 0, 0]);
    }
}
