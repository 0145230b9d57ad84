//! `jigsmith mkjigsnap` against jigit's mkjigsnap (issue 10): the same .jigdo files
//! (written by `jigsmith mkisofs`, one MD5 and one SHA-256) and mirror, the same
//! snapshot tree of hard links and the same output (time stamps aside); an image
//! rebuilt by jigit-mkimage from the snapshot alone; a corrupt and a missing file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture::{checksum_list, p, LABEL};
use crate::support::{
    assert_same_file, jigsmith, personality_links, require, temp_dir, tool, write, Run,
};
use crate::tree::{Tree, TreeBuilder};

fn tree() -> Tree {
    TreeBuilder::new(1010)
        .file("pool/main/a/alpha_1.0_all.deb", 70_000)
        .file("pool/main/b/beta_2.0_amd64.deb", 40_000)
        .file("pool/main/c/gamma_3_all.deb", 5_000)
        .file("pool/contrib/d/delta_4_all.deb", 9_000)
        .file("docs/readme.txt", 3_000)
        .file("victim.bin", 9_000)
        .file("gone.bin", 4_000)
        .dup(
            "pool/main/a/alpha-copy.deb",
            "pool/main/a/alpha_1.0_all.deb",
        )
        .unlisted("unlisted.bin", 50_000)
        .build()
}

/// An image of the tree and its .jigdo/.template by `jigsmith mkisofs`.
struct Image {
    iso: PathBuf,
    jigdo: PathBuf,
    template: PathBuf,
}

fn image(tree: &Tree, dir: &Path, name: &str, sha256: bool) -> Image {
    let at = |ext: &str| dir.join(format!("{name}.{ext}"));
    let (iso, jigdo, template, list) = (at("iso"), at("jigdo"), at("template"), at("list"));
    write(&list, checksum_list(&tree.listed_paths(), sha256));
    let mut cmd = jigsmith(["mkisofs", "-r", "-V", "SNAP", "-o"]);
    cmd.arg(&iso);
    if sha256 {
        cmd.args(["-jigdo-checksum-algorithm", "sha256", "-checksum-list"]);
    } else {
        cmd.arg("-md5-list");
    }
    cmd.arg(&list)
        .arg("-jigdo-jigdo")
        .arg(&jigdo)
        .arg("-jigdo-template")
        .arg(&template)
        .arg("-jigdo-map")
        .arg(format!("{LABEL}={}/", p(&tree.root)))
        .arg(&tree.root)
        .ok();
    Image {
        iso,
        jigdo,
        template,
    }
}

/// `PROGRAM -m TREE -k Deb -d SNAP -j A -j B [extra]`.
fn snap(
    program: Command,
    tree: &Tree,
    snapshot: &Path,
    images: &[&Image],
    extra: &[&str],
) -> Command {
    let mut cmd = program;
    cmd.arg("-m")
        .arg(&tree.root)
        .args(["-k", LABEL])
        .arg("-d")
        .arg(snapshot);
    for i in images {
        cmd.arg("-j").arg(&i.jigdo);
    }
    cmd.args(extra);
    cmd
}

fn real() -> Command {
    tool("mkjigsnap", [] as [&str; 0])
}

fn ours() -> Command {
    jigsmith(["mkjigsnap"])
}

/// stdout with the `date -u` stamps and the snapshot directory's own path made neutral.
fn normalised(stdout: &[u8], snapshot: &Path) -> String {
    let text = String::from_utf8_lossy(stdout).replace(&p(snapshot), "SNAP");
    text.lines()
        .map(|l| match l.find(" UTC ") {
            Some(at) if l.len() > at + 10 && l.as_bytes()[at + 9] == b':' => {
                format!("DATE{}", &l[at + 9..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Relative path → inode of every file under `dir`.
fn files_in(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::metadata(&path).unwrap().ino()));
            }
        }
    }
    out.sort();
    out
}

fn ino(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn same_tree_and_output_as_mkjigsnap_and_the_snapshot_rebuilds_the_image() {
    require!(
        "mkjigsnap",
        "jigit-mkimage",
        "jigsum",
        "jigdo-gen-checksum-list"
    );
    let tree = tree();
    let work = temp_dir();
    let md5 = image(&tree, work.path(), "md5", false);
    let sha = image(&tree, work.path(), "sha", true);
    let (real_snap, our_snap) = (work.path().join("real"), work.path().join("ours"));
    for s in [&real_snap, &our_snap] {
        // a file of an image no longer published: both must remove it
        write(&s.join("pool/old/stale_0.1_all.deb"), b"old");
    }
    let r = snap(real(), &tree, &real_snap, &[&md5, &sha], &[]).ok();
    let o = snap(ours(), &tree, &our_snap, &[&md5, &sha], &[]).ok();
    assert_eq!(
        normalised(&o.stdout, &our_snap),
        normalised(&r.stdout, &real_snap),
        "stdout differs"
    );
    let text = normalised(&o.stdout, &our_snap);
    assert!(
        text.contains("found 16 total, 8 unique file refs in 2 jigdo files"),
        "{text}"
    );
    assert!(text.contains("  Finished: 1 old files removed"), "{text}");
    // the same names, each a hard link to the mirror's file
    let (rf, of) = (files_in(&real_snap), files_in(&our_snap));
    let names = |v: &[(String, u64)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&of), names(&rf));
    assert_eq!(of.len(), 8);
    for (rel, inode) in &of {
        assert_eq!(
            *inode,
            ino(&tree.path(rel)),
            "{rel} is not a link to the mirror's file"
        );
    }
    // the snapshot alone rebuilds both images, by jigit-mkimage
    for img in [&md5, &sha] {
        let out = work.path().join("rebuilt.iso");
        let mut cmd = tool("jigit-mkimage", ["-j"]);
        cmd.arg(&img.jigdo)
            .arg("-t")
            .arg(&img.template)
            .arg("-m")
            .arg(format!("{LABEL}={}", p(&our_snap)))
            .arg("-o")
            .arg(&out)
            .ok();
        assert_same_file(&out, &img.iso, "rebuilt from the snapshot");
    }
    // a second run finds everything in place and changes nothing
    let again = snap(ours(), &tree, &our_snap, &[&md5, &sha], &[]).ok();
    let text = normalised(&again.stdout, &our_snap);
    assert!(
        text.contains("  Finished: 8/8, 0 failed, 0 ck_failed, ignored 0"),
        "{text}"
    );
    assert_eq!(files_in(&our_snap), of);
    // the link name works too, and a usage error exits 255 as mkjigsnap's die does
    let links = personality_links(&["mkjigsnap"]);
    let mut cmd = Command::new(links.path().join("mkjigsnap"));
    cmd.args(["-k", LABEL, "-m", "/nonexistent"]);
    let out = cmd.fails();
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "You must specify the snapshot directory name!"
    );
}

