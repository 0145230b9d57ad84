//! El Torito disk emulation and the PC system-area options that need no isohybrid MBR
//! (issue 11) against xorriso: floppy emulation (1.2, 1.44 and 2.88 MB images, the mkisofs
//! default without `-no-emul-boot`), `-hard-disk-boot`, `-G`/`--embedded-boot`,
//! `--grub2-mbr`, `--protective-msdos-label`, `--mbr-force-bootable`, `-iso_mbr_part_type`,
//! `-append_partition` (MBR, `-appended_part_as_gpt`, `-appended_part_as_apm`),
//! `-chrp-boot-part`, their combinations with `-partition_offset`, and `-iso_mbr_part_type`
//! with the isohybrid MBR.
//!
//! xorriso and `jigsmith mkisofs` build the same tree with the same options; then
//!
//! - `-report_el_torito plain`/`-report_system_area plain` agree (the shared normaliser masks
//!   block addresses and, since the two writers place files differently, the image size);
//! - `-report_el_torito cmd`/`-report_system_area cmd`, the commands that would recreate the
//!   boot setup, agree (image name and appended partition addresses masked);
//! - the system areas agree byte for byte outside the MBR partition table and the GRUB2 boot
//!   image address;
//! - with JTE, the .jigdo `[Parts]` equal xorriso's (appended partitions are template data, as
//!   with libjte) and jigit-mkimage and `jigsmith make-image` rebuild the image bit for bit;
//! - an image whose El Torito boot entry emulates a 1.44 MB floppy boots in qemu.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::boot::{boot, Medium, ISOHDPFX, ISOLINUX_BOOT, QEMU};
use crate::checks::Rebuild;
use crate::fixture::p;
use crate::mkisofs_jte::raw_parts;
use crate::support::{
    assert_stderr_names, canonical_temp_dir, have_package_files, jigsmith, mkdir_parent, read,
    require, temp_dir, tool, write, Run,
};
use crate::tree::Rng;
use crate::xorriso_report::{normalise_cmd, normalise_with, REPORT_ARGS};

/// Both writers derive dates and ids from it.
const EPOCH: &str = "1700000000";
const FLOPPY_1_2: usize = 1_228_800;
const FLOPPY_1_44: usize = 1_474_560;
const FLOPPY_2_88: usize = 2_949_120;

/// A tree with floppy, hard disk and no-emulation boot images and a package, and beside it
/// (outside the tree) the files the system-area options read.
struct Layouts {
    _dir: tempfile::TempDir,
    /// The image tree.
    tree: PathBuf,
    /// Where both writers run: `sa.bin`, `small.bin`, `grub2.bin`, `part.img`, `esp.img`.
    aux: PathBuf,
}

/// An MBR sector: `code` then a partition table of `types` (one entry each, sector 1 on)
/// and the 55 AA signature.
fn mbr(code: &[u8], types: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 512];
    m[..code.len().min(440)].copy_from_slice(&code[..code.len().min(440)]);
    for (i, ty) in types.iter().enumerate() {
        let e = 446 + 16 * i;
        m[e + 4] = *ty;
        m[e + 8..e + 12].copy_from_slice(&1u32.to_le_bytes());
        m[e + 12..e + 16].copy_from_slice(&199u32.to_le_bytes());
    }
    m[510] = 0x55;
    m[511] = 0xaa;
    m
}

fn layouts(seed: u64) -> Layouts {
    let (dir, root) = canonical_temp_dir();
    let (tree, aux) = (root.join("cd"), root.join("aux"));
    let mut rng = Rng::new(seed);
    let mut disk = |table: &[u8]| {
        let mut d = rng.bytes(100 * 1024);
        let code = d[..440].to_vec();
        d[..512].copy_from_slice(&mbr(&code, table));
        d
    };
    let (hd, hd2) = (disk(&[0x0c]), disk(&[0x0c, 0x83]));
    let mut rng = Rng::new(seed + 1);
    for (rel, data) in [
        ("boot/fd144.img", rng.bytes(FLOPPY_1_44)),
        ("boot/fd12.img", rng.bytes(FLOPPY_1_2)),
        ("boot/fd288.img", rng.bytes(FLOPPY_2_88)),
        ("boot/hd.img", hd),
        ("boot/hd2.img", hd2),
        ("boot/efi.img", rng.bytes(64 * 1024)),
        ("pool/main/h/hello/hello_1.0_all.deb", rng.bytes(300_000)),
        ("README", rng.bytes(700)),
    ] {
        write(&tree.join(rel), data);
    }
    let grub2 = mbr(&rng.bytes(440), &[]);
    for (name, data) in [
        ("sa.bin", rng.bytes(40_000)),
        ("small.bin", rng.bytes(1000)),
        ("grub2.bin", grub2),
        ("part.img", rng.bytes(200_000)),
        ("esp.img", rng.bytes(65_536)),
    ] {
        write(&aux.join(name), data);
    }
    Layouts {
        _dir: dir,
        tree,
        aux,
    }
}

