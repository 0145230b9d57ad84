//! `jigsmith mkisofs` with the `-jigdo-*` options (issue 3, "The jigdo side"): the ISO,
//! .jigdo and .template written in one pass must be rebuilt bit for bit by jigit-mkimage,
//! jigdo-file and jigsmith make-image, name the files the old tools would, be quoted for
//! jigdo-file, and appear all together or not at all.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::checks::Rebuild;
use crate::fixture::{checksum_list, p, LABEL};
use crate::support::{
    assert_same_file, assert_stderr_names, dir_entries, file_len, jigsmith, md5_hex, read, require,
    temp_dir, tool, write, Run, SmallDisk,
};
use crate::tree::{tricky_tree, Tree, TreeBuilder};

/// How a run exports.
#[derive(Clone, Copy, Default)]
struct Opts<'a> {
    /// `-jigdo-checksum-algorithm sha256` with `-checksum-list` (else `-md5-list`).
    sha256: bool,
    /// `-jigdo-template-compress bzip2`.
    bzip2: bool,
    /// More options, before the tree.
    extra: &'a [&'a str],
}

/// The outputs of one run, in a directory of their own.
struct Out {
    dir: tempfile::TempDir,
    iso: PathBuf,
    jigdo: PathBuf,
    template: PathBuf,
}

impl Out {
    fn new() -> Self {
        let dir = temp_dir();
        let at = |name: &str| dir.path().join(name);
        let (iso, jigdo, template) = (at("img.iso"), at("img.jigdo"), at("img.template"));
        Out {
            dir,
            iso,
            jigdo,
            template,
        }
    }

    fn jigdo_text(&self) -> String {
        String::from_utf8(read(&self.jigdo)).unwrap_or_else(|e| panic!(".jigdo not UTF-8: {e}"))
    }

    /// Expecting the outputs to rebuild `self.iso`, `Deb` mapped to the tree root.
    fn rebuild(&self, tree: &Tree) -> Rebuild {
        Rebuild::jigdo_map(
            self.jigdo.clone(),
            self.template.clone(),
            map(tree),
            self.iso.clone(),
        )
    }
}

fn map(tree: &Tree) -> String {
    format!("{LABEL}={}", p(&tree.root))
}

/// The checksum list of the tree's listed files, in a directory of its own.
fn list_of(tree: &Tree, sha256: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir();
    let list = dir.path().join("checksums.list");
    write(&list, checksum_list(&tree.listed_paths(), sha256));
    (dir, list)
}

/// `PROGRAM -r -J -joliet-long -cache-inodes -V X -o ISO <list> -jigdo-jigdo J
/// -jigdo-template T -jigdo-map Deb=TREE/ [opts] TREE`.
fn mkisofs(mut cmd: Command, tree: &Tree, list: &Path, iso: &Path, out: &Out, o: Opts) -> Command {
    cmd.args(["-r", "-J", "-joliet-long", "-cache-inodes", "-V", "X", "-o"])
        .arg(iso);
    if o.sha256 {
        cmd.args(["-jigdo-checksum-algorithm", "sha256", "-checksum-list"]);
    } else {
        cmd.arg("-md5-list");
    }
    cmd.arg(list)
        .arg("-jigdo-jigdo")
        .arg(&out.jigdo)
        .arg("-jigdo-template")
        .arg(&out.template)
        .arg("-jigdo-map")
        .arg(format!("{LABEL}={}/", p(&tree.root)));
    if o.bzip2 {
        cmd.args(["-jigdo-template-compress", "bzip2"]);
    }
    cmd.args(o.extra).arg(&tree.root);
    cmd
}

fn ours(tree: &Tree, list: &Path, out: &Out, o: Opts) -> Command {
    mkisofs(jigsmith(["mkisofs"]), tree, list, &out.iso, out, o)
}

fn xorriso(tree: &Tree, list: &Path, out: &Out, o: Opts) -> Command {
    mkisofs(
        tool("xorriso", ["-as", "mkisofs"]),
        tree,
        list,
        &out.iso,
        out,
        o,
    )
}

