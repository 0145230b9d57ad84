//! `-append_partition N TYPE FILE`, as xorriso (libisofs) lays it out: FILE's data after the ISO
//! filesystem, on whole blocks, in the order of N, as MBR partition N; partition 1 then covers the
//! filesystem only (type 0x83, or as the protective label or `-partition_offset` has it), and the
//! `-pad` blocks follow the last partition. With `-appended_part_as_gpt` they are GPT partitions
//! instead (see `part_gpt`) behind one protective 0xEE MBR partition; with
//! `-appended_part_as_apm` they are listed in an Apple Partition Map of 512-byte blocks.
//!
//! An appended partition's data is template data to JTE (libjte matches files of the ISO tree
//! only; xorriso's .jigdo lists no appended partition).

use std::path::{Path, PathBuf};

use crate::boot_blocks::BootBlock;
use crate::error::{Error, Result};
use crate::hybrid::{apm_entry_fields, mbr_entry, Chs, Geometry, APM_ENTRY_FIELDS};
use crate::layout::{Layout, BLOCK};
use crate::options::{CylinderAlign, IsoOptions};
use crate::part_gpt::{self, BACKUP_BLOCKS};
use crate::partitions::{put_mbr_table, NO_ENTRY};
use crate::sun_label;

/// The partition type libisofs gives the ISO partition of a protective or offset table.
const ISO_TYPE: u8 = 0xcd;

/// One `-append_partition N TYPE FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedPartition {
    /// The MBR partition number, 1 to 4.
    pub number: u8,
    /// The MBR partition type byte (`0xef` for an EFI system partition).
    pub type_byte: u8,
    /// The file whose bytes become the partition.
    pub path: PathBuf,
}

/// Highest MBR partition number.
pub(crate) const MBR_PARTITIONS: u8 = 4;

/// An appended partition's place in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
    pub number: u8,
    pub type_byte: u8,
    pub path: PathBuf,
    /// First 2048-byte block.
    pub start: u64,
    /// Bytes of the file.
    pub size: u64,
    /// 2048-byte blocks of the partition: the file's, or whole cylinders with
    /// `-partition_cyl_align all` (zeros after the file).
    pub blocks: u64,
}

/// The size of a partition's file (`-append_partition`, `-prep-boot-part`, `-efi-boot-part`).
///
/// # Errors
/// [`Error::Metadata`] when it cannot be inspected, [`Error::BadPartitionFile`] for a file that
/// is empty or not a regular file.
pub(crate) fn partition_file_len(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Metadata {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |reason| Error::BadPartitionFile {
        path: path.to_path_buf(),
        reason,
    };
    if !meta.is_file() {
        return Err(bad("not a regular file"));
    }
    if meta.len() == 0 {
        return Err(bad("it is empty"));
    }
    Ok(meta.len())
}

/// The appended partitions of an image and where the image ends after them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Appended {
    /// Blocks of the ISO filesystem, which MBR partition 1 covers.
    iso_blocks: u64,
    pub parts: Vec<Placed>,
    /// Blocks of the whole image: the partitions and, after them, the `-pad` blocks (and the
    /// backup GPT).
    pub end_blocks: u64,
    /// With `-appended_part_as_gpt`: the backup GPT, the image's last bytes.
    pub backup_gpt: Vec<u8>,
}

impl Appended {
    /// Blocks of the whole image: the volume's (`layout`), or more when the partitions lie
    /// outside it.
    pub(crate) fn image_blocks(&self, layout: &Layout) -> u64 {
        u64::from(layout.total_blocks).max(self.end_blocks)
    }

    /// (number, first block, bytes) of each partition.
    pub(crate) fn summary(&self) -> Vec<(u8, u64, u64)> {
        self.parts
            .iter()
            .map(|p| (p.number, p.start, p.blocks * BLOCK))
            .collect()
    }

