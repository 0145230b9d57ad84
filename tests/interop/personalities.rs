//! Checksum tools, jigdump, inspect, and argv[0] personalities, compared with the old
//! tools' output byte for byte.

use std::path::PathBuf;
use std::process::Command;

use crate::checks::Rebuild;
use crate::fixture::Jte;
use crate::support::{jigsmith, md5_hex, personality_links, read, require, temp_dir, tool, Run};
use crate::tree::{tricky_tree, Tree, TreeBuilder};

/// Files for the checksum tools: empty, 1 byte, block-size edges, non-ASCII and spaces,
/// one 3 MiB file, and enough small files to spread over every core.
fn sums_tree() -> Tree {
    let mut b = TreeBuilder::new(501)
        .file("empty", 0)
        .file("one byte", 1)
        .file("k63.bin", 63)
        .file("k64.bin", 64)
        .file("k65.bin", 65)
        .file("ünïcødé #1=x.txt", 4097)
        .file("sub dir/big.bin", 3 << 20)
        .dup("sub dir/big copy.bin", "sub dir/big.bin");
    for i in 0..20 {
        b = b.file(&format!("many/f{i:02}"), 100 + 997 * i);
    }
    b.build()
}

fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&cmd.ok().stdout).into_owned()
}

const ALGOS: [(&str, &str); 4] = [
    ("--md5", "md5sum"),
    ("--sha1", "sha1sum"),
    ("--sha256", "sha256sum"),
    ("--sha512", "sha512sum"),
];

#[test]
fn sums_one_algorithm_matches_coreutils() {
    require!("md5sum", "sha1sum", "sha256sum", "sha512sum");
    let tree = sums_tree();
    let files = tree.all_paths();
    for (flag, coreutil) in ALGOS {
        let ours = stdout_of(jigsmith(["sums", flag]).args(&files));
        let theirs = stdout_of(&mut tool(coreutil, &files));
        assert_eq!(ours, theirs, "jigsmith sums {flag} vs {coreutil}");
    }
}

/// All four at once: exactly the lines the four coreutils print (order between
/// algorithms is not prescribed).
#[test]
fn sums_all_algorithms_give_the_coreutils_lines() {
    require!("md5sum", "sha1sum", "sha256sum", "sha512sum");
    let tree = sums_tree();
    let files = tree.all_paths();
    let mut cmd = jigsmith(["sums"]);
    cmd.args(ALGOS.map(|(flag, _)| flag)).args(&files);
    let ours = stdout_of(&mut cmd);
    let theirs: String = ALGOS
        .iter()
        .map(|(_, coreutil)| stdout_of(&mut tool(coreutil, &files)))
        .collect();
    let sorted = |s: &str| s.lines().map(str::to_owned).collect::<Vec<_>>();
    let (mut a, mut b) = (sorted(&ours), sorted(&theirs));
    a.sort();
    b.sort();
    assert_eq!(a, b, "jigsmith sums --md5 --sha1 --sha256 --sha512");
}

/// `--base64` writes jigdo's base64 form, as jigit's jigsum / jigsum-sha256 do.
#[test]
fn sums_base64_matches_jigsum() {
    require!("jigsum", "jigsum-sha256");
    let tree = sums_tree();
    let files = tree.all_paths();
    for (flag, old) in [("--md5", "jigsum"), ("--sha256", "jigsum-sha256")] {
        let ours = stdout_of(jigsmith(["sums", flag, "--base64"]).args(&files));
        assert_eq!(
            ours,
            stdout_of(&mut tool(old, &files)),
            "jigsmith sums {flag} --base64 vs {old}"
        );
    }
}

#[test]
fn jigsum_personalities_match_jigit() {
    require!("jigsum", "jigsum-sha256");
    let tree = sums_tree();
    let files = tree.all_paths();
    for name in ["jigsum", "jigsum-sha256"] {
        let ours = stdout_of(jigsmith([name]).args(&files));
        assert_eq!(
            ours,
            stdout_of(&mut tool(name, &files)),
            "jigsmith {name} vs {name}"
        );
    }
}

/// jigit's options are `--md5sum FILE --sha1sum FILE --sha256sum FILE --sha512sum FILE`;
/// each output file must equal the coreutil's output and jigit parallel-sums' file.
/// (jigit prints `bytes_read:`/`Time taken:` statistics on stdout; not compared.)
fn assert_parallel_sums(program: Command, check_jigit: bool) {
    let tree = sums_tree();
    let files = tree.all_paths();
    let run = |mut cmd: Command| -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = temp_dir();
        let outs: Vec<PathBuf> = ALGOS
            .iter()
            .map(|(_, c)| dir.path().join(c.to_uppercase()))
            .collect();
        for ((flag, _), out) in ALGOS.iter().zip(&outs) {
            cmd.arg(format!("{flag}sum")).arg(out);
        }
        cmd.args(&files).ok();
        (dir, outs)
    };
    let (_ours_dir, ours) = run(program);
    let jigit = check_jigit.then(|| run(Command::new("parallel-sums")));
    for (i, (_, coreutil)) in ALGOS.iter().enumerate() {
        let theirs = stdout_of(&mut tool(coreutil, &files));
        let got = String::from_utf8_lossy(&read(&ours[i])).into_owned();
        assert_eq!(got, theirs, "parallel-sums output for {coreutil}");
        if let Some((_, jigit)) = &jigit {
            assert_eq!(
                read(&ours[i]),
                read(&jigit[i]),
                "jigit parallel-sums output for {coreutil}"
            );
        }
    }
}

