//! Images written by `xorriso -as mkisofs` (libjte 2.0) rebuilt by jigsmith.

use crate::checks::{offset_in_image, Range, Rebuild};
use crate::fixture::{Iso, Jte};
use crate::support::{file_len, jigsmith, read, require, temp_dir, tool, write, Run};
use crate::tree::{tricky_tree, Tree, TreeBuilder};

fn build(jte: Jte, tree: &Tree) -> (Iso, Rebuild) {
    let iso = jte.build(tree);
    let rebuild = Rebuild::of(&iso, tree);
    (iso, rebuild)
}

#[test]
fn md5_gzip_tricky_names_rebuild_bit_exact_with_ranges() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(1);
    let (_iso, rebuild) = build(Jte::xorriso(), &tree);
    rebuild.assert_rebuilds_with_ranges(&tree);
}

#[test]
fn sha256_bzip2_tricky_names_rebuild_bit_exact_with_ranges() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(2);
    let (iso, rebuild) = build(Jte::xorriso().sha256().bzip2(), &tree);
    assert!(
        iso.jigdo_text().contains("Version=2.0"),
        "fixture should be format 2.0"
    );
    rebuild.assert_rebuilds_with_ranges(&tree);
}

/// `-jigdo-min-file-size 0`: the empty file and the 1-byte file become matched entries
/// (a zero-length DESC file entry).
#[test]
fn min_size_zero_matches_empty_and_one_byte_files() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(3);
    let (iso, rebuild) = build(Jte::xorriso().min_size(0), &tree);
    let text = iso.jigdo_text();
    assert!(
        text.contains("=Deb:empty\n") && text.contains("=Deb:one.bin\n"),
        "fixture:\n{text}"
    );
    rebuild.assert_rebuilds();
}

/// One file over 64 MiB: offsets past 2^26, a matched file longer than any buffer.
#[test]
fn file_larger_than_64_mib() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let huge = (64 << 20) + 4097;
    let tree = TreeBuilder::new(4)
        .file("small.bin", 5000)
        .file("big/huge.bin", huge)
        .build();
    let (iso, rebuild) = build(Jte::xorriso(), &tree);
    rebuild.assert_to_file(rebuild.native(), "-o");
    let at = offset_in_image(&read(&iso.iso), &tree, "big/huge.bin");
    let len = file_len(&iso.iso);
    rebuild.assert_ranges(&[
        Range {
            start: at + (64 << 20) - 10,
            end: at + huge + 10,
            what: "across the end of the big file".into(),
        },
        Range {
            start: len - 100,
            end: len - 1,
            what: "tail after the big file".into(),
        },
    ]);
}

/// `-z` prints the image size, as jigit-mkimage does, from the template alone.
#[test]
fn z_prints_image_size() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigit-mkimage");
    let tree = tricky_tree(5);
    let (iso, _) = build(Jte::xorriso(), &tree);
    let ours = jigsmith(["jigit-mkimage", "-z", "-t"])
        .arg(&iso.template)
        .ok();
    let theirs = tool("jigit-mkimage", ["-z", "-t"]).arg(&iso.template).ok();
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout).trim(),
        file_len(&iso.iso).to_string()
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
}

/// Reads a missing-files list and asserts it names exactly `expected` (one per line; a
/// line may carry a label or directory before the relative path).
fn assert_missing_list(path: &std::path::Path, expected: &[&str]) {
    let text = String::from_utf8_lossy(&read(path)).into_owned();
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(
        lines.len(),
        want.len(),
        "missing list should name exactly {want:?}, got:\n{text}"
    );
    for want in &want {
        assert!(
            lines.iter().any(|l| l.ends_with(want)),
            "missing list should name {want:?}, got:\n{text}"
        );
    }
}

/// `-M` / `--missing`: two deleted files are listed, a deleted file whose duplicate is
/// still there is not, and no image is written.
#[test]
fn missing_list_names_exactly_the_deleted_files() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = tricky_tree(6);
    let (_iso, rebuild) = build(Jte::xorriso(), &tree);
    tree.remove("k1025.bin");
    tree.remove("with space.bin");
    tree.remove("sub/dir/deep.bin"); // "sub/copy of deep.bin" has the same bytes
    let dir = temp_dir();

    let listed = dir.path().join("missing-jigit");
    let out = rebuild.jigit().arg("-M").arg(&listed).fails();
    assert!(out.stdout.is_empty(), "-M must build nothing");
    assert_missing_list(&listed, &["k1025.bin", "with space.bin"]);

    let listed = dir.path().join("missing-native");
    let mut cmd = rebuild.native();
    let out = cmd.arg("--missing").arg(&listed).fails();
    assert_eq!(
        out.status.code(),
        Some(1),
        "--missing exits 1 when files are missing"
    );
    assert!(out.stdout.is_empty(), "--missing must build nothing");
    assert_missing_list(&listed, &["k1025.bin", "with space.bin"]);
}

#[test]
fn missing_list_is_empty_when_nothing_is_missing() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = tricky_tree(7);
    let (_iso, rebuild) = build(Jte::xorriso(), &tree);
    let dir = temp_dir();
    for (mut cmd, name) in [(rebuild.jigit(), "-M"), (rebuild.native(), "--missing")] {
        let listed = dir.path().join(name);
        let out = cmd.arg(name).arg(&listed).ok();
        assert!(out.stdout.is_empty(), "{name} must build nothing");
        if listed.exists() {
            assert_missing_list(&listed, &[]);
        }
    }
}

