//! El Torito: the boot catalog and the boot info table (El Torito 1.0, 2.x; boot info table as
//! defined by mkisofs for ISOLINUX/GRUB).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::{Layout, BLOCK};
use crate::options::{BootEntry, ElTorito, Platform};
use crate::tree::{Kind, NodeId, Tree};

/// Where the hidden boot catalog goes when no `-c` path is given.
const HIDDEN_CATALOG_PATH: &str = "/boot.catalog";
/// How a boot image path names an `-append_partition` partition instead of a file
/// (`-e --interval:appended_partition_2:all::`, GRUB2 hybrid images' EFI entry).
const APPENDED_PREFIX: &str = "--interval:appended_partition_";
/// Where `--grub2-boot-info` patches the boot image (libisofs' `Libisofs_grub2_elto_patch_poS`)
/// and what it adds to the image's 512-byte sector address there.
const GRUB2_BOOT_INFO_AT: usize = 512 * 5 - 12;
const GRUB2_BOOT_INFO_OFFSET: u64 = 5;
/// The node of an entry whose image is an appended partition: no node of the tree.
const NO_NODE: NodeId = NodeId::MAX;

/// Floppy sizes a BIOS can emulate, and their El Torito media types (El Torito 1.0, 2.1).
const FLOPPIES: [(u64, u8); 3] = [(1_228_800, 1), (1_474_560, 2), (2_949_120, 3)];
/// Media type of hard disk emulation.
const HARD_DISK: u8 = 4;

/// How the BIOS presents an entry's image: the catalog entry's media type and system type bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Media {
    /// 0 no emulation, 1..=3 floppies, 4 hard disk.
    pub media_type: u8,
    /// The partition type of a hard disk image's partition, else 0.
    pub system_type: u8,
}

impl Media {
    const NONE: Media = Media {
        media_type: 0,
        system_type: 0,
    };

    fn is_emulated(self) -> bool {
        self.media_type != 0
    }
}

/// Consecutive catalog entries of one platform: (entry index, entry, image node) each.
type Section<'a> = (Platform, Vec<(usize, &'a BootEntry, NodeId)>);

/// The boot entries resolved to tree nodes.
#[derive(Debug, Clone)]
pub(crate) struct BootPlan {
    pub entries: Vec<(BootEntry, NodeId)>,
    /// Per entry (same index), how it is emulated.
    media: Vec<Media>,
    /// Per entry (same index): the appended partition number its image is, and once placed
    /// ([`BootPlan::place_appended`]) that partition's first block and blocks.
    appended: Vec<Option<AppendedImage>>,
}

/// A boot image that is an appended partition: its number and, once placed, its first block
/// and blocks.
type AppendedImage = (u8, Option<(u32, u64)>);

