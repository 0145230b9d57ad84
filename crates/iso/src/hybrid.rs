//! The system area (first 32 KiB) and image tail of hybrid images, laid out as xorriso does
//! (`-report_system_area plain`):
//!
//! - `-isohybrid-mbr`: an MBR with the ISOLINUX isohybrid boot code whose partition 1 covers the
//!   image (from block `-partition_offset` on); the image is padded to whole 1 MiB "cylinders".
//! - `-isohybrid-gpt-basdat`: a GPT (Basic Data partitions for the image and the EFI boot image,
//!   the latter also as MBR partition 2 of type 0xEF) whose backup lives at the end of the image.
//! - `-isohybrid-apm-hfsplus`: an Apple Partition Map with 2048-byte blocks listing the marked boot
//!   images as `Apple_HFS` partitions named `EFI`. Its block 0 is a 32-byte "ER" header over the
//!   first bytes of the MBR code (isohdpfx.bin starts with 32 bytes of do-nothing code reserved for
//!   this); its entries take 2048-byte blocks 1.., so the GPT entry array moves up behind them
//!   and shrinks. No HFS+ filesystem is made, as with xorriso for this option.
//! - `-partition_offset N` without an isohybrid MBR: a plain MBR whose only partition (type 0xCD)
//!   starts at block N, no cylinder alignment.

use std::path::Path;

use crate::eltorito::BootPlan;
use crate::error::{Error, Result};
use crate::layout::{Layout, BLOCK, SYSTEM_AREA_BLOCKS};
use crate::options::{IsoOptions, Platform};
use crate::partitions;
use crate::time::volume_date;
use crate::tree::{Kind, NodeId, Tree};

/// 512-byte sectors per 2048-byte block.
const SECTORS_PER_BLOCK: u64 = 4;
/// Sectors of the system area: GPT entries and APM entries must fit below this.
const SYSTEM_AREA_SECTORS: u64 = SYSTEM_AREA_BLOCKS as u64 * SECTORS_PER_BLOCK;
pub(crate) const GPT_ENTRY_SIZE: usize = 128;
/// EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, Basic Data, in on-disk byte order.
pub(crate) const BASIC_DATA: [u8; 16] = [
    0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7,
];
/// How isohdpfx.bin starts: `xor bp,bp` and 30 `nop`s, room for an APM block 0 header.
const APM_MBR_START: [u8; 32] = {
    let mut b = [0x90u8; 32];
    b[0] = 0x33;
    b[1] = 0xed;
    b
};
/// The APM block 0 mock-up xorriso writes over [`APM_MBR_START`]: signature "ER", block size
/// 2048 (big-endian), block count 0, and two bytes that stay harmless x86 code.
const APM_HEAD: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = b'E';
    b[1] = b'R';
    b[2] = 0x08;
    b[6] = 0x90;
    b[7] = 0x90;
    b
};
/// APM block size in xorriso's isohybrid layout (512 would not combine with a GPT).
const APM_BLOCK: usize = 2048;

/// Whether the options ask for anything in the system area.
pub(crate) fn wanted(opts: &IsoOptions) -> bool {
    opts.hybrid.mbr_template.is_some() || opts.hybrid.gpt_basdat || partitions::wanted(opts)
}

/// Rejects option combinations xorriso cannot make sense of either, before anything is laid out.
///
/// # Errors
/// [`Error::BadPartitionOffset`] for an offset of 1..=15; [`Error::MissingOption`] for a GPT or an
/// Apple Partition Map without `-isohybrid-mbr`; [`Error::Unsupported`] for more boot images in
/// the Apple Partition Map than the system area holds.
pub(crate) fn check(opts: &IsoOptions, boot: Option<&BootPlan>) -> Result<()> {
    let offset = opts.hybrid.partition_offset;
    if offset != 0 && offset < SYSTEM_AREA_BLOCKS {
        return Err(Error::BadPartitionOffset { blocks: offset });
    }
    partitions::check(opts, boot)?;
    let apm = apm_images(boot).len();
    if opts.hybrid.mbr_template.is_none() {
        if opts.hybrid.gpt_basdat {
            return Err(Error::MissingOption {
                option: "-isohybrid-gpt-basdat",
                needs: "-isohybrid-mbr",
            });
        }
        if apm > 0 {
            return Err(Error::MissingOption {
                option: "-isohybrid-apm-hfsplus",
                needs: "-isohybrid-mbr",
            });
        }
    }
    gpt_shape(apm).map(|_| ())
}

/// Blocks after the `-pad` blocks that belong to the hybrid layout: the backup GPT.
pub(crate) fn tail_blocks(opts: &IsoOptions, boot: Option<&BootPlan>) -> Result<u64> {
    if !gpt_active(opts) {
        return Ok(0);
    }
    Ok(gpt_shape(apm_images(boot).len())?.backup_blocks())
}

fn gpt_active(opts: &IsoOptions) -> bool {
    opts.hybrid.gpt_basdat && opts.hybrid.mbr_template.is_some()
}

/// The boot images marked with `-isohybrid-apm-hfsplus`, in command-line order.
fn apm_images(boot: Option<&BootPlan>) -> Vec<NodeId> {
    boot.map(|b| {
        b.entries
            .iter()
            .filter(|(e, _)| e.apm_hfsplus)
            .map(|(_, n)| *n)
            .collect()
    })
    .unwrap_or_default()
}

