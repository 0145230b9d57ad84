//! The jigdo-file personality (issue 10) against the real jigdo-file: the
//! same command runs in two copies of a work directory, one with
//! `jigdo-file`, one with jigsmith through a link of that name; exit codes,
//! stdout, stderr and the files written (`.tmp` images included) must be
//! identical. Progress lines are jigdo-file's own, so commands run with
//! `--report=noprogress` or `quiet`. Last, jigdo-lite (the unchanged
//! script) downloads an image from a loopback mirror with jigsmith's
//! jigdo-file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::fixture::{p, Iso, Jte};
use crate::support::{
    personality_links, read, require, temp_dir, tool, write, LoopbackMirror, Run,
};
use crate::tree::{plain_tree, tricky_tree, Tree};

/// Two work directories with the same inputs: `mirror` (a link to the
/// tree), `image.iso`, and the .jigdo/.template jigdo-file made of them
/// with names relative to the work directory (`mirror//`).
struct Twins {
    tree: Tree,
    built: Iso,
    real: tempfile::TempDir,
    ours: tempfile::TempDir,
    links: tempfile::TempDir,
}

impl Twins {
    fn new(seed: u64) -> Twins {
        let tree = tricky_tree(seed);
        let built = Jte::xorriso().build(&tree);
        let twins = Twins {
            tree,
            built,
            real: temp_dir(),
            ours: temp_dir(),
            links: personality_links(&["jigdo-file"]),
        };
        for dir in [twins.real.path(), twins.ours.path()] {
            std::os::unix::fs::symlink(&twins.tree.root, dir.join("mirror")).unwrap();
            std::os::unix::fs::symlink(&twins.built.iso, dir.join("image.iso")).unwrap();
        }
        for (name, alg) in [("image", "md5"), ("sha", "sha256")] {
            tool(
                "jigdo-file",
                [
                    "make-template",
                    "-r",
                    "quiet",
                    "-C",
                    alg,
                    "-i",
                    "image.iso",
                    "-j",
                    &format!("{name}.jigdo"),
                    "-t",
                    &format!("{name}.template"),
                    "--label",
                    "Deb=mirror",
                    "mirror//",
                ],
            )
            .current_dir(twins.real.path())
            .ok();
            for ext in ["jigdo", "template"] {
                let f = format!("{name}.{ext}");
                std::fs::copy(twins.real.path().join(&f), twins.ours.path().join(&f)).unwrap();
            }
        }
        twins
    }

    fn ours_bin(&self) -> PathBuf {
        self.links.path().join("jigdo-file")
    }

