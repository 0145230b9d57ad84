//! El Torito and isohybrid, compared with xorriso's own image of the same tree.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::Path;

use jigsmith_iso::{CountingSink, Error, IsoWriter, PlainSink};

use crate::fixture::{self, Rng};
use crate::mkisofs_args::parse_mkisofs_args_with_epoch;
use crate::tools::{have, run};
use crate::xorriso_report::{normalise, REPORT_ARGS};

const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";

fn boot_tree(root: &Path) {
    let mut rng = Rng::new(9);
    let isolinux = fs::read("/usr/lib/ISOLINUX/isolinux.bin").unwrap_or_else(|_| rng.bytes(40_000));
    fixture::write(root, "isolinux/isolinux.bin", &isolinux);
    fixture::write(root, "isolinux/isolinux.cfg", b"DEFAULT x\n");
    fixture::write(root, "boot/grub/efi.img", &rng.bytes(1440 * 1024));
    fixture::write(root, "readme.txt", b"hello");
}

fn debian_args(out: &Path, tree: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = "-r -J -joliet-long -V BOOTTEST -isohybrid-mbr"
        .split(' ')
        .map(OsString::from)
        .collect();
    v.push(ISOHDPFX.into());
    v.extend(
        "-b isolinux/isolinux.bin -c isolinux/boot.cat -boot-load-size 4 -boot-info-table -no-emul-boot \
         -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat \
         -isohybrid-apm-hfsplus -o"
            .split_whitespace()
            .map(OsString::from),
    );
    v.push(out.into());
    v.push(tree.into());
    v
}

/// xorriso's report, normalised (see `xorriso_report`).
fn report(iso: &Path) -> Vec<String> {
    let mut args: Vec<&OsStr> = vec!["-indev".as_ref(), iso.as_os_str()];
    args.extend(REPORT_ARGS.iter().map(OsStr::new));
    normalise(&run("xorriso", &args))
}

#[test]
fn el_torito_and_isohybrid_match_xorriso() {
    if !Path::new(ISOHDPFX).exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("isolinux not installed");
        }
        eprintln!("skip: isolinux not installed");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("cd");
    boot_tree(&tree);
    let ours = d.path().join("ours.iso");
    let args =
        parse_mkisofs_args_with_epoch(debian_args(&ours, &tree), Some(1_700_000_000)).unwrap();
    let mut w = IsoWriter::new(args.options.clone());
    for s in &args.pathspecs {
        w.add(s.clone());
    }
    let image = w.plan().unwrap();
    // the patched boot image is metadata, the EFI image is file data
    let paths: Vec<String> = image
        .file_extents()
        .into_iter()
        .map(|f| f.image_path)
        .collect();
    assert!(
        !paths.contains(&"/isolinux/isolinux.bin".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/boot/grub/efi.img".to_string()),
        "{paths:?}"
    );
    let mut sink = PlainSink::new(Vec::new());
    image.write(&mut sink).unwrap();
    let bytes = sink.into_inner();
    assert_eq!(bytes.len() % (1 << 20), 0, "cylinder aligned");
    assert_eq!(&bytes[510..512], &[0x55, 0xaa]);
    assert_eq!(&bytes[..4], b"ER\x08\0", "APM block 0");
    assert_eq!(&bytes[2048..2050], b"PM", "APM entry of the map itself");
    assert_eq!(&bytes[512..520], b"EFI PART");
    assert_eq!(
        &bytes[bytes.len() - 512..bytes.len() - 504],
        b"EFI PART",
        "backup GPT header in the last sector"
    );
    // boot info table: PVD at 16, then the image's own block and length
    let boot_lba = u32::from_le_bytes(bytes[432..436].try_into().unwrap()) / 4;
    let boot = &bytes[boot_lba as usize * 2048..];
    assert_eq!(&boot[8..12], &16u32.to_le_bytes());
    assert_eq!(&boot[12..16], &boot_lba.to_le_bytes());
    let len = fs::metadata(tree.join("isolinux/isolinux.bin"))
        .unwrap()
        .len() as u32;
    assert_eq!(&boot[16..20], &len.to_le_bytes());
    fs::write(&ours, &bytes).unwrap();

    if have("xorriso") {
        let theirs = d.path().join("theirs.iso");
        let mut a: Vec<OsString> = vec!["-as".into(), "mkisofs".into()];
        a.extend(debian_args(&theirs, &tree));
        let status = std::process::Command::new("xorriso")
            .args(&a)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let (o, t) = (report(&ours), report(&theirs));
        assert!(o.len() > 20, "{o:?}");
        assert_eq!(o, t);
    }
    if have("isoinfo") {
        let out = crate::tools::run_p("isoinfo", &["-d", "-i"], &ours);
        assert!(out.contains("El Torito VD version 1 found"), "{out}");
        assert!(out.contains("Volume id: BOOTTEST"), "{out}");
    }
}

