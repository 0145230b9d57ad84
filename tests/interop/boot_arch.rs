//! Boot blocks for non-PC machines (issue 11) against xorriso: `-mips-boot` (SGI volume
//! header), `-mipsel-boot` (DEC boot block), `-hppa-*` (PALO header, versions 5 and 4),
//! `-alpha-boot` (SRM boot sector) and `-sparc-boot` (Sun disk label, boot images appended after
//! the filesystem). xorriso and `jigsmith mkisofs` build the same tree with the same options,
//! with JTE; then
//!
//! - `xorriso -report_system_area plain` states the same boot setup for both images (the
//!   shared normaliser masks the boot files' addresses and the image size, which
//!   legitimately differ), and `-report_system_area cmd`/`as_mkisofs` are identical;
//! - the addresses our boot block holds are where the boot files really are in our image (and
//!   the appended SPARC images where our label says);
//! - the system areas are equal byte for byte outside those address fields;
//! - the .jigdo `[Parts]` equal xorriso's (libjte's), and jigit-mkimage and
//!   `jigsmith make-image` rebuild our image bit for bit from its .jigdo/.template.
//!
//! Boot files are real where Debian ships them: MIPS ELF loaders assembled and linked at
//! test time with binutils-mips(el)-linux-gnu, PALO's `iplboot`. Kernels, RAM disk and the
//! Alpha loader are seeded random data: the firmware would read them, the writers do not.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::checks::Rebuild;
use crate::fixture::p;
use crate::mkisofs_jte::raw_parts;
use crate::support::{
    canonical_temp_dir, have_package_files, jigsmith, mkdir_parent, read, require, tool, write, Run,
};
use crate::tree::Rng;
use crate::xorriso_report::{normalise_with, REPORT_ARGS};

const IPLBOOT: &str = "/usr/share/palo/iplboot";
/// Both writers derive the volume dates from it.
const EPOCH: &str = "1700000000";
const MIPS_TOOLS: [&str; 4] = [
    "mips-linux-gnu-as",
    "mips-linux-gnu-ld",
    "mipsel-linux-gnu-as",
    "mipsel-linux-gnu-ld",
];

/// A tiny boot loader: a loop, and some bytes so the segment spans more than one sector.
const LOADER_S: &str = "\
        .text
        .globl __start
__start:
        nop
        j __start
        nop
        .space 1000
";

/// One PT_LOAD segment at file offset 0x200 (not sector 0, so the DEC boot block's
/// rounding of the segment's file offset counts), linked where a PROM loads it.
const LOADER_LD: &str = "\
ENTRY(__start)
PHDRS { text PT_LOAD; }
SECTIONS {
  .text 0x80600000 : { *(.text) } :text
  /DISCARD/ : { *(.MIPS.abiflags) *(.reginfo) *(.gnu.attributes) *(.pdr) *(.data) *(.bss) }
}
";

/// Assembles and links [`LOADER_S`] with `{cross}-as`/`{cross}-ld` into an ELF file.
fn mips_elf(work: &Path, cross: &str) -> Vec<u8> {
    let dir = work.join(cross);
    let (src, script, obj, elf) = (
        dir.join("boot.s"),
        dir.join("boot.ld"),
        dir.join("boot.o"),
        dir.join("boot.elf"),
    );
    write(&src, LOADER_S);
    write(&script, LOADER_LD);
    tool(&format!("{cross}-as"), ["-o"])
        .arg(&obj)
        .arg(&src)
        .ok();
    tool(&format!("{cross}-ld"), ["-z", "max-page-size=512", "-T"])
        .arg(&script)
        .arg("-o")
        .arg(&elf)
        .arg(&obj)
        .ok();
    read(&elf)
}

