//! jigdo-mirror (issue 10), the unchanged script from the jigdo-file
//! package, with jigsmith's jigdo-file first on `PATH`: it finds the .jigdo
//! files under `jigdoDir`, checks each template's MD5 (`md5sum
//! --report=quiet`), pipes `print-missing-all --uri Debian='file:MIRROR/'`
//! (its paths) into `make-image --files-from=-`, runs `verify` and moves the
//! image into `imageDir`. The mirror is a local tree (`file:`), so nothing
//! is downloaded. The same runs with the real jigdo-file must log the same
//! lines (but for the timestamps).
//!
//! The script sources its config after it has set `jigdoFile` from the
//! default `tmpDir`, so the config sets `jigdoFile` again, to the script's
//! own default line (`--cache=$tmpDir/jigdo-cache.db ... --no-check-files`).
//! Its `exitCode` is set in a pipeline's subshell, so it exits 0 whatever
//! happened: the outcome is read from `imageDir` and the log.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::fixture::{p, Jte};
use crate::support::{
    assert_same_file, dir_entries, personality_links, read, require, temp_dir, tool, write, Run,
};
use crate::tree::{plain_tree, Tree};

/// The image's directory under `jigdoDir` (and so under `imageDir`).
const REL: &str = "release/amd64";
const IMAGE: &str = "demo-1.iso";
/// A part of the image no other file of the tree has the bytes of.
const VICTIM: &str = "victim.bin";

/// A mirror tree, an image made of it, and a jigdo-mirror set-up: the .jigdo
/// and .template under `jigdo/REL/`, `images/`, `tmp/` and the config.
struct Site {
    tree: Tree,
    built: crate::fixture::Iso,
    dir: tempfile::TempDir,
    links: tempfile::TempDir,
}