    /// Runs `jigdo-file ARGS` in both directories (with `stdin` fed to
    /// both) and asserts the same exit code, stdout and stderr.
    fn same(&self, args: &[&str], stdin: &[u8]) -> Output {
        let run = |program: &Path, dir: &Path| {
            let mut cmd = Command::new(program);
            cmd.args(args)
                .current_dir(dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let mut input = child.stdin.take().unwrap();
            // a command that does not read stdin may close it early
            let _ = input.write_all(stdin);
            drop(input);
            child.wait_with_output().unwrap()
        };
        let real = run(Path::new("jigdo-file"), self.real.path());
        let ours = run(&self.ours_bin(), self.ours.path());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let show = |o: &Output| {
            format!(
                "status {:?}\nstdout:\n{}\nstderr:\n{}",
                o.status.code(),
                text(&o.stdout),
                text(&o.stderr)
            )
        };
        assert!(
            real.status.code() == ours.status.code()
                && real.stdout == ours.stdout
                && real.stderr == ours.stderr,
            "jigdo-file {args:?} differs\n--- jigdo-file:\n{}\n--- jigsmith:\n{}",
            show(&real),
            show(&ours)
        );
        ours
    }

    /// Asserts that `name` is the same in both directories (or absent in both).
    fn same_file(&self, name: &str) {
        let (a, b) = (self.real.path().join(name), self.ours.path().join(name));
        assert_eq!(
            a.exists(),
            b.exists(),
            "{name} exists in one directory only"
        );
        if a.exists() {
            assert!(read(&a) == read(&b), "{name} differs from jigdo-file's");
        }
    }
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

#[test]
fn checksums_listings_verify_and_usage_match_jigdo_file() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file");
    let t = Twins::new(1001);
    for report in ["quiet", "grep"] {
        t.same(&["md5sum", "-r", report, "mirror//"], b"");
    }
    t.same(
        &[
            "md5",
            "--report=quiet",
            "--hex",
            "mirror/sub",
            "mirror/victim.bin",
        ],
        b"",
    );
    t.same(&["sha256sum", "-rquiet", "mirror//", "no such file"], b"");
    t.same(&["sha256", "-r", "quiet", "--hex", "image.template"], b"");
    // names from stdin, up to the first empty line
    t.same(
        &["md5sum", "-r", "quiet", "-T", "-", "mirror/k1024.bin"],
        b"mirror/victim.bin\nmirror/with space.bin\n\nmirror/one.bin\n",
    );
    // an unreadable list is reported, the rest done
    t.same(
        &[
            "md5sum",
            "-r",
            "quiet",
            "-T",
            "no-such.list",
            "mirror/victim.bin",
        ],
        b"",
    );
    for template in ["image.template", "sha.template"] {
        t.same(&["list-template", "-t", template], b"");
        t.same(&["ls", "--hex", "--template", template], b"");
        t.same(
            &[
                "verify",
                "-r",
                "noprogress",
                "-i",
                "image.iso",
                "-t",
                template,
            ],
            b"",
        );
        t.same(
            &["ver", "-r", "quiet", "-i", "image.iso", "-t", template],
            b"",
        );
        t.same(&["ver", "--hex", "-i", "image.iso", "-t", template], b"");
    }
    // -j alone: image and template names are deduced from it
    let ok = t.same(&["verify", "-r", "noprogress", "-j", "image.jigdo"], b"");
    assert_eq!(code(&ok), Some(3), "image.jigdo deduces image `image'");

    // a wrong byte, a short image, a long one
    let mut bad = read(&t.built.iso);
    let at = bad.len() / 2;
    bad[at] ^= 1;
    let short = bad[..bad.len() - 1].to_vec();
    let mut long = read(&t.built.iso);
    long.push(0);
    for (name, bytes) in [("bad.iso", bad), ("short.iso", short), ("long.iso", long)] {
        for dir in [t.real.path(), t.ours.path()] {
            write(&dir.join(name), &bytes);
        }
        let out = t.same(
            &[
                "verify",
                "-r",
                "noprogress",
                "-i",
                name,
                "-t",
                "sha.template",
            ],
            b"",
        );
        assert_eq!(code(&out), Some(2));
    }
    // names deduced from the template: image `image', which is not there
    t.same(&["print-missing", "-t", "image.template"], b"");
    // not a template
    t.same(&["ls", "-t", "mirror/victim.bin"], b"");
    t.same(&["verify", "-i", "image.iso", "-t", "image.jigdo"], b"");

    // usage errors: exit 3 and jigdo-file's words
    for args in [
        &[][..],
        &["frobnicate"],
        &["md5sum", "--no-such-option"],
        &["md5sum", "--report=loud"],
        &["list-template"],
        &["make-image", "-t", "noext"],
        &["verify", "-i", "missing.iso", "-t", "image.template"],
    ] {
        let out = t.same(args, b"");
        assert_eq!(code(&out), Some(3), "{args:?}");
    }
}

/// make-image in steps through `IMAGE.tmp`, print-missing in between,
/// for an MD5 and a SHA-256 template.
#[test]
fn make_image_in_steps_matches_jigdo_file() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file");
    let t = Twins::new(1002);
    for (name, template) in [("md5.iso", "image.template"), ("sha.iso", "sha.template")] {
        let tmp = format!("{name}.tmp");
        let jigdo = template.replace(".template", ".jigdo");
        let mi = |more: &[&str], stdin: &[u8]| {
            let mut args = vec!["make-image", "-r", "noprogress", "-i", name, "-t", template];
            args.extend_from_slice(more);
            let out = t.same(&args, stdin);
            t.same_file(name);
            t.same_file(&tmp);
            out
        };
        let pm = |more: &[&str]| {
            for cmd in ["print-missing", "print-missing-all"] {
                let mut args = vec![cmd, "-i", name, "-j", &jigdo, "-t", template];
                args.extend_from_slice(more);
                t.same(&args, b"");
            }
        };
        // nothing found: no .tmp
        assert_eq!(code(&mi(&["mirror/one.bin"], b"")), Some(1));
        pm(&[]);
        // some files: the .tmp, byte for byte jigdo-file's
        assert_eq!(
            code(&mi(
                &["--cache", "mi.db", "mirror/k1024.bin", "mirror//sub/dir"],
                b""
            )),
            Some(1)
        );
        t.same(&["ls", "-t", &tmp], b"");
        pm(&[]);
        pm(&["--uri", "Deb=http://example.org/deb/"]);
        // the same files again: found 0 of what is left
        assert_eq!(code(&mi(&["mirror/k1024.bin"], b"")), Some(1));
        // more, from stdin
        assert_eq!(
            code(&mi(
                &["--files-from", "-"],
                b"mirror/with space.bin\nmirror/hash#mark.txt\n"
            )),
            Some(1)
        );
        pm(&[]);
        // the rest: the image, checked, renamed from the .tmp
        assert_eq!(code(&mi(&["mirror//"], b"")), Some(0));
        assert!(read(&t.ours.path().join(name)) == read(&t.built.iso));
        pm(&[]);
        // it exists now
        assert_eq!(code(&mi(&["mirror//"], b"")), Some(3));
        // to stdout: only when complete
        let out = t.same(
            &["mi", "-r", "quiet", "-i", "-", "-t", template, "mirror/"],
            b"",
        );
        assert!(out.stdout == read(&t.built.iso), "image on stdout differs");
        let out = t.same(
            &[
                "mi",
                "-r",
                "noprogress",
                "-i",
                "-",
                "-t",
                template,
                "mirror/k1024.bin",
            ],
            b"",
        );
        assert_eq!(code(&out), Some(3));
    }
}

