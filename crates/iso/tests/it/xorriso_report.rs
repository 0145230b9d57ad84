//! xorriso's `-report_el_torito plain -report_system_area plain`, normalised so that two
//! writers' images of the same tree compare equal exactly when their boot records and
//! partition tables do.
//!
//! Masked, because layouts and random numbers legitimately differ: the block address of
//! the boot catalog, of every boot image and of every partition but the first (which
//! starts at the image start) and of every Apple Partition Map entry, the disk and partition
//! GUIDs, the addresses of the boot files of MIPS, HP-PA and Alpha boot blocks, and the first
//! cylinder of SPARC partitions after the image. Everything else must
//! match: platforms, emulation, load segments and sizes, boot image options and paths,
//! partition types, sizes, names, flags, type GUIDs, the GPT geometry and the image size.
//!
//! Shared by `crates/iso/tests/it/boot.rs` and `tests/interop/boot.rs` (included there
//! with `#[path]`), so there is one normalisation.

/// The xorriso arguments after `-indev IMAGE`.
pub const REPORT_ARGS: [&str; 4] = ["-report_el_torito", "plain", "-report_system_area", "plain"];

/// The report lines (`Key : values`, or `Key: values` for the long keys) of xorriso's stdout, whitespace collapsed and
/// addresses and GUIDs replaced by `*`.
pub fn normalise(report: &str) -> Vec<String> {
    normalise_with(report, true)
}

/// [`normalise`], and without `keep_size` also masks the image size and what follows
/// from it (the first partition's size, the GPT's usable range, the sizes of the 0xCD MBR
/// partitions and of the GPT entries that fill gaps over the filesystem), for images whose
/// layouts legitimately differ in length.
pub fn normalise_with(report: &str, keep_size: bool) -> Vec<String> {
    // GPT entries named GapN or ISO9660 (xorriso names them before it gives their extent)
    let mut gpt_gaps: Vec<String> = Vec::new();
    report
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| !key.starts_with("Drive") && !key.starts_with("Media"))
        .map(|(key, values)| {
            let key = key.trim_end();
            let mut v: Vec<&str> = values.split_whitespace().collect();
            // which value holds an address or a GUID, and whether the line's first
            // value (a partition number) must be more than 1 for it to be masked
            let masked: Option<(usize, bool)> = match key {
                "El Torito catalog" => Some((0, false)),
                "El Torito boot img" => v.len().checked_sub(1).map(|last| (last, false)),
                "MBR partition" => Some((3, true)),
                "GPT start and size" => Some((1, true)),
                "APM start and size" => Some((1, false)),
                "GPT disk GUID" => Some((0, false)),
                "GPT partition GUID" => Some((1, false)),
                // non-PC boot blocks (issue 11): block, sector or byte addresses of boot files
                "MIPS-BE boot entry" => Some((2, false)),
                "MIPS-LE boot params" => Some((3, false)),
                "HP-PA 32-bit kernel"
                | "HP-PA 64-bit kernel"
                | "HP-PA ramdisk"
                | "HP-PA bootloader" => Some((0, false)),
                "DEC Alpha ldr adr" => Some((0, false)),
                // -prep-boot-part: its first block
                "PReP boot partition" => Some((0, false)),
                // the first cylinder of partitions after the image
                "SUN SPARC partition" => Some((3, true)),
                _ => None,
            };
            if key == "GPT partname local"
                && v.get(1)
                    .is_some_and(|n| n.starts_with("Gap") || *n == "ISO9660")
            {
                gpt_gaps.extend(v.first().map(|n| n.to_string()));
            }
            if !keep_size {
                let first = v.first().is_some_and(|n| *n == "1");
                let gap = v.first().is_some_and(|n| gpt_gaps.iter().any(|g| g == n));
                let sizes: &[usize] = match key {
                    "ISO image size/512" => &[0],
                    "MBR partition" if first || v.get(2) == Some(&"0xcd") => &[4],
                    "GPT start and size" if first || gap => &[2],
                    "GPT lba range" => &[1, 2],
                    // the gap over the filesystem (`-appended_part_as_apm`)
                    "APM start and size" if first => &[2],
                    // the image, or copies of its entry (`-sparc-boot ...`)
                    "SUN SPARC partition" => &[4],
                    _ => &[],
                };
                for &at in sizes {
                    if let Some(value) = v.get_mut(at) {
                        *value = "*";
                    }
                }
            }
            if let Some((at, after_first)) = masked {
                let first = v.first().and_then(|n| n.parse::<u32>().ok());
                if !after_first || first.is_some_and(|n| n > 1) {
                    if let Some(value) = v.get_mut(at) {
                        *value = "*";
                    }
                }
            }
            format!("{key} : {}", v.join(" "))
        })
        .collect()
}

/// xorriso's `-report_el_torito cmd` / `-report_system_area cmd` (commands that would recreate
/// the boot setup from the image), with what names the image masked: the image file's name, and
/// the 512-byte block range an appended partition is read from (`NNNd-MMMd`, kept as a length,
/// since the two writers place the partitions after filesystems of different sizes; for
/// partition 1, which xorriso reports this way when it covers the filesystem itself, not even
/// that).
pub fn normalise_cmd(report: &str) -> Vec<String> {
    report
        .lines()
        .map(mask_appended_boot_start)
        .map(|line| {
            let Some((head, interval)) = line.split_once("--interval:imported_iso:") else {
                return line.to_string();
            };
            // RANGE:FLAGS:'IMAGE'
            let mut fields = interval.splitn(3, ':');
            let range = fields.next().unwrap_or_default();
            let flags = fields.next().unwrap_or_default();
            let blocks = range
                .split_once('-')
                .and_then(|(a, b)| {
                    let a: u64 = a.strip_suffix('d')?.parse().ok()?;
                    let b: u64 = b.strip_suffix('d')?.parse().ok()?;
                    if head.starts_with("-append_partition 1 ") {
                        return Some("*".to_string());
                    }
                    Some(format!("*+{}d", b + 1 - a))
                })
                .unwrap_or_else(|| range.to_string());
            format!("{head}--interval:imported_iso:{blocks}:{flags}:IMAGE")
        })
        .collect()
}