impl BootPlan {
    /// Adds the catalog to the tree and finds every boot image.
    pub(crate) fn prepare(tree: &mut Tree, et: &ElTorito, now: i64) -> Result<BootPlan> {
        match &et.catalog_path {
            Some(p) => tree.add_boot_catalog(p, now, false)?,
            None => tree.add_boot_catalog(HIDDEN_CATALOG_PATH, now, true)?,
        };
        if et.entries.is_empty() {
            return Err(Error::MissingOption {
                option: "-c",
                needs: "a boot image (-b or -e)",
            });
        }
        let mut entries = Vec::with_capacity(et.entries.len());
        let mut media = Vec::with_capacity(et.entries.len());
        let mut appended = Vec::with_capacity(et.entries.len());
        for e in &et.entries {
            if let Some(n) = appended_number(&e.image_path) {
                let bad = |reason| Error::BadBootImage {
                    image_path: e.image_path.clone(),
                    reason,
                };
                // libisofs: "Appended partition cannot serve as El Torito boot image with
                // FD/HD emulation"; there is no file to patch a boot info table into either
                if !e.no_emulation {
                    return Err(bad("an appended partition can only boot without emulation"));
                }
                if e.boot_info_table || e.grub2_boot_info {
                    return Err(bad("an appended partition gets no boot info table"));
                }
                entries.push((e.clone(), NO_NODE));
                media.push(Media::NONE);
                appended.push(Some((n, None)));
                continue;
            }
            appended.push(None);
            let id = tree
                .lookup(&e.image_path)
                .ok_or_else(|| Error::BootFileMissing {
                    image_path: e.image_path.clone(),
                })?;
            match tree.nodes.get(id).map(|n| &n.kind) {
                Some(Kind::File { size, source, .. }) => {
                    media.push(emulation(e, *size, source)?);
                    if *size == 0 {
                        return Err(Error::BadBootImage {
                            image_path: e.image_path.clone(),
                            reason: "it is empty",
                        });
                    }
                    if e.boot_info_table && *size < 64 {
                        return Err(Error::BadBootImage {
                            image_path: e.image_path.clone(),
                            reason: "too small for a boot info table (64 bytes)",
                        });
                    }
                    if e.grub2_boot_info && *size < (GRUB2_BOOT_INFO_AT + 8) as u64 {
                        return Err(Error::BadBootImage {
                            image_path: e.image_path.clone(),
                            reason: "too small for --grub2-boot-info (2556 bytes)",
                        });
                    }
                    if (e.boot_info_table || e.grub2_boot_info) && *size > 64 << 20 {
                        return Err(Error::BadBootImage {
                            image_path: e.image_path.clone(),
                            reason: "too large for a boot info table (64 MiB)",
                        });
                    }
                }
                _ => {
                    return Err(Error::BadBootImage {
                        image_path: e.image_path.clone(),
                        reason: "not a regular file",
                    })
                }
            }
            entries.push((e.clone(), id));
        }
        Ok(BootPlan {
            entries,
            media,
            appended,
        })
    }

    /// Points the entries whose image is an appended partition at it: `parts` are (number,
    /// first block, bytes) of the placed partitions.
    ///
    /// # Errors
    /// [`Error::BootFileMissing`] for a partition number no `-append_partition` gave.
    pub(crate) fn place_appended(&mut self, parts: &[(u8, u64, u64)]) -> Result<()> {
        for (slot, (e, _)) in self.appended.iter_mut().zip(&self.entries) {
            let Some((n, at)) = slot else {
                continue;
            };
            let (_, start, size) =
                parts
                    .iter()
                    .find(|(m, _, _)| m == n)
                    .ok_or_else(|| Error::BootFileMissing {
                        image_path: e.image_path.clone(),
                    })?;
            let lba = u32::try_from(*start).map_err(|_| Error::ImageTooLarge { blocks: *start })?;
            *at = Some((lba, size.div_ceil(BLOCK)));
        }
        Ok(())
    }

    /// Whether `node` is a boot image whose written copy is patched (boot info table, GRUB2
    /// boot info).
    pub(crate) fn patches(&self, node: NodeId) -> bool {
        self.entries
            .iter()
            .any(|(e, n)| *n == node && (e.boot_info_table || e.grub2_boot_info))
    }

    /// Patches the image data of `node` at block `lba` as its entries ask: first the GRUB2 boot
    /// info, then the boot info table (last, as libisofs: its checksum covers the rest).
    pub(crate) fn patch(&self, node: NodeId, data: &mut [u8], pvd_lba: u32, lba: u32) {
        let wants =
            |f: fn(&BootEntry) -> bool| self.entries.iter().any(|(e, n)| *n == node && f(e));
        if wants(|e| e.grub2_boot_info) {
            let address = u64::from(lba) * 4 + GRUB2_BOOT_INFO_OFFSET;
            if let Some(at) = data.get_mut(GRUB2_BOOT_INFO_AT..GRUB2_BOOT_INFO_AT + 8) {
                at.copy_from_slice(&address.to_le_bytes());
            }
        }
        if wants(|e| e.boot_info_table) {
            patch_info_table(data, pvd_lba, lba);
        }
    }