/// make-template: the same matches reported, the same `.jigdo` but for the
/// generator and the template's checksum (jigsmith compresses differently),
/// the same DESC table, and each tool rebuilds the image from the other's.
#[test]
fn make_template_matches_jigdo_file() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file");
    let t = Twins::new(1005);
    let cases: [&[&str]; 5] = [
        &["-r", "noprogress", "--label", "Deb=mirror", "mirror//"],
        &[
            "-r",
            "grep",
            "-C",
            "sha256",
            "mirror//sub",
            "mirror/victim.bin",
        ],
        &[
            "-r",
            "noprogress",
            "--uri",
            "A=http://example.org/a/",
            "mirror/k2048.bin",
            "mirror//sub",
        ],
        &[
            "-r",
            "quiet",
            "--no-servers-section",
            "--min-length",
            "4k",
            "--bzip2",
            "mirror//",
        ],
        &["-r", "noprogress", "--no-image-section", "-T", "-"],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let (jigdo, template) = (format!("t{i}.jigdo"), format!("t{i}.template"));
        let mut args = vec![
            "make-template",
            "-i",
            "image.iso",
            "-j",
            &jigdo,
            "-t",
            &template,
        ];
        args.extend_from_slice(extra);
        let out = t.same(&args, b"mirror/with space.bin\nmirror//sub/dir/deep.bin\n");
        assert_eq!(code(&out), Some(0), "{args:?}");
        assert_eq!(
            jigdo_lines(t.real.path(), &jigdo),
            jigdo_lines(t.ours.path(), &jigdo),
            "{args:?}"
        );
        // jigsmith's rsync64 block is 1024 bytes whatever --min-length
        // (jigdo-file makes it the minimum length): same DESC otherwise
        if !extra.contains(&"--min-length") {
            t.same(&["ls", "-t", &template], b"");
        }
        // each tool rebuilds the image from the other's template
        let image = format!("t{i}.iso");
        let rebuild = |program: &Path, dir: &Path, template: &Path| {
            let mut cmd = Command::new(program);
            cmd.args(["mi", "-r", "quiet", "-i", &image, "-t"])
                .arg(template)
                .arg("mirror/")
                .current_dir(dir);
            cmd.ok();
            assert!(read(&dir.join(&image)) == read(&t.built.iso), "{args:?}");
        };
        rebuild(
            Path::new("jigdo-file"),
            t.real.path(),
            &t.ours.path().join(&template),
        );
        rebuild(&t.ours_bin(), t.ours.path(), &t.real.path().join(&template));
    }
    // the names, an empty line, then the image, all on stdin
    let mut stdin = b"mirror//sub\nmirror//victim.bin\n\n".to_vec();
    stdin.extend(read(&t.built.iso));
    t.same(
        &[
            "mt",
            "-r",
            "noprogress",
            "-i",
            "-",
            "-T",
            "-",
            "-j",
            "s.jigdo",
            "-t",
            "s.template",
        ],
        &stdin,
    );
    assert_eq!(
        jigdo_lines(t.real.path(), "s.jigdo"),
        jigdo_lines(t.ours.path(), "s.jigdo")
    );
    // --merge: a hand-written start, then the result merged into itself
    let start = "# hello\n[Jigdo]\nVersion=1.1\n\n[Image]\nFilename=x.iso\nTemplate-MD5Sum=\n\
                 ShortInfo='short'\n\n[Parts]\nxx=Other:one.deb\n\n[Servers]\nOther=http://o/\n# end\n";
    for dir in [t.real.path(), t.ours.path()] {
        write(&dir.join("start.jigdo"), start);
    }
    for merge in ["start.jigdo", "g.jigdo"] {
        t.same(
            &[
                "mt",
                "-f",
                "-r",
                "quiet",
                "-i",
                "image.iso",
                "-j",
                "g.jigdo",
                "-t",
                "g.template",
                "--merge",
                merge,
                "--label",
                "Deb=mirror",
                "mirror//sub",
                "mirror//k1024.bin",
            ],
            b"",
        );
        assert_eq!(
            jigdo_lines(t.real.path(), "g.jigdo"),
            jigdo_lines(t.ours.path(), "g.jigdo"),
            "--merge {merge}"
        );
    }
    // --match-exec's variables, and the checksum cache
    let exec = r#"echo "$LABEL|$LABELPATH|$MATCHPATH|$LEAF|$MD5SUM|$FILE" >> matches.log"#;
    t.same(
        &[
            "mt",
            "-r",
            "quiet",
            "-i",
            "image.iso",
            "-j",
            "e.jigdo",
            "-t",
            "e.template",
            "--label",
            "Deb=mirror",
            "--match-exec",
            exec,
            "--cache",
            "c.db",
            "mirror//",
        ],
        b"",
    );
    t.same_file("matches.log");
    t.same(
        &[
            "scan",
            "-r",
            "quiet",
            "--cache",
            "c.db",
            "mirror//sub",
            "mirror/victim.bin",
        ],
        b"",
    );
    // md5sum through a fresh cache; jigdo-file 0.8.0 then prints wrong
    // sums from a cache it has filled (all `A`s), jigsmith the right ones
    let first = t.same(
        &["md5sum", "-r", "quiet", "--cache", "d.db", "mirror//"],
        b"",
    );
    let again = Command::new(t.ours_bin())
        .args(["md5sum", "-r", "quiet", "--cache", "d.db", "mirror//"])
        .current_dir(t.ours.path())
        .ok();
    assert!(first.stdout == again.stdout, "sums from the cache differ");
    // existing outputs, no names
    let out = t.same(
        &[
            "mt",
            "-i",
            "image.iso",
            "-j",
            "t0.jigdo",
            "-t",
            "t0.template",
            "mirror//",
        ],
        b"",
    );
    assert_eq!(code(&out), Some(3));
    let out = t.same(&["mt", "-t", "noext", "mirror//"], b"");
    assert_eq!(code(&out), Some(3));
    let out = t.same(&["scan", "mirror//"], b"");
    assert_eq!(code(&out), Some(3));
}

