//! ISO-aware `make-template` on images jigsmith did not write (issue 10):
//! xorriso's and genisoimage's images of a tree, and real ISOs that Debian
//! packages ship (grub-rescue-pc's grub-rescue-cdrom.iso, ipxe's ipxe.iso)
//! against a directory of the files extracted from them.
//!
//! Each template must rebuild the image bit for bit with jigdo-file,
//! jigit-mkimage and jigsmith; it must match at least the files jigdo-file
//! finds on the same input, and the same as jigsmith's own rolling scan of
//! every byte (`--no-iso`). A second run through a checksum cache gives the
//! same template.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use jigsmith_format::{ItemKind, Template};

use crate::checks::Rebuild;
use crate::fixture::{p, LABEL};
use crate::support::{
    assert_same_file, describe, have_package_files, jigsmith, read, require, temp_dir, tool, Run,
};
use crate::tree::{Tree, TreeBuilder};

/// `(offset, len)` of every matched file in a template.
fn matched(template: &Path) -> BTreeSet<(u64, u64)> {
    let t = Template::read(&mut std::fs::File::open(template).unwrap()).unwrap();
    t.items()
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::File { .. }))
        .map(|i| (i.offset, i.len))
        .collect()
}

/// `jigsmith make-template` of `iso` with every file under `dir` as a
/// candidate, named `Deb:` relative to `dir`; returns (.jigdo, .template).
fn make_template(
    out: &Path,
    name: &str,
    iso: &Path,
    dir: &Path,
    extra: &[&str],
) -> (PathBuf, PathBuf) {
    let jigdo = out.join(format!("{name}.jigdo"));
    let template = out.join(format!("{name}.template"));
    let mut cmd = jigsmith(["make-template", "-q"]);
    cmd.args(extra)
        .arg("-i")
        .arg(iso)
        .arg("-j")
        .arg(&jigdo)
        .arg("-t")
        .arg(&template)
        .arg("--map")
        .arg(format!("{LABEL}={}", p(dir)))
        .arg(dir);
    cmd.ok();
    (jigdo, template)
}

/// Everything the module promises, for one image and its files.
fn check(iso: &Path, dir: &Path, at_least: usize) {
    let out = temp_dir();
    let (jigdo, template) = make_template(out.path(), "iso", iso, dir, &[]);
    let ours = matched(&template);
    assert!(
        ours.len() >= at_least,
        "{}: only {} files matched, expected at least {at_least}",
        iso.display(),
        ours.len()
    );

    // the rolling scan of every byte finds the same files, in the same template
    let (_, rolling) = make_template(out.path(), "rolling", iso, dir, &["--no-iso"]);
    assert_eq!(matched(&rolling), ours, "--no-iso matched other files");
    assert_same_file(&rolling, &template, "template of the rolling scan");

    // so does a run through the checksum cache, cold and warm
    let cache = out.path().join("sums.db");
    let cache_arg = format!("--cache={}", p(&cache));
    for run in ["cold", "warm"] {
        let (_, cached) = make_template(out.path(), run, iso, dir, &[&cache_arg]);
        assert_same_file(&cached, &template, &format!("template with a {run} cache"));
    }

    // at least what jigdo-file finds
    let jf_jigdo = out.path().join("jf.jigdo");
    let jf_template = out.path().join("jf.template");
    let mut jf = tool("jigdo-file", ["make-template", "-f", "-r", "quiet"]);
    jf.arg("-i")
        .arg(iso)
        .arg("-j")
        .arg(&jf_jigdo)
        .arg("-t")
        .arg(&jf_template)
        .arg(format!("{}//", p(dir)));
    jf.ok();
    let theirs = matched(&jf_template);
    let missed: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        missed.is_empty(),
        "{}: jigdo-file matched files at {missed:?} that jigsmith did not",
        iso.display()
    );

    // rebuilt bit for bit by jigsmith (native and jigit-mkimage personality) ...
    let rebuild = Rebuild::jigdo_map(
        jigdo.clone(),
        template.clone(),
        format!("{LABEL}={}", p(dir)),
        iso.to_owned(),
    );
    rebuild.assert_rebuilds();
    // ... by the real jigit-mkimage ...
    rebuild.assert_real_jigit_rebuilds();
    // ... and by the real jigdo-file, which finds the parts by scanning `dir`
    let image = out.path().join("jigdo-file.iso");
    let mut mi = tool("jigdo-file", ["make-image", "-r", "quiet"]);
    mi.arg("-i")
        .arg(&image)
        .arg("-j")
        .arg(&jigdo)
        .arg("-t")
        .arg(&template)
        .arg(dir);
    mi.ok();
    assert_same_file(&image, iso, &describe(&mi));
}

/// A tree with files of many sizes, two identical files, and some too small
/// to be parts.
fn tree() -> Tree {
    TreeBuilder::new(1010)
        .file("pool/a/big.deb", 3 * 1024 * 1024 + 17)
        .file("pool/b/mid.deb", 70_000)
        .file("pool/b/exact.deb", 1024)
        .file("pool/c/odd.deb", 4097)
        .file("small.txt", 300)
        .dup("pool/c/copy.deb", "pool/b/mid.deb")
        .build()
}

/// `cmd -o NAME TREE` (xorriso or genisoimage), then [`check`] of that image
/// against the tree.
fn check_image_of_tree(mut cmd: Command, name: &str, tree: &Tree) {
    let out = temp_dir();
    let iso = out.path().join(name);
    cmd.arg("-o").arg(&iso).arg(&tree.root).ok();
    check(&iso, &tree.root, 5);
}

