//! Hybrid layouts against xorriso: `-partition_offset` (a second superblock and second
//! directory trees, so the partition mounts on its own), `-isohybrid-apm-hfsplus` (an
//! Apple Partition Map beside the MBR and GPT), and debian-cd's whole command line with
//! JTE. xorriso and `jigsmith mkisofs` build the same tree with the same options; their
//! `-report_el_torito`/`-report_system_area` reports must agree except for block
//! addresses (the two writers place files differently), their system areas must agree
//! byte for byte outside those address fields, and the partition must read like the
//! whole image. JTE output of hybrid images must rebuild them bit for bit.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::checks::Rebuild;
use crate::fixture::p;
use crate::support::{
    canonical_temp_dir, jigsmith, mkdir_parent, read, require, temp_dir, tool, write, Run,
};
use crate::tree::Rng;
use crate::xorriso_report::{normalise_with, REPORT_ARGS};

const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
/// Both writers derive dates, GUIDs and the MBR id from it.
const EPOCH: &str = "1700000000";

/// Returns early unless the ISOLINUX files are installed (packages isolinux and
/// syslinux-common); under `CI=true` a missing file fails, as a missing tool does.
macro_rules! require_isolinux {
    () => {
        if !have_isolinux() {
            return;
        }
    };
}

fn have_isolinux() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let mut all = true;
    for file in [ISOHDPFX, ISOLINUX_BIN, LDLINUX] {
        if !Path::new(file).is_file() {
            assert!(
                !ci,
                "{file} missing, and CI=true: install isolinux and syslinux-common"
            );
            eprintln!("skip: {file} not installed");
            all = false;
        }
    }
    all
}

/// An empty 1.44 MB FAT12 filesystem (the usual size of debian-cd's efi.img): boot sector
/// with BIOS parameter block, two FATs, an empty root directory. No mkfs.vfat needed.
fn fat12_floppy() -> Vec<u8> {
    let mut img = vec![0u8; 2880 * 512];
    let boot: &[(usize, &[u8])] = &[
        (0, &[0xeb, 0x3c, 0x90]),
        (3, b"MSWIN4.1"),
        (11, &512u16.to_le_bytes()), // bytes per sector
        (13, &[1]),                  // sectors per cluster
        (14, &1u16.to_le_bytes()),   // reserved sectors
        (16, &[2]),                  // FATs
        (17, &224u16.to_le_bytes()), // root entries
        (19, &2880u16.to_le_bytes()),
        (21, &[0xf0]),             // media
        (22, &9u16.to_le_bytes()), // sectors per FAT
        (24, &18u16.to_le_bytes()),
        (26, &2u16.to_le_bytes()),
        (38, &[0x29]), // extended boot signature
        (39, &0x1234_5678u32.to_le_bytes()),
        (43, b"EFIBOOT    "),
        (54, b"FAT12   "),
        (510, &[0x55, 0xaa]),
    ];
    for (at, bytes) in boot {
        img[*at..*at + bytes.len()].copy_from_slice(bytes);
    }
    for fat in [1, 10] {
        img[fat * 512..fat * 512 + 3].copy_from_slice(&[0xf0, 0xff, 0xff]);
    }
    img
}

/// A bootable tree: ISOLINUX files, a FAT efi.img, and some seeded data files.
fn boot_tree(root: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let put = |rel: &str, data: &[u8]| {
        write(&root.join(rel), data);
    };
    put("isolinux/isolinux.bin", &read(Path::new(ISOLINUX_BIN)));
    put("isolinux/ldlinux.c32", &read(Path::new(LDLINUX)));
    put("isolinux/isolinux.cfg", b"default install\nlabel install\n");
    put("boot/grub/efi.img", &fat12_floppy());
    put("pool/main/h/hello/hello_2.10_amd64.deb", &rng.bytes(60_000));
    put("pool/main/b/big/big_1.0_all.deb", &rng.bytes(700_000));
    put("dists/bookworm/Release", b"Suite: bookworm\n");
    put(
        "a/deep/ly/nested/dir/with/many/levels/file.txt",
        &rng.bytes(3000),
    );
    put("empty", b"");
}