/// The tree both writers image: boot files of every architecture and some packages.
fn arch_tree(work: &Path, root: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let put = |rel: &str, data: &[u8]| write(&root.join(rel), data);
    let big_endian = mips_elf(work, "mips-linux-gnu");
    put("boot/sashARCS", &big_endian);
    put("boot/sash64", &big_endian);
    put("boot/delo", &mips_elf(work, "mipsel-linux-gnu"));
    put("boot/bootlx", &rng.bytes(30_001));
    put("install/iplboot", &read(Path::new(IPLBOOT)));
    put("install/vmlinux-32", &rng.bytes(300_000));
    put("install/vmlinux-64", &rng.bytes(400_000));
    put("install/initrd.gz", &rng.bytes(500_000));
    put("pool/main/h/hello/hello_2.10_hppa.deb", &rng.bytes(60_000));
    put("pool/main/b/big/big_1.0_all.deb", &rng.bytes(700_000));
    put("dists/trixie/Release", b"Suite: trixie\n");
}

/// What one option set asks for, and where its boot block keeps addresses.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// xorriso's `System area summary` for it.
    summary: &'static str,
    /// Bytes of the system area that hold addresses or sizes of the boot files or of the
    /// image, or checksums over them.
    address_fields: Vec<Range<usize>>,
}

const HPPA_FILES: [&str; 8] = [
    "-hppa-bootloader",
    "install/iplboot",
    "-hppa-kernel-32",
    "install/vmlinux-32",
    "-hppa-kernel-64",
    "install/vmlinux-64",
    "-hppa-ramdisk",
    "install/initrd.gz",
];

/// The option sets; `sparc_images` are the disk files `-sparc-boot` appends, `g_data` a disk
/// file for `-G` (system area data the boot block is written over, as xorriso does).
fn cases(sparc_images: &[PathBuf], g_data: &Path) -> Vec<Case> {
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let hppa = |version: &str, cmdline: &str| {
        let mut args = strings(&["-hppa-hdrversion", version, "-hppa-cmdline", cmdline]);
        args.extend(strings(&HPPA_FILES));
        args
    };
    let images = sparc_images
        .iter()
        .map(|f| p(f))
        .collect::<Vec<_>>()
        .join(",");
    // a Sun label: the image's size (partition 1 and its copies) and the checksum
    let sun = |entries: usize| -> Vec<Range<usize>> {
        let mut f: Vec<Range<usize>> = (0..entries).map(|i| 448 + 8 * i..452 + 8 * i).collect();
        f.push(510..512);
        f
    };
    // PALO: byte address of each file (the sizes are the files' own)
    let palo = vec![8..12, 16..20, 232..236, 240..244];
    vec![
        Case {
            name: "sgi",
            args: strings(&["-mips-boot", "boot/sashARCS", "-mips-boot", "boot/sash64"]),
            summary: "MIPS-Big-Endian",
            // cylinders, the two entries' sectors, partition sizes, checksum
            address_fields: vec![
                28..30,
                35..36,
                80..84,
                96..100,
                408..412,
                432..436,
                504..508,
            ],
        },
        Case {
            name: "dec",
            args: strings(&["-mipsel-boot", "boot/delo"]),
            summary: "MIPS-Little-Endian",
            // the segment's first sector
            address_fields: std::iter::once(28..32).collect(),
        },
        Case {
            // bytes 512..1024 stay -G's
            name: "hppa5",
            args: [
                strings(&["-G", &p(g_data)]),
                hppa("5", "0/vmlinux initrd=0/ramdisk console=ttyS0 TERM=vt102"),
            ]
            .concat(),
            summary: "HP-PA-PALO",
            address_fields: palo.clone(),
        },
        Case {
            name: "hppa4",
            args: hppa("4", "0/vmlinux initrd=0/ramdisk"),
            summary: "HP-PA-PALO",
            address_fields: palo,
        },
        Case {
            name: "alpha",
            args: strings(&["-alpha-boot", "boot/bootlx"]),
            summary: "DEC-Alpha",
            // the loader's sector and the checksum over it
            address_fields: vec![488..496, 504..512],
        },
        Case {
            // debian-cd's sparc64 line: every partition is the image, SILO's isofs.b from -G
            name: "sparc-dots",
            args: strings(&[
                "-sparc-label",
                "Debian sparc64 1",
                "-G",
                &p(g_data),
                "-B",
                "...",
            ]),
            summary: "SUN-SPARC-Disk-Label",
            address_fields: sun(8),
        },
        Case {
            name: "sparc-images",
            args: vec![
                "-sparc-label".into(),
                "Debian sparc64 2".into(),
                "-sparc-boot".into(),
                images,
            ],
            // xorriso 1.5.4 does not recognise its own label once images are appended:
            // partition 1 covers them (and the padding), not only the ISO filesystem
            summary: "not-recognized",
            // partition 1's size, the images' first cylinders, the checksum
            address_fields: vec![448..452, 452..456, 460..464, 510..512],
        },
    ]
}