/// `jigsmith make-image -j J -m Deb=TREE`: no `--template`, so the one the .jigdo names,
/// next to it.
fn make_image(out: &Out, tree: &Tree) -> Command {
    let mut cmd = jigsmith(["make-image", "-j"]);
    cmd.arg(&out.jigdo).arg("-m").arg(map(tree));
    cmd
}

/// `jigdo-file make-image --jigdo J --template T TREE/` (files found by content).
fn jigdo_file_make_image(out: &Out, tree: &Tree) -> Command {
    let mut cmd = tool("jigdo-file", ["make-image", "-r", "quiet", "--no-cache"]);
    cmd.arg("--jigdo")
        .arg(&out.jigdo)
        .arg("--template")
        .arg(&out.template)
        .arg(format!("{}/", p(&tree.root)));
    cmd
}

/// The `[Parts]` lines as written, sorted.
pub(crate) fn raw_parts(jigdo: &str) -> Vec<String> {
    let mut lines: Vec<String> = jigdo
        .lines()
        .skip_while(|l| l.trim() != "[Parts]")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// The parts as jigdo-file reads them (unquoted), `digest=name`, sorted: from
/// `jigdo-file print-missing-all`, which prints each name then `MD5Sum:`/`SHA256Sum:`.
fn jigdo_file_parts(out: &Out) -> Vec<String> {
    let mut cmd = tool(
        "jigdo-file",
        ["print-missing-all", "-r", "quiet", "--no-cache"],
    );
    cmd.arg("-j").arg(&out.jigdo).arg("-t").arg(&out.template);
    let text = String::from_utf8(cmd.ok().stdout).unwrap_or_else(|e| panic!("not UTF-8: {e}"));
    let mut parts = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let digest = block
            .lines()
            .find_map(|l| l.strip_prefix("MD5Sum:").or(l.strip_prefix("SHA256Sum:")))
            .unwrap_or_else(|| panic!("no checksum in block {block:?}"));
        for name in block.lines().filter(|l| !l.contains("Sum:")) {
            parts.push(format!("{digest}={name}"));
        }
    }
    parts.sort();
    parts
}

/// What `[Parts]` must hold: `digest=Deb:rel` of every listed file of at least 1024
/// bytes, digests by jigit's `jigsum` / `jigsum-sha256`.
fn expected_parts(tree: &Tree, sha256: bool) -> Vec<String> {
    let files: Vec<PathBuf> = tree
        .entries
        .iter()
        .filter(|e| e.listed && e.size >= 1024)
        .map(|e| tree.path(&e.rel))
        .collect();
    let jigsum = if sha256 { "jigsum-sha256" } else { "jigsum" };
    let out = tool(jigsum, &files).ok();
    let prefix = format!("{}/", p(&tree.root));
    let mut parts: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (digest, path) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("{jigsum}: {l:?}"));
            let rel = path.strip_prefix(&prefix).unwrap_or(path);
            format!("{digest}={LABEL}:{rel}")
        })
        .collect();
    parts.sort();
    parts
}

/// The value of a `# Image Hex <what>` comment.
fn image_hex(jigdo: &str, what: &str) -> String {
    let key = format!("# Image Hex {what} ");
    jigdo
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {key:?} in\n{jigdo}"))
        .trim()
        .to_owned()
}

/// Files at the 1 KiB boundary, an empty file, a ~3 MB file and duplicate contents;
/// plain names every old tool reads.
fn edge_tree(seed: u64) -> Tree {
    TreeBuilder::new(seed)
        .file("empty", 0)
        .file("k1023.bin", 1023)
        .file("k1024.bin", 1024)
        .file("k1025.bin", 1025)
        .file("k2048.bin", 2048)
        .dup("k1024-copy.bin", "k1024.bin")
        .file("pool/main/big_1.0_all.deb", 3_000_000)
        .dup("pool/dup/big-copy.deb", "pool/main/big_1.0_all.deb")
        .build()
}

