//! The system area when no isohybrid MBR is asked for, as xorriso (libisofs) lays it out:
//!
//! - `-G FILE` / `--embedded-boot FILE`: the first 32 KiB of FILE, as they are;
//! - `--grub2-mbr FILE`: the same, plus the 512-byte sector address of the first boot image + 4
//!   as a 64-bit little-endian number at byte 0x1b0 (where GRUB2's boot_hybrid.img looks);
//! - `--protective-msdos-label`: bytes 446..512 replaced by one bootable partition (type 0xCD)
//!   from sector 1 to the end of the image, the "gesture of grub-mkisofs";
//! - `-partition_offset N`: one partition (type 0xCD, not bootable) from block N to the end;
//! - `-chrp-boot-part`: one bootable partition of type 0x96 over the whole image;
//! - `-iso_mbr_part_type T` changes the type of that partition, `--mbr-force-bootable` marks a
//!   partition bootable (a one-sector dummy if there is none).
//!
//! `-append_partition` (module `appended`) and `-prep-boot-part`/`-efi-boot-part` (module
//! `prepended`) rewrite the partition table afterwards; their option conflicts are checked here.
//!
//! All of it is image metadata: JTE puts it in the template like any other system area.

use std::io::Read;
use std::path::Path;

use crate::eltorito::BootPlan;
use crate::error::{Error, Result};
use crate::hybrid::{mbr_entry, Chs, Geometry};
use crate::layout::{Layout, BLOCK, SYSTEM_AREA_BLOCKS};
use crate::options::{CylinderAlign, IsoOptions};

/// Bytes of the system area.
const SYSTEM_AREA_BYTES: usize = SYSTEM_AREA_BLOCKS as usize * BLOCK as usize;
/// Where `--grub2-mbr` patches the boot image address (libisofs' `Libisofs_grub2_mbr_patch_poS`).
const GRUB2_PATCH_AT: usize = 0x1b0;
/// What GRUB2's MBR wants there: the boot image's second 512-byte sector onwards, so 4 more than
/// its first (libisofs' `Libisofs_grub2_mbr_patch_offsT`).
const GRUB2_PATCH_OFFSET: u64 = 4;
/// The partition type libisofs gives the ISO partition of a protective or offset table.
const ISO_TYPE: u8 = 0xcd;
/// A bootable one-sector partition of type 0 at sector 0 (libisofs' `iso_dummy_mbr_partition`).
const DUMMY_ENTRY: [u8; 16] = [0x80, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0];

use crate::appended::MBR_PARTITIONS;
// (also reachable here, where it was first defined)
pub use crate::appended::AppendedPartition;

/// Whether these options write anything into the system area without `-isohybrid-mbr`.
pub(crate) fn wanted(opts: &IsoOptions) -> bool {
    opts.hybrid.system_area_file.is_some() || wanted_besides_g(opts)
}

/// Whether these options write anything into the system area other than `-G`'s data.
fn wanted_besides_g(opts: &IsoOptions) -> bool {
    let h = &opts.hybrid;
    !h.appended_partitions.is_empty()
        || h.chrp_boot_part
        || h.grub2_mbr.is_some()
        || h.protective_msdos_label
        || h.mbr_force_bootable
        || h.partition_offset != 0
}

