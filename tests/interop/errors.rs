//! Bad input: a non-zero exit, a message naming the file, no panic, and nothing left at
//! the `-o` path (jigsmith writes a temporary file and renames it at the end).

use std::path::Path;
use std::process::Command;

use crate::checks::Rebuild;
use crate::fixture::{Iso, Jte};
use crate::support::{
    assert_stderr_names, dir_entries, read, require, temp_dir, tool, write, Run, SmallDisk,
};
use crate::tree::{tricky_tree, Rng, Tree};

fn fixture(seed: u64) -> (Tree, Iso, Rebuild) {
    let tree = tricky_tree(seed);
    let iso = Jte::xorriso().build(&tree);
    let rebuild = Rebuild::of(&iso, &tree);
    (tree, iso, rebuild)
}

/// Runs `cmd -o OUT` (native and personality take the same flag) in an empty directory
/// and asserts it failed, named `needle` on stderr and left the directory empty.
fn assert_fails_cleanly(mut cmd: Command, needle: &str) {
    let dir = temp_dir();
    let out_path = dir.path().join("out.iso");
    cmd.arg("-o").arg(&out_path);
    let out = cmd.fails();
    assert_stderr_names(&cmd, &out, needle);
    assert!(
        !out_path.exists(),
        "failed run left an image at -o {}",
        out_path.display()
    );
    let left = dir_entries(dir.path());
    assert!(
        left.is_empty(),
        "failed run left files in the output directory: {left:?}"
    );
}

/// Both the native command and the personality fail cleanly.
fn assert_both_fail(rebuild: &Rebuild, needle: &str) {
    assert_fails_cleanly(rebuild.native(), needle);
    assert_fails_cleanly(rebuild.jigit(), needle);
}

#[test]
fn corrupt_source_same_size() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (tree, _iso, rebuild) = fixture(401);
    tree.corrupt("victim.bin");
    assert_both_fail(&rebuild, "victim.bin");
}

#[test]
fn corrupt_source_with_tricky_name() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (tree, _iso, rebuild) = fixture(402);
    tree.corrupt("ünïcødé ✓/naïve file.bin");
    assert_both_fail(&rebuild, "naïve file.bin");
}

#[test]
fn source_of_wrong_size() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (tree, _iso, rebuild) = fixture(403);
    let path = tree.path("victim.bin");
    let mut data = read(&path);
    data.truncate(data.len() - 1);
    write(&path, data);
    assert_both_fail(&rebuild, "victim.bin");
}

#[test]
fn missing_source() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (tree, _iso, rebuild) = fixture(404);
    tree.remove("victim.bin");
    assert_both_fail(&rebuild, "victim.bin");
}

/// A directory where the file should be: it exists but cannot be read as a file
/// (tests may run as root, so permissions cannot make a file unreadable).
#[test]
fn unreadable_source() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (tree, _iso, rebuild) = fixture(405);
    tree.remove("victim.bin");
    std::fs::create_dir(tree.path("victim.bin")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    assert_both_fail(&rebuild, "victim.bin");
}

/// A candidate is only used after its checksum matched: when one of two identical files
/// is corrupt, the other one is used and the image is still exact.
#[test]
fn corrupt_candidate_falls_back_to_its_duplicate() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let (tree, _iso, rebuild) = fixture(406);
    tree.corrupt("sub/dir/deep.bin");
    rebuild.assert_to_file(rebuild.native(), "-o");
    rebuild.assert_to_file(rebuild.jigit(), "-o");
}

fn truncated_copy(src: &Path, keep: usize, dst: &Path) {
    let data = read(src);
    write(dst, data.get(..keep).unwrap_or(&data));
}

#[test]
fn truncated_template() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (_tree, iso, rebuild) = fixture(407);
    let len = read(&iso.template).len();
    for keep in [0, 20, 200, len / 2, len - 7, len - 1] {
        let name = format!("cut-at-{keep}.template");
        let template = iso.path(&name);
        truncated_copy(&iso.template, keep, &template);
        let cut = Rebuild {
            template,
            ..rebuild.clone()
        };
        assert_both_fail(&cut, &name);
    }
}