/// `PROGRAM [-as mkisofs] ARGS -o OUT TREE` with a fixed SOURCE_DATE_EPOCH.
fn mkisofs(mut cmd: Command, args: &[&str], out: &Path, tree: &Path) -> Command {
    cmd.args(args).arg("-o").arg(out).arg(tree);
    cmd.env("SOURCE_DATE_EPOCH", EPOCH);
    cmd
}

fn xorriso_as_mkisofs() -> Command {
    tool("xorriso", ["-as", "mkisofs"])
}

/// `xorriso -report_el_torito plain -report_system_area plain`, normalised (see
/// `xorriso_report`), after the boot record and volume id lines xorriso prints on stderr.
/// Without `sized`, the image size and what follows from it is masked too.
fn report(iso: &Path, sized: bool) -> Vec<String> {
    let mut cmd = tool("xorriso", ["-indev"]);
    cmd.arg(iso).args(REPORT_ARGS);
    let out = cmd.ok();
    let info = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("Boot record") || l.starts_with("Volume id"))
        .collect();
    let mut lines = normalise_with(&summary.join("\n"), sized);
    lines.extend(normalise_with(&String::from_utf8_lossy(&out.stdout), sized));
    lines
}

/// Byte ranges of the first 32 KiB that hold boot image addresses or checksums over them.
fn address_fields(sa: &[u8]) -> Vec<std::ops::Range<usize>> {
    let le64 = |at: usize| {
        sa.get(at..at + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    let mut fields = vec![
        432..440, // LBA of the BIOS boot image, for the isohybrid MBR code
        470..474, // MBR partition 2 (the EFI image): start
    ];
    if sa.get(512..520) == Some(b"EFI PART") {
        fields.push(528..532); // header CRC
        fields.push(600..604); // entry array CRC
        let entries = usize::try_from(le64(512 + 72)).unwrap_or(0) * 512;
        for n in 1..4 {
            let e = entries + n * 128;
            fields.push(e + 32..e + 48); // first and last sector of the boot image partitions
        }
    }
    for block in 2..16 {
        let at = block * 2048;
        if sa.get(at..at + 2) == Some(b"PM") {
            fields.push(at + 8..at + 12); // APM partition start
        }
    }
    fields
}

/// Asserts the two system areas are equal outside [`address_fields`] of either.
fn assert_same_system_area(ours: &Path, theirs: &Path) {
    let (a, b) = (read(ours), read(theirs));
    let (mut a, mut b) = (a[..32768].to_vec(), b[..32768].to_vec());
    let fields: Vec<_> = address_fields(&a)
        .into_iter()
        .chain(address_fields(&b))
        .collect();
    for f in fields {
        a[f.clone()].fill(0);
        b[f].fill(0);
    }
    if let Some(at) = a.iter().zip(&b).position(|(x, y)| x != y) {
        panic!(
            "system areas of {} and {} differ at byte {at} (block {}, offset {}): {:02x?} vs {:02x?}",
            ours.display(),
            theirs.display(),
            at / 2048,
            at % 2048,
            &a[at..(at + 16).min(a.len())],
            &b[at..(at + 16).min(b.len())],
        );
    }
}

/// Lines of a listing command's stdout, sorted.
fn sorted_lines(mut cmd: Command) -> Vec<String> {
    let out = cmd.ok();
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// The image from 2048-byte block `offset` on, as a file of its own (what a USB stick's
/// partition 1 shows).
fn cut_partition(iso: &Path, offset: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir();
    let part = dir.path().join("partition.iso");
    let bytes = read(iso);
    write(
        &part,
        &bytes[usize::try_from(offset * 2048).unwrap_or(usize::MAX)..],
    );
    (dir, part)
}

/// The partition starting at `offset` is an ISO 9660 filesystem of its own with the same
/// Rock Ridge and Joliet trees as the whole image, read by xorriso, isoinfo and bsdtar;
/// bsdtar extracts from it the files of `tree` (boot images and catalog aside).
fn assert_partition_mounts(iso: &Path, offset: u64, tree: &Path) {
    let (_dir, part) = cut_partition(iso, offset);
    let xorriso_find = |image: &Path| {
        let mut cmd = tool("xorriso", ["-indev"]);
        cmd.arg(image).args(["-find", "/"]);
        sorted_lines(cmd)
    };
    let whole = xorriso_find(iso);
    assert!(whole.len() > 10, "xorriso -find: {whole:?}");
    assert_eq!(xorriso_find(&part), whole, "xorriso -find in the partition");
    for flag in ["-R", "-J"] {
        let isoinfo = |image: &Path| {
            let mut cmd = tool("isoinfo", [flag, "-f", "-i"]);
            cmd.arg(image);
            sorted_lines(cmd)
        };
        assert_eq!(isoinfo(&part), isoinfo(iso), "isoinfo {flag} -f");
    }
    let bsdtar_list = |image: &Path| {
        let mut cmd = tool("bsdtar", ["-tf"]);
        cmd.arg(image);
        sorted_lines(cmd)
    };
    assert_eq!(bsdtar_list(&part), bsdtar_list(iso), "bsdtar -tf");
    let out = temp_dir();
    tool("bsdtar", ["-xf"])
        .arg(&part)
        .arg("-C")
        .arg(out.path())
        .ok();
    for rel in [
        "pool/main/b/big/big_1.0_all.deb",
        "a/deep/ly/nested/dir/with/many/levels/file.txt",
        "boot/grub/efi.img",
        "isolinux/ldlinux.c32",
        "empty",
    ] {
        assert_eq!(
            read(&out.path().join(rel)),
            read(&tree.join(rel)),
            "{rel} extracted from the partition"
        );
    }
}

const BIOS: &[&str] = &[
    "-b",
    "isolinux/isolinux.bin",
    "-c",
    "isolinux/boot.cat",
    "-boot-load-size",
    "4",
    "-boot-info-table",
    "-no-emul-boot",
];
const EFI: &[&str] = &[
    "-eltorito-alt-boot",
    "-e",
    "boot/grub/efi.img",
    "-no-emul-boot",
];

/// One option set: both images, their reports compared; returns (ours, theirs).
fn both(dir: &Path, name: &str, tree: &Path, args: &[&str], sized: bool) -> (PathBuf, PathBuf) {
    let ours = dir.join(format!("{name}-jigsmith.iso"));
    let theirs = dir.join(format!("{name}-xorriso.iso"));
    mkisofs(xorriso_as_mkisofs(), args, &theirs, tree).ok();
    mkisofs(jigsmith(["mkisofs", "-quiet"]), args, &ours, tree).ok();
    let (o, t) = (report(&ours, sized), report(&theirs, sized));
    assert!(o.len() >= 8, "short report {o:?}");
    assert_eq!(o, t, "{name}: reports of ours and xorriso's ({args:?})");
    (ours, theirs)
}

fn args_with(parts: &[&[&str]]) -> Vec<String> {
    parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|s| s.to_string())
        .collect()
}

/// `-partition_offset 16` (and 20), plain, with El Torito, with the isohybrid MBR, with
/// GPT, with GPT and APM: same reports as xorriso's (partition 1 from sector 64, type
/// 0xCD without isohybrid MBR), and the partition readable on its own in both images.
#[test]
fn partition_offset_like_xorriso() {
    require!("xorriso", "isoinfo", "bsdtar");
    require_isolinux!();
    let work = temp_dir();
    let tree = work.path().join("cd");
    boot_tree(&tree, 701);
    let mbr = ["-isohybrid-mbr", ISOHDPFX];
    let base = ["-r", "-J", "-joliet-long", "-V", "HYBRID"];
    let cases: Vec<(&str, Vec<String>, u64, bool)> = vec![
        (
            "plain",
            args_with(&[&base, &["-partition_offset", "16"]]),
            16,
            false,
        ),
        (
            "plain20",
            args_with(&[&base, &["-partition_offset", "20"]]),
            20,
            false,
        ),
        (
            "eltorito",
            args_with(&[&base, BIOS, &["-partition_offset", "16"]]),
            16,
            false,
        ),
        (
            "mbr",
            args_with(&[&base, &mbr, BIOS, &["-partition_offset", "16"]]),
            16,
            true,
        ),
        (
            "gpt",
            args_with(&[
                &base,
                &mbr,
                BIOS,
                EFI,
                &["-isohybrid-gpt-basdat", "-partition_offset", "16"],
            ]),
            16,
            true,
        ),
        (
            "apm",
            args_with(&[
                &base,
                &mbr,
                BIOS,
                EFI,
                &[
                    "-isohybrid-gpt-basdat",
                    "-isohybrid-apm-hfsplus",
                    "-partition_offset",
                    "16",
                ],
            ]),
            16,
            true,
        ),
    ];
    for (name, args, offset, sized) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ours, theirs) = both(work.path(), name, &tree, &args, sized);
        let rep = report(&ours, true);
        assert!(
            rep.contains(&format!("Partition offset : {offset}")),
            "{name}: {rep:?}"
        );
        if !sized {
            // the partition runs from the offset to the end of our image
            let size: u64 = rep
                .iter()
                .find_map(|l| l.strip_prefix("ISO image size/512 : "))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: no image size in {rep:?}"));
            let part = format!(
                "MBR partition : 1 0x00 0xcd {} {}",
                offset * 4,
                size - offset * 4
            );
            assert!(rep.contains(&part), "{name}: want {part:?} in {rep:?}");
        }
        if sized {
            assert_same_system_area(&ours, &theirs);
        }
        assert_partition_mounts(&ours, offset, &tree);
        assert_partition_mounts(&theirs, offset, &tree);
    }
}