/// Rejects combinations with no single meaning.
///
/// # Errors
/// [`Error::OptionConflict`] for two sources of the MBR code (`-isohybrid-mbr`, `-G`,
/// `--grub2-mbr`), or `--protective-msdos-label` with `-isohybrid-mbr` (xorriso's man page: they
/// are mutually exclusive); [`Error::MissingOption`] for `--grub2-mbr` without a boot image.
pub(crate) fn check(opts: &IsoOptions, boot: Option<&BootPlan>) -> Result<()> {
    let h = &opts.hybrid;
    let sources = [
        ("-isohybrid-mbr", h.mbr_template.is_some()),
        ("-G", h.system_area_file.is_some()),
        ("--grub2-mbr", h.grub2_mbr.is_some()),
        ("--protective-msdos-label", h.protective_msdos_label),
    ];
    let given: Vec<&'static str> = sources
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    match given.as_slice() {
        // GRUB2's MBR or -G data may well carry a protective label; only isohybrid refuses it
        [first, second] if *second == "--protective-msdos-label" && *first != "-isohybrid-mbr" => {}
        [first, second, ..] => {
            return Err(Error::OptionConflict { first, second });
        }
        _ => {}
    }
    if h.chrp_boot_part {
        // libisofs: "CHRP is not compatible with any other partition in MBR"
        let other = [
            ("-isohybrid-mbr", h.mbr_template.is_some()),
            ("--protective-msdos-label", h.protective_msdos_label),
            ("-partition_offset", h.partition_offset != 0),
            ("-append_partition", !h.appended_partitions.is_empty()),
        ]
        .into_iter()
        .find_map(|(name, on)| on.then_some(name));
        if let Some(second) = other {
            return Err(Error::OptionConflict {
                first: "-chrp-boot-part",
                second,
            });
        }
    }
    crate::prepended::check(opts)?;
    if h.appended_part_as_apm && h.appended_part_as_gpt {
        // libisofs then needs an APM of 2048-byte blocks beside the GPT
        return Err(Error::Unsupported {
            feature: "-appended_part_as_apm with -appended_part_as_gpt",
        });
    }
    if !h.appended_partitions.is_empty() {
        if h.mbr_template.is_some() {
            return Err(Error::Unsupported {
                feature: "-append_partition with -isohybrid-mbr",
            });
        }
        if let Some(p) = h
            .appended_partitions
            .iter()
            .find(|p| !(1..=MBR_PARTITIONS).contains(&p.number))
        {
            return Err(Error::BadPartitionFile {
                path: p.path.clone(),
                reason: "-append_partition numbers are 1 to 4 (MBR)",
            });
        }
    }
    // -G's data goes with a boot block, which replaces the sector(s) it owns as in xorriso
    // (debian-cd's sparc64 line is `-G boot1/boot/isofs.b -B ...`); an MBR table does not
    if opts.boot_block.is_some() && wanted_besides_g(opts) && h.partition_offset == 0 {
        // (-partition_offset with a boot block is refused by boot_blocks::check_exclusive)
        return Err(Error::OptionConflict {
            first: "--grub2-mbr, --protective-msdos-label, --mbr-force-bootable or \
                    -append_partition",
            second: "a non-PC boot block (-mips-boot, -mipsel-boot, -hppa-*, -alpha-boot, \
                     -sparc-boot)",
        });
    }
    if opts.boot_block.is_some() && h.partition_cyl_align != CylinderAlign::Auto {
        return Err(Error::OptionConflict {
            first: "-partition_cyl_align",
            second: "a non-PC boot block (-mips-boot, -mipsel-boot, -hppa-*, -alpha-boot)",
        });
    }
    if h.grub2_mbr.is_some() && boot.is_none_or(|b| b.entries.is_empty()) {
        return Err(Error::MissingOption {
            option: "--grub2-mbr",
            needs: "an El Torito boot image (-b or -e) to jump to",
        });
    }
    Ok(())
}

/// The first 32 KiB of `path`, zero-padded (xorriso copies "at most 32768 bytes").
fn read_system_area(path: &Path) -> Result<Vec<u8>> {
    let err = |source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    };
    let mut data = Vec::with_capacity(SYSTEM_AREA_BYTES);
    std::fs::File::open(path)
        .map_err(err)?
        .take(SYSTEM_AREA_BYTES as u64)
        .read_to_end(&mut data)
        .map_err(err)?;
    data.resize(SYSTEM_AREA_BYTES, 0);
    Ok(data)
}