/// The outputs of one writer, in a directory of its own: `img.iso` and its JTE files. Both
/// writers' images have the same file name, so xorriso's `cmd` reports (which name the
/// image) compare equal.
struct Out {
    dir: PathBuf,
}

impl Out {
    fn iso(&self) -> PathBuf {
        self.dir.join("img.iso")
    }
    fn jigdo(&self) -> PathBuf {
        self.dir.join("img.jigdo")
    }
    fn template(&self) -> PathBuf {
        self.dir.join("img.template")
    }
}

/// `PROGRAM ARGS -md5-list LIST -jigdo-* -o img.iso TREE` in `dir`.
fn write_image(mut cmd: Command, dir: &Path, args: &[String], list: &Path, tree: &Path) -> Out {
    let out = Out {
        dir: dir.to_path_buf(),
    };
    mkdir_parent(&out.iso());
    cmd.args(["-R", "-J", "-V", "ARCH"])
        .args(args)
        .arg("-md5-list")
        .arg(list)
        .arg("-jigdo-jigdo")
        .arg(out.jigdo())
        .arg("-jigdo-template")
        .arg(out.template())
        .arg("-jigdo-map")
        .arg(format!("Deb={}/", p(tree)))
        .arg("-o")
        .arg(out.iso())
        .arg(tree)
        .env("SOURCE_DATE_EPOCH", EPOCH);
    cmd.ok();
    out
}

/// `xorriso -indev img.iso ARGS` run in the image's directory; stdout lines.
fn xorriso_lines(out: &Out, args: &[&str]) -> Vec<String> {
    let mut cmd = tool("xorriso", ["-indev", "img.iso"]);
    cmd.args(args).current_dir(&out.dir);
    String::from_utf8_lossy(&cmd.ok().stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The plain report, normalised with the image size masked (the two writers lay files out
/// differently, so image sizes differ by a few blocks).
fn plain_report(out: &Out) -> Vec<String> {
    normalise_with(&xorriso_lines(out, &REPORT_ARGS).join("\n"), false)
}

/// `-report_system_area cmd` and `as_mkisofs`: commands that would recreate the boot setup;
/// they name boot files by path and hold no addresses.
fn command_reports(out: &Out) -> Vec<String> {
    let mut lines = xorriso_lines(out, &["-report_system_area", "cmd"]);
    lines.extend(xorriso_lines(out, &["-report_system_area", "as_mkisofs"]));
    lines
}

/// Every file's first block in the image, by image path (`-find / -exec report_lba`).
fn file_blocks(out: &Out) -> BTreeMap<String, u64> {
    xorriso_lines(out, &["-find", "/", "-type", "f", "-exec", "report_lba"])
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("File data lba:")?;
            let fields: Vec<&str> = rest.split(',').map(str::trim).collect();
            let lba = fields.get(1)?.parse().ok()?;
            let path = fields.get(4)?.trim_matches('\'').to_string();
            Some((path, lba))
        })
        .collect()
}

/// The raw report value after `key`, split on whitespace.
fn values<'a>(report: &'a [String], key: &str) -> Vec<Vec<&'a str>> {
    report
        .iter()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim_end() == key)
        .map(|(_, v)| v.split_whitespace().collect())
        .collect()
}

fn number(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|e| panic!("not a number in the report: {s:?}: {e}"))
}