/// `PROGRAM ARGS -o OUT TREE` in the aux directory, with the fixed SOURCE_DATE_EPOCH.
fn mkisofs(mut cmd: Command, l: &Layouts, args: &[&str], out: &Path) -> Command {
    cmd.args(args)
        .arg("-o")
        .arg(out)
        .arg(&l.tree)
        .current_dir(&l.aux)
        .env("SOURCE_DATE_EPOCH", EPOCH);
    cmd
}

fn xorriso_stdout(iso: &Path, args: &[&str]) -> String {
    let mut cmd = tool("xorriso", ["-indev"]);
    cmd.arg(iso).args(args);
    String::from_utf8_lossy(&cmd.ok().stdout).into_owned()
}

/// The plain reports, normalised; `sized` keeps the image size and what follows from it.
fn plain_report(iso: &Path, sized: bool) -> Vec<String> {
    normalise_with(&xorriso_stdout(iso, &REPORT_ARGS), sized)
}

/// The `cmd` reports, normalised, and xorriso's exit status: 32 ("SORRY") where it cannot
/// propose commands for what it found (an APM of appended partitions), which must then be so
/// for xorriso's own image too.
fn cmd_report(iso: &Path) -> (Option<i32>, Vec<String>) {
    let mut cmd = tool("xorriso", ["-indev"]);
    cmd.arg(iso)
        .args(["-report_el_torito", "cmd", "-report_system_area", "cmd"]);
    let out = cmd.output_of();
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 32)), "{}: {out:?}", iso.display());
    (code, normalise_cmd(&String::from_utf8_lossy(&out.stdout)))
}

/// Bytes of the first sector that depend on the image layout for these options: the GRUB2
/// boot image address, and the partition table whenever one is made (its sizes follow the
/// image size; the reports compare its contents).
fn layout_fields(args: &[&str]) -> Vec<Range<usize>> {
    let mut fields = Vec::new();
    if args.contains(&"--grub2-mbr") || args.contains(&"-isohybrid-mbr") {
        // the boot image address (GRUB2's 64 bits, isohybrid's 32 and 4 more bytes)
        fields.push(0x1b0..0x1b8);
    }
    let table = [
        "--protective-msdos-label",
        "-partition_offset",
        "-append_partition",
        "--mbr-force-bootable",
        "-chrp-boot-part",
        "-chrp-boot",
        "-isohybrid-mbr",
        "-prep-boot-part",
        "-efi-boot-part",
        "--efi-boot-part",
    ];
    if args.iter().any(|a| table.contains(a)) {
        fields.push(446..512);
    }
    if args.contains(&"-appended_part_as_apm") {
        // APM entries: each partition's start and the gap's size
        for block in 2..5 {
            fields.push(block * 512 + 8..block * 512 + 16);
            fields.push(block * 512 + 84..block * 512 + 88);
        }
    }
    let gpt = [
        "-appended_part_as_gpt",
        "-isohybrid-gpt-basdat",
        "-efi-boot-part",
        "--efi-boot-part",
    ];
    if args.iter().any(|a| gpt.contains(a)) {
        // GPT header: its CRC, own and backup LBA, last usable LBA, entry array CRC; each
        // entry's first and last LBA
        fields.extend([528..532, 536..552, 560..568, 600..604]);
        fields.extend((0..8).map(|i| 1024 + 128 * i + 32..1024 + 128 * i + 48));
    }
    fields
}

/// One option set: both images (ours, xorriso's) with their reports and system areas
/// compared.
fn both(l: &Layouts, dir: &Path, name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let ours = dir.join(format!("{name}-jigsmith.iso"));
    let theirs = dir.join(format!("{name}-xorriso.iso"));
    mkisofs(tool("xorriso", ["-as", "mkisofs"]), l, args, &theirs).ok();
    mkisofs(jigsmith(["mkisofs", "-quiet"]), l, args, &ours).ok();
    let (o, t) = (plain_report(&ours, false), plain_report(&theirs, false));
    assert!(o.len() >= 3, "{name}: short report {o:?}");
    assert_eq!(
        o, t,
        "{name}: plain reports of ours and xorriso's ({args:?})"
    );
    assert_eq!(
        cmd_report(&ours),
        cmd_report(&theirs),
        "{name}: cmd reports of ours and xorriso's ({args:?})"
    );
    let (mut a, mut b) = (read(&ours), read(&theirs));
    a.truncate(32_768);
    b.truncate(32_768);
    for f in layout_fields(args) {
        a[f.clone()].fill(0);
        b[f].fill(0);
    }
    if let Some(at) = a.iter().zip(&b).position(|(x, y)| x != y) {
        panic!("{name}: system areas differ at byte {at} ({args:?})");
    }
    (ours, theirs)
}