    /// Places the `-append_partition` files after the ISO filesystem (in partition number
    /// order, each on whole blocks, no gaps), moves the `-pad` blocks behind them, and sets the
    /// volume size as xorriso does: the filesystem alone, or the whole image when the MBR protects
    /// it (`--protective-msdos-label`) or the filesystem is a partition (`-partition_offset`).
    ///
    /// # Errors
    /// [`Error::BadPartitionFile`] for a file that is empty or not a regular file,
    /// [`Error::Metadata`] when it cannot be inspected, [`Error::ImageTooLarge`].
    pub(crate) fn place(opts: &IsoOptions, layout: &mut Layout) -> Result<Appended> {
        let h = &opts.hybrid;
        // -sparc-boot's images are partitions 2.. of a Sun disk label, each starting on one of
        // its 320 KiB cylinders (libisofs); they exclude -append_partition (see `check`)
        let sparc = match &opts.boot_block {
            Some(BootBlock::Sparc(label)) => Some(sun_label::partitions(label)),
            _ => None,
        };
        let requested = sparc.as_ref().unwrap_or(&h.appended_partitions);
        if requested.is_empty() {
            return Ok(Appended::default());
        }
        let pad = u64::from(opts.pad_blocks);
        let mut iso_blocks = u64::from(layout.total_blocks).saturating_sub(pad);
        // -partition_cyl_align on/all: the filesystem ends on a cylinder, the partitions follow
        let align = matches!(
            h.partition_cyl_align,
            CylinderAlign::On | CylinderAlign::All
        );
        let geometry = Geometry::for_image(iso_blocks);
        if align && sparc.is_none() {
            iso_blocks = geometry.cylinder_aligned(iso_blocks);
        }
        let cylinder = match h.partition_cyl_align {
            CylinderAlign::All if sparc.is_none() => geometry.cylinder_blocks(),
            _ => 1,
        };
        let mut wanted: Vec<&AppendedPartition> = requested.iter().collect();
        // one partition per number, the last given wins (as xorriso replaces it)
        wanted.reverse();
        wanted.sort_by_key(|p| p.number);
        wanted.dedup_by_key(|p| p.number);
        let mut pos = iso_blocks;
        let mut parts = Vec::with_capacity(wanted.len());
        for p in wanted {
            let size = partition_file_len(&p.path)?;
            let start = if sparc.is_some() {
                sun_label::cylinder_start(pos)
            } else {
                pos.div_ceil(cylinder) * cylinder
            };
            let blocks = size.div_ceil(BLOCK).div_ceil(cylinder) * cylinder;
            parts.push(Placed {
                number: p.number,
                type_byte: p.type_byte,
                path: p.path.clone(),
                start,
                size,
                blocks,
            });
            pos = start + blocks;
        }
        let backup = if h.appended_part_as_gpt && sparc.is_none() {
            BACKUP_BLOCKS
        } else {
            0
        };
        let end_blocks = pos + pad + backup;
        let volume = if h.protective_msdos_label || h.partition_offset != 0 {
            end_blocks
        } else {
            iso_blocks
        };
        layout.total_blocks =
            u32::try_from(volume).map_err(|_| Error::ImageTooLarge { blocks: volume })?;
        if end_blocks > u64::from(u32::MAX) {
            return Err(Error::ImageTooLarge { blocks: end_blocks });
        }
        Ok(Appended {
            iso_blocks,
            parts,
            end_blocks,
            backup_gpt: Vec::new(),
        })
    }