#[test]
fn boot_errors_are_typed() {
    let d = tempfile::tempdir().unwrap();
    boot_tree(d.path());
    let plan = |extra: &[&str]| {
        let mut v: Vec<OsString> = extra.iter().map(OsString::from).collect();
        v.push(d.path().into());
        let args = parse_mkisofs_args_with_epoch(v, None).unwrap();
        let mut w = IsoWriter::new(args.options);
        for s in &args.pathspecs {
            w.add(s.clone());
        }
        w.plan().map(|i| i.write(&mut CountingSink::default()))
    };
    assert!(matches!(
        plan(&["-b", "nope.bin", "-no-emul-boot"]),
        Err(Error::BootFileMissing { .. })
    ));
    assert!(matches!(
        plan(&["-b", "isolinux", "-no-emul-boot"]),
        Err(Error::BadBootImage { .. })
    ));
    assert!(matches!(
        plan(&["-b", "readme.txt", "-no-emul-boot", "-boot-info-table"]),
        Err(Error::BadBootImage { .. })
    ));
    // without -no-emul-boot a floppy is emulated, and a README is no floppy image
    assert!(matches!(
        plan(&["-b", "readme.txt"]),
        Err(Error::FloppySize { .. })
    ));
    assert!(matches!(
        plan(&["-b", "readme.txt", "-hard-disk-boot"]),
        Err(Error::BadBootImage { .. })
    ));
    assert!(matches!(
        plan(&["--grub2-mbr", "/nonexistent"]),
        Err(Error::MissingOption { .. })
    ));
    assert!(matches!(
        plan(&["-G", "/nonexistent"]),
        Err(Error::ReadFile { .. })
    ));
    assert!(matches!(
        plan(&["-G", "/nonexistent", "--grub2-mbr", "/nonexistent"]),
        Err(Error::OptionConflict { .. })
    ));
    assert!(matches!(
        plan(&["-isohybrid-mbr", "/nonexistent"]),
        Err(Error::MissingOption { .. })
    ));
    // an Apple Partition Map is part of the isohybrid MBR layout
    let e = plan(&[
        "-b",
        "isolinux/isolinux.bin",
        "-no-emul-boot",
        "-isohybrid-apm-hfsplus",
    ])
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "option -isohybrid-apm-hfsplus needs -isohybrid-mbr"
    );
    // a template without isohdpfx.bin's 32 bytes of room for the APM header
    let bad = d.path().join("bad-mbr.bin");
    fs::write(&bad, vec![0xfa; 432]).unwrap();
    let bad = bad.to_str().unwrap().to_string();
    assert!(matches!(
        plan(&[
            "-isohybrid-mbr",
            &bad,
            "-b",
            "isolinux/isolinux.bin",
            "-no-emul-boot",
            "-isohybrid-apm-hfsplus",
        ]),
        Err(Error::BadMbrTemplate { .. })
    ));
    // the parser refuses 1..=15 already; the library checks too
    let mut opts = jigsmith_iso::IsoOptions::default();
    opts.hybrid.partition_offset = 8;
    let mut w = IsoWriter::new(opts);
    w.add_root(d.path());
    let e = w.plan().unwrap_err();
    assert!(matches!(e, Error::BadPartitionOffset { blocks: 8 }), "{e}");
    assert_eq!(
        e.to_string(),
        "-partition_offset 8: must be 0 or at least 16"
    );
}