/// `-isohybrid-apm-hfsplus` with and without GPT, and on the BIOS image: same reports,
/// and the system area equal to xorriso's byte for byte outside boot image addresses
/// (APM block 0 over the MBR code, map entry, `EFI`/`Apple_HFS` entry, GPT behind it).
#[test]
fn apple_partition_map_like_xorriso() {
    require!("xorriso");
    require_isolinux!();
    let work = temp_dir();
    let tree = work.path().join("cd");
    boot_tree(&tree, 702);
    let mbr = ["-isohybrid-mbr", ISOHDPFX];
    let base = ["-r", "-J", "-joliet-long", "-V", "APM"];
    let apm = ["-isohybrid-apm-hfsplus"];
    let gpt = ["-isohybrid-gpt-basdat"];
    let cases = [
        ("apm-gpt", args_with(&[&base, &mbr, BIOS, EFI, &gpt, &apm])),
        ("apm", args_with(&[&base, &mbr, BIOS, EFI, &apm])),
        ("apm-bios", args_with(&[&base, &mbr, BIOS, &apm, EFI, &gpt])),
    ];
    for (name, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ours, theirs) = both(work.path(), name, &tree, &args, true);
        let rep = report(&ours, true);
        assert!(
            rep.iter().any(|l| l == "APM partition type : 1 Apple_HFS"),
            "{name}: {rep:?}"
        );
        assert_same_system_area(&ours, &theirs);
        let image = read(&ours);
        assert_eq!(&image[..4], b"ER\x08\x00", "{name}: APM block 0");
        assert_eq!(&image[2048..2050], b"PM", "{name}: APM entry 1");
    }
}