/// The template of another image: the .jigdo's Template-MD5Sum does not match, and
/// neither does anything else.
#[test]
fn template_of_another_image() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (_tree, iso, rebuild) = fixture(408);
    let other_tree = tricky_tree(409);
    let other = Jte::xorriso().build(&other_tree);
    let template = iso.path("other.template");
    std::fs::copy(&other.template, &template).unwrap_or_else(|e| panic!("cp: {e}"));
    assert_both_fail(
        &Rebuild {
            template,
            ..rebuild
        },
        "other.template",
    );
}

#[test]
fn garbage_jigdo() {
    require!("xorriso", "jigdo-gen-checksum-list", "gzip");
    let (_tree, iso, rebuild) = fixture(410);
    let gz = tool("gzip", ["-c", "-n"]).arg(&iso.jigdo).ok().stdout;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("binary", Rng::new(1).bytes(5000)),
        (
            "text",
            b"this is not a jigdo file\nat all = really\n".to_vec(),
        ),
        ("empty", Vec::new()),
        (
            "truncated-gzip",
            gz.get(..gz.len() / 2).unwrap_or(&gz).to_vec(),
        ),
        (
            "bad-section",
            b"[Jigdo\nVersion=1.1\n[Parts]\n!!!\n".to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let name = format!("garbage-{what}.jigdo");
        let jigdo = iso.write_jigdo(&name, bytes);
        assert_both_fail(&rebuild.with_jigdo(&jigdo), &name);
    }
}

/// A disk that fills up mid-image: the error is named, the exit is non-zero, and the
/// half-written temporary file is gone.
#[test]
fn full_disk_leaves_nothing() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (_tree, iso, rebuild) = fixture(420);
    let image_len = std::fs::metadata(&iso.iso)
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    let Some(disk) = SmallDisk::mount((image_len / 2048).max(64)) else {
        return;
    };
    for mut cmd in [rebuild.native(), rebuild.jigit()] {
        cmd.arg("-o").arg(disk.path().join("out.iso"));
        let out = cmd.fails();
        assert_stderr_names(&cmd, &out, "No space left on device");
        let left = dir_entries(disk.path());
        assert!(left.is_empty(), "failed run left {left:?} on the full disk");
    }
}

/// Standard output that takes nothing (`/dev/full`) is an error too, not a short image.
#[test]
fn full_stdout_is_an_error() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let (_tree, _iso, rebuild) = fixture(421);
    for mut cmd in [rebuild.native(), rebuild.jigit()] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap_or_else(|e| panic!("/dev/full: {e}"));
        cmd.stdout(full);
        let out = cmd.fails();
        assert_stderr_names(&cmd, &out, "No space left on device");
    }
}

/// make-image ends with one summary line (none with -q); when files are
/// missing it names every one by its .jigdo name, with the --map that would
/// find them, and writes nothing.
#[test]
fn a_finished_build_says_what_it_did_and_missing_files_are_all_named() {
    let hello = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    let jigdo = hello.join("hello.jigdo");
    let dir = crate::support::temp_dir();
    let out = dir.path().join("hello.iso");
    let map = format!("Debian={}", hello.join("mirror").display());

    let o = crate::support::jigsmith(["make-image", "-j"])
        .arg(&jigdo)
        .args(["-m", &map, "-o"])
        .arg(&out)
        .ok();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("jigsmith: wrote ") && err.contains("401408 bytes"),
        "{err}"
    );
    assert!(
        err.contains("3 files and the image MD5 checked") && err.lines().count() == 1,
        "{err}"
    );
    let o = crate::support::jigsmith(["make-image", "-q", "-j"])
        .arg(&jigdo)
        .args(["-m", &map, "-o"])
        .arg(&out)
        .ok();
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    std::fs::remove_file(&out).unwrap();
    let o = crate::support::jigsmith(["make-image", "-j"])
        .arg(&jigdo)
        .arg("-o")
        .arg(&out)
        .fails();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    for i in 1..=3 {
        assert!(
            err.contains(&format!("Debian:pool/main/h/hello/hello_{i}.txt")),
            "{err}"
        );
    }
    assert!(err.contains("--map Debian=DIR"), "{err}");
    assert!(
        !out.exists(),
        "nothing may be written when files are missing"
    );
}
