//! Partitions xorriso writes between the directory tree and the files' data (libisofs'
//! "partprepend" writer), so that they lie inside the ISO filesystem's block range:
//!
//! - `-prep-boot-part FILE`: MBR partition 2 of type 0x41 (PReP boot, an ELF file the firmware
//!   loads), between partitions 1 and 3 of type 0xCD over the rest of the image;
//! - `-efi-boot-part FILE`: an `EFI boot partition` of type EFI System in a GPT (gaps filled as
//!   for appended partitions, see `part_gpt`), behind one protective 0xEE MBR partition; the
//!   backup GPT takes the last 16 blocks of the image; with `--efi-boot-image` instead of a FILE
//!   the partition is the first El Torito EFI boot image, whose data moves there.
//!
//! A FILE's bytes are image data, not a file of the tree: template data to JTE, as with libjte.
//! The EFI boot image stays a file of the tree, which JTE may match (libjte does).

use crate::appended::{partition_file_len, Placed};
use crate::eltorito::BootPlan;
use crate::error::{Error, Result};
use crate::hybrid::{mbr_entry, Chs, Geometry};
use crate::layout::{Layout, BLOCK};
use crate::options::{IsoOptions, Platform};
use crate::part_gpt::{self, BACKUP_BLOCKS};
use crate::partitions::{put_mbr_table, NO_ENTRY};

/// MBR type of a PReP boot partition.
const PREP_TYPE: u8 = 0x41;
/// MBR type of the partitions around it.
const ISO_TYPE: u8 = 0xcd;

/// The prepended partition of an image, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prepended {
    /// The partition's file and place (`type_byte` 0x41 for PReP, 0xef for EFI).
    pub part: Option<Placed>,
    /// With `--efi-boot-image`: the EFI boot image's first block and blocks.
    efi_image: Option<(u64, u64)>,
    /// With `-efi-boot-part`: the backup GPT, the image's last bytes.
    pub backup_gpt: Vec<u8>,
}

/// Rejects what xorriso would combine into other layouts than the ones written here.
///
/// # Errors
/// [`Error::OptionConflict`].
pub(crate) fn check(opts: &IsoOptions) -> Result<()> {
    let h = &opts.hybrid;
    let efi = h.efi_boot_part.is_some() || h.efi_boot_image;
    let first = match (&h.prep_boot_part, efi) {
        (Some(_), true) => {
            return Err(Error::OptionConflict {
                first: "-prep-boot-part",
                second: "-efi-boot-part",
            })
        }
        (Some(_), false) => "-prep-boot-part",
        (None, true) => "-efi-boot-part",
        (None, false) => return Ok(()),
    };
    let other = [
        ("-isohybrid-mbr", h.mbr_template.is_some()),
        ("--protective-msdos-label", h.protective_msdos_label),
        ("-partition_offset", h.partition_offset != 0),
        ("-append_partition", !h.appended_partitions.is_empty()),
        ("-chrp-boot-part", h.chrp_boot_part),
        ("a non-PC boot block", opts.boot_block.is_some()),
    ]
    .into_iter()
    .find_map(|(name, on)| on.then_some(name));
    match other {
        Some(second) => Err(Error::OptionConflict { first, second }),
        None => Ok(()),
    }
}

impl Prepended {
    /// Moves every file up to make room for the partition right after the directory tree (and
    /// boot catalog); with `-efi-boot-part` also adds the backup GPT's blocks to the image (the
    /// volume then covers the whole image, as with xorriso).
    ///
    /// # Errors
    /// [`Error::Metadata`], [`Error::BadPartitionFile`] for an empty or irregular file,
    /// [`Error::ImageTooLarge`].
    pub(crate) fn place(
        opts: &IsoOptions,
        layout: &mut Layout,
        boot: Option<&BootPlan>,
    ) -> Result<Prepended> {
        let h = &opts.hybrid;
        if h.efi_boot_image && h.efi_boot_part.is_none() {
            return Self::place_efi_image(layout, boot);
        }
        let (path, type_byte) = match (&h.prep_boot_part, &h.efi_boot_part) {
            (Some(p), _) => (p, PREP_TYPE),
            (None, Some(p)) => (p, 0xef),
            (None, None) => return Ok(Prepended::default()),
        };
        let size = partition_file_len(path)?;
        let blocks = size.div_ceil(BLOCK);
        // xorriso leaves a block between the partition and the files, so the 0xCD partition
        // or GPT gap after it does not start where a file does (its report would name it)
        let with_spare = blocks + 1;
        let with_spare =
            u32::try_from(with_spare).map_err(|_| Error::ImageTooLarge { blocks: with_spare })?;
        let no_files = layout.total_blocks.saturating_sub(opts.pad_blocks);
        let start = layout.insert_before_data(no_files, with_spare)?;
        if type_byte == 0xef {
            layout.set_total_blocks(u64::from(layout.total_blocks) + BACKUP_BLOCKS)?;
        }
        Ok(Prepended {
            part: Some(Placed {
                number: 0,
                type_byte,
                path: path.clone(),
                start: u64::from(start),
                size,
                blocks,
            }),
            efi_image: None,
            backup_gpt: Vec::new(),
        })
    }