/// The first 512-byte sector of the GPT partition `name` of `iso`, from xorriso's raw report
/// (the normalised one masks partition addresses).
fn gpt_partition_start(iso: &Path, name: &str) -> u64 {
    let raw = xorriso_stdout(iso, &["-report_system_area", "plain"]);
    let field = |key: &str, n: &str| -> Option<Vec<String>> {
        raw.lines().find_map(|r| {
            let (k, v) = r.split_once(':')?;
            let mut v = v.split_whitespace();
            (k.trim() == key && v.next()? == n).then(|| v.map(str::to_owned).collect())
        })
    };
    let label: Vec<String> = name.split(' ').map(str::to_owned).collect();
    let n = (1..=8)
        .map(|n| n.to_string())
        .find(|n| field("GPT partname local", n).as_ref() == Some(&label))
        .unwrap_or_else(|| panic!("no GPT partition {name} in\n{raw}"));
    field("GPT start and size", &n)
        .and_then(|v| v.first()?.parse().ok())
        .unwrap_or_else(|| panic!("no start of GPT partition {name} in\n{raw}"))
}

fn le32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}

/// Floppy emulation of each size (load size 1 whatever `-boot-load-size` says), hard disk
/// emulation (system type from the image's partition), the last of `-no-emul-boot` and
/// `-hard-disk-boot` winning, an EFI entry emulating a floppy, and all kinds in one catalog:
/// the same catalog as xorriso's. Images no BIOS can emulate are refused by both.
#[test]
fn disk_emulation_like_xorriso() {
    require!("xorriso");
    let l = layouts(1101);
    let work = temp_dir();
    let cat = ["-c", "boot/boot.cat"];
    let with_cat =
        |args: &[&'static str]| -> Vec<&'static str> { args.iter().copied().chain(cat).collect() };
    let cases: [(&str, Vec<&str>, &str); 10] = [
        // no -c: the catalog is the file /boot.catalog; --boot-catalog-hide: no file
        (
            "catalog-default",
            vec!["-b", "boot/fd144.img"],
            "BIOS y fd1.4 0x0000 0x00 1 *",
        ),
        (
            "catalog-hidden",
            vec!["-b", "boot/fd144.img", "--boot-catalog-hide"],
            "BIOS y fd1.4 0x0000 0x00 1 *",
        ),
        (
            "grub2-boot-info",
            with_cat(&[
                "-b",
                "boot/efi.img",
                "-no-emul-boot",
                "-boot-load-size",
                "4",
                "-boot-info-table",
                "--grub2-boot-info",
            ]),
            "BIOS y none 0x0000 0x00 4 *",
        ),
        (
            "fd144",
            with_cat(&["-b", "boot/fd144.img"]),
            "BIOS y fd1.4 0x0000 0x00 1 *",
        ),
        (
            "fd12",
            with_cat(&["-b", "boot/fd12.img", "-boot-load-size", "4"]),
            "BIOS y fd1.2 0x0000 0x00 1 *",
        ),
        (
            "fd288",
            with_cat(&["-b", "boot/fd288.img", "-boot-info-table"]),
            "BIOS y fd2.8 0x0000 0x00 1 *",
        ),
        (
            "hd",
            with_cat(&["-b", "boot/hd.img", "-hard-disk-boot"]),
            "BIOS y hd 0x0000 0x0c 1 *",
        ),
        (
            "hd-then-none",
            with_cat(&["-b", "boot/hd.img", "-hard-disk-boot", "-no-emul-boot"]),
            "BIOS y none 0x0000 0x00 200 *",
        ),
        (
            "efi-floppy",
            with_cat(&["-e", "boot/fd144.img"]),
            "UEFI y fd1.4 0x0000 0x00 1 *",
        ),
        (
            "mixed",
            with_cat(&[
                "-b",
                "boot/hd.img",
                "-no-emul-boot",
                "-hard-disk-boot",
                "-eltorito-alt-boot",
                "-e",
                "boot/efi.img",
                "-no-emul-boot",
                "-eltorito-alt-boot",
                "-b",
                "boot/fd12.img",
            ]),
            "BIOS y fd1.2 0x0000 0x00 1 *",
        ),
    ];
    for (name, args, entry) in &cases {
        let (ours, _) = both(&l, work.path(), name, args);
        let rep = plain_report(&ours, true);
        assert!(
            rep.iter()
                .any(|r| r.starts_with("El Torito boot img : ") && r.ends_with(entry)),
            "{name}: no {entry:?} in {rep:?}"
        );
    }

    // a 64 KiB image is no floppy; a disk image with two partitions has no single system type
    for (args, needle) in [
        (with_cat(&["-b", "boot/efi.img"]), "1474560"),
        (
            with_cat(&["-b", "boot/hd2.img", "-hard-disk-boot"]),
            "exactly one partition",
        ),
    ] {
        let out = work.path().join("refused.iso");
        mkisofs(tool("xorriso", ["-as", "mkisofs"]), &l, &args, &out).fails();
        let mut cmd = mkisofs(jigsmith(["mkisofs", "-quiet"]), &l, &args, &out);
        let result = cmd.fails();
        assert_stderr_names(&cmd, &result, needle);
    }
}

/// `-G`/`--embedded-boot` (longer and shorter than 32 KiB), `--grub2-mbr`, the protective
/// label, `-chrp-boot-part`, `--mbr-force-bootable`, `-iso_mbr_part_type`, `-partition_offset` and
/// `-append_partition`, alone and combined: the same reports and system areas as xorriso's.
#[test]
fn system_area_options_like_xorriso() {
    require!("xorriso");
    let l = layouts(1102);
    let work = temp_dir();
    let grub2 = [
        "--grub2-mbr",
        "grub2.bin",
        "-b",
        "boot/efi.img",
        "-no-emul-boot",
        "-c",
        "boot/boot.cat",
    ];
    let append = [
        "-append_partition",
        "2",
        "0x83",
        "part.img",
        "-append_partition",
        "4",
        "0xef",
        "esp.img",
    ];
    let guids = [
        "-append_partition",
        "2",
        "28732ac11ff8d211ba4b00a0c93ec93b",
        "part.img",
        "-append_partition",
        "4",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "esp.img",
    ];
    let protective = ["--protective-msdos-label"];
    let offset = ["-partition_offset", "16"];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("G", cat(&[&["-G", "sa.bin"]])),
        ("embedded-short", cat(&[&["--embedded-boot", "small.bin"]])),
        ("protective", cat(&[&protective])),
        (
            "protective-G-type",
            cat(&[&["-G", "sa.bin", "-iso_mbr_part_type", "0x83"], &protective]),
        ),
        (
            "protective-ee",
            cat(&[&protective, &["-iso_mbr_part_type", "0xee"]]),
        ),
        ("force", cat(&[&["--mbr-force-bootable"]])),
        (
            "offset-force-type",
            cat(&[
                &offset,
                &["--mbr-force-bootable", "-iso_mbr_part_type", "0x17"],
            ]),
        ),
        ("G-offset", cat(&[&["-G", "sa.bin"], &offset])),
        ("grub2", cat(&[&grub2])),
        ("grub2-protective", cat(&[&grub2, &protective])),
        (
            "grub2-force-offset",
            cat(&[&grub2, &["--mbr-force-bootable"], &offset]),
        ),
        ("chrp", cat(&[&["-chrp-boot-part"]])),
        (
            "chrp-grub2-force",
            cat(&[&grub2, &["-chrp-boot", "--mbr-force-bootable"]]),
        ),
        ("append", cat(&[&append])),
        ("append-gpt", cat(&[&append, &["-appended_part_as_gpt"]])),
        ("prep", cat(&[&["-prep-boot-part", "part.img"]])),
        (
            "prep-G-force-type",
            cat(&[&[
                "-prep-boot-part",
                "part.img",
                "-G",
                "sa.bin",
                "--mbr-force-bootable",
                "-iso_mbr_part_type",
                "0x83",
            ]]),
        ),
        ("efi-part", cat(&[&["-efi-boot-part", "esp.img"]])),
        (
            "efi-image",
            cat(&[&[
                "-e",
                "boot/efi.img",
                "-no-emul-boot",
                "-c",
                "boot/boot.cat",
                "-efi-boot-part",
                "--efi-boot-image",
            ]]),
        ),
        (
            "efi-image-floppy-force",
            cat(&[&[
                "-b",
                "boot/fd144.img",
                "-c",
                "boot/boot.cat",
                "-eltorito-alt-boot",
                "-e",
                "boot/efi.img",
                "-no-emul-boot",
                "--efi-boot-part",
                "--efi-boot-image",
                "--mbr-force-bootable",
            ]]),
        ),
        (
            "efi-part-grub2-force",
            cat(&[
                &grub2,
                &["-efi-boot-part", "esp.img", "--mbr-force-bootable"],
            ]),
        ),
        ("append-apm", cat(&[&append, &["-appended_part_as_apm"]])),
        // cylinder alignment of the filesystem, and of the partitions with "all"
        (
            "append-cyl-on",
            cat(&[&append, &["-partition_cyl_align", "on"]]),
        ),
        (
            "append-cyl-all",
            cat(&[&append, &["-partition_cyl_align", "all"]]),
        ),
        (
            "append-gpt-cyl-all",
            cat(&[
                &append,
                &["-appended_part_as_gpt", "-partition_cyl_align", "all"],
            ]),
        ),
        (
            "protective-cyl-on",
            cat(&[&protective, &["-partition_cyl_align", "on"]]),
        ),
        // type GUIDs: in the GPT, 0xEF/0x83 in the MBR, Apple_HFS in the APM
        (
            "append-gpt-guids-offset",
            cat(&[
                &guids,
                &offset,
                &[
                    "-appended_part_as_gpt",
                    "-iso_mbr_part_type",
                    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                ],
            ]),
        ),
        ("append-mbr-guids", cat(&[&guids])),
        // a GRUB2 hybrid image as Ubuntu's: the EFI El Torito entry is appended partition 2
        (
            "grub2-efi-partition",
            cat(&[
                &guids,
                &offset,
                &[
                    "--grub2-mbr",
                    "grub2.bin",
                    "-appended_part_as_gpt",
                    "-iso_mbr_part_type",
                    "a2a0d0ebe5b9334487c068b6b72699c7",
                    "-c",
                    "boot/boot.cat",
                    "-b",
                    "boot/efi.img",
                    "-no-emul-boot",
                    "-boot-load-size",
                    "4",
                    "-boot-info-table",
                    "-eltorito-alt-boot",
                    "-e",
                    "--interval:appended_partition_2:all::",
                    "-no-emul-boot",
                ],
            ]),
        ),
        (
            "append-apm-hfs",
            cat(&[
                &[
                    "-append_partition",
                    "2",
                    "48465300-0000-11AA-AA11-00306543ECAC",
                    "part.img",
                    "-append_partition",
                    "4",
                    "0x83",
                    "esp.img",
                ],
                &["-appended_part_as_apm"],
            ]),
        ),
        (
            "append-apm-protective-G",
            cat(&[
                &append,
                &protective,
                &["-appended_part_as_apm", "-G", "sa.bin"],
            ]),
        ),
        (
            "append-gpt-offset-force",
            cat(&[
                &append,
                &offset,
                &["-appended_part_as_gpt", "--mbr-force-bootable"],
            ]),
        ),
        (
            "append-gpt-grub2",
            cat(&[&append, &grub2, &["-appended_part_as_gpt"]]),
        ),
        (
            "append-named-types",
            cat(&[&[
                "-append_partition",
                "2",
                "Linux",
                "part.img",
                "-append_partition",
                "4",
                "FAT12",
                "esp.img",
            ]]),
        ),
        ("append-protective", cat(&[&append, &protective])),
        ("append-offset", cat(&[&append, &offset])),
        (
            "append-G-force-type",
            cat(&[
                &[
                    "-G",
                    "sa.bin",
                    "--mbr-force-bootable",
                    "-iso_mbr_part_type",
                    "0x0c",
                ],
                &append,
            ]),
        ),
        (
            "append-floppy",
            cat(&[&append, &["-b", "boot/fd144.img", "-c", "boot/boot.cat"]]),
        ),
    ];
    for (name, args) in &cases {
        let (ours, _) = both(&l, work.path(), name, args);
        let image = read(&ours);
        let rep = plain_report(&ours, true);
        let sectors = image.len() as u64 / 512;
        if args.contains(&"-G") {
            // (an APM's block 0 takes the first 8 bytes)
            assert_eq!(image[8..440], read(&l.aux.join("sa.bin"))[8..440], "{name}");
        }
        if args.contains(&"--grub2-mbr") {
            // the boot image's 512-byte sector address + 4, where GRUB2's MBR reads it
            let lba = u64::from_le_bytes(image[0x1b0..0x1b8].try_into().unwrap()) - 4;
            let at = usize::try_from(lba * 512).unwrap();
            let efi = read(&l.tree.join("boot/efi.img"));
            // (bytes 8..64 hold a boot info table with -boot-info-table)
            assert_eq!(&image[at..at + 8], &efi[..8], "{name}: GRUB2 target");
            assert_eq!(
                &image[at + 64..at + efi.len()],
                &efi[64..],
                "{name}: GRUB2 target"
            );
        }
        let whole = match *name {
            "protective" => Some(format!("MBR partition : 1 0x80 0xcd 1 {}", sectors - 1)),
            "chrp" => Some(format!("MBR partition : 1 0x80 0x96 0 {sectors}")),
            _ => None,
        };
        if let Some(want) = whole {
            assert!(rep.contains(&want), "{name}: want {want:?} in {rep:?}");
        }
        if args.contains(&"-appended_part_as_gpt") {
            // one protective partition over the whole image; the backup GPT at its end
            let want = format!("MBR partition : 1 0x00 0xee 1 {}", sectors - 1);
            assert!(rep.contains(&want), "{name}: want {want:?} in {rep:?}");
            assert_eq!(&image[image.len() - 512..image.len() - 504], b"EFI PART");
            for (file, gpt_name) in [("part.img", "Appended2"), ("esp.img", "Appended4")] {
                let start = gpt_partition_start(&ours, gpt_name);
                let data = read(&l.aux.join(file));
                let at = usize::try_from(start * 512).unwrap();
                assert_eq!(&image[at..at + data.len()], &data[..], "{name}: {file}");
            }
        } else if args.iter().any(|a| a.ends_with("-efi-boot-part")) {
            let start = gpt_partition_start(&ours, "EFI boot partition");
            let file = if args.contains(&"--efi-boot-image") {
                l.tree.join("boot/efi.img")
            } else {
                l.aux.join("esp.img")
            };
            let data = read(&file);
            let at = usize::try_from(start * 512).unwrap();
            assert_eq!(&image[at..at + data.len()], &data[..], "{name}: esp.img");
        } else if args.contains(&"-prep-boot-part") {
            // partition 2, type 0x41, between two 0xCD partitions
            let first = if args.contains(&"0x83") { 0x83 } else { 0xcd };
            assert_eq!(
                (image[450], image[466], image[482]),
                (first, 0x41, 0xcd),
                "{name}"
            );
            let at = usize::try_from(le32(&image, 462 + 8) * 512).unwrap();
            let data = read(&l.aux.join("part.img"));
            assert_eq!(&image[at..at + data.len()], &data[..], "{name}: part.img");
        } else if args.contains(&"-appended_part_as_apm") {
            assert_eq!(
                &image[..8],
                b"ER\x02\x00\xeb\x02\xff\xff",
                "{name}: APM block 0"
            );
            assert_eq!(
                &image[446 + 16..510],
                &[0u8; 48][..],
                "{name}: MBR entry 1 only"
            );
            for (block, file) in [(3usize, "part.img"), (4, "esp.img")] {
                let e = &image[block * 512..block * 512 + 512];
                assert_eq!(&e[..2], b"PM", "{name}");
                let be =
                    |at: usize| u64::from(u32::from_be_bytes(e[at..at + 4].try_into().unwrap()));
                let data = read(&l.aux.join(file));
                let at = usize::try_from(be(8) * 512).unwrap();
                assert_eq!(&image[at..at + data.len()], &data[..], "{name}: {file}");
            }
        } else if args.contains(&"-append_partition") {
            // each partition holds its file, the -pad blocks follow the last one
            for (slot, file) in [(1usize, "part.img"), (3, "esp.img")] {
                let data = read(&l.aux.join(file));
                let start = usize::try_from(le32(&image, 446 + 16 * slot + 8) * 512).unwrap();
                assert_eq!(
                    &image[start..start + data.len()],
                    &data[..],
                    "{name}: {file}"
                );
                let blocks = le32(&image, 446 + 16 * slot + 12) / 4;
                let want = if args.contains(&"all") {
                    512 // whole 1 MiB cylinders
                } else {
                    data.len().div_ceil(2048) as u64
                };
                assert_eq!(blocks, want, "{name}: {file}");
            }
            let end = (le32(&image, 446 + 48 + 8) + le32(&image, 446 + 48 + 12)) * 512;
            assert_eq!(image.len() as u64, end + 150 * 2048, "{name}: -pad after");
        }
    }
}