    /// The 512-byte sector count of an entry, as xorriso defaults it: the image's whole 2048-byte
    /// blocks, for BIOS and EFI alike (a 5000-byte image loads 12 sectors). An emulated disk
    /// loads its first sector only, whatever `-boot-load-size` says (xorriso ignores it then);
    /// the BIOS reads the rest through the emulated drive.
    fn load_size(entry: &BootEntry, media: Media, size: u64) -> u16 {
        if media.is_emulated() {
            return 1;
        }
        if let Some(n) = entry.load_size {
            return n;
        }
        let sectors = size.div_ceil(BLOCK) * 4;
        u16::try_from(sectors).unwrap_or(u16::MAX)
    }

    /// The boot catalog block.
    pub(crate) fn catalog(&self, tree: &Tree, layout: &Layout) -> [u8; 2048] {
        let mut cat = [0u8; 2048];
        let mut records: Vec<[u8; 32]> = Vec::new();
        let entry_bytes = |i: usize, e: &BootEntry, node: NodeId| -> [u8; 32] {
            let media = self.media.get(i).copied().unwrap_or(Media::NONE);
            let (sectors, lba) = if let Some(Some((_, placed))) = self.appended.get(i) {
                // the partition's blocks, in 512-byte sectors; too many for the field: 0 for
                // EFI (firmware reads the partition whole), 65535 for BIOS, as libisofs
                let (lba, blocks) = placed.unwrap_or((0, 0));
                let sectors = u16::try_from(blocks * 4).unwrap_or(match e.platform {
                    Platform::Efi => 0,
                    Platform::X86 => u16::MAX,
                });
                (sectors, lba)
            } else {
                let ext = layout
                    .extent(node)
                    .unwrap_or(crate::layout::Extent { lba: 0, size: 0 });
                let size = match tree.nodes.get(node).map(|n| &n.kind) {
                    Some(Kind::File { size, .. }) => *size,
                    _ => 0,
                };
                (Self::load_size(e, media, size), ext.lba)
            };
            let mut r = [0u8; 32];
            r[0] = 0x88;
            r[1] = media.media_type;
            r[2..4].copy_from_slice(&e.load_segment.to_le_bytes());
            r[4] = media.system_type;
            r[6..8].copy_from_slice(&sectors.to_le_bytes());
            r[8..12].copy_from_slice(&lba.to_le_bytes());
            r
        };
        let Some(((first, first_node), rest)) = self.entries.split_first() else {
            return cat;
        };
        let mut validation = [0u8; 32];
        validation[0] = 1;
        validation[1] = first.platform.id();
        validation[30] = 0x55;
        validation[31] = 0xAA;
        let sum = validation.chunks_exact(2).fold(0u16, |acc, w| {
            acc.wrapping_add(u16::from_le_bytes(w.try_into().unwrap_or([0, 0])))
        });
        validation[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
        records.push(validation);
        records.push(entry_bytes(0, first, *first_node));
        // Further entries form sections of consecutive entries with the same platform.
        let mut sections: Vec<Section<'_>> = Vec::new();
        for (i, (e, n)) in rest.iter().enumerate() {
            match sections.last_mut() {
                Some((p, v)) if *p == e.platform => v.push((i + 1, e, *n)),
                _ => sections.push((e.platform, vec![(i + 1, e, *n)])),
            }
        }
        let count = sections.len();
        for (i, (platform, entries)) in sections.into_iter().enumerate() {
            let mut h = [0u8; 32];
            h[0] = if i + 1 == count { 0x91 } else { 0x90 };
            h[1] = platform.id();
            h[2..4].copy_from_slice(
                &u16::try_from(entries.len())
                    .unwrap_or(u16::MAX)
                    .to_le_bytes(),
            );
            records.push(h);
            for (i, e, n) in entries {
                records.push(entry_bytes(i, e, n));
            }
        }
        for (slot, r) in cat.chunks_exact_mut(32).zip(records) {
            slot.copy_from_slice(&r);
        }
        cat
    }
}

/// The partition number of a boot image path `--interval:appended_partition_N...`.
fn appended_number(image_path: &str) -> Option<u8> {
    let rest = image_path.strip_prefix(APPENDED_PREFIX)?;
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

/// How `entry` is emulated: none, a floppy chosen by the image size, or a hard disk whose
/// system type is read from the MBR at the start of `source` (the image file).
///
/// # Errors
/// [`Error::FloppySize`] for a floppy image of another size; [`Error::BadBootImage`] for a hard
/// disk image without an MBR signature or with other than one partition; [`Error::ReadFile`].
fn emulation(entry: &BootEntry, size: u64, source: &Path) -> Result<Media> {
    if entry.no_emulation {
        return Ok(Media::NONE);
    }
    if !entry.hard_disk_emulation {
        return match FLOPPIES.iter().find(|(bytes, _)| *bytes == size) {
            Some((_, media_type)) => Ok(Media {
                media_type: *media_type,
                system_type: 0,
            }),
            None => Err(Error::FloppySize {
                image_path: entry.image_path.clone(),
                size,
            }),
        };
    }
    let bad = |reason| Error::BadBootImage {
        image_path: entry.image_path.clone(),
        reason,
    };
    let mut mbr = [0u8; 512];
    let mut f = std::fs::File::open(source).map_err(|e| Error::ReadFile {
        path: source.to_path_buf(),
        source: e,
    })?;
    match f.read_exact(&mut mbr) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(bad("a hard disk image must start with a 512-byte MBR"))
        }
        Err(e) => {
            return Err(Error::ReadFile {
                path: source.to_path_buf(),
                source: e,
            })
        }
    }
    hard_disk_media(&mbr).map_err(bad)
}