/// debian-cd's whole command line (debian-cd/tools/boot/bookworm/boot-x86 plus
/// make_image), on a small mirror: the image, .jigdo and .template are written; the
/// reports and system area agree with xorriso's for the same command line; the .jigdo
/// lists the same parts as xorriso's; jigit-mkimage and jigsmith make-image rebuild the
/// image bit for bit.
#[test]
fn debian_cd_command_line() {
    require!("xorriso", "jigit-mkimage");
    require_isolinux!();
    let (_top, top_path) = canonical_temp_dir();
    let mirror = top_path.join("mirror/debian");
    let work = top_path.join("work");
    let mut rng = Rng::new(703);
    let debs: &[(&str, usize)] = &[
        ("pool/main/h/hello/hello_2.10-3_amd64.deb", 56_000),
        ("pool/main/b/base-files/base-files_12.4_amd64.deb", 70_000),
        (
            "pool/main/l/linux/linux-image-6.1.0-13-amd64_6.1.55-1_amd64.deb",
            1_500_000,
        ),
        ("pool/main/t/tiny/tiny_1_all.deb", 700),
        ("pool/contrib/x/x/x_1.0_all.deb", 4096),
    ];
    for (rel, size) in debs {
        let src = mirror.join(rel);
        write(&src, rng.bytes(*size));
        // debian-cd links the mirror's files into the CD tree
        let dst = work.join("CD1").join(rel);
        mkdir_parent(&dst);
        std::fs::hard_link(&src, &dst).unwrap_or_else(|e| panic!("link {rel}: {e}"));
    }
    for (rel, data) in [
        ("CD1/dists/bookworm/Release", rng.bytes(3000)),
        ("CD1/md5sum.txt", rng.bytes(1500)),
        ("CD1/README.html", rng.bytes(9000)),
        ("boot1/isolinux/isolinux.bin", read(Path::new(ISOLINUX_BIN))),
        ("boot1/isolinux/ldlinux.c32", read(Path::new(LDLINUX))),
        (
            "boot1/isolinux/isolinux.cfg",
            b"include menu.cfg\n".to_vec(),
        ),
        ("boot1/boot/grub/efi.img", fat12_floppy()),
        ("boot1/boot/grub/grub.cfg", b"set timeout=5\n".to_vec()),
    ] {
        write(&work.join(rel), data);
    }
    write(&work.join("isohdpfx.bin"), read(Path::new(ISOHDPFX)));
    let mut list = jigsmith(["checksum-list"]);
    list.arg(mirror.join("pool"));
    write(&work.join("checksum-check"), list.ok().stdout);

    let map = format!("Debian={}/", p(&mirror));
    let args = [
        "-r",
        "-checksum_algorithm_iso",
        "sha256,sha512",
        "-V",
        "Debian 12 amd64 1",
        "-o",
        "debian-12-amd64-DVD-1.iso",
        "-md5-list",
        "checksum-check",
        "-jigdo-force-md5",
        "/pool/",
        "-jigdo-min-file-size",
        "1024",
        "-jigdo-exclude",
        "boot1",
        "-jigdo-jigdo",
        "debian-12-amd64-DVD-1.jigdo",
        "-jigdo-template",
        "debian-12-amd64-DVD-1.template",
        "-jigdo-map",
        &map,
        "-J",
        "-joliet-long",
        "-cache-inodes",
        "-isohybrid-mbr",
        "isohdpfx.bin",
        "-b",
        "isolinux/isolinux.bin",
        "-c",
        "isolinux/boot.cat",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "-no-emul-boot",
        "-eltorito-alt-boot",
        "-e",
        "boot/grub/efi.img",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
        "-isohybrid-apm-hfsplus",
        "boot1",
        "CD1",
    ];
    let names = [
        "debian-12-amd64-DVD-1.iso",
        "debian-12-amd64-DVD-1.jigdo",
        "debian-12-amd64-DVD-1.template",
    ];
    // Same directory and relative names for both programs (the .jigdo records them); the
    // outputs are moved aside after each run.
    let run = |mut cmd: Command, to: &str| -> PathBuf {
        cmd.args(args)
            .current_dir(&work)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .ok();
        let dir = top_path.join(to);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
        for name in names {
            std::fs::rename(work.join(name), dir.join(name))
                .unwrap_or_else(|e| panic!("{to}: no {name}: {e}"));
        }
        dir
    };
    let theirs = run(xorriso_as_mkisofs(), "xorriso");
    let ours = run(jigsmith(["mkisofs"]), "jigsmith");
    let (our_iso, their_iso) = (ours.join(names[0]), theirs.join(names[0]));

    let image = read(&our_iso);
    assert_eq!(
        image.len() % (1 << 20),
        0,
        "isohybrid images end on a cylinder"
    );
    assert_eq!(&image[0x8001..0x8006], b"CD001");
    let (o, t) = (report(&our_iso, true), report(&their_iso, true));
    assert!(
        o.iter()
            .any(|l| l == "Boot record : El Torito , MBR isohybrid cyl-align-on GPT APM"),
        "{o:?}"
    );
    assert_eq!(o, t, "reports for debian-cd's command line");
    assert_same_system_area(&our_iso, &their_iso);

    let parts = |dir: &Path| -> Vec<String> {
        let text = String::from_utf8_lossy(&read(&dir.join(names[1]))).into_owned();
        let mut v: Vec<String> = text
            .lines()
            .skip_while(|l| l.trim() != "[Parts]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    let our_parts = parts(&ours);
    assert_eq!(
        our_parts.len(),
        4,
        "every .deb of 1 KiB or more: {our_parts:?}"
    );
    assert!(
        our_parts.iter().all(|l| l.contains("=Debian:pool/")),
        "{our_parts:?}"
    );
    assert_eq!(our_parts, parts(&theirs), "[Parts] like xorriso's");

    let rebuild = Rebuild::jigdo_map(
        ours.join(names[1]),
        ours.join(names[2]),
        format!("Debian={}", p(&mirror)),
        our_iso.clone(),
    );
    rebuild.assert_real_jigit_rebuilds();
    let mut make_image = jigsmith(["make-image", "-j"]);
    make_image
        .arg(ours.join(names[1]))
        .arg("-m")
        .arg(format!("Debian={}", p(&mirror)));
    rebuild.assert_to_file(make_image, "-o");
}

/// Images over 1 GiB get libisofs' MBR geometry (here 78 heads of 32 sectors) and are
/// padded to its cylinders: same size, reports and system area as xorriso's. Writes two
/// 1.3 GB images (the big file is sparse), so only on request:
/// `cargo test --test interop -- --ignored large_image`.
#[test]
#[ignore = "writes two 1.3 GB images"]
fn large_image_geometry_like_xorriso() {
    require!("xorriso");
    require_isolinux!();
    let work = temp_dir();
    let tree = work.path().join("cd");
    boot_tree(&tree, 704);
    let big = std::fs::File::create(tree.join("big.bin"))
        .unwrap_or_else(|e| panic!("create big.bin: {e}"));
    big.set_len(1_300_000_000)
        .unwrap_or_else(|e| panic!("sparse big.bin: {e}"));
    let mbr = ["-isohybrid-mbr", ISOHDPFX];
    let args = args_with(&[
        &["-r", "-V", "BIG"],
        &mbr,
        BIOS,
        EFI,
        &["-isohybrid-gpt-basdat"],
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ours, theirs) = both(work.path(), "big", &tree, &args, true);
    let rep = report(&ours, true);
    assert!(rep.iter().any(|l| l == "MBR heads per cyl : 78"), "{rep:?}");
    assert_same_system_area(&ours, &theirs);
}

/// The partition's second trees are metadata only: with `-partition_offset` and every
/// hybrid option, JTE still lists each matched file once and jigit-mkimage and jigsmith
/// make-image rebuild the image bit for bit.
#[test]
fn partition_offset_with_jte_rebuilds() {
    require!("jigit-mkimage", "xorriso");
    require_isolinux!();
    let (_work, root) = canonical_temp_dir();
    let tree = root.join("cd");
    boot_tree(&tree, 705);
    let list = root.join("checksums.list");
    let mut cmd = jigsmith(["checksum-list"]);
    cmd.arg(tree.join("pool"));
    write(&list, cmd.ok().stdout);
    let (iso, jigdo, template) = (
        root.join("img.iso"),
        root.join("img.jigdo"),
        root.join("img.template"),
    );
    let map = format!("Deb={}/", p(&tree));
    let mut cmd = jigsmith(["mkisofs", "-quiet", "-r", "-J", "-V", "JTE"]);
    cmd.args(["-isohybrid-mbr", ISOHDPFX])
        .args(BIOS)
        .args(EFI)
        .args([
            "-isohybrid-gpt-basdat",
            "-isohybrid-apm-hfsplus",
            "-partition_offset",
            "16",
            "-md5-list",
        ])
        .arg(&list)
        .arg("-jigdo-jigdo")
        .arg(&jigdo)
        .arg("-jigdo-template")
        .arg(&template)
        .args(["-jigdo-map", &map]);
    mkisofs(cmd, &[], &iso, &tree).ok();
    let rep = report(&iso, true);
    assert!(rep.iter().any(|l| l == "Partition offset : 16"), "{rep:?}");
    let text = String::from_utf8_lossy(&read(&jigdo)).into_owned();
    for deb in ["hello_2.10_amd64.deb", "big_1.0_all.deb"] {
        assert_eq!(
            text.matches(deb).count(),
            1,
            "{deb} once in [Parts]:\n{text}"
        );
    }
    let rebuild = Rebuild::jigdo_map(jigdo.clone(), template, format!("Deb={}", p(&tree)), iso);
    rebuild.assert_real_jigit_rebuilds();
    rebuild.assert_rebuilds();
}