/// `-iso_mbr_part_type` and `--mbr-force-bootable` with the isohybrid MBR: partition 1 gets
/// the type (not 0x17), but not when a GPT makes it 0x00, as with xorriso.
#[test]
fn isohybrid_partition_type_like_xorriso() {
    require!("xorriso");
    let isolinux = "/usr/lib/ISOLINUX/isolinux.bin";
    if !have_package_files("isolinux", &[isolinux, ISOHDPFX]) {
        return;
    }
    let l = layouts(1104);
    write(
        &l.tree.join("isolinux/isolinux.bin"),
        read(Path::new(isolinux)),
    );
    let work = temp_dir();
    let isohybrid = cat(&[&["-isohybrid-mbr", ISOHDPFX], &ISOLINUX_BOOT]);
    let efi_gpt = [
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        isohybrid.iter().chain(extra).copied().collect()
    };
    let cases = [
        ("type", with(&["-iso_mbr_part_type", "0x83"]), "0x83"),
        (
            "type-gpt",
            with(&[&["-iso_mbr_part_type", "0x83"][..], &efi_gpt].concat()),
            "0x00",
        ),
        ("force", with(&["--mbr-force-bootable"]), "0x17"),
        (
            "no-cylinders",
            with(&["-partition_cyl_align", "off"]),
            "0x17",
        ),
    ];
    for (name, args, ty) in &cases {
        let (ours, _) = both(&l, work.path(), name, args);
        let rep = plain_report(&ours, false);
        let want = format!("MBR partition : 1 0x80 {ty} 0 *");
        assert!(rep.contains(&want), "{name}: want {want:?} in {rep:?}");
    }
}

