//! The system area (first 32 KiB) and image tail of isohybrid images: an MBR with the ISOLINUX
//! isohybrid boot code and, with `-isohybrid-gpt-basdat`, a GPT whose backup lives in the last
//! 63 sectors of the image — laid out as xorriso does (`-report_system_area plain`).

use std::path::Path;

use crate::eltorito::BootPlan;
use crate::error::{Error, Result};
use crate::layout::{Layout, BLOCK, SYSTEM_AREA_BLOCKS};
use crate::options::{IsoOptions, Platform};
use crate::time::volume_date;
use crate::tree::{Kind, Tree};

/// 512-byte sectors per 2048-byte block.
const SECTORS_PER_BLOCK: u64 = 4;
/// Images with an MBR are padded to whole "cylinders" of 64 heads x 32 sectors (1 MiB).
pub(crate) const CYLINDER_BLOCKS: u64 = 64 * 32 / SECTORS_PER_BLOCK;
/// GPT partition entries xorriso reserves (LBA 2..64).
const GPT_ENTRIES: u32 = 248;
const GPT_ENTRY_SIZE: usize = 128;
/// Sectors of the backup GPT at the end: entries (62) + header (1).
pub(crate) const GPT_TAIL_SECTORS: u64 = (GPT_ENTRIES as u64 * GPT_ENTRY_SIZE as u64) / 512 + 1;
/// EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, Basic Data, in on-disk byte order.
const BASIC_DATA: [u8; 16] = [
    0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7,
];

/// Whether the options ask for anything in the system area.
pub(crate) fn wanted(opts: &IsoOptions) -> bool {
    opts.hybrid.mbr_template.is_some() || opts.hybrid.gpt_basdat
}

