//! The GPT of `-append_partition ... -appended_part_as_gpt` and of `-efi-boot-part`, as libisofs
//! makes it: the appended partitions as GPT entries (`AppendedN`, EFI System type for 0xEF, Basic
//! Data otherwise) or the EFI boot partition (`EFI boot partition`, EFI System), every
//! gap between sector 64 and the backup GPT filled by a Basic Data entry (`Gap0`, `Gap1`, ...;
//! `ISO9660` for the one that is exactly the filesystem of a `-partition_offset` image), 248
//! entries from sector 2, and the backup (entries, then header) in the last 16 blocks of the
//! image. The MBR then holds one protective 0xEE partition (see `partitions`).

use crate::hybrid::{
    gpt_entry, gpt_header, guid, GptHeader, BASIC_DATA, GPT_ENTRY_SIZE as ENTRY_SIZE, GPT_FLAGS,
};

/// 128-byte entries that fit between sector 2 and the end of the system area (sector 64).
const ENTRIES: u64 = 248;
/// First sector of the entry array.
const ENTRIES_LBA: u64 = 2;
/// Entry sectors (62).
const ENTRY_SECTORS: u64 = ENTRIES * ENTRY_SIZE as u64 / 512;
/// Blocks of the backup at the end of the image: 62 entry sectors and the header, rounded up.
pub(crate) const BACKUP_BLOCKS: u64 = (ENTRY_SECTORS + 1).div_ceil(4);
/// First sector a partition may use.
const FIRST_USABLE: u64 = ENTRIES_LBA + ENTRY_SECTORS;
/// C12A7328-F81F-11D2-BA4B-00A0C93EC93B, EFI System, in on-disk byte order.
const EFI_SYSTEM: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];

/// One requested GPT partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// First 2048-byte block.
    pub start: u64,
    /// Length in 2048-byte blocks.
    pub blocks: u64,
    pub type_guid: [u8; 16],
    pub flags: u64,
    pub name: String,
}

impl Part {
    /// `-append_partition NUMBER TYPE`: `AppendedN`, of the type GUID given as TYPE, else EFI
    /// System for 0xEF and Basic Data for other type bytes; no flags.
    pub(crate) fn appended(
        number: u8,
        type_byte: u8,
        guid: Option<[u8; 16]>,
        start: u64,
        blocks: u64,
    ) -> Part {
        Part {
            start,
            blocks,
            type_guid: guid.unwrap_or(if type_byte == 0xef {
                EFI_SYSTEM
            } else {
                BASIC_DATA
            }),
            flags: 0,
            name: format!("Appended{number}"),
        }
    }

    /// `-efi-boot-part FILE`.
    pub(crate) fn efi_boot(start: u64, blocks: u64) -> Part {
        Part {
            start,
            blocks,
            type_guid: EFI_SYSTEM,
            flags: GPT_FLAGS,
            name: "EFI boot partition".into(),
        }
    }
}

/// The primary GPT (header and entries, for sectors 1..64 of the system area) and the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gpt {
    /// Sector 1 (the header) and sectors 2..64 (the entries).
    pub primary: Vec<u8>,
    /// The last [`BACKUP_BLOCKS`] blocks of the image.
    pub backup: Vec<u8>,
}

struct Entry {
    start: u64,
    sectors: u64,
    type_guid: [u8; 16],
    flags: u64,
    name: String,
}