/// JTE over every kind of image byte this issue adds: `-G` data, a patched floppy boot
/// image, the protective label and appended partitions whose files are in the checksum list
/// and under the `-jigdo-map` directory. The `[Parts]` are xorriso's (libjte lists no
/// appended partition, so neither do we), and jigit-mkimage and `jigsmith make-image`
/// rebuild the image bit for bit.
#[test]
fn jte_with_embedded_boot_and_appended_partitions() {
    require!("xorriso", "jigit-mkimage");
    let l = layouts(1103);
    let mirror = l.aux.join("mirror");
    for name in ["part.img", "esp.img"] {
        write(&mirror.join(name), read(&l.aux.join(name)));
    }
    for rel in ["pool/main/h/hello/hello_1.0_all.deb", "boot/efi.img"] {
        write(&mirror.join(rel), read(&l.tree.join(rel)));
    }
    let mut list = jigsmith(["checksum-list"]);
    list.arg(&mirror);
    write(&l.aux.join("checksums"), list.ok().stdout);
    let map = format!("Deb={}/", p(&mirror));
    let jte = [
        "-r",
        "-J",
        "-md5-list",
        "checksums",
        "-jigdo-map",
        &map,
        "-jigdo-min-file-size",
        "1024",
    ];
    let floppy = [
        "-b",
        "boot/fd288.img",
        "-boot-info-table",
        "-c",
        "boot/boot.cat",
    ];
    let append = [
        "-append_partition",
        "2",
        "0x83",
        "mirror/part.img",
        "-append_partition",
        "3",
        "0xef",
        "mirror/esp.img",
    ];
    let sets = [
        (
            "mbr",
            cat(&[
                &jte,
                &["-G", "sa.bin", "--protective-msdos-label"],
                &floppy,
                &append,
            ]),
        ),
        (
            "gpt",
            cat(&[
                &jte,
                &["-G", "sa.bin"],
                &floppy,
                &append,
                &["-appended_part_as_gpt"],
            ]),
        ),
        // the EFI partition's data lies before the files: template data too
        (
            "prepended",
            cat(&[&jte, &floppy, &["-efi-boot-part", "mirror/esp.img"]]),
        ),
        // the EFI boot image moved in front of the files is still a file JTE matches
        (
            "efi-image",
            cat(&[
                &jte,
                &floppy,
                &[
                    "-eltorito-alt-boot",
                    "-e",
                    "boot/efi.img",
                    "-no-emul-boot",
                    "-efi-boot-part",
                    "--efi-boot-image",
                ],
            ]),
        ),
    ];
    for (name, args) in &sets {
        jte_rebuild(&l, &mirror, name, args);
    }
}