fn read_template(path: &Path) -> Result<[u8; 432]> {
    let data = std::fs::read(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut code = [0u8; 432];
    match data.get(..432) {
        Some(c) if data.len() <= 32_768 => code.copy_from_slice(c),
        _ => {
            return Err(Error::BadMbrTemplate {
                path: path.to_path_buf(),
                reason: "must be 432 to 32768 bytes (isohdpfx.bin)",
            })
        }
    }
    Ok(code)
}

/// CHS address of a 512-byte sector for 64 heads and 32 sectors per track; past 1023 cylinders
/// the conventional "maximum" value.
fn chs(lba: u64) -> [u8; 3] {
    let c = lba / (64 * 32);
    if c > 1023 {
        return [0xfe, 0xff, 0xff];
    }
    let h = (lba / 32) % 64;
    let s = lba % 32 + 1;
    [
        h as u8,
        (s as u8) | (((c >> 2) & 0xc0) as u8),
        (c & 0xff) as u8,
    ]
}

fn mbr_entry(status: u8, ty: u8, start: u64, sectors: u64, real_chs: bool) -> [u8; 16] {
    let mut e = [0u8; 16];
    e[0] = status;
    let (a, b) = if real_chs {
        (chs(start), chs(start + sectors.max(1) - 1))
    } else {
        ([0xfe, 0xff, 0xff], [0xfe, 0xff, 0xff])
    };
    e[1..4].copy_from_slice(&a);
    e[4] = ty;
    e[5..8].copy_from_slice(&b);
    e[8..12].copy_from_slice(&u32::try_from(start).unwrap_or(u32::MAX).to_le_bytes());
    e[12..16].copy_from_slice(&u32::try_from(sectors).unwrap_or(u32::MAX).to_le_bytes());
    e
}

/// Deterministic GUIDs derived from the volume date, as xorriso does: version 4 / variant bits set,
/// byte 9 numbers the GUID (0 = disk, n = partition n).
fn guid(created: i64, index: u8) -> [u8; 16] {
    let mut g = [0u8; 16];
    g.copy_from_slice(volume_date(Some(created)).get(..16).unwrap_or(&[b'0'; 16]));
    g[7] = (g[7] & 0x0f) | 0x40;
    g[8] = (g[8] & 0x3f) | 0x80;
    g[9] = b'0' + index;
    g
}

/// The EFI boot image (first `-e` entry): (first 512-byte sector, sectors).
fn efi_partition(boot: Option<&BootPlan>, layout: &Layout, tree: &Tree) -> Option<(u64, u64)> {
    let (_, node) = boot?
        .entries
        .iter()
        .find(|(e, _)| e.platform == Platform::Efi)?;
    let ext = layout.extent(*node)?;
    let size = match tree.nodes.get(*node).map(|n| &n.kind) {
        Some(Kind::File { size, .. }) => *size,
        _ => 0,
    };
    Some((u64::from(ext.lba) * SECTORS_PER_BLOCK, size.div_ceil(512)))
}

struct Gpt {
    entries: Vec<u8>,
    disk: [u8; 16],
    last_sector: u64,
}

impl Gpt {
    fn new(created: i64, total_sectors: u64, efi: Option<(u64, u64)>) -> Gpt {
        let last_sector = total_sectors - 1;
        let last_usable = last_sector - GPT_TAIL_SECTORS;
        let mut entries = vec![0u8; GPT_ENTRIES as usize * GPT_ENTRY_SIZE];
        let mut parts = vec![(0u64, last_usable, "ISOHybrid".to_string())];
        if let Some((start, len)) = efi {
            parts.push((start, start + len.max(1) - 1, "ISOHybrid1".to_string()));
        }
        for (i, (first, last, name)) in parts.into_iter().enumerate() {
            let mut e = [0u8; GPT_ENTRY_SIZE];
            e[0..16].copy_from_slice(&BASIC_DATA);
            e[16..32].copy_from_slice(&guid(created, u8::try_from(i + 1).unwrap_or(9)));
            e[32..40].copy_from_slice(&first.to_le_bytes());
            // xorriso records the first partition as 0..last_usable-1 ("start and size 0 4032")
            let last = if i == 0 { last.saturating_sub(1) } else { last };
            e[40..48].copy_from_slice(&last.to_le_bytes());
            e[48..56].copy_from_slice(&0x1000_0000_0000_0001u64.to_le_bytes());
            for (slot, u) in e[56..128].chunks_exact_mut(2).zip(name.encode_utf16()) {
                slot.copy_from_slice(&u.to_le_bytes());
            }
            let at = i * GPT_ENTRY_SIZE;
            if let Some(dst) = entries.get_mut(at..at + GPT_ENTRY_SIZE) {
                dst.copy_from_slice(&e);
            }
        }
        Gpt {
            entries,
            disk: guid(created, 0),
            last_sector,
        }
    }

    fn header(&self, current: u64, backup: u64, entries_lba: u64) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&current.to_le_bytes());
        h[32..40].copy_from_slice(&backup.to_le_bytes());
        h[40..48].copy_from_slice(&64u64.to_le_bytes());
        h[48..56].copy_from_slice(&(self.last_sector - GPT_TAIL_SECTORS).to_le_bytes());
        h[56..72].copy_from_slice(&self.disk);
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[80..84].copy_from_slice(&GPT_ENTRIES.to_le_bytes());
        h[84..88].copy_from_slice(&(GPT_ENTRY_SIZE as u32).to_le_bytes());
        h[88..92].copy_from_slice(&crc32fast::hash(&self.entries).to_le_bytes());
        let crc = crc32fast::hash(&h[0..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    }
}

/// The 16 blocks of the system area.
pub(crate) fn system_area(
    opts: &IsoOptions,
    layout: &Layout,
    boot: Option<&BootPlan>,
    tree: &Tree,
    created: i64,
) -> Result<Vec<u8>> {
    let mut sa = vec![0u8; SYSTEM_AREA_BLOCKS as usize * BLOCK as usize];
    if opts.hybrid.partition_offset != 0 {
        return Err(Error::Unsupported {
            feature: "-partition_offset",
        });
    }
    if !wanted(opts) {
        return Ok(sa);
    }
    let Some(template) = &opts.hybrid.mbr_template else {
        return Err(Error::MissingOption {
            option: "-isohybrid-gpt-basdat",
            needs: "-isohybrid-mbr",
        });
    };
    let code = read_template(template)?;
    let total_sectors = u64::from(layout.total_blocks) * SECTORS_PER_BLOCK;
    let mut mbr = [0u8; 512];
    mbr[..432].copy_from_slice(&code);
    // isohybrid: the BIOS boot image's 512-byte sector address, read by the MBR code
    let bios = boot.and_then(|b| b.entries.iter().find(|(e, _)| e.platform == Platform::X86));
    let bios_lba = bios
        .and_then(|(_, n)| layout.extent(*n))
        .map_or(0, |e| u64::from(e.lba) * SECTORS_PER_BLOCK);
    mbr[432..436].copy_from_slice(&u32::try_from(bios_lba).unwrap_or(0).to_le_bytes());
    let sig = guid(created, 0);
    mbr[440..444].copy_from_slice(&[sig[10], sig[11], sig[12], sig[13]]);
    let efi = efi_partition(boot, layout, tree);
    let ty = if opts.hybrid.gpt_basdat { 0x00 } else { 0x17 };
    mbr[446..462].copy_from_slice(&mbr_entry(0x80, ty, 0, total_sectors, true));
    if let (true, Some((start, len))) = (opts.hybrid.gpt_basdat, efi) {
        mbr[462..478].copy_from_slice(&mbr_entry(0, 0xef, start, len, false));
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    if let Some(dst) = sa.get_mut(..512) {
        dst.copy_from_slice(&mbr);
    }
    if opts.hybrid.gpt_basdat {
        let gpt = Gpt::new(created, total_sectors, efi);
        let header = gpt.header(1, gpt.last_sector, 2);
        if let Some(dst) = sa.get_mut(512..1024) {
            dst.copy_from_slice(&header);
        }
        if let Some(dst) = sa.get_mut(1024..1024 + gpt.entries.len()) {
            dst.copy_from_slice(&gpt.entries);
        }
    }
    Ok(sa)
}

/// The last bytes of the image (the backup GPT), empty when there is no GPT.
pub(crate) fn tail(
    opts: &IsoOptions,
    layout: &Layout,
    boot: Option<&BootPlan>,
    tree: &Tree,
    created: i64,
) -> Vec<u8> {
    if !(opts.hybrid.gpt_basdat && opts.hybrid.mbr_template.is_some()) {
        return Vec::new();
    }
    let total_sectors = u64::from(layout.total_blocks) * SECTORS_PER_BLOCK;
    let gpt = Gpt::new(created, total_sectors, efi_partition(boot, layout, tree));
    let entries_lba = gpt.last_sector - (GPT_TAIL_SECTORS - 1);
    let mut out = gpt.entries.clone();
    out.extend_from_slice(&gpt.header(gpt.last_sector, 1, entries_lba));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chs_matches_xorriso() {
        assert_eq!(chs(0), [0, 1, 0]);
        assert_eq!(chs(4095), [0x3f, 0x20, 0x01]);
        assert_eq!(chs(1 << 40), [0xfe, 0xff, 0xff]);
        let e = mbr_entry(0x80, 0, 0, 4096, true);
        assert_eq!(
            e,
            [0x80, 0, 1, 0, 0, 0x3f, 0x20, 1, 0, 0, 0, 0, 0, 0x10, 0, 0]
        );
    }

    #[test]
    fn guids_follow_the_date() {
        // SOURCE_DATE_EPOCH=1700000000: xorriso's disk GUID starts 32 30 32 33 31 31 31 44 b2
        assert_eq!(
            &guid(1_700_000_000, 0)[..9],
            &[0x32, 0x30, 0x32, 0x33, 0x31, 0x31, 0x31, 0x44, 0xb2]
        );
    }
}