/// Test 1: one pass, rebuilt bit for bit by all three tools; `[Parts]` and the image
/// checksum comments are right; the template holds no file data.
fn rebuilt_by_all_three(seed: u64, sha256: bool, bzip2: bool) {
    let tree = edge_tree(seed);
    let (_list_dir, list) = list_of(&tree, sha256);
    let out = Out::new();
    ours(
        &tree,
        &list,
        &out,
        Opts {
            sha256,
            bzip2,
            extra: &[],
        },
    )
    .ok();
    let text = out.jigdo_text();

    assert_eq!(
        raw_parts(&text),
        expected_parts(&tree, sha256),
        "[Parts] of\n{text}"
    );
    assert_eq!(
        image_hex(&text, "MD5Sum"),
        md5_hex(&out.iso),
        "# Image Hex MD5Sum"
    );
    if sha256 {
        let sum = tool("sha256sum", [&out.iso]).ok();
        let sum = String::from_utf8_lossy(&sum.stdout);
        assert_eq!(
            Some(image_hex(&text, "SHA256Sum").as_str()),
            sum.split_whitespace().next()
        );
    }
    let (t, i) = (file_len(&out.template), file_len(&out.iso));
    assert!(
        t * 100 < i,
        "template of {t} bytes for an image of {i} bytes"
    );

    let rebuild = out.rebuild(&tree);
    rebuild.assert_real_jigit_rebuilds();
    rebuild.assert_to_file(jigdo_file_make_image(&out, &tree), "--image");
    rebuild.assert_to_file(make_image(&out, &tree), "-o");
}

#[test]
fn md5_gzip_rebuilt_by_jigit_jigdo_file_and_jigsmith() {
    require!(
        "jigdo-gen-checksum-list",
        "jigit-mkimage",
        "jigdo-file",
        "jigsum",
        "md5sum"
    );
    rebuilt_by_all_three(601, false, false);
}

#[test]
fn sha256_bzip2_rebuilt_by_jigit_jigdo_file_and_jigsmith() {
    require!(
        "jigdo-gen-checksum-list",
        "jigit-mkimage",
        "jigdo-file",
        "jigsum-sha256",
        "md5sum",
        "sha256sum"
    );
    rebuilt_by_all_three(602, true, true);
}

/// Test 2: spaces, `=`, `#`, both quotes, non-ASCII: jigdo-file reads back exactly the
/// names (and digests) of the tree, and jigdo-file and jigsmith rebuild the image.
/// (jigit-mkimage cannot read such names.)
#[test]
fn odd_names_are_quoted_for_jigdo_file() {
    require!("jigdo-gen-checksum-list", "jigdo-file", "jigsum", "md5sum");
    let tree = tricky_tree(603);
    let (_list_dir, list) = list_of(&tree, false);
    let out = Out::new();
    ours(&tree, &list, &out, Opts::default()).ok();
    assert_eq!(
        jigdo_file_parts(&out),
        expected_parts(&tree, false),
        "jigdo-file's reading of\n{}",
        out.jigdo_text()
    );
    let rebuild = out.rebuild(&tree);
    rebuild.assert_to_file(jigdo_file_make_image(&out, &tree), "--image");
    rebuild.assert_to_file(make_image(&out, &tree), "-o");
}