/// The option groups `parts` as one command line.
fn cat<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

/// One option set of [`jte_with_embedded_boot_and_appended_partitions`].
fn jte_rebuild(l: &Layouts, mirror: &Path, set: &str, args: &[&str]) {
    let run = |cmd: Command, name: &str| -> (PathBuf, PathBuf, PathBuf) {
        let dir = l.aux.join(set).join(name);
        let (iso, jigdo, template) = (
            dir.join("img.iso"),
            dir.join("img.jigdo"),
            dir.join("img.template"),
        );
        mkdir_parent(&iso);
        let mut cmd = mkisofs(cmd, l, args, &iso);
        cmd.arg("-jigdo-jigdo")
            .arg(&jigdo)
            .arg("-jigdo-template")
            .arg(&template)
            .ok();
        (iso, jigdo, template)
    };
    let (their_iso, their_jigdo, _) = run(tool("xorriso", ["-as", "mkisofs"]), "xorriso");
    let (iso, jigdo, template) = run(jigsmith(["mkisofs", "-quiet"]), "jigsmith");
    let parts = |path: &Path| raw_parts(&String::from_utf8_lossy(&read(path)));
    let ours = parts(&jigdo);
    assert_eq!(ours, parts(&their_jigdo), "{set}: [Parts] like xorriso's");
    // the .deb and the tree's efi.img; never an appended or prepended partition's file
    assert_eq!(ours.len(), 2, "{set}: {ours:?}");
    for name in [
        "=Deb:pool/main/h/hello/hello_1.0_all.deb",
        "=Deb:boot/efi.img",
    ] {
        assert!(ours.iter().any(|p| p.ends_with(name)), "{set}: {ours:?}");
    }
    assert_eq!(
        normalise_with(&xorriso_stdout(&iso, &REPORT_ARGS), false),
        normalise_with(&xorriso_stdout(&their_iso, &REPORT_ARGS), false),
        "{set}: reports of the JTE images"
    );
    let rebuild = Rebuild::jigdo_map(jigdo, template, format!("Deb={}", p(mirror)), iso);
    rebuild.assert_real_jigit_rebuilds();
    rebuild.assert_to_file(rebuild.native(), "-o");
}