/// The addresses xorriso reads from our boot block are where the boot files are in our
/// image: the masked fields of the report are right, not merely present.
fn assert_addresses_point_at_files(case: &Case, out: &Out, sparc_images: &[PathBuf]) {
    let report = xorriso_lines(out, &REPORT_ARGS);
    let blocks = file_blocks(out);
    let block_of = |path: &str| {
        *blocks
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in {blocks:?}"))
    };
    let mut checked = 0;
    match case.name {
        "sgi" => {
            let paths = values(&report, "MIPS-BE boot path");
            for (entry, path) in values(&report, "MIPS-BE boot entry").iter().zip(&paths) {
                // 512-byte sectors
                assert_eq!(
                    number(entry[2]),
                    block_of(path[1]) * 4,
                    "{entry:?} {path:?}"
                );
                checked += 1;
            }
        }
        "dec" => {
            let path = &values(&report, "MIPS-LE boot path")[0];
            let params = &values(&report, "MIPS-LE boot params")[0];
            // the segment starts at file offset 0x200: one sector into the file
            assert_eq!(number(params[3]), block_of(path[0]) * 4 + 1, "{params:?}");
            assert_eq!(number(params[1]), 0x8060_0000, "entry point {params:?}");
            checked += 1;
        }
        "hppa5" | "hppa4" => {
            for key in [
                "HP-PA 32-bit kernel",
                "HP-PA 64-bit kernel",
                "HP-PA ramdisk",
                "HP-PA bootloader",
            ] {
                let v = &values(&report, key)[0];
                assert_eq!(number(v[0]), block_of(v[2]) * 2048, "{key}: {v:?}");
                checked += 1;
            }
        }
        "alpha" => {
            let path = &values(&report, "DEC Alpha ldr path")[0];
            let adr = &values(&report, "DEC Alpha ldr adr")[0];
            assert_eq!(number(adr[0]), block_of(path[0]) * 4);
            assert_eq!(values(&report, "DEC Alpha ldr size")[0], ["59"]);
            checked += 1;
        }
        "sparc-dots" => {
            let size = &values(&report, "ISO image size/512")[0];
            let parts = values(&report, "SUN SPARC partition");
            assert_eq!(parts.len(), 8, "{report:?}");
            for v in parts {
                assert_eq!((v[3], v[4]), ("0", size[0]), "{v:?}");
                checked += 1;
            }
        }
        "sparc-images" => checked += assert_sparc_images(out, sparc_images),
        other => panic!("no address check for {other}"),
    }
    assert!(checked > 0, "{}: nothing checked in {report:?}", case.name);
}

/// Our Sun label (which xorriso's report does not read, see `cases`): partition 1 is the whole
/// image, partitions 2.. hold the images at the cylinders it names, after the ISO filesystem.
fn assert_sparc_images(out: &Out, images: &[PathBuf]) -> usize {
    let iso = read(&out.iso());
    let be = |at: usize| u64::from(u32::from_be_bytes(iso[at..at + 4].try_into().unwrap()));
    let volume_blocks = u64::from(u32::from_le_bytes(iso[0x8050..0x8054].try_into().unwrap()));
    assert_eq!(
        be(448) * 512,
        iso.len() as u64,
        "partition 1 is the whole image"
    );
    let mut end = volume_blocks * 2048;
    for (i, image) in images.iter().enumerate() {
        let data = read(image);
        let start = usize::try_from(be(452 + 8 * i) * 160 * 2048).unwrap();
        assert!(
            start as u64 >= end,
            "partition {} overlaps what precedes it",
            i + 2
        );
        assert_eq!(be(456 + 8 * i), (data.len() as u64).div_ceil(2048) * 4);
        assert!(
            iso[start..start + data.len()] == data[..],
            "partition {} holds {}",
            i + 2,
            image.display()
        );
        end = (start + data.len()) as u64;
    }
    images.len()
}

/// The two system areas are equal outside the case's address fields.
fn assert_same_system_area(case: &Case, ours: &Path, theirs: &Path) {
    let (mut a, mut b) = (read(ours), read(theirs));
    a.truncate(32768);
    b.truncate(32768);
    for f in &case.address_fields {
        a[f.clone()].fill(0);
        b[f.clone()].fill(0);
    }
    if let Some(at) = a.iter().zip(&b).position(|(x, y)| x != y) {
        panic!(
            "{}: system areas differ at byte {at}: {:02x?} (ours) vs {:02x?} (xorriso)",
            case.name,
            &a[at..(at + 16).min(a.len())],
            &b[at..(at + 16).min(b.len())],
        );
    }
}