/// The 16 blocks of the system area for the options [`wanted`] covers.
///
/// # Errors
/// [`Error::ReadFile`] for the `-G`/`--grub2-mbr` file.
pub(crate) fn system_area(
    opts: &IsoOptions,
    layout: &Layout,
    boot: Option<&BootPlan>,
) -> Result<Vec<u8>> {
    let h = &opts.hybrid;
    let mut sa = match h.system_area_file.as_ref().or(h.grub2_mbr.as_ref()) {
        Some(path) => read_system_area(path)?,
        None => vec![0u8; SYSTEM_AREA_BYTES],
    };
    let blocks = u64::from(layout.total_blocks);
    let total = blocks * 4;
    let geometry = Geometry::for_image(blocks);
    let ty = h.iso_mbr_part_type.unwrap_or(ISO_TYPE);
    let offset = u64::from(h.partition_offset) * 4;
    let table = if h.chrp_boot_part {
        let chrp = mbr_entry(0x80, 0x96, 0, total, Chs::Offset(geometry));
        Some([chrp, NO_ENTRY, NO_ENTRY, NO_ENTRY])
    } else if h.protective_msdos_label || offset != 0 {
        // one partition over the image but its first sector; bootable only as a protective label
        // (and never with the EFI or GPT types, which firmware would then ignore)
        let status = if h.protective_msdos_label && ty != 0xee && ty != 0xef {
            0x80
        } else {
            0
        };
        let first = if offset != 0 { offset } else { 1 };
        let iso = mbr_entry(
            status,
            ty,
            first,
            total.saturating_sub(first),
            Chs::Offset(geometry),
        );
        Some([iso, NO_ENTRY, NO_ENTRY, NO_ENTRY])
    } else {
        // -G/--grub2-mbr data keeps its own table
        None
    };
    if h.grub2_mbr.is_some() {
        let first_image = boot
            .and_then(|b| b.entries.first())
            .and_then(|(_, node)| layout.extent(*node))
            .map_or(0, |e| u64::from(e.lba));
        let address = first_image * 4 + GRUB2_PATCH_OFFSET;
        if let Some(dst) = sa.get_mut(GRUB2_PATCH_AT..GRUB2_PATCH_AT + 8) {
            dst.copy_from_slice(&address.to_le_bytes());
        }
    }
    put_mbr_table(opts, &mut sa, table);
    Ok(sa)
}

/// An unused MBR partition entry.
pub(crate) const NO_ENTRY: [u8; 16] = [0; 16];

/// Writes `table` (if any) as the MBR partition table at the start of `sa`, with the boot
/// signature, then applies the bootable flag rules ([`mbr_mark`]) that `--protective-msdos-label`,
/// `--grub2-mbr` and `--mbr-force-bootable` ask for. Every MBR written without `-isohybrid-mbr`
/// ends here.
pub(crate) fn put_mbr_table(opts: &IsoOptions, sa: &mut [u8], table: Option<[[u8; 16]; 4]>) {
    let h = &opts.hybrid;
    let Some(mbr) = sa.get_mut(..512) else {
        return;
    };
    let (_code, rest) = mbr.split_at_mut(446);
    let (entries, signature) = rest.split_at_mut(64);
    if let Some(table) = table {
        for (slot, e) in entries.chunks_exact_mut(16).zip(table) {
            slot.copy_from_slice(&e);
        }
        signature.copy_from_slice(&[0x55, 0xaa]);
    }
    if h.protective_msdos_label || h.grub2_mbr.is_some() || h.mbr_force_bootable {
        mbr_mark(entries, h.mbr_force_bootable);
    }
}