/// Debian publishes gzip-compressed .jigdo files under the plain `.jigdo` name.
#[test]
fn gzip_compressed_jigdo() {
    require!("xorriso", "jigdo-gen-checksum-list", "gzip", "md5sum");
    let tree = tricky_tree(8);
    let (iso, rebuild) = build(Jte::xorriso().sha256(), &tree);
    let gz = tool("gzip", ["-9", "-n", "-c"]).arg(&iso.jigdo).ok().stdout;
    let jigdo = iso.write_jigdo("compressed.jigdo", gz);
    rebuild.with_jigdo(&jigdo).assert_rebuilds();
}

/// The [Parts] split over the main file and an `[Include other.jigdo]` (relative URL),
/// giving two [Parts] sections and two [Servers] sections.
#[test]
fn include_directive_and_several_sections() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(9);
    let (iso, rebuild) = build(Jte::xorriso(), &tree);
    let text = iso.jigdo_text();
    let (head, rest) = text
        .split_once("[Parts]\n")
        .unwrap_or_else(|| panic!("no [Parts]:\n{text}"));
    let (parts, servers) = rest.split_once("[Servers]").unwrap_or((rest, ""));
    let parts: Vec<&str> = parts.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(parts.len() >= 4, "fixture has too few parts:\n{text}");
    let (first, second) = parts.split_at(parts.len() / 2);
    let main = format!(
        "{head}[Parts]\n{}\n\n[Servers]{servers}\n[Include included%20parts.jigdo]\n",
        first.join("\n")
    );
    let included = format!(
        "[Parts]\n{}\n\n[Servers]\nUnused=http://example.invalid/\n",
        second.join("\n")
    );
    iso.write_jigdo("included parts.jigdo", included);
    let jigdo = iso.write_jigdo("main.jigdo", main);
    rebuild.with_jigdo(&jigdo).assert_rebuilds();
}

/// Quotes a [Parts] value the way jigdo-file writes it: `'...'` when it holds one of
/// `'"#\`, space or tab, `"..."` with `\` escapes when it also holds a `'`.
fn quote_like_jigdo_file(value: &str) -> String {
    if !value.contains(|c| "'\"#\\ \t".contains(c)) {
        value.to_owned()
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// libjte writes names unquoted (`=Deb:with space.bin`); jigdo-file quotes them.
/// Both must work on the same template.
#[test]
fn names_quoted_jigdo_file_style() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(10);
    let (iso, rebuild) = build(Jte::xorriso(), &tree);
    let mut in_parts = false;
    let mut quoted = String::new();
    for line in iso.jigdo_text().lines() {
        if line.starts_with('[') {
            in_parts = line == "[Parts]";
        }
        match line.split_once('=') {
            Some((sum, value)) if in_parts => {
                quoted.push_str(&format!("{sum}={}\n", quote_like_jigdo_file(value)));
            }
            _ => quoted.push_str(&format!("{line}\n")),
        }
    }
    assert!(
        quoted.contains("='Deb:with space.bin'\n"),
        "rewrite failed:\n{quoted}"
    );
    assert!(
        quoted.contains(r#"="Deb:quote'single.bin""#),
        "rewrite failed:\n{quoted}"
    );
    let jigdo = iso.write_jigdo("quoted.jigdo", quoted);
    rebuild.with_jigdo(&jigdo).assert_rebuilds();
}

/// No .jigdo: the template and a jigdo-gen-checksum-list list (`--checksum-list`,
/// personality `-f` for MD5 and `-F` for SHA-256).
#[test]
fn checksum_list_instead_of_jigdo() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(11);
    for jte in [Jte::xorriso(), Jte::xorriso().sha256().bzip2()] {
        let iso = jte.build(&tree);
        Rebuild::from_list(&iso).assert_rebuilds();
    }
}

/// Plain `md5sum` output (no size column) as a checksum list.
#[test]
fn plain_md5sum_output_as_checksum_list() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(12);
    let iso = Jte::xorriso().build(&tree);
    let sums = tool("md5sum", tree.listed_paths()).ok().stdout;
    let mut rebuild = Rebuild::from_list(&iso);
    let list = iso.path("plain.md5sum");
    write(&list, sums);
    rebuild.lists = vec![list];
    rebuild.assert_to_file(rebuild.native(), "-o");
}

/// `-o -` is stdout too.
#[test]
fn dash_o_dash_is_stdout() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = tricky_tree(13);
    let (_iso, rebuild) = build(Jte::xorriso(), &tree);
    let mut cmd = rebuild.native();
    cmd.args(["-o", "-"]);
    rebuild.assert_to_stdout(cmd);
}

/// The personality's other options: `-v -l LOG` sends progress to LOG (jigit creates it),
/// `-O` skips the jigdo header check, `-q` skips verification; the image is the same.
/// The native `-q` is quiet: nothing on stderr when all goes well.
#[test]
fn verbosity_log_and_no_verify_options() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(14);
    let (_iso, rebuild) = build(Jte::xorriso(), &tree);
    let dir = temp_dir();
    let log = dir.path().join("progress.log");
    let mut cmd = rebuild.jigit();
    cmd.args(["-v", "-O", "-l"]).arg(&log);
    rebuild.assert_to_file(cmd, "-o");
    assert!(
        !read(&log).is_empty(),
        "-v -l {} should log progress there",
        log.display()
    );

    let mut cmd = rebuild.jigit();
    cmd.arg("-q");
    rebuild.assert_to_file(cmd, "-o");

    let mut cmd = rebuild.native();
    cmd.args(["-q", "--no-verify"]);
    rebuild.assert_to_file(cmd, "-o");

    let mut cmd = rebuild.native();
    let out = cmd
        .args(["-q", "-o"])
        .arg(dir.path().join("quiet.iso"))
        .ok();
    assert!(
        out.stderr.is_empty(),
        "-q should print nothing on success, got:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