/// Every option set: same boot setup as xorriso's image, right addresses, same system area
/// outside them, same `[Parts]`, and the image rebuilt from its .jigdo/.template.
#[test]
fn boot_blocks_like_xorriso() {
    require!("xorriso", "jigit-mkimage");
    require!(MIPS_TOOLS[0], MIPS_TOOLS[1], MIPS_TOOLS[2], MIPS_TOOLS[3]);
    if !have_package_files("palo", &[IPLBOOT]) {
        return;
    }
    let (_work, root) = canonical_temp_dir();
    let tree = root.join("cd");
    arch_tree(&root, &tree, 1101);
    let mut rng = Rng::new(1102);
    let sparc_images = [root.join("sparc/silo.img"), root.join("sparc/second.img")];
    write(&sparc_images[0], rng.bytes(100_000));
    write(&sparc_images[1], rng.bytes(5_000));
    let g_data = root.join("sparc/isofs.b");
    write(&g_data, rng.bytes(20_000));
    let list = root.join("md5.list");
    let mut cmd = jigsmith(["checksum-list"]);
    cmd.arg(tree.join("pool")).arg(tree.join("install"));
    write(&list, cmd.ok().stdout);
    for case in cases(&sparc_images, &g_data) {
        let dir = root.join(case.name);
        let theirs = write_image(
            tool("xorriso", ["-as", "mkisofs"]),
            &dir.join("xorriso"),
            &case.args,
            &list,
            &tree,
        );
        let ours = write_image(
            jigsmith(["mkisofs", "-quiet"]),
            &dir.join("jigsmith"),
            &case.args,
            &list,
            &tree,
        );
        let (o, t) = (plain_report(&ours), plain_report(&theirs));
        let summary = format!("System area summary : {}", case.summary);
        assert!(
            t.contains(&summary),
            "{}: xorriso's own image: {t:?}",
            case.name
        );
        assert_eq!(o, t, "{}: plain reports ({:?})", case.name, case.args);
        assert_eq!(
            command_reports(&ours),
            command_reports(&theirs),
            "{}: cmd/as_mkisofs reports",
            case.name
        );
        assert_addresses_point_at_files(&case, &ours, &sparc_images);
        assert_same_system_area(&case, &ours.iso(), &theirs.iso());

        let parts = raw_parts(&String::from_utf8_lossy(&read(&ours.jigdo())));
        assert!(
            parts.iter().any(|l| l.contains("vmlinux-64")),
            "{}: {parts:?}",
            case.name
        );
        assert_eq!(
            parts,
            raw_parts(&String::from_utf8_lossy(&read(&theirs.jigdo()))),
            "{}: [Parts] of ours and xorriso's",
            case.name
        );
        let rebuild = Rebuild::jigdo_map(
            ours.jigdo(),
            ours.template(),
            format!("Deb={}", p(&tree)),
            ours.iso(),
        );
        rebuild.assert_real_jigit_rebuilds();
        rebuild.assert_to_file(rebuild.native(), "-o");
    }
}

/// What xorriso refuses, refused too: two boot blocks, a boot block with an isohybrid MBR,
/// an incomplete PALO setup, a missing boot file. Nothing is left behind.
#[test]
fn conflicts_and_missing_files_refused() {
    let (_work, root) = canonical_temp_dir();
    let tree = root.join("cd");
    write(&tree.join("boot/loader"), b"not really a loader");
    let iso = root.join("out.iso");
    for (args, needle) in [
        (
            &["-mips-boot", "boot/loader", "-alpha-boot", "boot/loader"][..],
            "first sector",
        ),
        (
            &["-isohybrid-mbr", "/dev/null", "-alpha-boot", "boot/loader"],
            "first sector",
        ),
        (
            &["-hppa-cmdline", "x", "-hppa-kernel-32", "boot/loader"],
            "-hppa-bootloader",
        ),
        (&["-alpha-boot", "boot/missing"], "boot/missing"),
        (&["-mipsel-boot", "boot/loader"], "ELF"),
    ] {
        let mut cmd = jigsmith(["mkisofs", "-quiet"]);
        cmd.args(args).arg("-o").arg(&iso).arg(&tree);
        let out = cmd.fails();
        crate::support::assert_stderr_names(&cmd, &out, needle);
        assert!(!iso.exists(), "{args:?} left {}", iso.display());
    }
}