#[test]
fn xorriso_image_of_a_tree() {
    require!("xorriso", "jigdo-file", "jigit-mkimage");
    let cmd = tool("xorriso", ["-as", "mkisofs", "-quiet", "-r", "-J"]);
    check_image_of_tree(cmd, "x.iso", &tree());
}

#[test]
fn genisoimage_image_of_a_tree() {
    require!("genisoimage", "jigdo-file", "jigit-mkimage");
    let cmd = tool("genisoimage", ["-quiet", "-R", "-J"]);
    check_image_of_tree(cmd, "g.iso", &tree());
}

/// A real ISO from a Debian package, against its files as bsdtar extracts them.
fn packaged_iso(package: &str, iso: &str, at_least: usize) {
    if !have_package_files(package, &[iso]) {
        return;
    }
    require!("bsdtar", "jigdo-file", "jigit-mkimage");
    let files = temp_dir();
    tool("bsdtar", ["-x", "-f", iso, "-C"])
        .arg(files.path())
        .ok();
    let dir = files.path().canonicalize().unwrap();
    // the extracted files are what the image holds, not the image itself
    assert!(read(Path::new(iso)).len() > 1 << 20);
    check(Path::new(iso), &dir, at_least);
}

#[test]
fn grub_rescue_cdrom() {
    packaged_iso(
        "grub-rescue-pc",
        "/usr/lib/grub-rescue/grub-rescue-cdrom.iso",
        250,
    );
}

#[test]
fn ipxe_iso() {
    packaged_iso("ipxe", "/usr/lib/ipxe/ipxe.iso", 5);
}

#[test]
fn xorriso_isohybrid_with_partition_offset() {
    let isolinux = "/usr/lib/ISOLINUX/isolinux.bin";
    let mbr = "/usr/lib/ISOLINUX/isohdpfx.bin";
    if !have_package_files("isolinux", &[isolinux, mbr]) {
        return;
    }
    require!("xorriso", "jigdo-file", "jigit-mkimage");
    let tree = tree();
    std::fs::create_dir(tree.path("isolinux")).unwrap();
    std::fs::copy(isolinux, tree.path("isolinux/isolinux.bin")).unwrap();
    // MBR, GPT and APM in the system area, the tree a second time at 16
    // blocks: the primary tree's addresses are still absolute
    let mut cmd = tool("xorriso", ["-as", "mkisofs", "-quiet", "-r", "-J"]);
    cmd.args(["-partition_offset", "16", "-b", "isolinux/isolinux.bin"])
        .args([
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
        ])
        .args([
            "-boot-info-table",
            "-isohybrid-mbr",
            mbr,
            "-isohybrid-gpt-basdat",
        ])
        .arg("-isohybrid-apm-hfsplus");
    // isolinux.bin is patched by -boot-info-table: it stays template data
    check_image_of_tree(cmd, "hybrid.iso", &tree);
}

/// xorriso's Rock Ridge image of `tree`, `x.iso` in `out`.
fn rock_ridge_image(tree: &Tree, out: &Path) -> PathBuf {
    let iso = out.join("x.iso");
    tool("xorriso", ["-as", "mkisofs", "-quiet", "-r", "-o"])
        .arg(&iso)
        .arg(&tree.root)
        .ok();
    iso
}

/// The checksum cache after `make-template` was killed at some point of its
/// run (whichever: the assertions hold for every moment) still opens, and
/// the next run writes the same template as a run without a cache.
#[test]
fn the_cache_survives_a_killed_run() {
    require!("xorriso");
    let mut builder = TreeBuilder::new(1011);
    for i in 0..200 {
        builder = builder.file(&format!("pool/f{i}.deb"), 20_000 + i * 7);
    }
    let tree = builder.build();
    let out = temp_dir();
    let iso = rock_ridge_image(&tree, out.path());
    let (_, plain) = make_template(out.path(), "plain", &iso, &tree.root, &[]);
    let cache = out.path().join("sums.db");
    let cache_arg = format!("--cache={}", p(&cache));
    for delay_ms in [0, 20, 60] {
        let mut cmd = jigsmith(["make-template", "-q", &cache_arg, "-i"]);
        cmd.arg(&iso)
            .arg("-j")
            .arg(out.path().join("killed.jigdo"))
            .arg("-t")
            .arg(out.path().join("killed.template"))
            .arg(&tree.root);
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let (_, after) = make_template(out.path(), "after", &iso, &tree.root, &[&cache_arg]);
        assert_same_file(&after, &plain, "template after a killed cached run");
    }
}

#[test]
fn a_damaged_cache_is_named() {
    require!("xorriso");
    let tree = tree();
    let out = temp_dir();
    let iso = rock_ridge_image(&tree, out.path());
    let cache = out.path().join("not-a-cache.db");
    crate::support::write(&cache, vec![b'x'; 10_000]);
    let template = out.path().join("t.template");
    let mut cmd = jigsmith(["make-template", "-q", "--cache"]);
    cmd.arg(&cache)
        .arg("-i")
        .arg(&iso)
        .arg("-j")
        .arg(out.path().join("t.jigdo"))
        .arg("-t")
        .arg(&template)
        .arg(&tree.root);
    let output = cmd.output().unwrap();
    assert!(!output.status.success(), "{}", describe(&cmd));
    crate::support::assert_stderr_names(&cmd, &output, "not-a-cache.db");
    assert!(!template.exists(), "no template after a failed run");
}