/// What the floppy's boot sector prints: the first 0-terminated string of the floppy's last
/// sector (cylinder 79, head 1, sector 18 of a 1.44 MB floppy).
const FLOPPY_MARKER: &str =
    "jigsmith-floppy-marker: read C79/H1/S18 of the emulated 1.44 MB floppy";

/// 16-bit code at byte 62 of the floppy's boot sector (after its BIOS parameter block),
/// assembled with GNU as (`.code16`):
///
/// ```text
///     cli; xor %ax,%ax; mov %ax,%ds; mov %ax,%es; mov %ax,%ss; mov $0x7c00,%sp; sti
///     mov $0x0201,%ax          # INT 13h read, 1 sector
///     mov $0x4f12,%cx          # cylinder 79, sector 18
///     mov $1,%dh               # head 1 (dl: the boot drive, from the BIOS)
///     mov $0x7e00,%bx; int $0x13; jc off
///     mov $0x7e00,%si
/// next: lodsb; test %al,%al; jz off; mov %al,%ah
/// busy: mov $0x3fd,%dx; in %dx,%al; test $0x20,%al; jz busy   # COM1 ready to send
///     mov $0x3f8,%dx; mov %ah,%al; out %al,%dx; jmp next
/// off: mov $0x604,%dx; mov $0x2000,%ax; out %ax,%dx           # ACPI S5: qemu powers off
/// halt: hlt; jmp halt
/// ```
///
/// A failed read powers off at once too, so a broken image fails fast, without the marker.
const FLOPPY_CODE: [u8; 64] = [
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xfb, 0xb8, 0x01, 0x02,
    0xb9, 0x12, 0x4f, 0xb6, 0x01, 0xbb, 0x00, 0x7e, 0xcd, 0x13, 0x72, 0x1a, 0xbe, 0x00, 0x7e, 0xac,
    0x84, 0xc0, 0x74, 0x12, 0x88, 0xc4, 0xba, 0xfd, 0x03, 0xec, 0xa8, 0x20, 0x74, 0xf8, 0xba, 0xf8,
    0x03, 0x88, 0xe0, 0xee, 0xeb, 0xe9, 0xba, 0x04, 0x06, 0xb8, 0x00, 0x20, 0xef, 0xf4, 0xeb, 0xfd,
];