    /// The MBR with the appended partitions: partition 1 redone over the filesystem alone (from
    /// sector 1 for a protective label, from the offset with `-partition_offset`, else from 0 as
    /// type 0x83), entries 2.. of the other tables dropped, then one entry per partition, then the
    /// bootable flag rules. With `-appended_part_as_gpt`, partition 1 is a protective 0xEE one
    /// over the whole image and the GPT (its backup kept for the image end) goes into sectors
    /// 1..64; `created` dates its GUIDs.
    pub(crate) fn patch_system_area(
        &mut self,
        opts: &IsoOptions,
        mut sa: Vec<u8>,
        created: i64,
    ) -> Vec<u8> {
        // a Sun disk label lists -sparc-boot's partitions instead of an MBR
        if self.parts.is_empty() || matches!(opts.boot_block, Some(BootBlock::Sparc(_))) {
            return sa;
        }
        if opts.hybrid.appended_part_as_gpt {
            return self.gpt_system_area(opts, sa, created);
        }
        let h = &opts.hybrid;
        let geometry = Geometry::for_image(self.iso_blocks);
        let iso = self.iso_blocks * 4;
        let offset = u64::from(h.partition_offset) * 4;
        let (status, ty, first) = if h.protective_msdos_label {
            let ty = h.iso_mbr_part_type.unwrap_or(ISO_TYPE);
            let status = if matches!(ty, 0xee | 0xef) { 0 } else { 0x80 };
            (status, ty, if offset != 0 { offset } else { 1 })
        } else if offset != 0 {
            (0, h.iso_mbr_part_type.unwrap_or(ISO_TYPE), offset)
        } else {
            (0, h.iso_mbr_part_type.unwrap_or(0x83), 0)
        };
        let mut table = [NO_ENTRY; 4];
        table[0] = mbr_entry(
            status,
            ty,
            first,
            iso.saturating_sub(first),
            Chs::Offset(geometry),
        );
        // with -appended_part_as_apm the partitions are in the APM only (libisofs)
        let in_mbr = if h.appended_part_as_apm {
            &[][..]
        } else {
            &self.parts[..]
        };
        for p in in_mbr {
            let entry = mbr_entry(
                0,
                p.type_byte,
                p.start * 4,
                p.blocks * 4,
                Chs::Offset(geometry),
            );
            if let Some(slot) = table.get_mut(usize::from(p.number.clamp(1, MBR_PARTITIONS) - 1)) {
                *slot = entry;
            }
        }
        put_mbr_table(opts, &mut sa, Some(table));
        if h.appended_part_as_apm {
            self.write_apm(opts, &mut sa);
        }
        sa
    }
}

/// APM block size of `-appended_part_as_apm` without a GPT (libisofs picks 512 then).
const APM_BLOCK: usize = 512;
/// libisofs' 8-byte APM block 0 (`ER`, block size 512, then harmless x86 code) over the MBR.
const APM_BLOCK0: [u8; 8] = [0x45, 0x52, 0x02, 0x00, 0xeb, 0x02, 0xff, 0xff];

/// One 512-byte APM entry.
fn apm_entry(
    map_entries: u32,
    start: u64,
    count: u64,
    name: &str,
    ty: &str,
    flags: u32,
) -> [u8; APM_BLOCK] {
    let field = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let mut e = [0u8; APM_BLOCK];
    e[..APM_ENTRY_FIELDS].copy_from_slice(&apm_entry_fields(
        map_entries,
        field(start),
        field(count),
        name,
        ty,
        flags,
    ));
    e
}

impl Appended {
    /// `-appended_part_as_apm`: an Apple Partition Map of 512-byte blocks listing the map, a
    /// `Gap0` (`ISO9660_data`) from block 16 to the first partition (and further gaps between
    /// partitions), and the partitions as `AppendedN` of type `Data`, as libisofs writes it.
    fn write_apm(&self, opts: &IsoOptions, sa: &mut [u8]) {
        let mut parts: Vec<(u64, u64, String, &str)> = Vec::new();
        let mut end = 16u64;
        let mut gaps = 0;
        for p in &self.parts {
            if end < p.start {
                parts.push((end, p.start - end, format!("Gap{gaps}"), "ISO9660_data"));
                gaps += 1;
            }
            let blocks = p.blocks;
            // (libisofs: Apple_HFS for the HFS+ type GUID, else Data)
            let ty = if type_guid(opts, p.number) == Some(HFS_PLUS) {
                "Apple_HFS"
            } else {
                "Data"
            };
            parts.push((p.start, blocks, format!("Appended{}", p.number), ty));
            end = p.start + blocks;
        }
        let n = u32::try_from(parts.len() + 1).unwrap_or(u32::MAX);
        let mut blocks = vec![apm_entry(
            n,
            1,
            u64::from(n),
            "Apple",
            "Apple_partition_map",
            3,
        )];
        // 2048-byte blocks counted in 512-byte APM blocks
        blocks.extend(parts.iter().map(|(start, count, name, ty)| {
            // readable, and "automatic mount" for HFS (legacy Mac OS), as libisofs
            let flags = if *ty == "Apple_HFS" {
                0x4000_0013
            } else {
                0x13
            };
            apm_entry(n, start * 4, count * 4, name, ty, flags)
        }));
        if let Some(dst) = sa.get_mut(..APM_BLOCK0.len()) {
            dst.copy_from_slice(&APM_BLOCK0);
        }
        for (i, b) in blocks.iter().enumerate() {
            let at = (i + 1) * APM_BLOCK;
            if let Some(dst) = sa.get_mut(at..at + APM_BLOCK) {
                dst.copy_from_slice(b);
            }
        }
    }
}