/// A boot image that is an appended partition (`efi_path='--interval:appended_partition_2_
/// start_3092s_size_392d:all::'`) is named with the partition's start block: masked.
fn mask_appended_boot_start(line: &str) -> String {
    let Some((head, rest)) = line.split_once("_start_") else {
        return line.to_string();
    };
    if !head.contains("--interval:appended_partition_") {
        return line.to_string();
    }
    match rest.split_once('s') {
        Some((digits, tail)) if digits.chars().all(|c| c.is_ascii_digit()) => {
            format!("{head}_start_*s{tail}")
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{normalise, normalise_cmd};

    #[test]
    fn unsized_reports_lose_what_follows_the_image_size() {
        let report = "\
ISO image size/512 : 13160
MBR partition      :   1   0x00  0xcd            0          128
MBR partition      :   2   0x00  0x41          128          196
MBR partition      :   3   0x00  0xcd          324        12836
GPT partname local :   1  Gap0
GPT start and size :   1  64  64
GPT partname local :   2  EFI boot partition
GPT start and size :   2  128  392
GPT partname local :   3  Gap1
GPT start and size :   3  520  12836
PReP boot partition: 32  49
";
        assert_eq!(
            super::normalise_with(report, false),
            [
                "ISO image size/512 : *",
                "MBR partition : 1 0x00 0xcd 0 *",
                "MBR partition : 2 0x00 0x41 * 196",
                "MBR partition : 3 0x00 0xcd * *",
                "GPT partname local : 1 Gap0",
                "GPT start and size : 1 64 *",
                "GPT partname local : 2 EFI boot partition",
                "GPT start and size : 2 * 392",
                "GPT partname local : 3 Gap1",
                "GPT start and size : 3 * *",
                "PReP boot partition : * 49",
            ]
        );
    }

    #[test]
    fn cmd_reports_lose_image_names_and_partition_addresses() {
        let report = "\
-boot_image any emul_type=diskette
-append_partition 1 0xcd --interval:imported_iso:1d-12267d::'x-ap.iso'
-append_partition 2 0x83 --interval:imported_iso:12352d-12743d::'x-ap.iso'
-boot_image any system_area=--interval:imported_iso:0s-15s:zero_mbrpt:'/tmp/a b.iso'
-boot_image any efi_path='--interval:appended_partition_2_start_3092s_size_392d:all::'
";
        assert_eq!(
            normalise_cmd(report),
            [
                "-boot_image any emul_type=diskette",
                "-append_partition 1 0xcd --interval:imported_iso:*::IMAGE",
                "-append_partition 2 0x83 --interval:imported_iso:*+392d::IMAGE",
                "-boot_image any system_area=--interval:imported_iso:0s-15s:zero_mbrpt:IMAGE",
                "-boot_image any efi_path='--interval:appended_partition_2_start_*s_size_392d:all::'",
            ]
        );
    }

    #[test]
    fn masks_addresses_and_random_guids_only() {
        let report = "\
El Torito catalog  : 34  1
El Torito cat path : /isolinux/boot.cat
El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4          67
System area summary: MBR isohybrid cyl-align-on GPT
MBR partition      :   1   0x80  0x00            0         2048
MBR partition      :   2   0x00  0xef          140          128
GPT disk GUID      :      af5e3901c8c5f946a628f36a93fd0a60
GPT partition GUID :   1  af5e3901c8c5f946a629f36a93fd0a60
GPT type GUID      :   1  a2a0d0ebe5b9334487c068b6b72699c7
GPT start and size :   1  0  1984
GPT start and size :   2  140  128
APM start and size :   1  35  720
MIPS-BE boot entry :   1  sashARCS         344        8884
MIPS-LE boot params:    4194488  2153775104         512         193
HP-PA ramdisk      :      67584      500000  /install/initrd.gz
DEC Alpha ldr size : 59
DEC Alpha ldr adr  : 132
SUN SPARC partition:   1  0x0004  0x0010           0        4452
SUN SPARC partition:   2  0x0002  0x0010           5         196
";
        assert_eq!(
            normalise(report),
            [
                "El Torito catalog : * 1",
                "El Torito cat path : /isolinux/boot.cat",
                "El Torito boot img : 1 BIOS y none 0x0000 0x00 4 *",
                "System area summary : MBR isohybrid cyl-align-on GPT",
                "MBR partition : 1 0x80 0x00 0 2048",
                "MBR partition : 2 0x00 0xef * 128",
                "GPT disk GUID : *",
                "GPT partition GUID : 1 *",
                "GPT type GUID : 1 a2a0d0ebe5b9334487c068b6b72699c7",
                "GPT start and size : 1 0 1984",
                "GPT start and size : 2 * 128",
                "APM start and size : 1 * 720",
                "MIPS-BE boot entry : 1 sashARCS * 8884",
                "MIPS-LE boot params : 4194488 2153775104 512 *",
                "HP-PA ramdisk : * 500000 /install/initrd.gz",
                "DEC Alpha ldr size : 59",
                "DEC Alpha ldr adr : *",
                "SUN SPARC partition : 1 0x0004 0x0010 0 4452",
                "SUN SPARC partition : 2 0x0002 0x0010 * 196",
            ]
        );
    }
}