/// The media of a hard disk image from its MBR: exactly one partition entry may be in use (its
/// type byte not 0), as libisofs demands; it is what the BIOS boots.
fn hard_disk_media(mbr: &[u8; 512]) -> std::result::Result<Media, &'static str> {
    if mbr[510..512] != [0x55, 0xaa] {
        return Err("hard disk emulation needs an MBR (signature 55 AA at byte 510)");
    }
    let types: Vec<u8> = mbr[446..510]
        .chunks_exact(16)
        .filter_map(|e| e.get(4).copied())
        .filter(|&t| t != 0)
        .collect();
    match types.as_slice() {
        [t] => Ok(Media {
            media_type: HARD_DISK,
            system_type: *t,
        }),
        [] => Err("hard disk emulation needs a partition in the image's MBR"),
        _ => Err("hard disk emulation needs exactly one partition in the image's MBR"),
    }
}

/// Patches the boot info table into a boot image: bytes 8..64 (PVD block, image block, image length,
/// checksum of the 32-bit little-endian words from byte 64 on, 40 reserved zero bytes).
pub(crate) fn patch_info_table(image: &mut [u8], pvd_lba: u32, image_lba: u32) {
    let len = u32::try_from(image.len()).unwrap_or(u32::MAX);
    let sum = image
        .get(64..)
        .unwrap_or(&[])
        .chunks(4)
        .fold(0u32, |acc, w| {
            let mut word = [0u8; 4];
            for (d, s) in word.iter_mut().zip(w) {
                *d = *s;
            }
            acc.wrapping_add(u32::from_le_bytes(word))
        });
    let mut table = [0u8; 56];
    table[0..4].copy_from_slice(&pvd_lba.to_le_bytes());
    table[4..8].copy_from_slice(&image_lba.to_le_bytes());
    table[8..12].copy_from_slice(&len.to_le_bytes());
    table[12..16].copy_from_slice(&sum.to_le_bytes());
    if let Some(t) = image.get_mut(8..64) {
        t.copy_from_slice(&table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_table() {
        let mut img = vec![0xFFu8; 70];
        img[64..70].copy_from_slice(&[1, 0, 0, 0, 2, 0]);
        patch_info_table(&mut img, 16, 40);
        assert_eq!(&img[0..8], &[0xFF; 8]);
        assert_eq!(&img[8..12], &[16, 0, 0, 0]);
        assert_eq!(&img[12..16], &[40, 0, 0, 0]);
        assert_eq!(&img[16..20], &[70, 0, 0, 0]);
        assert_eq!(&img[20..24], &[3, 0, 0, 0]);
        assert!(img[24..64].iter().all(|&b| b == 0));
    }

    #[test]
    fn load_sizes() {
        let bios = BootEntry {
            no_emulation: true,
            ..Default::default()
        };
        assert_eq!(BootPlan::load_size(&bios, Media::NONE, 24_576), 48);
        assert_eq!(BootPlan::load_size(&bios, Media::NONE, 100), 4);
        let efi = BootEntry {
            platform: Platform::Efi,
            no_emulation: true,
            ..Default::default()
        };
        assert_eq!(BootPlan::load_size(&efi, Media::NONE, 8192), 16);
        assert_eq!(
            BootPlan::load_size(&efi, Media::NONE, 5000),
            12,
            "xorriso rounds EFI to blocks too"
        );
        assert_eq!(BootPlan::load_size(&efi, Media::NONE, 1_000_001), 1956);
        assert_eq!(BootPlan::load_size(&efi, Media::NONE, 1 << 30), u16::MAX);
        let fixed = BootEntry {
            load_size: Some(4),
            ..bios
        };
        assert_eq!(BootPlan::load_size(&fixed, Media::NONE, 1 << 20), 4);
    }

    #[test]
    fn emulated_disks_load_one_sector() {
        // xorriso -report_el_torito: "fd1.4 ... Ldsiz 1" even with -boot-load-size 4
        let floppy = BootEntry {
            load_size: Some(4),
            ..Default::default()
        };
        let media = Media {
            media_type: 2,
            system_type: 0,
        };
        assert_eq!(BootPlan::load_size(&floppy, media, 1_474_560), 1);
    }

    #[test]
    fn floppy_media_type_from_size() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("fd.img");
        std::fs::write(&f, b"").unwrap();
        let e = BootEntry {
            image_path: "boot/fd.img".into(),
            ..Default::default()
        };
        for (size, ty) in [(1_228_800, 1), (1_474_560, 2), (2_949_120, 3)] {
            assert_eq!(emulation(&e, size, &f).unwrap().media_type, ty);
        }
        let err = emulation(&e, 100_000, &f).unwrap_err();
        assert!(matches!(err, Error::FloppySize { size: 100_000, .. }));
        assert!(err.to_string().contains("1474560"), "{err}");
        let none = BootEntry {
            no_emulation: true,
            hard_disk_emulation: true,
            ..e
        };
        assert_eq!(emulation(&none, 100_000, &f).unwrap(), Media::NONE);
    }

    #[test]
    fn hard_disk_system_type_from_the_one_partition() {
        let mut mbr = [0u8; 512];
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        assert!(hard_disk_media(&mbr).is_err(), "no partition");
        mbr[446 + 32 + 4] = 0x0c;
        assert_eq!(
            hard_disk_media(&mbr).unwrap(),
            Media {
                media_type: 4,
                system_type: 0x0c
            },
            "any slot (libisofs takes the used one)"
        );
        mbr[446 + 4] = 0x83;
        assert!(hard_disk_media(&mbr).is_err(), "two partitions");
        mbr[446 + 4] = 0;
        mbr[511] = 0;
        assert!(hard_disk_media(&mbr).is_err(), "no signature");

        let d = tempfile::tempdir().unwrap();
        let e = BootEntry {
            image_path: "hd.img".into(),
            hard_disk_emulation: true,
            ..Default::default()
        };
        let short = d.path().join("short.img");
        std::fs::write(&short, [0u8; 100]).unwrap();
        assert!(matches!(
            emulation(&e, 100, &short),
            Err(Error::BadBootImage { .. })
        ));
        let missing = d.path().join("missing.img");
        assert!(matches!(
            emulation(&e, 100, &missing),
            Err(Error::ReadFile { .. })
        ));
    }

    #[test]
    fn appended_partition_as_boot_image() {
        assert_eq!(
            appended_number("--interval:appended_partition_2:all::"),
            Some(2)
        );
        assert_eq!(
            appended_number("--interval:appended_partition_3_start_3092s_size_392d:all::"),
            Some(3)
        );
        assert_eq!(appended_number("boot/efi.img"), None);
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("cd");
        std::fs::create_dir(&tree).unwrap();
        let mut t = Tree::build(
            &[crate::PathSpec::new(&tree)],
            &crate::IsoOptions::default(),
            0,
        )
        .unwrap();
        let et = ElTorito {
            catalog_path: None,
            entries: vec![BootEntry {
                image_path: "--interval:appended_partition_2:all::".into(),
                platform: Platform::Efi,
                no_emulation: true,
                ..Default::default()
            }],
        };
        let mut plan = BootPlan::prepare(&mut t, &et, 0).unwrap();
        assert!(matches!(
            plan.clone().place_appended(&[(3, 100, 2048)]),
            Err(Error::BootFileMissing { .. })
        ));
        // xorriso: "El Torito boot img : 1 UEFI y none 0x0000 0x00 392 3092"
        plan.place_appended(&[(2, 3092, 200_000)]).unwrap();
        let layout =
            crate::layout::Layout::compute(&t, &crate::IsoOptions::default(), true).unwrap();
        let cat = plan.catalog(&t, &layout);
        assert_eq!(&cat[32..34], &[0x88, 0]);
        assert_eq!(u16::from_le_bytes([cat[38], cat[39]]), 392);
        assert_eq!(u32::from_le_bytes(cat[40..44].try_into().unwrap()), 3092);
        // emulation and boot info tables need a file
        for e in [
            BootEntry {
                no_emulation: false,
                ..et.entries[0].clone()
            },
            BootEntry {
                boot_info_table: true,
                ..et.entries[0].clone()
            },
        ] {
            let bad = ElTorito {
                catalog_path: None,
                entries: vec![e],
            };
            let mut t2 = Tree::build(
                &[crate::PathSpec::new(&tree)],
                &crate::IsoOptions::default(),
                0,
            )
            .unwrap();
            assert!(matches!(
                BootPlan::prepare(&mut t2, &bad, 0),
                Err(Error::BadBootImage { .. })
            ));
        }
    }

    #[test]
    fn grub2_boot_info_then_boot_info_table() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("cd");
        std::fs::create_dir(&tree).unwrap();
        std::fs::write(tree.join("g.img"), vec![0xaau8; 4096]).unwrap();
        std::fs::write(tree.join("tiny.img"), vec![0xaau8; 2555]).unwrap();
        let build = || {
            Tree::build(
                &[crate::PathSpec::new(&tree)],
                &crate::IsoOptions::default(),
                0,
            )
            .unwrap()
        };
        let entry = |path: &str| BootEntry {
            image_path: path.into(),
            no_emulation: true,
            boot_info_table: true,
            grub2_boot_info: true,
            ..Default::default()
        };
        let et = ElTorito {
            catalog_path: None,
            entries: vec![entry("tiny.img")],
        };
        assert!(matches!(
            BootPlan::prepare(&mut build(), &et, 0),
            Err(Error::BadBootImage { .. })
        ));
        let et = ElTorito {
            catalog_path: None,
            entries: vec![entry("g.img")],
        };
        let plan = BootPlan::prepare(&mut build(), &et, 0).unwrap();
        let node = plan.entries[0].1;
        assert!(plan.patches(node));
        let mut data = vec![0xaau8; 4096];
        plan.patch(node, &mut data, 16, 40);
        // xorriso --grub2-boot-info: block * 4 + 5 at byte 2548
        assert_eq!(&data[2548..2556], &(40u64 * 4 + 5).to_le_bytes());
        // the boot info table's checksum covers the patched bytes
        let mut expected = vec![0xaau8; 4096];
        expected[2548..2556].copy_from_slice(&(165u64).to_le_bytes());
        patch_info_table(&mut expected, 16, 40);
        assert_eq!(data, expected);
    }
}