/// Test 3: `-o /dev/null` writes only the .jigdo and .template; they rebuild the image a
/// second run writes with `-o` (SOURCE_DATE_EPOCH makes the two runs the same image).
#[test]
fn dev_null_writes_only_jigdo_and_template_reproducibly() {
    require!("jigdo-gen-checksum-list", "md5sum");
    let tree = edge_tree(604);
    let (_list_dir, list) = list_of(&tree, false);
    let (first, second) = (Out::new(), Out::new());
    let mut cmd = mkisofs(
        jigsmith(["mkisofs"]),
        &tree,
        &list,
        Path::new("/dev/null"),
        &first,
        Opts::default(),
    );
    cmd.env("SOURCE_DATE_EPOCH", "1700000000").ok();
    assert_eq!(dir_entries(first.dir.path()), ["img.jigdo", "img.template"]);
    let mut cmd = ours(&tree, &list, &second, Opts::default());
    cmd.env("SOURCE_DATE_EPOCH", "1700000000").ok();

    assert_eq!(
        image_hex(&first.jigdo_text(), "MD5Sum"),
        md5_hex(&second.iso),
        "the -o /dev/null run describes another image"
    );
    assert_same_file(
        &first.template,
        &second.template,
        "template of a second run",
    );
    second
        .rebuild(&tree)
        .assert_to_file(make_image(&first, &tree), "-o");
}

/// Test 4: a file under a `-jigdo-force-md5` path whose checksum is not in the list
/// (corrupted after the list was made, or never listed): non-zero exit, the file named,
/// and nothing at all in the output directory.
#[test]
fn force_md5_mismatch_fails_and_leaves_nothing() {
    require!("jigdo-gen-checksum-list");
    let tree = TreeBuilder::new(605)
        .file("pool/ok.bin", 5000)
        .file("pool/victim.bin", 9000)
        .unlisted("extra/stray.bin", 7000)
        .file("small", 10)
        .build();
    let (_list_dir, list) = list_of(&tree, false);
    tree.corrupt("pool/victim.bin");
    for (forced, needle) in [("pool", "victim.bin"), ("extra", "stray.bin")] {
        let out = Out::new();
        let force = p(&tree.path(forced));
        let extra = ["-jigdo-force-md5", force.as_str()];
        let mut cmd = ours(
            &tree,
            &list,
            &out,
            Opts {
                extra: &extra,
                ..Opts::default()
            },
        );
        let result = cmd.fails();
        assert_stderr_names(&cmd, &result, needle);
        let left = dir_entries(out.dir.path());
        assert!(left.is_empty(), "failed run left {left:?} behind");
    }
}

/// A disk that fills up while the ISO is written: the error is named, the exit is
/// non-zero, and none of the three outputs (nor a temporary file) is left behind.
#[test]
fn full_disk_leaves_nothing() {
    require!("jigdo-gen-checksum-list");
    let tree = TreeBuilder::new(606)
        .file("pool/big.bin", 3 << 20)
        .file("pool/small.bin", 5000)
        .build();
    let (_list_dir, list) = list_of(&tree, false);
    let Some(disk) = SmallDisk::mount(1024) else {
        return;
    };
    let dir = disk.path();
    let out = Out {
        dir: temp_dir(),
        iso: dir.join("img.iso"),
        jigdo: dir.join("img.jigdo"),
        template: dir.join("img.template"),
    };
    let mut cmd = ours(&tree, &list, &out, Opts::default());
    let result = cmd.fails();
    assert_stderr_names(&cmd, &result, "No space left on device");
    let left = dir_entries(dir);
    assert!(left.is_empty(), "failed run left {left:?} on the full disk");
}

/// Runs xorriso and jigsmith with the same options; returns (xorriso's, ours).
fn both(tree: &Tree, o: Opts) -> (Out, Out) {
    let (_list_dir, list) = list_of(tree, o.sha256);
    let (theirs, mine) = (Out::new(), Out::new());
    xorriso(tree, &list, &theirs, o).ok();
    ours(tree, &list, &mine, o).ok();
    (theirs, mine)
}