#[test]
fn parallel_sums_matches_coreutils_and_jigit() {
    require!(
        "md5sum",
        "sha1sum",
        "sha256sum",
        "sha512sum",
        "parallel-sums"
    );
    assert_parallel_sums(jigsmith(["parallel-sums"]), true);
}

#[test]
fn parallel_sums_via_symlink() {
    require!("md5sum", "sha1sum", "sha256sum", "sha512sum");
    let links = personality_links(&["parallel-sums"]);
    assert_parallel_sums(Command::new(links.path().join("parallel-sums")), false);
}

/// `checksum-list [--sha256]` prints what `jigdo-gen-checksum-list [-c sha256]` prints,
/// for absolute paths and for relative ones (both make them absolute).
#[test]
fn checksum_list_matches_jigdo_gen_checksum_list() {
    require!("jigdo-gen-checksum-list");
    let tree = sums_tree();
    let absolute: Vec<String> = tree
        .all_paths()
        .iter()
        .map(|p| crate::fixture::p(p))
        .collect();
    let relative: Vec<String> = tree.entries.iter().map(|e| e.rel.clone()).collect();
    for sha256 in [false, true] {
        for paths in [&absolute, &relative] {
            let mut ours = jigsmith(["checksum-list"]);
            let mut theirs = tool("jigdo-gen-checksum-list", [] as [&str; 0]);
            if sha256 {
                ours.arg("--sha256");
                theirs.args(["-c", "sha256"]);
            }
            ours.current_dir(&tree.root).args(paths);
            theirs.current_dir(&tree.root).args(paths);
            assert_eq!(
                stdout_of(&mut ours),
                stdout_of(&mut theirs),
                "checksum-list (sha256: {sha256})"
            );
        }
    }
}

/// Templates of every kind the fixtures make: libjte MD5/gzip, libjte SHA-256/bzip2,
/// genisoimage MD5/bzip2.
fn templates_of_every_kind(tree: &Tree) -> Vec<crate::fixture::Iso> {
    vec![
        Jte::xorriso().build(tree),
        Jte::xorriso().sha256().bzip2().min_size(0).build(tree),
        Jte::genisoimage().bzip2().build(tree),
    ]
}

#[test]
fn jigdump_output_matches_jigdump() {
    require!(
        "xorriso",
        "genisoimage",
        "jigdo-gen-checksum-list",
        "jigdump"
    );
    let tree = tricky_tree(502);
    let links = personality_links(&["jigdump"]);
    for iso in templates_of_every_kind(&tree) {
        let theirs = stdout_of(&mut tool("jigdump", [&iso.template]));
        let ours = stdout_of(jigsmith(["jigdump"]).arg(&iso.template));
        assert_eq!(ours, theirs, "jigsmith jigdump {}", iso.template.display());
        let via_link = stdout_of(Command::new(links.path().join("jigdump")).arg(&iso.template));
        assert_eq!(
            via_link,
            theirs,
            "jigdump symlink {}",
            iso.template.display()
        );
    }
}

/// `inspect` shows the format version, the image size and checksum, and the DESC entries
/// (here: the length of a matched file of unique size).
#[test]
fn inspect_shows_version_size_checksum_and_entries() {
    require!(
        "xorriso",
        "genisoimage",
        "jigdo-gen-checksum-list",
        "md5sum",
        "sha256sum"
    );
    let tree = tricky_tree(503);
    for iso in templates_of_every_kind(&tree) {
        let text = stdout_of(jigsmith(["inspect"]).arg(&iso.template));
        let (version, sum) = if iso.sha256 {
            let out = tool("sha256sum", [&iso.iso]).ok();
            (
                "2.0",
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            )
        } else {
            ("1.1", md5_hex(&iso.iso))
        };
        let size = crate::support::file_len(&iso.iso).to_string();
        for needle in [version, &size, &sum, "4097"] {
            assert!(
                text.contains(needle),
                "inspect {} should show {needle:?}:\n{text}",
                iso.template.display()
            );
        }
    }
}

/// argv[0] = `jigit-mkimage` selects the personality.
#[test]
fn jigit_mkimage_via_symlink() {
    require!("xorriso", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(504);
    let iso = Jte::xorriso().build(&tree);
    let rebuild = Rebuild::of(&iso, &tree);
    let links = personality_links(&["jigit-mkimage"]);
    let mut cmd = Command::new(links.path().join("jigit-mkimage"));
    rebuild.jigit_args(&mut cmd);
    rebuild.assert_to_file(cmd, "-o");
    let mut cmd = Command::new(links.path().join("jigit-mkimage"));
    cmd.arg("-z").arg("-t").arg(&iso.template);
    assert_eq!(
        stdout_of(&mut cmd).trim(),
        crate::support::file_len(&iso.iso).to_string()
    );
}