/// A .jigdo's lines but `Generator=` and `Template-…Sum=`, which differ:
/// jigsmith compresses the template differently.
fn jigdo_lines(dir: &Path, name: &str) -> Vec<String> {
    String::from_utf8(read(&dir.join(name)))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("Generator=") && !l.starts_with("Template-"))
        .map(str::to_owned)
        .collect()
}

/// A `.tmp` started by one tool is finished by the other.
#[test]
fn tmp_images_are_shared_with_jigdo_file() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file");
    let t = Twins::new(1003);
    let dir = t.ours.path();
    let ours = |args: &[&str]| {
        Command::new(t.ours_bin())
            .args(args)
            .current_dir(dir)
            .output_of()
    };
    let real = |args: &[&str]| tool("jigdo-file", args).current_dir(dir).output_of();
    let base = ["mi", "-r", "quiet", "-t", "image.template", "-i"];
    let with = |image: &'static str, files: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.push(image);
        v.extend_from_slice(files);
        v
    };
    assert_eq!(code(&real(&with("a.iso", &["mirror/victim.bin"]))), Some(1));
    assert_eq!(code(&ours(&with("a.iso", &["mirror/k2048.bin"]))), Some(1));
    assert_eq!(code(&ours(&with("a.iso", &["mirror//"]))), Some(0));
    assert!(read(&dir.join("a.iso")) == read(&t.built.iso));
    assert_eq!(code(&ours(&with("b.iso", &["mirror/victim.bin"]))), Some(1));
    assert_eq!(code(&real(&with("b.iso", &["mirror/k2048.bin"]))), Some(1));
    assert_eq!(code(&real(&with("b.iso", &["mirror//"]))), Some(0));
    assert!(read(&dir.join("b.iso")) == read(&t.built.iso));
}