/// Where the GPT entry array goes and how many entries it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GptShape {
    /// First sector of the entry array.
    entries_lba: u64,
    /// Number of entries (all that fit below the end of the system area).
    entries: u32,
}

impl GptShape {
    /// Sectors of the backup GPT: entries and header.
    fn backup_sectors(self) -> u64 {
        u64::from(self.entries) * GPT_ENTRY_SIZE as u64 / 512 + 1
    }

    /// Whole blocks the backup GPT takes at the end of the image.
    fn backup_blocks(self) -> u64 {
        self.backup_sectors().div_ceil(SECTORS_PER_BLOCK)
    }
}

/// libisofs puts the GPT entries right after the APM (block 0 plus one block per APM entry, the
/// map's own entry included), else at sector 2, and fills the rest of the system area with them:
/// 248 entries plainly, 208 behind an APM of one boot image.
fn gpt_shape(apm_images: usize) -> Result<GptShape> {
    let entries_lba = if apm_images == 0 {
        2
    } else {
        (apm_images as u64 + 2) * (APM_BLOCK as u64 / 512)
    };
    if entries_lba >= SYSTEM_AREA_SECTORS {
        return Err(Error::Unsupported {
            feature: "more than 13 boot images marked by -isohybrid-apm-hfsplus",
        });
    }
    Ok(GptShape {
        entries_lba,
        entries: u32::try_from((SYSTEM_AREA_SECTORS - entries_lba) * 4).unwrap_or(0),
    })
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

/// The MBR's idea of the disk: heads per cylinder and sectors per head (track).
///
/// CHS addresses are obsolete, but the isohybrid MBR boot code and some BIOSes still read them,
/// and xorriso pads isohybrid images to whole cylinders. libisofs keeps 64 heads of 32 sectors
/// (1 MiB cylinders) while the image fits in 1024 of those (1 GiB), and above that picks the fewest
/// heads, of 32 sectors or else 63, that keep it within 1024 cylinders (so a DVD image does not
/// end past the last cylinder 64/32 can address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    heads: u64,
    sectors: u64,
}

impl Geometry {
    pub(crate) const DEFAULT: Geometry = Geometry {
        heads: 64,
        sectors: 32,
    };

    /// libisofs' geometry for an image of `blocks` 2048-byte blocks (its size before cylinder
    /// padding, which never changes the choice: padding stops at cylinder 1024).
    pub(crate) fn for_image(blocks: u64) -> Geometry {
        let sectors = blocks.saturating_mul(SECTORS_PER_BLOCK);
        if Self::DEFAULT.cylinder_sectors() * 1024 >= sectors {
            return Self::DEFAULT;
        }
        // try_sph(): the fewest heads for 1024 cylinders, so that a cylinder is whole blocks
        let heads = |per_head: u64| {
            let h = sectors.div_ceil(per_head * 1024);
            match per_head % 4 {
                0 => h,
                2 => h + h % 2,
                _ => h.div_ceil(4) * 4,
            }
        };
        match (heads(32), heads(63)) {
            (h, _) if h <= 255 => Geometry {
                heads: h,
                sectors: 32,
            },
            (_, h) => Geometry {
                heads: h.min(255),
                sectors: 63,
            },
        }
    }

    fn cylinder_sectors(self) -> u64 {
        self.heads * self.sectors
    }

    /// 2048-byte blocks per cylinder (at least 1).
    pub(crate) fn cylinder_blocks(self) -> u64 {
        (self.cylinder_sectors() / SECTORS_PER_BLOCK).max(1)
    }

    /// The image size after isohybrid cylinder padding: unchanged when it cannot be aligned (more
    /// than 1024 cylinders even with 255 heads of 63 sectors, or cylinders not of whole blocks).
    pub(crate) fn cylinder_aligned(self, blocks: u64) -> u64 {
        let cyl = self.cylinder_sectors();
        if blocks.saturating_mul(SECTORS_PER_BLOCK) > cyl * 1024 || cyl % SECTORS_PER_BLOCK != 0 {
            return blocks;
        }
        let cyl_blocks = cyl / SECTORS_PER_BLOCK;
        blocks.div_ceil(cyl_blocks) * cyl_blocks
    }

    /// CHS address of a 512-byte sector; past cylinder 1023 the largest address, whose head
    /// field libisofs writes as `saturated_head`.
    fn chs(self, lba: u64, saturated_head: u64) -> [u8; 3] {
        let (c, h, s) = match lba / self.cylinder_sectors() {
            c if c >= 1024 => (1023, saturated_head, self.sectors),
            c => (c, (lba / self.sectors) % self.heads, lba % self.sectors + 1),
        };
        [
            u8::try_from(h).unwrap_or(u8::MAX),
            u8::try_from(s).unwrap_or(u8::MAX) | (((c >> 2) & 0xc0) as u8),
            (c & 0xff) as u8,
        ]
    }
}

/// How an MBR entry's CHS fields are filled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Chs {
    /// `fe ff ff`, as libisofs writes for the boot image partitions.
    Dummy,
    /// The isohybrid MBR producer (isohybrid's `lba512chs`): past cylinder 1023 the head field is
    /// the head count.
    Isohybrid(Geometry),
    /// The partition table adjusted to `-partition_offset`: past cylinder 1023 the head field is
    /// the last head.
    Offset(Geometry),
}