/// Test 5: `-jigdo-exclude` and `-jigdo-min-file-size 0` put the same files in `[Parts]`
/// as xorriso does.
#[test]
fn exclude_and_min_size_zero_like_xorriso() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let tree = TreeBuilder::new(606)
        .file("empty", 0)
        .file("one.bin", 1)
        .file("k1023.bin", 1023)
        .file("k1024.bin", 1024)
        .file("keep/a.bin", 5000)
        .file("skip/b.bin", 5000)
        .file("skip-me.bin", 3000)
        .build();
    for extra in [
        &["-jigdo-exclude", "skip"][..],
        &["-jigdo-min-file-size", "0"],
        &["-jigdo-min-file-size", "0", "-jigdo-exclude", "me\\.bin$"],
    ] {
        let (theirs, mine) = both(
            &tree,
            Opts {
                extra,
                ..Opts::default()
            },
        );
        let ours = raw_parts(&mine.jigdo_text());
        assert_eq!(
            ours,
            raw_parts(&theirs.jigdo_text()),
            "[Parts] with {extra:?}"
        );
        if extra.contains(&"-jigdo-exclude") {
            assert!(
                !ours.iter().any(|l| l.contains("skip-me")),
                "{extra:?}: {ours:?}"
            );
        }
    }
}

/// `bsdtar -tf`, sorted.
fn listing(iso: &Path) -> Vec<String> {
    let out = tool("bsdtar", ["-tf"]).arg(iso).ok();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// Test 6: for the same tree (odd names too) and options, the same `[Parts]` as xorriso
/// (ours read back by jigdo-file, which unquotes; xorriso writes names unquoted) and
/// images holding the same files.
#[test]
fn same_parts_and_files_as_xorriso() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file", "bsdtar");
    let tree = tricky_tree(607);
    let (theirs, mine) = both(&tree, Opts::default());
    let theirs_parts = raw_parts(&theirs.jigdo_text());
    assert_eq!(
        jigdo_file_parts(&mine),
        theirs_parts,
        "ours:\n{}",
        mine.jigdo_text()
    );
    assert_eq!(raw_parts(&mine.jigdo_text()).len(), theirs_parts.len());
    assert_eq!(listing(&mine.iso), listing(&theirs.iso), "bsdtar -tf");
}

/// Issue 11: `-jigdo-template-compress xz|zstd` writes templates that jigsmith rebuilds
/// bit for bit, whole and by ranges, and that the old tools refuse rather than misread;
/// the note that says so is printed.
#[test]
fn xz_and_zstd_templates_rebuild_with_jigsmith_only() {
    require!("jigdo-gen-checksum-list", "jigit-mkimage");
    let tree = edge_tree(603);
    let (_list_dir, list) = list_of(&tree, false);
    for compression in ["xz", "zstd"] {
        let out = Out::new();
        let run = ours(
            &tree,
            &list,
            &out,
            Opts {
                extra: &["-jigdo-template-compress", compression],
                ..Opts::default()
            },
        )
        .ok();
        let note = String::from_utf8_lossy(&run.stderr);
        assert!(note.contains("jigsmith only"), "{compression}: {note}");
        let dump = jigsmith(["jigdump"]).arg(&out.template).ok();
        let dump = String::from_utf8_lossy(&dump.stdout);
        assert!(
            dump.contains(&format!("{compression} data block")),
            "{compression}: {dump}"
        );
        let rebuild = out.rebuild(&tree);
        rebuild.assert_to_file(make_image(&out, &tree), "-o");
        let len = file_len(&out.iso);
        for (start, end) in [(0, 99), (32768, 40000), (len - 5000, len - 1), (7, len - 8)] {
            let mut cmd = make_image(&out, &tree);
            cmd.arg("--range").arg(format!("{start}-{end}"));
            let got = cmd.ok().stdout;
            assert_eq!(
                got,
                crate::support::slice_of(&out.iso, start, end),
                "{compression}: range {start}-{end}"
            );
        }
        let mut jigit = tool("jigit-mkimage", [] as [&str; 0]);
        rebuild.jigit_args(&mut jigit);
        let dir = temp_dir();
        jigit.arg("-o").arg(dir.path().join("x.iso"));
        assert!(
            !jigit.output_of().status.success(),
            "{compression}: jigit-mkimage accepted a template it cannot read"
        );
    }
}