/// jigdo-lite, unchanged, next to jigsmith's jigdo-file (the script prefers
/// a jigdo-file in its own directory, then `PATH`): the .jigdo and template
/// and the files come from `python3 -m http.server` on loopback; some files
/// come from a `--scan` directory first; the Debian mirror is taken from
/// `~/.jigdo-lite` in a temporary HOME, passed on as `--uri Debian='URL'`.
#[test]
fn jigdo_lite_runs_unchanged_with_jigsmith_jigdo_file() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "jigdo-file",
        "jigdo-lite",
        "wget",
        "python3"
    );
    // names wget can fetch (a `#' would end the URL)
    let tree = plain_tree(1004);
    let built = Jte::xorriso().build(&tree);
    // the site: the mirror's files under debian/, the .jigdo and template
    let site = temp_dir();
    let mirror = site.path().join("debian");
    std::os::unix::fs::symlink(&tree.root, &mirror).unwrap();
    std::fs::copy(&built.iso, site.path().join("lite.iso")).unwrap();
    tool(
        "jigdo-file",
        [
            "make-template",
            "-r",
            "quiet",
            "-i",
            "lite.iso",
            "-j",
            "lite.jigdo",
            "-t",
            "lite.template",
            "--label",
            "Debian=debian",
            // a server that refuses: only the --uri jigdo-lite passes works
            "--uri",
            "Debian=http://127.0.0.1:1/",
            "debian//",
        ],
    )
    .current_dir(site.path())
    .ok();
    std::fs::remove_file(site.path().join("lite.iso")).unwrap();
    let server = LoopbackMirror::start(site.path());
    let port = server.port;

    // jigdo-lite's own file, copied unchanged next to the jigdo-file link
    let links = personality_links(&["jigdo-file"]);
    let script = links.path().join("jigdo-lite");
    std::fs::copy(which("jigdo-lite"), &script).unwrap();
    let home = temp_dir();
    write(
        &home.path().join(".jigdo-lite"),
        format!(
            "jigdo=''\ndebianMirror='http://127.0.0.1:{port}/debian/'\nnonusMirror=''\n\
             tmpDir='.'\njigdoOpts='--cache jigdo-file-cache.db'\n\
             wgetOpts='-nv --continue --timeout=30'\nscanMenu=''\nfilesPerFetch='3'\n"
        ),
    );
    // some files are already here
    let scan = temp_dir();
    for rel in ["k1025.bin", "docs/readme.txt"] {
        let to = scan.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(tree.path(rel), &to).unwrap();
    }
    let work = temp_dir();
    let path = format!(
        "{}:{}",
        links.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg(&script)
        .args(["--noask", "--scan"])
        .arg(format!("{}//", p(scan.path())))
        .arg(format!("http://127.0.0.1:{port}/lite.jigdo"))
        .current_dir(work.path())
        .env("HOME", home.path())
        .env("PATH", path)
        .ok();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        work.path().join("lite.iso").is_file(),
        "jigdo-lite made no image:\n{text}"
    );
    assert!(read(&work.path().join("lite.iso")) == read(&built.iso));
    for line in [
        "Found 2 of the ",
        "Copied input files to temporary file `lite.iso.tmp'",
        "Successfully created `lite.iso'",
        "OK: MD5 Checksums match, image is good!",
    ] {
        assert!(
            text.contains(line),
            "no {line:?} in jigdo-lite's output:\n{text}"
        );
    }
    assert!(!work.path().join("lite.iso.tmp").exists());
    // the scan's --cache file is jigsmith's (redb), not jigdo-file's
    // Berkeley DB: the script ran jigsmith's jigdo-file
    let cache = read(&work.path().join("jigdo-file-cache.db"));
    assert!(
        cache.starts_with(b"redb"),
        "jigdo-lite ran the real jigdo-file:\n{text}"
    );
}

fn which(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|c| c.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}