    /// `--efi-boot-image`: the first `-e` image moves in front of the files (one spare block
    /// after it, as with xorriso), and the image grows by the backup GPT.
    fn place_efi_image(layout: &mut Layout, boot: Option<&BootPlan>) -> Result<Prepended> {
        let node = boot
            .and_then(|b| b.entries.iter().find(|(e, _)| e.platform == Platform::Efi))
            .map(|(_, n)| *n)
            .ok_or(Error::MissingOption {
                option: "-efi-boot-part --efi-boot-image",
                needs: "an El Torito EFI boot image (-e)",
            })?;
        let extent = layout.move_to_front(node, 1)?.ok_or(Error::MissingOption {
            option: "-efi-boot-part --efi-boot-image",
            needs: "a non-empty El Torito EFI boot image",
        })?;
        layout.set_total_blocks(u64::from(layout.total_blocks) + BACKUP_BLOCKS)?;
        Ok(Prepended {
            part: None,
            efi_image: Some((u64::from(extent.lba), extent.size.div_ceil(BLOCK))),
            backup_gpt: Vec::new(),
        })
    }

    /// The MBR (and for EFI the GPT) of the partition, over whatever `-G`/`--grub2-mbr` put in
    /// the system area, then the bootable flag rules of `--grub2-mbr`/`--mbr-force-bootable`.
    pub(crate) fn patch_system_area(
        &mut self,
        opts: &IsoOptions,
        mut sa: Vec<u8>,
        layout: &Layout,
        created: i64,
    ) -> Vec<u8> {
        let (start, blocks, type_byte) = match (&self.part, self.efi_image) {
            (Some(p), _) => (p.start, p.blocks, p.type_byte),
            (None, Some((start, blocks))) => (start, blocks, 0xef),
            (None, None) => return sa,
        };
        let h = &opts.hybrid;
        let total = u64::from(layout.total_blocks);
        let geometry = Geometry::DEFAULT;
        let table = if type_byte == PREP_TYPE {
            let end = start + blocks;
            [
                mbr_entry(
                    0,
                    h.iso_mbr_part_type.unwrap_or(ISO_TYPE),
                    0,
                    start * 4,
                    Chs::Offset(geometry),
                ),
                mbr_entry(0, PREP_TYPE, start * 4, blocks * 4, Chs::Offset(geometry)),
                mbr_entry(
                    0,
                    ISO_TYPE,
                    end * 4,
                    total.saturating_sub(end) * 4,
                    Chs::Offset(geometry),
                ),
                NO_ENTRY,
            ]
        } else {
            let gpt = part_gpt::build(
                &[part_gpt::Part::efi_boot(start, blocks)],
                total,
                0,
                None,
                total,
                created,
            );
            if let Some(dst) = sa.get_mut(512..512 + gpt.primary.len()) {
                dst.copy_from_slice(&gpt.primary);
            }
            self.backup_gpt = gpt.backup;
            let protective = mbr_entry(
                0,
                0xee,
                1,
                (total * 4).saturating_sub(1),
                Chs::Offset(geometry),
            );
            [protective, NO_ENTRY, NO_ENTRY, NO_ENTRY]
        };
        // (--protective-msdos-label is refused with a prepended partition: see `check`)
        put_mbr_table(opts, &mut sa, Some(table));
        sa
    }
}

#[cfg(test)]
mod tests {
    fn le32(b: &[u8], at: usize) -> u64 {
        u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
    }

    /// The image of the one-file tree with a 3000-byte partition file, and that file's bytes.
    fn image(prep: bool) -> (Vec<u8>, Vec<u8>) {
        let (d, tree) = crate::test_util::one_file_tree();
        let file = std::fs::read(tree.join("f")).unwrap();
        let part = d.path().join("p.img");
        std::fs::write(&part, vec![0x22; 3000]).unwrap();
        let mut opts = crate::IsoOptions::builder().build();
        if prep {
            opts.hybrid.prep_boot_part = Some(part);
        } else {
            opts.hybrid.efi_boot_part = Some(part);
        }
        let mut w = crate::IsoWriter::new(opts);
        w.add_root(&tree);
        let mut sink = crate::PlainSink::new(Vec::new());
        let report = w.write(&mut sink).unwrap();
        assert_eq!(report.files, 1, "the partition is no file");
        (sink.into_inner(), file)
    }