/// libisofs' rule for an MBR that is to boot: unless some entry is already marked, the first used
/// entry that is not GPT-protective (0xEE) or EFI (0xEF) gets the bootable flag; with `force` and
/// no such entry, a dummy entry goes into the first free slot (or a flag onto a used one).
/// `table` is bytes 446..510 of the MBR.
pub(crate) fn mbr_mark(table: &mut [u8], force: bool) {
    let entries = || (0..4).map(|i| 16 * i);
    if entries().any(|at| table.get(at).is_some_and(|s| s & 0x80 != 0)) {
        return;
    }
    let ty = |t: &[u8], at: usize| t.get(at + 4).copied().unwrap_or(0);
    let used = |t: &[u8], at: usize| {
        t.get(at..at + 16)
            .is_some_and(|e| e.iter().any(|&b| b != 0))
    };
    if let Some(at) = entries().find(|&at| used(table, at) && !matches!(ty(table, at), 0xee | 0xef))
    {
        if let Some(s) = table.get_mut(at) {
            *s |= 0x80;
        }
        return;
    }
    if !force {
        return;
    }
    let slot = entries()
        .find(|&at| !used(table, at))
        .map(|at| (at, true))
        .or_else(|| {
            entries()
                .find(|&at| ty(table, at) != 0xef)
                .map(|at| (at, false))
        })
        .unwrap_or((48, false));
    match slot {
        (at, true) => {
            if let Some(e) = table.get_mut(at..at + 16) {
                e.copy_from_slice(&DUMMY_ENTRY);
            }
        }
        (at, false) => {
            if let Some(s) = table.get_mut(at) {
                *s |= 0x80;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{image_of, le32, one_file_tree};

    #[test]
    fn bootable_flag_like_libisofs() {
        let mut t = [0u8; 64];
        mbr_mark(&mut t, false);
        assert_eq!(t, [0u8; 64], "nothing to mark, nothing forced");
        mbr_mark(&mut t, true);
        assert_eq!(&t[..16], &DUMMY_ENTRY, "xorriso --mbr-force-bootable alone");
        let mut t = [0u8; 64];
        t[4] = 0xee;
        t[16 + 4] = 0x83;
        mbr_mark(&mut t, false);
        assert_eq!((t[0], t[16]), (0, 0x80), "0xEE is skipped");
        let mut t = [0u8; 64];
        t[16] = 0x80;
        t[32 + 4] = 0x83;
        mbr_mark(&mut t, true);
        assert_eq!(t[32], 0, "one flag is enough");
    }

    #[test]
    fn system_area_file_is_cut_and_padded() {
        let d = tempfile::tempdir().unwrap();
        let long = d.path().join("long");
        std::fs::write(&long, vec![7u8; 40_000]).unwrap();
        assert_eq!(read_system_area(&long).unwrap(), vec![7u8; 32_768]);
        let short = d.path().join("short");
        std::fs::write(&short, [9u8; 1000]).unwrap();
        let sa = read_system_area(&short).unwrap();
        assert_eq!(sa.len(), 32_768);
        assert!(sa[..1000].iter().all(|&b| b == 9) && sa[1000..].iter().all(|&b| b == 0));
        assert!(matches!(
            read_system_area(&d.path().join("none")),
            Err(Error::ReadFile { .. })
        ));
    }

    #[test]
    fn protective_label_over_embedded_boot() {
        let (d, tree) = one_file_tree();
        let g = d.path().join("g.bin");
        std::fs::write(&g, vec![0x5a; 32_768]).unwrap();
        let mut opts = crate::IsoOptions::builder().build();
        opts.hybrid.system_area_file = Some(g);
        opts.hybrid.protective_msdos_label = true;
        let img = image_of(opts.clone(), &tree);
        let sectors = img.len() as u32 / 512;
        assert!(img[..446].iter().all(|&b| b == 0x5a));
        // xorriso: "MBR partition : 1 0x80 0xcd 1 <sectors - 1>", CHS start 0/0/2
        assert_eq!(&img[446..451], &[0x80, 0, 2, 0, 0xcd]);
        assert_eq!((le32(&img, 454), le32(&img, 458)), (1, sectors - 1));
        assert!(img[462..510].iter().all(|&b| b == 0));
        assert_eq!(&img[510..512], &[0x55, 0xaa]);
        assert!(img[512..32_768].iter().all(|&b| b == 0x5a));

        opts.hybrid.iso_mbr_part_type = Some(0xee);
        let img = image_of(opts, &tree);
        assert_eq!(
            &img[446..451],
            &[0, 0, 2, 0, 0xee],
            "0xEE is never bootable"
        );
    }

    #[test]
    fn chrp_partition_covers_the_image_alone() {
        let (_dir, tree) = one_file_tree();
        let mut opts = crate::IsoOptions::builder().build();
        opts.hybrid.chrp_boot_part = true;
        let img = image_of(opts.clone(), &tree);
        // xorriso: "MBR partition : 1 0x80 0x96 0 <sectors>", CHS start 0/0/1
        assert_eq!(&img[446..451], &[0x80, 0, 1, 0, 0x96]);
        assert_eq!(
            (le32(&img, 454), le32(&img, 458)),
            (0, img.len() as u32 / 512)
        );
        assert!(img[462..510].iter().all(|&b| b == 0));
        opts.hybrid.protective_msdos_label = true;
        let mut w = crate::IsoWriter::new(opts);
        w.add_root(&tree);
        assert!(matches!(w.plan(), Err(Error::OptionConflict { .. })));
    }
}