#[test]
fn a_corrupt_file_is_reported_and_not_linked_a_missing_one_is_listed() {
    require!("mkjigsnap", "jigsum", "jigdo-gen-checksum-list");
    let tree = tree();
    let work = temp_dir();
    let md5 = image(&tree, work.path(), "md5", false);
    tree.corrupt("victim.bin");
    tree.remove("gone.bin");
    let (real_snap, our_snap, plain_snap) = (
        work.path().join("real"),
        work.path().join("ours"),
        work.path().join("plain"),
    );
    let log = |name: &str| work.path().join(name);
    let fail = |name: &str| p(&log(name));
    let (rl, ol) = (fail("real.failed"), fail("ours.failed"));
    let r = snap(real(), &tree, &real_snap, &[&md5], &["-c", "-f", &rl]).ok();
    let o = snap(ours(), &tree, &our_snap, &[&md5], &["-c", "-f", &ol]).ok();
    let (rt, ot) = (
        normalised(&r.stdout, &real_snap),
        normalised(&o.stdout, &our_snap),
    );
    // both report the bad checksum; mkjigsnap links the bad file anyway, jigsmith does not
    assert!(rt.contains("\nChecksum failure: victim.bin\n"), "{rt}");
    assert!(ot.contains("\nChecksum failure: victim.bin\n"), "{ot}");
    assert!(real_snap.join("victim.bin").exists());
    assert!(!our_snap.join("victim.bin").exists());
    assert!(
        rt.contains("  Finished: 8/8, 1 failed, 1 ck_failed, ignored 0"),
        "{rt}"
    );
    assert!(
        ot.contains("  Finished: 8/8, 2 failed, 1 ck_failed, ignored 0"),
        "{ot}"
    );
    // the missing file is in both fail logs; jigsmith's also lists the corrupt one
    assert_eq!(
        std::fs::read_to_string(log("real.failed")).unwrap(),
        "gone.bin\n"
    );
    assert_eq!(
        std::fs::read_to_string(log("ours.failed")).unwrap(),
        "gone.bin\nvictim.bin\n"
    );
    // everything else is the same
    let good = |dir: &Path| {
        files_in(dir)
            .into_iter()
            .filter(|(n, _)| n != "victim.bin")
            .collect::<Vec<_>>()
    };
    assert_eq!(good(&our_snap), good(&real_snap));
    // without -c, jigsmith still checks what enters the snapshot; no -f: named on stdout
    let plain = snap(ours(), &tree, &plain_snap, &[&md5], &[]).ok();
    let text = normalised(&plain.stdout, &plain_snap);
    assert!(text.contains("\nChecksum failure: victim.bin\n"), "{text}");
    assert!(
        text.contains("\nFailed to create link SNAP/gone.bin\n"),
        "{text}"
    );
    assert!(!plain_snap.join("victim.bin").exists());
    assert_eq!(files_in(&plain_snap).len(), 6);
}

/// Gunzipped bytes of a file (`zcat`).
fn gunzip(path: &Path) -> Vec<u8> {
    tool("zcat", [path]).ok().stdout
}