    #[test]
    fn prep_partition_between_two_iso_partitions() {
        let (img, file) = image(true);
        let sectors = img.len() as u64 / 512;
        // xorriso: 1 0xcd 0 S, 2 0x41 S 8, 3 0xcd after a spare block up to the end
        let start = le32(&img, 462 + 8);
        assert_eq!(
            (img[450], le32(&img, 454), le32(&img, 458)),
            (0xcd, 0, start)
        );
        assert_eq!((img[466], le32(&img, 474)), (0x41, 8));
        assert_eq!(img[482], 0xcd);
        assert_eq!(le32(&img, 478 + 8), start + 8);
        assert_eq!(le32(&img, 478 + 12), sectors - start - 8);
        let at = usize::try_from(start * 512).unwrap();
        assert!(img[at..at + 3000].iter().all(|&b| b == 0x22));
        // the file moved up behind the partition and a spare block
        let f = img.windows(5000).position(|w| w == &file[..]).unwrap();
        assert_eq!(f, at + 3 * 2048);
    }

    #[test]
    fn efi_partition_in_a_gpt() {
        let (img, _) = image(false);
        let sectors = img.len() as u64 / 512;
        assert_eq!(img[450], 0xee);
        assert_eq!((le32(&img, 454), le32(&img, 458)), (1, sectors - 1));
        assert_eq!(&img[512..520], b"EFI PART");
        // Gap0, EFI boot partition, Gap1; the backup GPT ends the image, inside the volume
        let entry = |i: usize| &img[1024 + 128 * i..1024 + 128 * (i + 1)];
        assert_eq!(&entry(1)[56..60], &[b'E', 0, b'F', 0]);
        let start = u64::from_le_bytes(entry(1)[32..40].try_into().unwrap());
        let at = usize::try_from(start * 512).unwrap();
        assert!(img[at..at + 3000].iter().all(|&b| b == 0x22));
        assert_eq!(&img[img.len() - 512..img.len() - 504], b"EFI PART");
        assert_eq!(le32(&img, 16 * 2048 + 80) * 2048, img.len() as u64);
    }

    #[test]
    fn efi_boot_image_moves_in_front_of_the_files() {
        use crate::options::{BootEntry, ElTorito, Platform};
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("cd");
        std::fs::create_dir_all(tree.join("boot")).unwrap();
        // "a" sorts (and is laid out) before "boot/efi.img"
        std::fs::write(tree.join("a"), vec![0x11u8; 5000]).unwrap();
        std::fs::write(tree.join("boot/efi.img"), vec![0xef; 8192]).unwrap();
        std::fs::write(tree.join("z"), vec![0x33u8; 3000]).unwrap();
        let mut opts = crate::IsoOptions::builder()
            .el_torito(Some(ElTorito {
                catalog_path: None,
                entries: vec![BootEntry {
                    image_path: "boot/efi.img".into(),
                    platform: Platform::Efi,
                    no_emulation: true,
                    ..BootEntry::default()
                }],
            }))
            .build();
        opts.hybrid.efi_boot_image = true;
        let mut w = crate::IsoWriter::new(opts);
        w.add_root(&tree);
        let image = w.plan().unwrap();
        let extents = image.file_extents();
        let at = |name: &str| {
            extents
                .iter()
                .find(|e| e.image_path.ends_with(name))
                .unwrap()
                .offset
        };
        // efi.img first, then a spare block, then the others in their order
        assert!(at("efi.img") < at("/a") && at("/a") < at("/z"));
        assert_eq!(at("/a"), at("efi.img") + 4 * 2048 + 2048);
        let mut sink = crate::PlainSink::new(Vec::new());
        image.write(&mut sink).unwrap();
        let img = sink.into_inner();
        let slice = |off: u64, len: usize| &img[off as usize..off as usize + len];
        assert!(slice(at("efi.img"), 8192).iter().all(|&b| b == 0xef));
        assert!(slice(at("/a"), 5000).iter().all(|&b| b == 0x11));
        assert!(slice(at("/z"), 3000).iter().all(|&b| b == 0x33));
        // the GPT's EFI boot partition is that image
        let entry = &img[1024 + 128..1024 + 256];
        let start = u64::from_le_bytes(entry[32..40].try_into().unwrap());
        assert_eq!(start * 512, at("efi.img"));
    }
}