pub(crate) fn mbr_entry(status: u8, ty: u8, start: u64, sectors: u64, chs: Chs) -> [u8; 16] {
    let mut e = [0u8; 16];
    e[0] = status;
    let last = start + sectors.max(1) - 1;
    let (a, b) = match chs {
        Chs::Dummy => ([0xfe, 0xff, 0xff], [0xfe, 0xff, 0xff]),
        Chs::Isohybrid(g) => (g.chs(start, g.heads), g.chs(last, g.heads)),
        Chs::Offset(g) => (g.chs(start, g.heads - 1), g.chs(last, g.heads - 1)),
    };
    e[1..4].copy_from_slice(&a);
    e[4] = ty;
    e[5..8].copy_from_slice(&b);
    e[8..12].copy_from_slice(&u32::try_from(start).unwrap_or(u32::MAX).to_le_bytes());
    e[12..16].copy_from_slice(&u32::try_from(sectors).unwrap_or(u32::MAX).to_le_bytes());
    e
}

/// Deterministic GUIDs derived from the volume date, as xorriso does with `SOURCE_DATE_EPOCH`
/// (`gpt_disk_guid=volume_date_uuid`): the 16 date digits `YYYYMMDDhhmmsscc` with the centiseconds
/// moved to bytes 9 and 10 (libisofs: digits 0..9, 14..16, 9..14), version 4 / variant bits set,
/// and byte 9 varied by the GUID's number (0 = disk, n = partition n).
pub(crate) fn guid(created: i64, index: u8) -> [u8; 16] {
    let date = volume_date(Some(created));
    let digits = date.get(..16).unwrap_or(&[b'0'; 16]);
    let mut g = [0u8; 16];
    for (dst, src) in g.iter_mut().zip(
        digits
            .iter()
            .take(9)
            .chain(digits.iter().skip(14))
            .chain(digits.iter().skip(9).take(5)),
    ) {
        *dst = *src;
    }
    g[7] = (g[7] & 0x0f) | 0x40;
    g[8] = (g[8] & 0x3f) | 0x80;
    g[9] ^= index;
    g
}

/// The MBR disk signature: xorriso with `SOURCE_DATE_EPOCH` writes the CRC-32 of the 16 volume
/// date digits (without it, a time-based random number).
fn mbr_id(created: i64) -> u32 {
    crc32fast::hash(volume_date(Some(created)).get(..16).unwrap_or_default())
}

/// A boot image's data: (first block, size in bytes).
fn boot_image(layout: &Layout, tree: &Tree, node: NodeId) -> Option<(u64, u64)> {
    let ext = layout.extent(node)?;
    let size = match tree.nodes.get(node).map(|n| &n.kind) {
        Some(Kind::File { size, .. }) => *size,
        _ => 0,
    };
    Some((u64::from(ext.lba), size))
}

/// The EFI boot image (first `-e` entry): (first block, size in bytes).
fn efi_image(boot: Option<&BootPlan>, layout: &Layout, tree: &Tree) -> Option<(u64, u64)> {
    let (_, node) = boot?
        .entries
        .iter()
        .find(|(e, _)| e.platform == Platform::Efi)?;
    boot_image(layout, tree, *node)
}

struct Gpt {
    shape: GptShape,
    entries: Vec<u8>,
    disk: [u8; 16],
    last_sector: u64,
}

impl Gpt {
    fn new(
        created: i64,
        layout: &Layout,
        shape: GptShape,
        partition_offset: u32,
        efi: Option<(u64, u64)>,
    ) -> Gpt {
        let total_blocks = u64::from(layout.total_blocks);
        let last_sector = total_blocks * SECTORS_PER_BLOCK - 1;
        let mut entries = vec![0u8; shape.entries as usize * GPT_ENTRY_SIZE];
        // The image partition ends with the last whole block before the backup GPT ("start and
        // size 0 6080" of 6144 sectors) and starts where MBR partition 1 does.
        let iso_first = u64::from(partition_offset) * SECTORS_PER_BLOCK;
        let iso_last = (total_blocks.saturating_sub(shape.backup_blocks()) * SECTORS_PER_BLOCK)
            .saturating_sub(1);
        let mut parts = vec![(iso_first, iso_last, "ISOHybrid")];
        if let Some((lba, size)) = efi {
            // libisofs counts the boot image in whole blocks here (the MBR entry rounds up)
            let first = lba * SECTORS_PER_BLOCK;
            let last = (first + size / BLOCK * SECTORS_PER_BLOCK).saturating_sub(1);
            parts.push((first, last, "ISOHybrid1"));
        }
        for (i, (first, last, name)) in parts.into_iter().enumerate() {
            let unique = guid(created, u8::try_from(i + 1).unwrap_or(9));
            let e = gpt_entry(BASIC_DATA, unique, first, last, GPT_FLAGS, name);
            let at = i * GPT_ENTRY_SIZE;
            if let Some(dst) = entries.get_mut(at..at + GPT_ENTRY_SIZE) {
                dst.copy_from_slice(&e);
            }
        }
        Gpt {
            shape,
            entries,
            disk: guid(created, 0),
            last_sector,
        }
    }