impl Site {
    fn new(seed: u64) -> Site {
        let tree = plain_tree(seed);
        let built = Jte::xorriso().build(&tree);
        let site = Site {
            built,
            tree,
            dir: temp_dir(),
            links: personality_links(&["jigdo-file"]),
        };
        let jigdo_dir = site.path(&format!("jigdo/{REL}"));
        std::fs::create_dir_all(&jigdo_dir).unwrap();
        std::os::unix::fs::symlink(&site.built.iso, jigdo_dir.join(IMAGE)).unwrap();
        let root = p(&site.tree.root);
        // the .jigdo's own server is a directory that is not there: only
        // the --uri jigdo-mirror passes (debianMirror) finds the parts
        let gone = format!("file:{}/", p(&site.path("gone")));
        tool(
            "jigdo-file",
            [
                "make-template",
                "-r",
                "quiet",
                "-i",
                IMAGE,
                "-j",
                "demo-1.jigdo",
                "-t",
                "demo-1.template",
                "--label",
                &format!("Debian={root}"),
                "--uri",
                &format!("Debian={gone}"),
                &format!("{root}//"),
            ],
        )
        .current_dir(&jigdo_dir)
        .ok();
        std::fs::remove_file(jigdo_dir.join(IMAGE)).unwrap();
        let jigdo = String::from_utf8(read(&jigdo_dir.join("demo-1.jigdo"))).unwrap();
        assert!(
            jigdo.contains(&format!("Debian={gone}")) && jigdo.contains("=Debian:victim.bin"),
            "unexpected .jigdo:\n{jigdo}"
        );
        let d = p(site.dir.path());
        write(
            &site.path("mirror.conf"),
            format!(
                "jigdoDir={d}/jigdo\nimageDir={d}/images\ntmpDir={d}/tmp\n\
                 debianMirror=file:{root}\nnonusMirror=file:{d}/non-US\n\
                 jigdoFile=\"jigdo-file --cache=$tmpDir/jigdo-cache.db --cache-expiry=1w \
                 --report=noprogress --no-check-files\"\n"
            ),
        );
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn image(&self) -> PathBuf {
        self.path(&format!("images/{REL}/{IMAGE}"))
    }

    fn jigdo(&self) -> PathBuf {
        self.path(&format!("jigdo/{REL}/demo-1.jigdo"))
    }

    /// Runs `sh /usr/bin/jigdo-mirror mirror.conf`, with jigsmith's
    /// jigdo-file first on `PATH` if `ours`; returns its log without the
    /// timestamps.
    fn run(&self, ours: bool) -> Vec<String> {
        let mut path = std::env::var("PATH").unwrap_or_default();
        if ours {
            path = format!("{}:{path}", self.links.path().display());
        }
        let out = Command::new("sh")
            .arg(which("jigdo-mirror"))
            .arg(self.path("mirror.conf"))
            .current_dir(self.dir.path())
            .env("PATH", path)
            .ok();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        text.lines().map(|l| untimed(l).to_owned()).collect()
    }

    /// Removes what a run left: the image and the tmp dir with its cache.
    fn clean(&self) {
        for d in ["images", "tmp"] {
            let _ = std::fs::remove_dir_all(self.path(d));
        }
    }

    /// The same run with the real jigdo-file and with jigsmith's, from the
    /// same clean state, logs the same; returns jigsmith's log (its files
    /// stay).
    fn same_as_real(&self) -> Vec<String> {
        self.clean();
        let real = self.run(false);
        self.clean();
        let ours = self.run(true);
        assert_eq!(
            real,
            ours,
            "jigdo-mirror logs differently with jigsmith's jigdo-file\n--- jigdo-file:\n{}\n--- jigsmith:\n{}",
            real.join("\n"),
            ours.join("\n")
        );
        ours
    }

    /// The cache file the run left is jigsmith's (redb), not jigdo-file's
    /// Berkeley DB: the script ran jigsmith's jigdo-file.
    fn assert_ran_jigsmith(&self, log: &[String]) {
        let cache = read(&self.path("tmp/jigdo-cache.db"));
        assert!(
            cache.starts_with(b"redb"),
            "jigdo-mirror ran the real jigdo-file:\n{}",
            log.join("\n")
        );
    }

    /// Sets the .jigdo's mtime after the image's, so the next run remakes
    /// the image (`jigdo is newer`).
    fn touch_jigdo_after_image(&self) {
        let t = mtime(&self.image()) + Duration::from_secs(10);
        set_mtime(&self.jigdo(), t);
    }
}

/// A log line without jigdo-mirror's `YYYY-MM-DD HH:MM:SS: ` prefix.
fn untimed(line: &str) -> &str {
    let b = line.as_bytes();
    let stamped = b.len() >= 21
        && b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
        && &b[19..21] == b": ";
    if stamped {
        &line[21..]
    } else {
        line
    }
}

fn has(log: &[String], line: &str) -> bool {
    log.iter().any(|l| l == line)
}

/// Asserts that each of `lines` is a whole line of `log`.
fn assert_has_lines<S: AsRef<str>>(log: &[String], lines: &[S]) {
    for line in lines {
        let line = line.as_ref();
        assert!(
            has(log, line),
            "no {line:?} in the log:\n{}",
            log.join("\n")
        );
    }
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn which(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|c| c.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}

/// The image appears in imageDir, byte for byte the original; a second
/// run leaves it alone; a newer .jigdo remakes it through the cache.
#[test]
fn jigdo_mirror_runs_unchanged_with_jigsmith_jigdo_file() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigdo-file",
        "jigdo-mirror"
    );
    let site = Site::new(1101);
    let log = site.same_as_real();
    assert_same_file(&site.image(), &site.built.iso, "jigdo-mirror's image");
    assert_has_lines(
        &log,
        &[
            format!("    Attempting to create `$imageDir/{REL}/{IMAGE}'"),
            format!("    Found template `$templateDir/{REL}/demo-1.template'"),
            "    Template checksum is correct".to_owned(),
            "Successfully created `image'".to_owned(),
            "OK: MD5 Checksums match, image is good!".to_owned(),
            "    Image checksum is correct, moving image into place".to_owned(),
        ],
    );
    site.assert_ran_jigsmith(&log);
    // the work files are gone, the cache stays
    assert_eq!(dir_entries(&site.path("tmp")), ["jigdo-cache.db"]);

    // again: up to date, nothing done (jigdo-file is not even run)
    let before = mtime(&site.image());
    let again = site.run(true);
    assert!(
        has(
            &again,
            &format!("    `$imageDir/{REL}/{IMAGE}' is up to date")
        ),
        "{}",
        again.join("\n")
    );
    assert_eq!(mtime(&site.image()), before, "the image was touched");
    assert_same_file(
        &site.image(),
        &site.built.iso,
        "the image after a second run",
    );

    // a newer .jigdo: the image is removed and made again, the template's
    // MD5 and the parts' from the cache (jigdo-file 0.8.0 reads wrong sums
    // from its own cache and gives up at `template checksum mismatch')
    site.touch_jigdo_after_image();
    let remade = site.run(true);
    assert_has_lines(
        &remade,
        &[
            format!("    jigdo is newer - updating `$imageDir/{REL}/{IMAGE}'"),
            "    Template checksum is correct".to_owned(),
            "    Image checksum is correct, moving image into place".to_owned(),
        ],
    );
    assert_same_file(&site.image(), &site.built.iso, "the image made again");
    assert_eq!(dir_entries(&site.path("tmp")), ["jigdo-cache.db"]);
}