impl Appended {
    fn gpt_system_area(&mut self, opts: &IsoOptions, mut sa: Vec<u8>, created: i64) -> Vec<u8> {
        let h = &opts.hybrid;
        let parts: Vec<part_gpt::Part> = self
            .parts
            .iter()
            .map(|p| {
                let guid = type_guid(opts, p.number);
                part_gpt::Part::appended(p.number, p.type_byte, guid, p.start, p.blocks)
            })
            .collect();
        let gpt = part_gpt::build(
            &parts,
            self.iso_blocks,
            u64::from(h.partition_offset),
            h.iso_gpt_type_guid,
            self.end_blocks,
            created,
        );
        let sectors = self.end_blocks * 4;
        let protective = mbr_entry(
            0,
            0xee,
            1,
            sectors.saturating_sub(1),
            Chs::Offset(Geometry::DEFAULT),
        );
        put_mbr_table(
            opts,
            &mut sa,
            Some([protective, NO_ENTRY, NO_ENTRY, NO_ENTRY]),
        );
        if let Some(dst) = sa.get_mut(512..512 + gpt.primary.len()) {
            dst.copy_from_slice(&gpt.primary);
        }
        self.backup_gpt = gpt.backup;
        sa
    }
}

/// The type GUID `-append_partition NUMBER GUID FILE` gave partition NUMBER.
fn type_guid(opts: &IsoOptions, number: u8) -> Option<[u8; 16]> {
    opts.hybrid
        .appended_part_guids
        .iter()
        .rev()
        .find(|(n, _)| *n == number)
        .map(|(_, g)| *g)
}

/// 48465300-0000-11AA-AA11-00306543ECAC, HFS+, in on-disk byte order: an appended partition of
/// this type is `Apple_HFS` in an Apple Partition Map.
const HFS_PLUS: [u8; 16] = [
    0x00, 0x53, 0x46, 0x48, 0x00, 0x00, 0xaa, 0x11, 0xaa, 0x11, 0x00, 0x30, 0x65, 0x43, 0xec, 0xac,
];