/// A 1.44 MB FAT12 floppy (2880 sectors of 18 per track, 2 heads) whose boot sector prints
/// [`FLOPPY_MARKER`], stored in its last sector only. The marker reaches the console only if
/// the BIOS emulates the El Torito image as a 1.44 MB floppy: the boot sector is loaded from
/// the image's first sector, and CHS 79/1/18 must map to its last.
fn marker_floppy() -> Vec<u8> {
    let mut img = vec![0u8; FLOPPY_1_44];
    let fields: &[(usize, &[u8])] = &[
        (0, &[0xeb, 0x3c, 0x90]), // jmp to byte 62
        (3, b"JIGSMITH"),
        (11, &512u16.to_le_bytes()),
        (13, &[1]),
        (14, &1u16.to_le_bytes()),
        (16, &[2]),
        (17, &224u16.to_le_bytes()),
        (19, &2880u16.to_le_bytes()),
        (21, &[0xf0]),
        (22, &9u16.to_le_bytes()),
        (24, &18u16.to_le_bytes()),
        (26, &2u16.to_le_bytes()),
        (38, &[0x29]),
        (43, b"MARKER     "),
        (54, b"FAT12   "),
        (62, &FLOPPY_CODE),
        (510, &[0x55, 0xaa]),
    ];
    for (at, bytes) in fields {
        img[*at..*at + bytes.len()].copy_from_slice(bytes);
    }
    for fat in [1, 10] {
        img[fat * 512..fat * 512 + 3].copy_from_slice(&[0xf0, 0xff, 0xff]);
    }
    let last = FLOPPY_1_44 - 512;
    img[last..last + FLOPPY_MARKER.len() + 2]
        .copy_from_slice(&[FLOPPY_MARKER.as_bytes(), b"\n\0"].concat());
    img
}

/// An image booting a 1.44 MB floppy image through El Torito floppy emulation (`-b` without
/// `-no-emul-boot`) reaches the marker in qemu (`-boot d`, TCG) and powers off. Controls: the
/// same image with its El Torito boot record zeroed, and with the catalog's media type changed
/// to a 1.2 MB floppy (15 sectors per track, so sector 18 does not exist), do not print it.
#[test]
fn floppy_emulation_boots_in_qemu() {
    require!(QEMU, "xorriso");
    let work = temp_dir();
    let tree = work.path().join("cd");
    write(&tree.join("boot/floppy.img"), marker_floppy());
    write(&tree.join("README"), b"floppy emulation test\n");
    let iso = work.path().join("floppy.iso");
    let mut cmd = jigsmith(["mkisofs", "-quiet", "-r", "-V", "FLOPPY"]);
    cmd.args(["-b", "boot/floppy.img", "-c", "boot/boot.cat", "-o"])
        .arg(&iso)
        .arg(&tree)
        .env("SOURCE_DATE_EPOCH", EPOCH);
    cmd.ok();
    let run = boot(&iso, Medium::Cd);
    if !(run.printed(FLOPPY_MARKER) && run.powered_off()) {
        let reference = work.path().join("xorriso.iso");
        let mut x = tool("xorriso", ["-as", "mkisofs", "-r", "-V", "FLOPPY"]);
        x.args(["-b", "boot/floppy.img", "-c", "boot/boot.cat", "-o"])
            .arg(&reference)
            .arg(&tree)
            .env("SOURCE_DATE_EPOCH", EPOCH);
        x.ok();
        let theirs = boot(&reference, Medium::Cd);
        panic!("our floppy emulation image did not boot:\n{run}\n\nxorriso's image:\n{theirs}");
    }

    let image = read(&iso);
    let boot_record = 17 * 2048;
    assert_eq!(
        &image[boot_record + 7..boot_record + 30],
        b"EL TORITO SPECIFICATION"
    );
    let catalog = usize::try_from(le32(&image, boot_record + 0x47) * 2048).unwrap();
    assert_eq!(image[catalog + 32], 0x88, "bootable default entry");
    assert_eq!(image[catalog + 33], 2, "1.44 MB floppy");
    let mut no_record = image.clone();
    no_record[boot_record..boot_record + 2048].fill(0);
    let mut wrong_media = image;
    wrong_media[catalog + 33] = 1;
    for (name, bytes) in [("no-el-torito", no_record), ("media-1.2", wrong_media)] {
        let broken = work.path().join(format!("{name}.iso"));
        write(&broken, bytes);
        let run = boot(&broken, Medium::Cd);
        assert!(
            !run.printed(FLOPPY_MARKER),
            "{name}: booted anyway, so the test proves nothing\n{run}"
        );
    }
}
