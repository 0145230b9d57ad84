//! `jigsmith verify` (issue 10) on images xorriso wrote with JTE: a good image passes
//! (as with `jigdo-file verify`); a flipped byte inside a file names that file by
//! extent and .jigdo name, one in template data names that range, a truncated image
//! names its length and the files cut off; unreadable inputs exit 2.

use std::path::Path;

use crate::checks::offset_in_image;
use crate::fixture::{Iso, Jte};
use crate::support::{jigsmith, read, require, write, Run};
use crate::tree::{plain_tree, Tree};

fn verify(image: &Path, iso: &Iso, extra: &[&str]) -> std::process::Command {
    let mut cmd = jigsmith(["verify"]);
    cmd.arg(image).arg("-j").arg(&iso.jigdo).args(extra);
    cmd
}

/// A copy of the image with `edit` applied, next to it.
fn edited(iso: &Iso, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> std::path::PathBuf {
    let mut data = read(&iso.iso);
    edit(&mut data);
    let path = iso.path(name);
    write(&path, data);
    path
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn victim(iso: &Iso, tree: &Tree) -> (u64, u64) {
    let at = offset_in_image(&read(&iso.iso), tree, "victim.bin");
    (at, tree.entry("victim.bin").size)
}

#[test]
fn a_good_image_passes_like_with_jigdo_file() {
    require!("xorriso", "jigdo-file", "jigdo-gen-checksum-list");
    let tree = plain_tree(100);
    for jte in [Jte::xorriso(), Jte::xorriso().sha256()] {
        let iso = jte.build(&tree);
        let out = verify(&iso.iso, &iso, &[]).ok();
        let text = stdout(&out);
        assert!(text.contains(": OK ("), "{text}");
        let t = jigsmith(["verify"])
            .arg(&iso.iso)
            .arg("-t")
            .arg(&iso.template)
            .ok();
        assert!(stdout(&t).contains("template"), "{}", stdout(&t));
        if !jte.sha256 {
            // jigdo-file 0.8.1 verifies MD5 templates only
            crate::support::tool("jigdo-file", ["verify", "-r", "quiet"])
                .arg(format!("--image={}", iso.iso.display()))
                .arg(format!("--template={}", iso.template.display()))
                .ok();
        }
    }
}

#[test]
fn a_flipped_byte_in_a_file_names_the_file() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = plain_tree(101);
    for jte in [Jte::xorriso(), Jte::xorriso().sha256()] {
        let iso = jte.build(&tree);
        let (at, len) = victim(&iso, &tree);
        let bad = edited(&iso, "bad.iso", |d| d[(at + len / 2) as usize] ^= 1);
        let out = verify(&bad, &iso, &[]).fails();
        assert_eq!(out.status.code(), Some(1));
        let text = stdout(&out);
        assert!(
            text.contains(&format!(
                "file at bytes {at}..{} ({len} bytes): Deb:victim.bin:",
                at + len
            )),
            "{text}"
        );
        assert!(text.contains("1 of "), "only the one file: {text}");
        assert!(!text.contains("template data differs"), "{text}");
        let json = stdout(&verify(&bad, &iso, &["--json"]).fails());
        assert!(
            json.contains(&format!(
                r#""bad_files":[{{"offset":{at},"length":{len},"names":["Deb:victim.bin"]"#
            )),
            "{json}"
        );
        assert!(json.contains(r#""ok":false"#), "{json}");
    }
}

#[test]
fn a_flipped_byte_in_template_data_names_the_range() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = plain_tree(102);
    let iso = Jte::xorriso().build(&tree);
    // the primary volume descriptor (sector 16) is template data
    let at = 16 * 2048 + 40;
    let bad = edited(&iso, "bad.iso", |d| d[at] ^= 0x20);
    let out = verify(&bad, &iso, &[]).fails();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "bytes {at}..{} (1 bytes): template data differs",
            at + 1
        )),
        "{text}"
    );
    assert!(text.contains("0 of "), "no file is wrong: {text}");
}

#[test]
fn a_truncated_image_names_its_length_and_the_files_cut_off() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = plain_tree(103);
    let iso = Jte::xorriso().build(&tree);
    let full = read(&iso.iso).len();
    let (at, len) = victim(&iso, &tree);
    let cut = (at + len / 2) as usize;
    let bad = edited(&iso, "short.iso", |d| d.truncate(cut));
    let out = verify(&bad, &iso, &[]).fails();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "length: the image is {cut} bytes, the template says {full}; bytes {cut}..{full} are missing (truncated)"
        )),
        "{text}"
    );
    assert!(
        text.contains("Deb:victim.bin: cut off by the end of the image"),
        "{text}"
    );
}

#[test]
fn unreadable_inputs_exit_2() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = plain_tree(104);
    let iso = Jte::xorriso().build(&tree);
    let gone = iso.path("gone.iso");
    let out = verify(&gone, &iso, &[]).fails();
    assert_eq!(out.status.code(), Some(2));
    let out = jigsmith(["verify"])
        .arg(&iso.iso)
        .arg("-t")
        .arg(iso.path("gone.template"))
        .fails();
    assert_eq!(out.status.code(), Some(2));
    // nothing named and nothing beside the image; image.iso finds image.jigdo beside it
    let alone = edited(&iso, "alone.iso", |_| {});
    let out = jigsmith(["verify"]).arg(&alone).fails();
    assert_eq!(out.status.code(), Some(2));
    jigsmith(["verify"]).arg(&iso.iso).ok();
}

/// Names with spaces, `=`, `#` and quotes, in libjte's verbatim and jigdo-file's quoted
/// [Parts] dialects: the bad file is named as the mirror has it.
#[test]
fn odd_names_are_named_unquoted_in_both_dialects() {
    require!("xorriso", "jigdo-file", "jigdo-gen-checksum-list");
    let tree = crate::tree::tricky_tree(105);
    let xorriso = Jte::xorriso().build(&tree);
    let jigdo_file = crate::fixture::jigdo_file_template(&xorriso.iso, &tree, false, false);
    for iso in [&xorriso, &jigdo_file] {
        for rel in ["with space.bin", "quote'single.bin", "eq=sign.dat"] {
            let at = offset_in_image(&read(&iso.iso), &tree, rel);
            let bad = edited(iso, "odd.iso", |d| d[at as usize + 100] ^= 4);
            let text = stdout(&verify(&bad, iso, &[]).fails());
            assert!(
                text.contains(&format!("): Deb:{rel}: MD5 is ")),
                "{rel}: {text}"
            );
        }
    }
}