    fn header(&self, current: u64, backup: u64, entries_lba: u64) -> [u8; 512] {
        gpt_header(
            GptHeader {
                current,
                backup,
                first_usable: SYSTEM_AREA_SECTORS,
                last_usable: self.last_sector.saturating_sub(self.shape.backup_sectors()),
                disk: self.disk,
                entries_lba,
            },
            &self.entries,
        )
    }
}

/// The attribute flags libisofs gives its GPT entries: "no block IO protocol" (bit 60) and
/// "required" (bit 0).
pub(crate) const GPT_FLAGS: u64 = (1 << 60) | 1;

/// One 128-byte GPT partition entry (UEFI 2.10, 5.3.3): type and unique GUID, first and last
/// sector, attribute flags, and the name in UTF-16LE (at most 36 units).
pub(crate) fn gpt_entry(
    type_guid: [u8; 16],
    unique: [u8; 16],
    first: u64,
    last: u64,
    flags: u64,
    name: &str,
) -> [u8; GPT_ENTRY_SIZE] {
    let mut e = [0u8; GPT_ENTRY_SIZE];
    e[0..16].copy_from_slice(&type_guid);
    e[16..32].copy_from_slice(&unique);
    e[32..40].copy_from_slice(&first.to_le_bytes());
    e[40..48].copy_from_slice(&last.to_le_bytes());
    e[48..56].copy_from_slice(&flags.to_le_bytes());
    for (slot, u) in e[56..128].chunks_exact_mut(2).zip(name.encode_utf16()) {
        slot.copy_from_slice(&u.to_le_bytes());
    }
    e
}

/// The sector numbers and disk GUID of one GPT header.
pub(crate) struct GptHeader {
    /// Sector of this header.
    pub current: u64,
    /// Sector of the other copy's header.
    pub backup: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk: [u8; 16],
    /// First sector of this copy's entry array.
    pub entries_lba: u64,
}