/// A part on the mirror is corrupt: no image, with either jigdo-file. A
/// fresh run (no cache) does not find the part, so the image is not made
/// and the script lists what is missing; a run whose cache still has the
/// part's old sums (same size and mtime: bit rot) writes a wrong image
/// (`--no-check-files`), which `verify` rejects, so it is not moved.
#[test]
fn jigdo_mirror_makes_no_image_from_a_corrupt_mirror() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigdo-file",
        "jigdo-mirror"
    );
    let site = Site::new(1102);
    let victim = site.tree.path(VICTIM);

    // first good, filling jigsmith's cache; then the victim rots in place
    site.clean();
    site.run(true);
    assert_same_file(&site.image(), &site.built.iso, "jigdo-mirror's image");
    let stamp = mtime(&victim);
    site.tree.corrupt(VICTIM);
    set_mtime(&victim, stamp);
    site.touch_jigdo_after_image();
    let stale = site.run(true);
    let show = || stale.join("\n");
    assert_has_lines(
        &stale,
        &[
            format!("    jigdo is newer - updating `$imageDir/{REL}/{IMAGE}'"),
            "    Template checksum is correct".to_owned(),
            "ERROR: Checksums do not match, image might be corrupted!".to_owned(),
            "    Error - image checksum mismatch".to_owned(),
        ],
    );
    assert!(!site.image().exists(), "a wrong image:\n{}", show());
    site.assert_ran_jigsmith(&stale);
    assert_eq!(dir_entries(&site.path("tmp")), ["jigdo-cache.db"]);

    // no cache: both jigdo-files find all parts but the victim
    let log = site.same_as_real();
    let show = || log.join("\n");
    assert_has_lines(
        &log,
        &[
            format!("    Attempting to create `$imageDir/{REL}/{IMAGE}'"),
            "Copied input files to temporary file `image.tmp' - repeat command and supply more files to continue".to_owned(),
            "    Image creation failed, list of missing files follows".to_owned(),
            p(&victim),
        ],
    );
    assert!(!site.image().exists(), "a wrong image:\n{}", show());
    assert!(!site.path(&format!("images/{REL}")).exists(), "{}", show());
    site.assert_ran_jigsmith(&log);
    assert_eq!(dir_entries(&site.path("tmp")), ["jigdo-cache.db"]);
}

/// The part rots under the cache and the files are checked as they are
/// copied (a config without `--no-check-files`): as jigdo-file, make-image
/// says the file does not match, copies it in but leaves its part needed in
/// `IMAGE.tmp`, and exits 2 (jigdo-mirror: `Error merging data`; jigdo-lite
/// goes on, as it only gives up at 3); the real jigdo-file finishes that
/// `.tmp` from a good copy.
#[test]
fn a_part_rotted_under_the_cache_is_left_needed_as_by_jigdo_file() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigdo-file",
        "jigdo-mirror"
    );
    let site = Site::new(1103);
    let victim = site.tree.path(VICTIM);
    let good = site.path("good-victim.bin");
    std::fs::copy(&victim, &good).unwrap();
    site.clean();
    site.run(true);
    assert_same_file(&site.image(), &site.built.iso, "jigdo-mirror's image");
    let stamp = mtime(&victim);
    site.tree.corrupt(VICTIM);
    set_mtime(&victim, stamp);
    let conf = String::from_utf8(read(&site.path("mirror.conf"))).unwrap();
    write(
        &site.path("mirror.conf"),
        conf.replace(" --no-check-files", ""),
    );
    site.touch_jigdo_after_image();
    let log = site.run(true);
    let show = || log.join("\n");
    let bad = format!(
        "Error: `{}' does not match checksum in template data",
        p(&victim)
    );
    assert_has_lines(
        &log,
        &[&bad, "    Error merging data from local filesystem"],
    );
    assert!(!site.image().exists(), "a wrong image:\n{}", show());

    // make-image itself, through the same cache
    let ours = site.links.path().join("jigdo-file");
    let template = site.path(&format!("jigdo/{REL}/demo-1.template"));
    let make_image = |program: &Path, image: &str, files: &[PathBuf]| {
        let out = Command::new(program)
            .args(["make-image", "-r", "noprogress", "--cache"])
            .arg(site.path("tmp/jigdo-cache.db"))
            .arg("-i")
            .arg(image)
            .arg("-t")
            .arg(&template)
            .args(files)
            .current_dir(site.dir.path())
            .output_of();
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), text)
    };
    let all = site.tree.all_paths();
    // the victim alone, then everything: a .tmp, exit 2 and no "repeat"
    // line; everything at once: the same
    for (image, files) in [
        ("a.iso", vec![victim.clone()]),
        ("a.iso", all.clone()),
        ("b.iso", all.clone()),
    ] {
        let (code, text) = make_image(&ours, image, &files);
        assert_eq!(code, Some(2), "{image}:\n{text}");
        assert!(text.lines().any(|l| l == bad), "{image}:\n{text}");
        assert!(!text.contains("repeat command"), "{image}:\n{text}");
        assert!(site.path(&format!("{image}.tmp")).is_file(), "{text}");
        assert!(!site.path(image).exists(), "{image}:\n{text}");
    }
    let (code, text) = make_image(Path::new("jigdo-file"), "b.iso", &[good]);
    assert_eq!(code, Some(0), "jigdo-file finishing b.iso.tmp:\n{text}");
    assert_same_file(&site.path("b.iso"), &site.built.iso, "b.iso");
}