/// Copies an appended partition's file to `out` in chunks of `buf`'s size.
///
/// # Errors
/// [`Error::ReadFile`]; [`Error::FileChanged`] when it no longer has the size it was placed with;
/// whatever `out` returns.
pub(crate) fn copy_partition(
    part: &Placed,
    buf: &mut [u8],
    out: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut f = std::fs::File::open(&part.path).map_err(|source| Error::ReadFile {
        path: part.path.clone(),
        source,
    })?;
    crate::writer::copy_exact(&mut f, &part.path, part.size, buf, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{image_of, le32, one_file_tree};
    use std::path::Path;

    /// The one-file tree, and options with one `-append_partition NUMBER TYPE FILE` whose
    /// FILE (next to the tree) is `len` bytes of `fill`.
    fn tree_with_partition(
        number: u8,
        type_byte: u8,
        fill: u8,
        len: usize,
    ) -> (tempfile::TempDir, std::path::PathBuf, crate::IsoOptions) {
        let (d, tree) = one_file_tree();
        let path = d.path().join("p.img");
        std::fs::write(&path, vec![fill; len]).unwrap();
        let mut opts = crate::IsoOptions::builder().build();
        opts.hybrid.appended_partitions = vec![AppendedPartition {
            number,
            type_byte,
            path,
        }];
        (d, tree, opts)
    }

    #[test]
    fn appended_partitions_follow_the_filesystem() {
        let (d, tree) = one_file_tree();
        let (a, b) = (d.path().join("a.img"), d.path().join("b.img"));
        std::fs::write(&a, vec![0xaa; 200_000]).unwrap();
        std::fs::write(&b, vec![0xbb; 4096]).unwrap();
        let part = |number, type_byte, path: &Path| AppendedPartition {
            number,
            type_byte,
            path: path.to_path_buf(),
        };
        let mut opts = crate::IsoOptions::builder().build();
        // given out of order, and partition 4 twice: the last one counts
        opts.hybrid.appended_partitions =
            vec![part(4, 0x0c, &a), part(2, 0x83, &a), part(4, 0xef, &b)];
        let img = image_of(opts.clone(), &tree);
        let volume = le32(&img, 16 * 2048 + 80);
        // partition 1: the filesystem, type 0x83 from sector 0; then 2 and 4 back to back
        assert_eq!(&img[446..447], &[0]);
        assert_eq!(img[450], 0x83);
        assert_eq!((le32(&img, 454), le32(&img, 458)), (0, volume * 4));
        assert_eq!(img[466], 0x83);
        assert_eq!((le32(&img, 470), le32(&img, 474)), (volume * 4, 98 * 4));
        assert_eq!(&img[478..494], &[0; 16], "no partition 3");
        assert_eq!(img[498], 0xef);
        assert_eq!(le32(&img, 502), (volume + 98) * 4);
        assert_eq!(le32(&img, 506), 2 * 4);
        let at = volume as usize * 2048;
        assert!(img[at..at + 200_000].iter().all(|&x| x == 0xaa));
        assert!(img[at + 200_000..at + 98 * 2048].iter().all(|&x| x == 0));
        let at = at + 98 * 2048;
        assert!(img[at..at + 4096].iter().all(|&x| x == 0xbb));
        // the -pad blocks come last, outside the volume
        assert_eq!(img.len(), at + 4096 + 150 * 2048);
        assert!(img[at + 4096..].iter().all(|&x| x == 0));

        // a protective label makes the volume the whole image
        opts.hybrid.protective_msdos_label = true;
        let img = image_of(opts.clone(), &tree);
        assert_eq!(le32(&img, 16 * 2048 + 80) as usize * 2048, img.len());
        assert_eq!(&img[446..451], &[0x80, 0, 2, 0, 0xcd]);
        assert_eq!((le32(&img, 454), le32(&img, 458)), (1, volume * 4 - 1));

        opts.hybrid.appended_partitions = vec![part(2, 0x83, d.path())];
        let mut w = crate::IsoWriter::new(opts.clone());
        w.add_root(&tree);
        assert!(matches!(w.plan(), Err(Error::BadPartitionFile { .. })));
        let empty = d.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        opts.hybrid.appended_partitions = vec![part(2, 0x83, &empty)];
        let mut w = crate::IsoWriter::new(opts);
        w.add_root(&tree);
        assert!(matches!(w.plan(), Err(Error::BadPartitionFile { .. })));
    }

    #[test]
    fn a_partition_file_that_changes_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("p");
        std::fs::write(&path, vec![3u8; 3000]).unwrap();
        let mut placed = Placed {
            number: 2,
            type_byte: 0x83,
            path,
            start: 40,
            size: 3000,
            blocks: 2,
        };
        let mut buf = vec![0u8; 1024];
        let mut got = Vec::new();
        copy_partition(&placed, &mut buf, &mut |c| {
            got.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![3u8; 3000]);
        for size in [2000, 4000] {
            placed.size = size;
            let r = copy_partition(&placed, &mut buf, &mut |_| Ok(()));
            assert!(matches!(r, Err(Error::FileChanged { .. })), "{size}");
        }
    }

    #[test]
    fn appended_partitions_as_gpt() {
        let (_d, tree, mut opts) = tree_with_partition(2, 0xef, 0xee, 8192);
        opts.hybrid.appended_part_as_gpt = true;
        let img = image_of(opts, &tree);
        let volume = le32(&img, 16 * 2048 + 80) as usize;
        let sectors = img.len() as u32 / 512;
        // protective MBR, primary GPT in sector 1, partition data after the volume, -pad, then
        // the 16-block backup GPT
        assert_eq!(&img[446..451], &[0, 0, 2, 0, 0xee]);
        assert_eq!((le32(&img, 454), le32(&img, 458)), (1, sectors - 1));
        assert_eq!(&img[510..512], &[0x55, 0xaa]);
        assert_eq!(&img[512..520], b"EFI PART");
        assert!(img[volume * 2048..volume * 2048 + 8192]
            .iter()
            .all(|&b| b == 0xee));
        assert_eq!(img.len(), (volume + 4 + 150 + 16) * 2048);
        assert_eq!(&img[img.len() - 512..img.len() - 504], b"EFI PART");
        assert_eq!(
            &img[img.len() - 512 - 248 * 128..img.len() - 512],
            &img[1024..1024 + 248 * 128],
            "backup entries equal the primary ones"
        );
    }

    #[test]
    fn appended_partitions_in_an_apple_partition_map() {
        let (_d, tree, mut opts) = tree_with_partition(3, 0x83, 0x77, 3000);
        opts.hybrid.appended_part_as_apm = true;
        let img = image_of(opts.clone(), &tree);
        let volume = u64::from(le32(&img, 16 * 2048 + 80));
        let be = |at: usize| u64::from(u32::from_be_bytes(img[at..at + 4].try_into().unwrap()));
        // xorriso: "APM block size : 512", Gap0 64+(volume-16)*4, Appended3 volume*4+8
        assert_eq!(&img[..8], &APM_BLOCK0);
        assert_eq!(
            (&img[512..514], be(516), be(520), be(524)),
            (&b"PM"[..], 3, 1, 3)
        );
        assert_eq!(&img[512 + 48..512 + 67], b"Apple_partition_map");
        assert_eq!((be(1024 + 8), be(1024 + 12)), (64, (volume - 16) * 4));
        assert_eq!(&img[1024 + 16..1024 + 20], b"Gap0");
        assert_eq!(&img[1024 + 48..1024 + 60], b"ISO9660_data");
        assert_eq!((be(1536 + 8), be(1536 + 12)), (volume * 4, 8));
        assert_eq!(&img[1536 + 16..1536 + 25], b"Appended3");
        assert_eq!(be(1536 + 88), 0x13);
        // the MBR has the filesystem only
        assert_eq!(img[450], 0x83);
        assert_eq!(&img[462..510], &[0u8; 48][..]);
        opts.hybrid.appended_part_as_gpt = true;
        let mut w = crate::IsoWriter::new(opts);
        w.add_root(&tree);
        assert!(matches!(w.plan(), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn cylinder_alignment_all_pads_filesystem_and_partitions() {
        let (_d, tree, mut opts) = tree_with_partition(2, 0x83, 0x55, 3000);
        opts.hybrid.partition_cyl_align = CylinderAlign::All;
        let img = image_of(opts.clone(), &tree);
        // xorriso -partition_cyl_align all: "1 0x00 0x83 0 2048", "2 0x00 0x83 2048 2048"
        assert_eq!((le32(&img, 454), le32(&img, 458)), (0, 2048));
        assert_eq!((le32(&img, 470), le32(&img, 474)), (2048, 2048));
        assert_eq!(img.len(), (1024 + 150) * 2048);
        assert!(img[1024 * 1024..1024 * 1024 + 3000]
            .iter()
            .all(|&b| b == 0x55));
        // "on": the filesystem only
        opts.hybrid.partition_cyl_align = CylinderAlign::On;
        let img = image_of(opts, &tree);
        assert_eq!((le32(&img, 470), le32(&img, 474)), (2048, 8));
    }
}