/// A 512-byte GPT header (UEFI 2.10, 5.3.2) for the entry array `entries` (128-byte entries),
/// with both CRC32s.
pub(crate) fn gpt_header(g: GptHeader, entries: &[u8]) -> [u8; 512] {
    let count = u32::try_from(entries.len() / GPT_ENTRY_SIZE).unwrap_or(u32::MAX);
    let mut h = [0u8; 512];
    h[0..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&g.current.to_le_bytes());
    h[32..40].copy_from_slice(&g.backup.to_le_bytes());
    h[40..48].copy_from_slice(&g.first_usable.to_le_bytes());
    h[48..56].copy_from_slice(&g.last_usable.to_le_bytes());
    h[56..72].copy_from_slice(&g.disk);
    h[72..80].copy_from_slice(&g.entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&count.to_le_bytes());
    h[84..88].copy_from_slice(&(GPT_ENTRY_SIZE as u32).to_le_bytes());
    h[88..92].copy_from_slice(&crc32fast::hash(entries).to_le_bytes());
    let crc = crc32fast::hash(&h[0..92]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Bytes of an Apple Partition Map entry that are not zero here.
pub(crate) const APM_ENTRY_FIELDS: usize = 92;

/// The fields of one Apple Partition Map entry (Inside Macintosh: Devices, "Partition Map
/// Entry"), whatever the map's block size: signature, map size, first block and blocks, name,
/// type, logical start 0 and logical count = the whole partition, and `flags`.
pub(crate) fn apm_entry_fields(
    map_entries: u32,
    start: u32,
    count: u32,
    name: &str,
    ty: &str,
    flags: u32,
) -> [u8; APM_ENTRY_FIELDS] {
    let mut e = [0u8; APM_ENTRY_FIELDS];
    e[0..2].copy_from_slice(b"PM");
    e[4..8].copy_from_slice(&map_entries.to_be_bytes());
    e[8..12].copy_from_slice(&start.to_be_bytes());
    e[12..16].copy_from_slice(&count.to_be_bytes());
    for (d, s) in e[16..48].iter_mut().zip(name.bytes()) {
        *d = s;
    }
    for (d, s) in e[48..80].iter_mut().zip(ty.bytes()) {
        *d = s;
    }
    e[84..88].copy_from_slice(&count.to_be_bytes());
    e[88..92].copy_from_slice(&flags.to_be_bytes());
    e
}

/// One 2048-byte Apple Partition Map entry.
fn apm_entry(map_entries: u32, start: u32, count: u32, name: &str, ty: &str) -> [u8; APM_BLOCK] {
    // valid + allocated for the map itself; + readable, and "automount" for HFS (libisofs)
    let flags: u32 = if ty == "Apple_partition_map" {
        0x3
    } else {
        0x4000_0013
    };
    let mut e = [0u8; APM_BLOCK];
    e[..APM_ENTRY_FIELDS].copy_from_slice(&apm_entry_fields(
        map_entries,
        start,
        count,
        name,
        ty,
        flags,
    ));
    e
}

/// The APM entries (blocks 1..) for the marked boot images: the map itself, then the images by
/// start block, larger first on a tie (libisofs' order).
fn apm_blocks(images: &[(u64, u64)]) -> Vec<[u8; APM_BLOCK]> {
    let mut parts: Vec<(u32, u32)> = images
        .iter()
        .map(|&(lba, size)| {
            (
                u32::try_from(lba).unwrap_or(u32::MAX),
                // whole blocks, as libisofs counts them
                u32::try_from(size / BLOCK).unwrap_or(u32::MAX),
            )
        })
        .collect();
    parts.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let n = u32::try_from(parts.len() + 1).unwrap_or(u32::MAX);
    let mut out = vec![apm_entry(n, 1, n, "Apple", "Apple_partition_map")];
    out.extend(
        parts
            .into_iter()
            .map(|(start, count)| apm_entry(n, start, count, "EFI", "Apple_HFS")),
    );
    out
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
    if !wanted(opts) {
        return Ok(sa);
    }
    check(opts, boot)?;
    let total_sectors = u64::from(layout.total_blocks) * SECTORS_PER_BLOCK;
    let offset = u64::from(opts.hybrid.partition_offset) * SECTORS_PER_BLOCK;
    let geometry = Geometry::for_image(u64::from(layout.total_blocks));
    // libisofs rewrites partition 1's CHS when it moves it to the partition offset
    let chs = if offset == 0 {
        Chs::Isohybrid(geometry)
    } else {
        Chs::Offset(geometry)
    };
    let Some(template) = &opts.hybrid.mbr_template else {
        // -partition_offset alone, -G, --grub2-mbr, --protective-msdos-label
        return partitions::system_area(opts, layout, boot);
    };
    let code = read_template(template)?;
    let apm: Vec<(u64, u64)> = apm_images(boot)
        .into_iter()
        .filter_map(|n| boot_image(layout, tree, n))
        .collect();
    let mut mbr = [0u8; 512];
    mbr[..432].copy_from_slice(&code);
    if !apm.is_empty() {
        let head = mbr.get(..32).unwrap_or_default();
        if head != APM_MBR_START && head != APM_HEAD {
            return Err(Error::BadMbrTemplate {
                path: template.clone(),
                reason: "an Apple Partition Map needs the first 32 bytes of isohdpfx.bin \
                         (xor bp,bp and 30 nop)",
            });
        }
        mbr[..32].copy_from_slice(&APM_HEAD);
    }
    // isohybrid: the BIOS boot image's 512-byte sector address, read by the MBR code
    let bios = boot.and_then(|b| b.entries.iter().find(|(e, _)| e.platform == Platform::X86));
    let bios_lba = bios
        .and_then(|(_, n)| layout.extent(*n))
        .map_or(0, |e| u64::from(e.lba) * SECTORS_PER_BLOCK);
    mbr[432..436].copy_from_slice(&u32::try_from(bios_lba).unwrap_or(0).to_le_bytes());
    mbr[440..444].copy_from_slice(&mbr_id(created).to_le_bytes());
    let gpt = gpt_active(opts);
    let efi = efi_image(boot, layout, tree);
    // 0x17 ("hidden IFS") unless EFI firmware is to look at the other tables
    let ty = if gpt || !apm.is_empty() {
        0x00
    } else {
        opts.hybrid.iso_mbr_part_type.unwrap_or(0x17)
    };
    mbr[446..462].copy_from_slice(&mbr_entry(
        0x80,
        ty,
        offset,
        total_sectors.saturating_sub(offset),
        chs,
    ));
    if let (true, Some((lba, size))) = (gpt, efi) {
        let entry = mbr_entry(
            0,
            0xef,
            lba * SECTORS_PER_BLOCK,
            size.div_ceil(512),
            Chs::Dummy,
        );
        mbr[462..478].copy_from_slice(&entry);
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    if let Some(dst) = sa.get_mut(..512) {
        dst.copy_from_slice(&mbr);
    }
    if !apm.is_empty() {
        for (i, block) in apm_blocks(&apm).iter().enumerate() {
            let at = (i + 1) * APM_BLOCK;
            if let Some(dst) = sa.get_mut(at..at + APM_BLOCK) {
                dst.copy_from_slice(block);
            }
        }
    }
    if gpt {
        let shape = gpt_shape(apm.len())?;
        let g = Gpt::new(created, layout, shape, opts.hybrid.partition_offset, efi);
        let header = g.header(1, g.last_sector, shape.entries_lba);
        if let Some(dst) = sa.get_mut(512..1024) {
            dst.copy_from_slice(&header);
        }
        let at = usize::try_from(shape.entries_lba * 512).unwrap_or(usize::MAX);
        if let Some(dst) = sa.get_mut(at..at.saturating_add(g.entries.len())) {
            dst.copy_from_slice(&g.entries);
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
) -> Result<Vec<u8>> {
    if !gpt_active(opts) {
        return Ok(Vec::new());
    }
    let shape = gpt_shape(apm_images(boot).len())?;
    let efi = efi_image(boot, layout, tree);
    let g = Gpt::new(created, layout, shape, opts.hybrid.partition_offset, efi);
    let entries_lba = g.last_sector - (shape.backup_sectors() - 1);
    let mut out = g.entries.clone();
    out.extend_from_slice(&g.header(g.last_sector, 1, entries_lba));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{be32, le32, le64};

    #[test]
    fn chs_matches_xorriso() {
        let g = Geometry::DEFAULT;
        assert_eq!(g.chs(0, 64), [0, 1, 0]);
        assert_eq!(g.chs(4095, 64), [0x3f, 0x20, 0x01]);
        assert_eq!(g.chs(1 << 40, 64), [64, 0xe0, 0xff]);
        assert_eq!(g.chs(1 << 40, 63), [63, 0xe0, 0xff]);
        let e = mbr_entry(0x80, 0, 0, 4096, Chs::Isohybrid(g));
        assert_eq!(
            e,
            [0x80, 0, 1, 0, 0, 0x3f, 0x20, 1, 0, 0, 0, 0, 0, 0x10, 0, 0]
        );
    }

    #[test]
    fn geometry_like_libisofs() {
        // up to 1 GiB: 64/32 and 1 MiB cylinders
        assert_eq!(Geometry::for_image(1536), Geometry::DEFAULT);
        assert_eq!(Geometry::for_image(512 * 1024), Geometry::DEFAULT);
        assert_eq!(Geometry::DEFAULT.cylinder_aligned(1190), 1536);
        // xorriso on a 1.3 GB tree: "Automatically adjusted MBR geometry to 1019/78/32",
        // 635705 blocks padded by 151 to 635856
        let g = Geometry::for_image(635_705);
        assert_eq!(
            g,
            Geometry {
                heads: 78,
                sectors: 32
            }
        );
        assert_eq!(g.cylinder_aligned(635_705), 635_856);
        // a 4.4 GB DVD: 32 sectors would need 263 heads, so 63 sectors and heads rounded up to
        // a multiple of 4 (whole blocks per cylinder)
        let dvd = Geometry::for_image(2_150_000);
        assert_eq!(
            dvd,
            Geometry {
                heads: 136,
                sectors: 63
            }
        );
        assert_eq!(dvd.cylinder_aligned(2_150_000) % (136 * 63 / 4), 0);
        // past 255 heads of 63 sectors (8.4 GB) nothing can be aligned
        let huge = Geometry::for_image(5_000_000);
        assert_eq!(
            huge,
            Geometry {
                heads: 255,
                sectors: 63
            }
        );
        assert_eq!(huge.cylinder_aligned(5_000_000), 5_000_000);
        let e = mbr_entry(0x80, 0, 0, 20_000_000, Chs::Isohybrid(huge));
        assert_eq!(&e[5..8], &[255, 63 | 0xc0, 0xff]);
        let e = mbr_entry(0x80, 0, 64, 20_000_000, Chs::Offset(huge));
        assert_eq!(&e[5..8], &[254, 63 | 0xc0, 0xff]);
    }

    #[test]
    fn partition_offset_mbr_entry_matches_xorriso() {
        // xorriso -as mkisofs -partition_offset 16 on a 1077-block image
        let e = mbr_entry(0, 0xcd, 64, 1077 * 4 - 64, Chs::Offset(Geometry::DEFAULT));
        assert_eq!(
            e,
            [0, 2, 1, 0, 0xcd, 6, 0x14, 2, 0x40, 0, 0, 0, 0x94, 0x10, 0, 0]
        );
    }

    #[test]
    fn guids_follow_the_date() {
        // SOURCE_DATE_EPOCH=1700000000, xorriso's report: "GPT disk GUID :
        // 3230323331313144b230303231333230", partition 2 "3230323331313144b232303231333230"
        let hex = |g: [u8; 16]| g.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(guid(1_700_000_000, 0)),
            "3230323331313144b230303231333230"
        );
        assert_eq!(
            hex(guid(1_700_000_000, 2)),
            "3230323331313144b232303231333230"
        );
    }

    #[test]
    fn mbr_id_matches_xorriso() {
        // SOURCE_DATE_EPOCH=1700000000: bytes 440..444 of xorriso's image are 53 38 4e 62
        assert_eq!(
            mbr_id(1_700_000_000).to_le_bytes(),
            [0x53, 0x38, 0x4e, 0x62]
        );
    }

    #[test]
    fn gpt_moves_behind_the_apm() {
        // xorriso's reports: "GPT entry array : 2 248", and "12 208" with one APM boot image
        let plain = gpt_shape(0).unwrap();
        assert_eq!((plain.entries_lba, plain.entries), (2, 248));
        assert_eq!((plain.backup_sectors(), plain.backup_blocks()), (63, 16));
        let apm = gpt_shape(1).unwrap();
        assert_eq!((apm.entries_lba, apm.entries), (12, 208));
        assert_eq!((apm.backup_sectors(), apm.backup_blocks()), (53, 14));
        assert!(gpt_shape(13).is_ok());
        assert!(matches!(gpt_shape(14), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn apm_entries_match_xorriso() {
        // efi.img of 1474560 bytes at block 43 (debian-cd layout): the first 96 bytes of
        // xorriso's blocks 1 and 2
        let blocks = apm_blocks(&[(43, 1_474_560)]);
        assert_eq!(blocks.len(), 2);
        let map = &blocks[0];
        assert_eq!(&map[..16], b"PM\0\0\0\0\0\x02\0\0\0\x01\0\0\0\x02");
        assert_eq!(&map[16..22], b"Apple\0");
        assert_eq!(&map[48..68], b"Apple_partition_map\0");
        assert_eq!(&map[80..92], &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3]);
        let efi = &blocks[1];
        assert_eq!(&efi[..16], b"PM\0\0\0\0\0\x02\0\0\0\x2b\0\0\x02\xd0");
        assert_eq!(&efi[16..20], b"EFI\0");
        assert_eq!(&efi[48..58], b"Apple_HFS\0");
        assert_eq!(&efi[80..92], &[0, 0, 0, 0, 0, 0, 2, 0xd0, 0x40, 0, 0, 0x13]);
        assert!(efi[92..].iter().all(|&b| b == 0));
        // sorted by start; partial blocks are not counted
        let two = apm_blocks(&[(900, 5000), (43, 2048)]);
        assert_eq!(&two[1][8..16], &[0, 0, 0, 43, 0, 0, 0, 1]);
        assert_eq!(&two[2][8..16], &[0, 0, 3, 0x84, 0, 0, 0, 2]);
        assert_eq!(&two[0][4..8], &[0, 0, 0, 3]);
    }

    /// A boot tree, an isohdpfx.bin look-alike, and options like debian-cd's.
    fn debian_like(
        apm: bool,
        gpt: bool,
        partition_offset: u32,
    ) -> (tempfile::TempDir, crate::IsoOptions) {
        use crate::options::{BootEntry, ElTorito};
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("cd");
        std::fs::create_dir_all(tree.join("isolinux")).unwrap();
        std::fs::create_dir_all(tree.join("boot/grub")).unwrap();
        std::fs::write(tree.join("isolinux/isolinux.bin"), vec![0xb8; 9000]).unwrap();
        std::fs::write(tree.join("boot/grub/efi.img"), vec![0xef; 40 * 2048 + 100]).unwrap();
        let mut mbr = APM_MBR_START.to_vec();
        mbr.resize(432, 0xcc);
        std::fs::write(d.path().join("isohdpfx.bin"), &mbr).unwrap();
        let mut opts = crate::IsoOptions::builder()
            .source_date_epoch(Some(1_700_000_000))
            .el_torito(Some(ElTorito {
                catalog_path: Some("isolinux/boot.cat".into()),
                entries: vec![
                    BootEntry {
                        image_path: "isolinux/isolinux.bin".into(),
                        no_emulation: true,
                        load_size: Some(4),
                        boot_info_table: true,
                        ..BootEntry::default()
                    },
                    BootEntry {
                        image_path: "boot/grub/efi.img".into(),
                        platform: Platform::Efi,
                        no_emulation: true,
                        apm_hfsplus: apm,
                        ..BootEntry::default()
                    },
                ],
            }))
            .build();
        opts.hybrid.mbr_template = Some(d.path().join("isohdpfx.bin"));
        opts.hybrid.gpt_basdat = gpt;
        opts.hybrid.partition_offset = partition_offset;
        (d, opts)
    }

    fn write(d: &tempfile::TempDir, opts: crate::IsoOptions) -> Vec<u8> {
        let mut w = crate::IsoWriter::new(opts);
        w.add_root(d.path().join("cd"));
        let mut sink = crate::PlainSink::new(Vec::new());
        w.write(&mut sink).unwrap();
        sink.into_inner()
    }

    #[test]
    fn apm_gpt_and_mbr_share_the_system_area() {
        let (d, opts) = debian_like(true, true, 0);
        let img = write(&d, opts);
        let sectors = img.len() as u64 / 512;
        assert_eq!(img.len() % (1 << 20), 0, "cylinder aligned");
        // APM block 0 over the first MBR bytes, the rest of the MBR code untouched
        assert_eq!(&img[..32], &APM_HEAD);
        assert_eq!(img[32], 0xcc);
        assert_eq!(&img[510..512], &[0x55, 0xaa]);
        // partition 1: whole image, type 0 because EFI firmware is to use the other tables
        assert_eq!(img[446], 0x80);
        assert_eq!(img[450], 0x00);
        assert_eq!(le32(&img, 454), 0);
        assert_eq!(u64::from(le32(&img, 458)), sectors);
        assert_eq!(img[462 + 4], 0xef);
        // APM: map entry in block 1, the EFI image in block 2, nothing in block 3's first bytes
        // but the GPT entries (which start at sector 12)
        assert_eq!(&img[2048..2050], b"PM");
        assert_eq!(
            (be32(&img, 2052), be32(&img, 2056), be32(&img, 2060)),
            (2, 1, 2)
        );
        assert_eq!(&img[4096..4098], b"PM");
        let efi_lba = be32(&img, 4096 + 8);
        assert_eq!(
            be32(&img, 4096 + 12),
            40,
            "whole blocks of the 40.05-block image"
        );
        assert_eq!(&img[4096 + 48..4096 + 57], b"Apple_HFS");
        assert_eq!(u64::from(le32(&img, 470)), u64::from(efi_lba) * 4);
        assert_eq!(le32(&img, 474), (40 * 2048 + 100u32).div_ceil(512));
        // GPT header: entries at sector 12, 208 of them, last usable before a 53-sector backup
        assert_eq!(&img[512..520], b"EFI PART");
        assert_eq!(le64(&img, 512 + 72), 12);
        assert_eq!(le32(&img, 512 + 80), 208);
        assert_eq!(le64(&img, 512 + 48), sectors - 1 - 53);
        let entries = &img[12 * 512..12 * 512 + 208 * 128];
        assert_eq!(crc32fast::hash(entries), le32(&img, 512 + 88));
        // ISOHybrid ends before the backup's 14 blocks; ISOHybrid1 is the EFI image's whole blocks
        assert_eq!(le64(entries, 32), 0);
        assert_eq!(le64(entries, 40), sectors - 14 * 4 - 1);
        assert_eq!(le64(entries, 128 + 32), u64::from(efi_lba) * 4);
        assert_eq!(le64(entries, 128 + 40), u64::from(efi_lba) * 4 + 160 - 1);
        // the backup: header in the last sector, entries right before it
        let last = img.len() - 512;
        assert_eq!(&img[last..last + 8], b"EFI PART");
        assert_eq!(le64(&img, last + 72), sectors - 1 - 52);
        assert_eq!(&img[last - 208 * 128..last], entries);
    }

    #[test]
    fn apm_without_gpt_and_plain_isohybrid() {
        let (d, opts) = debian_like(true, false, 0);
        let img = write(&d, opts);
        assert_eq!(&img[..32], &APM_HEAD);
        assert_eq!(img[450], 0x00, "APM alone also makes partition 1 type 0");
        assert_eq!(&img[512..520], &[0; 8], "no GPT");
        assert_eq!(&img[4096..4098], b"PM");
        let (d, opts) = debian_like(false, false, 0);
        let img = write(&d, opts);
        assert_eq!(&img[..32], &APM_MBR_START, "no APM, template untouched");
        assert_eq!(img[450], 0x17);
        assert_eq!(&img[2048..2050], &[0, 0]);
    }

    #[test]
    fn partition_offset_moves_partition_one_and_adds_a_superblock() {
        let (d, opts) = debian_like(true, true, 16);
        let img = write(&d, opts.clone());
        let blocks = img.len() as u64 / 2048;
        assert_eq!(le32(&img, 446 + 8), 64);
        assert_eq!(u64::from(le32(&img, 446 + 12)), blocks * 4 - 64);
        assert_eq!(&img[446 + 1..446 + 4], &[2, 1, 0], "CHS of sector 64");
        let entries = &img[12 * 512..];
        assert_eq!(
            le64(entries, 32),
            64,
            "GPT ISOHybrid starts at the partition too"
        );
        // descriptors at 16 (whole image) and 32 (partition): sizes differ by the offset
        let pvd = |b: u64| &img[(b * 2048) as usize..(b * 2048) as usize + 2048];
        assert_eq!(&pvd(16)[1..6], b"CD001");
        assert_eq!(&pvd(32)[1..6], b"CD001");
        assert_eq!(u64::from(le32(pvd(16), 80)), blocks);
        assert_eq!(u64::from(le32(pvd(32), 80)), blocks - 16);
        assert_eq!(pvd(17)[0], 0, "El Torito record in the image's set");
        assert_eq!(pvd(33)[0], 255, "none in the partition's");
        assert!(img[19 * 2048..32 * 2048].iter().all(|&b| b == 0));
        // the partition's root record points into the partition's own directories
        let root = le32(pvd(32), 156 + 2);
        let dir = &img[((u64::from(root) + 16) * 2048) as usize..];
        assert_eq!(le32(dir, 2), root, "'.' of the partition root");

        // without -isohybrid-mbr: a plain 0xCD partition table and no cylinder padding
        let mut plain = opts;
        plain.hybrid.mbr_template = None;
        plain.hybrid.gpt_basdat = false;
        plain.el_torito = None;
        let img = write(&d, plain);
        let blocks = img.len() as u64 / 2048;
        assert_ne!(img.len() % (1 << 20), 0);
        assert!(img[..446].iter().all(|&b| b == 0));
        assert_eq!(&img[446..450], &[0, 2, 1, 0]);
        assert_eq!(img[450], 0xcd);
        assert_eq!(u64::from(le32(&img, 458)), blocks * 4 - 64);
        assert_eq!(&img[510..512], &[0x55, 0xaa]);
    }

    #[test]
    fn partition_copy_is_metadata_only() {
        // JTE sees the same files with the same sizes; only metadata grows
        let count = |offset| {
            let (d, opts) = debian_like(false, true, offset);
            let mut w = crate::IsoWriter::new(opts);
            w.add_root(d.path().join("cd"));
            let mut sink = crate::CountingSink::default();
            w.write(&mut sink).unwrap();
            sink
        };
        let (plain, part) = (count(0), count(16));
        assert_eq!(
            (plain.files, plain.file_bytes),
            (part.files, part.file_bytes)
        );
        assert_eq!(
            plain.files, 1,
            "efi.img; isolinux.bin is patched, so metadata"
        );
    }

    #[test]
    fn apm_head_replaces_the_isohdpfx_nops() {
        assert_eq!(&APM_MBR_START[..4], &[0x33, 0xed, 0x90, 0x90]);
        assert_eq!(&APM_HEAD[..8], &[0x45, 0x52, 0x08, 0, 0, 0, 0x90, 0x90]);
        assert!(APM_HEAD[8..].iter().all(|&b| b == 0));
    }
}
