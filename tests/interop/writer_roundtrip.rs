//! The other direction: `jigsmith make-template` on an xorriso-made ISO, rebuilt by
//! jigit-mkimage, `jigdo-file make-image` and jigsmith itself, and read by jigdump.

use std::process::Command;

use crate::checks::Rebuild;
use crate::fixture::{p, Iso, Jte, LABEL};
use crate::support::{file_len, jigsmith, md5_hex, require, temp_dir, tool, Run};
use crate::tree::{plain_tree, tricky_tree, Tree};

const MIN_SIZE: u64 = 1024;

/// Runs `jigsmith make-template` on `iso` and returns the written pair as a fixture.
fn make_template(iso: &Iso, tree: &Tree, sha256: bool, bzip2: bool) -> Iso {
    let dir = temp_dir();
    let jigdo = dir.path().join("written.jigdo");
    let template = dir.path().join("written.template");
    let mut cmd = jigsmith(["make-template", "--image"]);
    cmd.arg(&iso.iso)
        .arg("--jigdo")
        .arg(&jigdo)
        .arg("--template")
        .arg(&template);
    cmd.arg("--checksum-list").arg(&iso.list);
    cmd.arg("--map").arg(format!("{LABEL}={}", p(&tree.root)));
    cmd.arg("--min-size").arg(MIN_SIZE.to_string());
    if sha256 {
        cmd.arg("--sha256");
    }
    if bzip2 {
        cmd.arg("--bzip2");
    }
    cmd.ok();
    Iso {
        dir,
        iso: iso.iso.clone(),
        jigdo,
        template,
        list: iso.list.clone(),
        sha256,
    }
}

/// The jigdo base64 checksum of each file, by jigit's `jigsum` / `jigsum-sha256`.
fn base64_sums(tree: &Tree, sha256: bool) -> Vec<(String, String)> {
    let program = if sha256 { "jigsum-sha256" } else { "jigsum" };
    tree.entries
        .iter()
        .filter(|e| e.listed && e.size >= MIN_SIZE)
        .map(|e| {
            let out = tool(program, [tree.path(&e.rel)]).ok();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let sum = text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            (e.rel.clone(), sum)
        })
        .collect()
}

/// Every listed file of at least MIN_SIZE bytes has a [Parts] entry; with `exact_names`
/// each one is `SUM=Deb:relative/path` (unique contents only: of two identical files one
/// entry may name either). The template must not hold the matched files' data.
fn assert_files_matched(written: &Iso, tree: &Tree, exact_names: bool) {
    let text = written.jigdo_text();
    let sums = base64_sums(tree, written.sha256);
    for (rel, sum) in &sums {
        let key = format!("\n{sum}=");
        assert!(
            text.contains(&key),
            "no [Parts] entry for {rel} ({sum}):\n{text}"
        );
        let unique = sums.iter().filter(|(_, s)| s == sum).count() == 1;
        if exact_names && unique {
            let line = format!("\n{sum}={LABEL}:{rel}\n");
            assert!(
                text.contains(&line),
                "expected line {:?} in:\n{text}",
                line.trim()
            );
        }
    }
    let matched: u64 = tree
        .entries
        .iter()
        .filter(|e| e.listed && e.size >= MIN_SIZE)
        .map(|e| e.size)
        .sum();
    let unlisted: u64 = tree
        .entries
        .iter()
        .filter(|e| !e.listed)
        .map(|e| e.size)
        .sum();
    let template = file_len(&written.template);
    assert!(
        template < unlisted + matched / 2,
        "template is {template} bytes: matched file data ({matched} bytes) seems to be in it"
    );
}

/// jigdump reads the written template and reports the image length and checksum.
fn assert_jigdump_reads(written: &Iso) {
    let out = tool("jigdump", [&written.template]).ok();
    let text = String::from_utf8_lossy(&out.stdout);
    let len = file_len(&written.iso);
    assert!(
        text.contains(&format!("Original image length {len} bytes")),
        "jigdump:\n{text}"
    );
    let image_sum = if written.sha256 {
        let out = tool("sha256sum", [&written.iso]).ok();
        format!(
            "Image SHA256: {}",
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap_or_default()
        )
    } else {
        format!("Image MD5: {}", md5_hex(&written.iso))
    };
    assert!(
        text.contains(&image_sum),
        "jigdump should show {image_sum:?}:\n{text}"
    );
}

fn rebuilt_by_jigdo_file(written: &Iso, tree: &Tree) {
    let rebuild = Rebuild::of(written, tree);
    let mut cmd = tool("jigdo-file", ["make-image", "-r", "quiet", "-j"]);
    cmd.arg(&written.jigdo).arg("-t").arg(&written.template);
    // `dir//`: jigdo-file finds the parts by content under it
    cmd.arg(format!("{}//", p(&tree.root)));
    rebuild.assert_to_file(cmd, "-i");
}

fn rebuilt_by_jigit_mkimage(written: &Iso, tree: &Tree) {
    let rebuild = Rebuild::of(written, tree);
    let mut cmd = Command::new("jigit-mkimage");
    rebuild.jigit_args(&mut cmd);
    rebuild.assert_to_file(cmd, "-o");
}

fn roundtrip_plain(seed: u64, sha256: bool, bzip2: bool) {
    let tree = plain_tree(seed);
    let jte = if sha256 {
        Jte::xorriso().sha256()
    } else {
        Jte::xorriso()
    };
    let iso = jte.build(&tree);
    let written = make_template(&iso, &tree, sha256, bzip2);
    assert_files_matched(&written, &tree, true);
    assert_jigdump_reads(&written);
    rebuilt_by_jigit_mkimage(&written, &tree);
    rebuilt_by_jigdo_file(&written, &tree);
    Rebuild::of(&written, &tree).assert_rebuilds();
}

#[test]
fn md5_gzip_accepted_by_jigit_jigdo_file_and_jigdump() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigit-mkimage",
        "jigdo-file",
        "jigdump",
        "jigsum",
        "md5sum"
    );
    roundtrip_plain(301, false, false);
}

#[test]
fn sha256_bzip2_accepted_by_jigit_jigdo_file_and_jigdump() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigit-mkimage",
        "jigdo-file",
        "jigdump",
        "jigsum-sha256",
        "sha256sum",
        "md5sum"
    );
    roundtrip_plain(302, true, true);
}

/// Names jigit-mkimage cannot take (`=`, quotes): jigdo-file and jigsmith must still
/// read what jigsmith writes.
#[test]
fn tricky_names_accepted_by_jigdo_file_and_jigsmith() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigdo-file",
        "jigsum",
        "md5sum"
    );
    let tree = tricky_tree(303);
    let iso = Jte::xorriso().build(&tree);
    let written = make_template(&iso, &tree, false, false);
    assert_files_matched(&written, &tree, false);
    rebuilt_by_jigdo_file(&written, &tree);
    Rebuild::of(&written, &tree).assert_rebuilds();
}