/// Builds the GPT of an image of `end_blocks` blocks (the backup included) whose filesystem
/// takes `iso_blocks` blocks from the image start, with the filesystem's partition at
/// `offset_blocks` (`-partition_offset`, else 0) of type `iso_type` (`-iso_mbr_part_type GUID`,
/// else Basic Data).
pub(crate) fn build(
    parts: &[Part],
    iso_blocks: u64,
    offset_blocks: u64,
    iso_type: Option<[u8; 16]>,
    end_blocks: u64,
    created: i64,
) -> Gpt {
    let backup_start = end_blocks.saturating_sub(BACKUP_BLOCKS) * 4;
    let mut entries: Vec<Entry> = parts
        .iter()
        .map(|p| Entry {
            start: p.start * 4,
            sectors: p.blocks * 4,
            type_guid: p.type_guid,
            flags: p.flags,
            name: p.name.clone(),
        })
        .collect();
    entries.sort_by_key(|e| e.start);
    // libisofs' gap filling: from sector 64 to each partition, and after the last one to the
    // backup GPT
    let mut gaps = Vec::new();
    let mut part_end = 0;
    for i in 0..=entries.len() {
        let goal = entries.get(i).map_or(backup_start, |e| e.start);
        let next_end = match i.checked_sub(1).and_then(|p| entries.get(p)) {
            None if goal <= FIRST_USABLE => continue,
            None => FIRST_USABLE,
            Some(prev) => prev.start + prev.sectors,
        };
        part_end = part_end.max(next_end);
        if part_end < goal {
            let is_filesystem = goal == iso_blocks * 4 && part_end == offset_blocks * 4;
            let (name, type_guid) = if is_filesystem {
                ("ISO9660".to_string(), iso_type.unwrap_or(BASIC_DATA))
            } else {
                (format!("Gap{}", gaps.len()), BASIC_DATA)
            };
            gaps.push(Entry {
                start: part_end,
                sectors: goal - part_end,
                type_guid,
                flags: GPT_FLAGS,
                name,
            });
        }
    }
    entries.extend(gaps);
    entries.sort_by_key(|e| e.start);

    let mut array = vec![0u8; ENTRIES as usize * ENTRY_SIZE];
    for (i, (e, slot)) in entries
        .iter()
        .zip(array.chunks_exact_mut(ENTRY_SIZE))
        .enumerate()
    {
        let last = (e.start + e.sectors).min(backup_start).saturating_sub(1);
        let unique = guid(created, u8::try_from(i + 1).unwrap_or(u8::MAX));
        slot.copy_from_slice(&gpt_entry(
            e.type_guid,
            unique,
            e.start,
            last,
            e.flags,
            &e.name,
        ));
    }
    let backup_lba = (end_blocks * 4).saturating_sub(1);
    let header = |current: u64, backup: u64, entries_lba: u64| {
        let h = GptHeader {
            current,
            backup,
            first_usable: FIRST_USABLE,
            last_usable: backup_lba.saturating_sub(ENTRY_SECTORS + 1),
            disk: guid(created, 0),
            entries_lba,
        };
        gpt_header(h, &array)
    };
    let mut primary = header(1, backup_lba, ENTRIES_LBA).to_vec();
    primary.extend_from_slice(&array);
    let backup_bytes = BACKUP_BLOCKS as usize * 2048;
    let mut backup = vec![0u8; backup_bytes - array.len() - 512];
    backup.extend_from_slice(&array);
    backup.extend_from_slice(&header(
        backup_lba,
        1,
        backup_lba.saturating_sub(ENTRY_SECTORS),
    ));
    Gpt { primary, backup }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::le64;

    fn name(e: &[u8]) -> String {
        let units: Vec<u16> = e[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn gaps_and_partitions_like_xorriso() {
        // xorriso -append_partition 2 0xef (98 blocks) -append_partition 3 0x83 (32 blocks)
        // -appended_part_as_gpt on a 3072-block filesystem: "GPT lba range : 64 13408 13471",
        // Gap0 64+12224, Appended2 12288+392, Appended3 12680+128, Gap1 12808+600
        let g = build(
            &[
                Part::appended(3, 0x83, None, 3170, 32),
                Part::appended(2, 0xef, None, 3072, 98),
            ],
            3072,
            0,
            None,
            3368,
            1,
        );
        assert_eq!(g.primary.len(), 63 * 512);
        assert_eq!(g.backup.len(), 16 * 2048);
        let h = &g.primary[..512];
        assert_eq!(&h[..8], b"EFI PART");
        assert_eq!(
            (le64(h, 24), le64(h, 32), le64(h, 40), le64(h, 48)),
            (1, 13471, 64, 13408)
        );
        let e = &g.primary[512..];
        let rows: Vec<(String, u64, u64)> = (0..5)
            .map(|i| {
                let x = &e[i * 128..(i + 1) * 128];
                (name(x), le64(x, 32), le64(x, 40) + 1 - le64(x, 32))
            })
            .collect();
        assert_eq!(
            rows[..4],
            [
                ("Gap0".to_string(), 64, 12224),
                ("Appended2".to_string(), 12288, 392),
                ("Appended3".to_string(), 12680, 128),
                ("Gap1".to_string(), 12808, 600),
            ]
        );
        assert_eq!(&e[4 * 128..5 * 128], &[0u8; 128][..]);
        assert_eq!(&e[128..144], &EFI_SYSTEM);
        assert_eq!(le64(e, 48), GPT_FLAGS);
        assert_eq!(le64(e, 128 + 48), 0);
        // the backup: entries then header, which points back at sector 1
        let b = &g.backup;
        let bh = &b[b.len() - 512..];
        assert_eq!(
            (le64(bh, 24), le64(bh, 32), le64(bh, 72)),
            (13471, 1, 13409)
        );
        assert_eq!(&b[b.len() - 512 - e.len()..b.len() - 512], e);
        assert_eq!(crc32fast::hash(e).to_le_bytes(), bh[88..92]);
    }

    #[test]
    fn the_filesystem_gap_of_an_offset_image_is_iso9660() {
        // -partition_offset 16: "ISO9660" 64+12288, then Appended2
        // with -iso_mbr_part_type GUID for it, and a type GUID for the appended partition
        let (linux, hfs) = ([0x0f; 16], [0x48; 16]);
        let part = Part::appended(2, 0x83, Some(hfs), 3088, 98);
        let g = build(&[part], 3088, 16, Some(linux), 3352, 1);
        let e = &g.primary[512..];
        assert_eq!(name(&e[..128]), "ISO9660");
        assert_eq!((&e[..16], &e[128..144]), (&linux[..], &hfs[..]));
        assert_eq!(&e[256..272], &BASIC_DATA, "gaps stay Basic Data");
        assert_eq!((le64(e, 32), le64(e, 40)), (64, 12351));
        // libisofs counts the ISO9660 gap too
        assert_eq!(name(&e[256..384]), "Gap1");
    }
}