/// jigit 1.22's own single-jigdo mode dies after the snapshot (it calls a `close`
/// method Compress::Zlib's gzFile does not have), so jigsmith's is checked against
/// what that code means to write.
#[test]
fn single_jigdo_mode_writes_the_jigdo_template_and_conf() {
    require!("jigdo-gen-checksum-list", "zcat");
    let tree = tree();
    let work = temp_dir();
    let md5 = image(&tree, work.path(), "md5", false);
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut cmd = snap(ours(), &tree, Path::new("snap-1"), &[&md5], &[]);
    cmd.args(["-n", "cd1", "-t"])
        .arg(&md5.template)
        .arg("-o")
        .arg(&out);
    let text = normalised(&cmd.ok().stdout, &out);
    assert!(
        text.contains("Trying to snapshot-link 8 files into SNAP/snap-1"),
        "{text}"
    );
    assert!(
        text.ends_with("Jigdo files, config and snapshot made in SNAP"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("cd1.conf")).unwrap(),
        format!(
            "JIGDO=cd1.jigdo\nTEMPLATE=cd1.template\nSNAPSHOT=snapshot/{}/snap-1\n",
            p(&out)
        )
    );
    assert_eq!(
        crate::support::read(&out.join("cd1.template")),
        crate::support::read(&md5.template)
    );
    let original = String::from_utf8(crate::support::read(&md5.jigdo)).unwrap();
    let expected: String = original
        .split_inclusive('\n')
        .map(|l| {
            if l.starts_with("Template=") {
                "Template=cd1.template\n"
            } else {
                l
            }
        })
        .collect();
    assert_ne!(expected, original);
    assert_eq!(
        String::from_utf8(gunzip(&out.join("cd1.jigdo"))).unwrap(),
        expected
    );
    assert_eq!(files_in(&out.join("snap-1")).len(), 8);
}

#[test]
fn fail_log_backrefs_ignore_list_and_checksum_list_match_mkjigsnap() {
    require!("mkjigsnap", "jigdo-gen-checksum-list");
    let tree = tree();
    let work = temp_dir();
    let md5 = image(&tree, work.path(), "md5", false);
    let sha = image(&tree, work.path(), "sha", true);
    tree.remove("gone.bin");
    tree.remove("docs/readme.txt");
    let ignore = work.path().join("ignore.list");
    write(&ignore, "docs/readme.txt\n");
    let mut outputs = Vec::new();
    for (who, program) in [("real", real()), ("ours", ours())] {
        let at = |ext: &str| p(&work.path().join(format!("{who}.{ext}")));
        let snapshot = work.path().join(format!("{who}-snap"));
        let (f, b, c) = (at("failed"), at("backref"), at("sums"));
        let extra = ["-f", &f, "-b", &b, "-i", &p(&ignore), "-C", &c];
        let out = snap(program, &tree, &snapshot, &[&md5, &sha], &extra).ok();
        let text = normalised(&out.stdout, &snapshot).replace(&p(work.path()), "WORK");
        let files: Vec<Vec<u8>> = [f, b, c]
            .iter()
            .map(|f| crate::support::read(Path::new(f)))
            .collect();
        outputs.push((text.replace(&format!("WORK/{who}."), "WORK/X."), files));
    }
    let (ours, real) = (&outputs[1], &outputs[0]);
    assert_eq!(ours.0, real.0, "stdout");
    assert!(ours.0.contains("ignored 1"), "{}", ours.0);
    for (i, what) in ["fail log", "backrefs", "checksum list"].iter().enumerate() {
        assert_eq!(
            String::from_utf8_lossy(&ours.1[i]),
            String::from_utf8_lossy(&real.1[i]),
            "{what}"
        );
    }
    assert_eq!(String::from_utf8_lossy(&ours.1[0]), "gone.bin\n");
}

/// A mirror on another file system (a tmpfs): hard links are impossible (EXDEV), so the
/// files are copied, each checked; mkjigsnap would report every one as failed.
#[test]
fn across_file_systems_files_are_copied() {
    require!("jigdo-gen-checksum-list");
    let Some(disk) = crate::support::SmallDisk::mount(4096) else {
        return;
    };
    let tree = tree();
    let work = temp_dir();
    let md5 = image(&tree, work.path(), "md5", false);
    let mirror = disk.path().join("mirror");
    for e in &tree.entries {
        write(
            &mirror.join(&e.rel),
            crate::support::read(&tree.path(&e.rel)),
        );
    }
    let snapshot = work.path().join("snap");
    let mut cmd = ours();
    cmd.arg("-m")
        .arg(&mirror)
        .args(["-k", LABEL, "-d"])
        .arg(&snapshot)
        .arg("-j")
        .arg(&md5.jigdo);
    let text = normalised(&cmd.ok().stdout, &snapshot);
    assert!(
        text.contains("  Finished: 8/8, 0 failed, 0 ck_failed, ignored 0"),
        "{text}"
    );
    for (rel, inode) in files_in(&snapshot) {
        assert_ne!(inode, ino(&mirror.join(&rel)), "{rel} cannot be a link");
        assert_eq!(
            crate::support::read(&snapshot.join(&rel)),
            crate::support::read(&tree.path(&rel)),
            "{rel}"
        );
    }
    assert_eq!(files_in(&snapshot).len(), 8);
}
