//! El Torito: the boot catalog and the boot info table (El Torito 1.0, 2.x; boot info table as
//! defined by mkisofs for ISOLINUX/GRUB).

use crate::error::{Error, Result};
use crate::layout::{Layout, BLOCK};
use crate::options::{BootEntry, ElTorito, Platform};
use crate::tree::{Kind, NodeId, Tree};

/// Where the hidden boot catalog goes when no `-c` path is given.
const HIDDEN_CATALOG_PATH: &str = "/boot.catalog";

/// The boot entries resolved to tree nodes.
#[derive(Debug, Clone)]
pub(crate) struct BootPlan {
    pub entries: Vec<(BootEntry, NodeId)>,
}

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
        for e in &et.entries {
            let id = tree
                .lookup(&e.image_path)
                .ok_or_else(|| Error::BootFileMissing {
                    image_path: e.image_path.clone(),
                })?;
            match tree.nodes.get(id).map(|n| &n.kind) {
                Some(Kind::File { size, .. }) => {
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
                    if e.boot_info_table && *size > 64 << 20 {
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
            if !e.no_emulation {
                return Err(Error::Unsupported {
                    feature: "floppy or hard disk emulation (use -no-emul-boot)",
                });
            }
            entries.push((e.clone(), id));
        }
        Ok(BootPlan { entries })
    }

    /// Whether `node` is a boot image whose written copy is patched with a boot info table.
    pub(crate) fn patches(&self, node: NodeId) -> bool {
        self.entries
            .iter()
            .any(|(e, n)| *n == node && e.boot_info_table)
    }

    /// The 512-byte sector count of an entry, as xorriso defaults it: the image's whole 2048-byte
    /// blocks, for BIOS and EFI alike (a 5000-byte image loads 12 sectors).
    fn load_size(entry: &BootEntry, size: u64) -> u16 {
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
        let entry_bytes = |e: &BootEntry, node: NodeId| -> [u8; 32] {
            let ext = layout
                .extent(node)
                .unwrap_or(crate::layout::Extent { lba: 0, size: 0 });
            let size = match tree.nodes.get(node).map(|n| &n.kind) {
                Some(Kind::File { size, .. }) => *size,
                _ => 0,
            };
            let mut r = [0u8; 32];
            r[0] = 0x88;
            r[1] = 0; // no emulation
            r[2..4].copy_from_slice(&e.load_segment.to_le_bytes());
            r[4] = 0;
            r[6..8].copy_from_slice(&Self::load_size(e, size).to_le_bytes());
            r[8..12].copy_from_slice(&ext.lba.to_le_bytes());
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
        records.push(entry_bytes(first, *first_node));
        // Further entries form sections of consecutive entries with the same platform.
        let mut sections: Vec<(Platform, Vec<(BootEntry, NodeId)>)> = Vec::new();
        for (e, n) in rest {
            match sections.last_mut() {
                Some((p, v)) if *p == e.platform => v.push((e.clone(), *n)),
                _ => sections.push((e.platform, vec![(e.clone(), *n)])),
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
            for (e, n) in entries {
                records.push(entry_bytes(&e, n));
            }
        }
        for (slot, r) in cat.chunks_exact_mut(32).zip(records) {
            slot.copy_from_slice(&r);
        }
        cat
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
        assert_eq!(BootPlan::load_size(&bios, 24_576), 48);
        assert_eq!(BootPlan::load_size(&bios, 100), 4);
        let efi = BootEntry {
            platform: Platform::Efi,
            no_emulation: true,
            ..Default::default()
        };
        assert_eq!(BootPlan::load_size(&efi, 8192), 16);
        assert_eq!(
            BootPlan::load_size(&efi, 5000),
            12,
            "xorriso rounds EFI to blocks too"
        );
        assert_eq!(BootPlan::load_size(&efi, 1_000_001), 1956);
        assert_eq!(BootPlan::load_size(&efi, 1 << 30), u16::MAX);
        let fixed = BootEntry {
            load_size: Some(4),
            ..bios
        };
        assert_eq!(BootPlan::load_size(&fixed, 1 << 20), 4);
    }
}
