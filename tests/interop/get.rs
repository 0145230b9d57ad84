//! `jigsmith get` and `make-image --mirror` against loopback mirrors with
//! injected faults (issue 8): 404s, a corrupt copy, a connection dropped
//! mid-file, redirects, a stalled mirror; `kill -9` and resume; seeding
//! from an older ISO. Every result is compared with the image xorriso wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{Iso, Jte};
use crate::support::{jigsmith, md5_hex, read, require, temp_dir, write, Run};
use crate::tree::{Tree, TreeBuilder};

// The fault-injecting HTTP server of jigsmith-net's own tests.
#[path = "../../crates/net/tests/it/server.rs"]
mod server;
use server::{Fault, Server};

/// Files of many sizes, with awkward names, under pool/ like a Debian mirror.
fn tree(seed: u64, extra: bool) -> Tree {
    let mut b = TreeBuilder::new(seed)
        .file("pool/main/a/alpha_1.0_all.deb", 300_000)
        .file("pool/main/b/beta 1.0+x_all.deb", 20_000)
        .file("pool/main/c/gamma_2.0_all.deb", 70_000)
        .file("pool/main/d/delta_3.0_all.deb", 5000)
        .file("pool/main/e/ünïcødé.deb", 9000)
        .unlisted("unlisted.bin", 200_000);
    for i in 0..24 {
        b = b.file(&format!("pool/many/f{i:02}.deb"), 2000 + i * 1500);
    }
    if extra {
        b = b.file("pool/new/added_9.9_all.deb", 50_000);
    }
    b.build()
}

struct Setup {
    tree: Tree,
    iso: Iso,
    /// Serves the .jigdo and .template.
    site: Server,
    a: Server,
    b: Server,
    out: tempfile::TempDir,
}

impl Setup {
    fn new(seed: u64) -> Setup {
        let tree = tree(seed, false);
        Self::of(tree)
    }

    fn of(tree: Tree) -> Setup {
        let iso = Jte::xorriso().build(&tree);
        let site = Server::start(iso.dir.path());
        let a = Server::start(&tree.root);
        let b = Server::start(&tree.root);
        Setup {
            tree,
            iso,
            site,
            a,
            b,
            out: temp_dir(),
        }
    }

    fn jigdo_url(&self) -> String {
        format!("{}image.jigdo", self.site.url())
    }

    fn output(&self) -> PathBuf {
        self.out.path().join("got.iso")
    }

    fn get(&self) -> Command {
        let mut c = jigsmith(["get", "--no-apt-cache", "--timeout", "3", "-o"]);
        c.arg(self.output());
        // no config file of the machine's user
        c.env("XDG_CONFIG_HOME", self.out.path().join("no-config"));
        c
    }

    fn assert_done(&self) {
        assert_eq!(md5_hex(&self.output()), md5_hex(&self.iso.iso));
        let left: Vec<String> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["got.iso"], "only the image is left");
    }

    /// Requests for parts (not the .jigdo/.template) that reached `s`.
    fn part_requests(s: &Server) -> usize {
        s.log()
            .iter()
            .filter(|l| l.path.starts_with("pool/"))
            .count()
    }
}

#[test]
fn faults_on_the_first_mirror_are_survived() {
    survive_faults(81, false);
}

#[test]
fn faults_on_the_first_mirror_are_survived_pipelined() {
    survive_faults(88, true);
}

fn survive_faults(seed: u64, pipelined: bool) {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(seed);
    s.a.fault(
        "pool/main/a/alpha_1.0_all.deb",
        Fault::DropAfter {
            bytes: 100_000,
            times: 1,
        },
    );
    s.a.fault("pool/main/b/beta 1.0+x_all.deb", Fault::Status(404));
    s.a.fault("pool/main/c/gamma_2.0_all.deb", Fault::Corrupt);
    s.a.fault("pool/main/d/delta_3.0_all.deb", Fault::Status(503));
    s.a.fault(
        "pool/many/f03.deb",
        Fault::Redirect(format!("{}pool/many/f03.deb", s.b.url())),
    );
    s.a.fault("pool/many/f04.deb", Fault::TooLong(10_000));
    // B comes from [Servers], after the --mirror A: A is tried first for
    // every part. One request at a time, the dropped transfer is resumed
    // with a range (pipelined, it goes to the one-at-a-time path and
    // starts over).
    let text = format!("{}\nDeb={}\n", s.iso.jigdo_text(), s.b.url());
    write(&s.iso.dir.path().join("image.jigdo"), text);
    let out = s
        .get()
        .arg("--json")
        .args((!pipelined).then_some("--no-pipelining"))
        .arg("--mirror")
        .arg(format!("Deb={}", s.a.url()))
        .arg(s.jigdo_url())
        .ok();
    s.assert_done();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let done = stdout.lines().last().unwrap();
    assert!(done.contains(r#""event":"done","ok":true"#), "{stdout}");
    // the dropped transfer resumed on the same mirror with a range
    let alpha: Vec<_> =
        s.a.log()
            .into_iter()
            .filter(|l| l.path == "pool/main/a/alpha_1.0_all.deb")
            .collect();
    assert!(
        pipelined || alpha.iter().any(|l| l.range_from.is_some()),
        "{alpha:?}"
    );
    // the 404, the corrupt copy, the 503 and the over-long body came from B
    let from_b: Vec<String> = s.b.log().into_iter().map(|l| l.path).collect();
    for p in [
        "pool/main/b/beta 1.0+x_all.deb",
        "pool/main/c/gamma_2.0_all.deb",
        "pool/main/d/delta_3.0_all.deb",
        "pool/many/f03.deb",
        "pool/many/f04.deb",
    ] {
        assert!(from_b.iter().any(|x| x == p), "{p} not from B: {from_b:?}");
    }
}

#[test]
fn servers_section_and_try_last_and_a_stalled_mirror() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(82);
    // B is listed first but marked --try-last: A serves unless it fails
    let text = format!(
        "{}\nDeb={} --try-last\nDeb={}\n",
        s.iso.jigdo_text(),
        s.b.url(),
        s.a.url()
    );
    write(&s.iso.dir.path().join("image.jigdo"), text);
    s.a.fault("pool/many/f07.deb", Fault::Slow(Duration::from_secs(8)));
    s.get().arg(s.jigdo_url()).ok();
    s.assert_done();
    assert_eq!(Setup::part_requests(&s.b), 1, "{:?}", s.b.log());
}

#[test]
fn parts_are_spread_over_equal_mirrors() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(90);
    let parts = s.tree.entries.iter().filter(|e| e.listed).count();
    s.get()
        .arg("--mirror")
        .arg(format!("Deb={}", s.a.url()))
        .arg("--mirror")
        .arg(format!("Deb={}", s.b.url()))
        .arg(s.jigdo_url())
        .ok();
    s.assert_done();
    let (a, b) = (Setup::part_requests(&s.a), Setup::part_requests(&s.b));
    assert_eq!(a + b, parts);
    assert!(a >= parts / 3 && b >= parts / 3, "A {a}, B {b}");
}

#[test]
fn mirrors_and_jobs_from_the_config_file() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(89);
    let conf = temp_dir();
    write(
        &conf.path().join("jigsmith/config.toml"),
        format!("jobs = 3\n[mirrors]\nDeb = [\"{}\"]\n", s.b.url()),
    );
    s.get()
        .env("XDG_CONFIG_HOME", conf.path())
        .arg(s.jigdo_url())
        .ok();
    s.assert_done();
    assert!(Setup::part_requests(&s.b) > 0);
    // a broken config file is an error, not ignored
    write(
        &conf.path().join("jigsmith/config.toml"),
        "jobs = \"many\"\n",
    );
    let out = s
        .get()
        .env("XDG_CONFIG_HOME", conf.path())
        .arg(s.jigdo_url())
        .fails();
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.toml"));
}

#[test]
fn kill_9_then_resume_fetches_only_the_rest() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(83);
    let parts = s.tree.entries.iter().filter(|e| e.listed).count();
    for e in &s.tree.entries {
        s.a.fault(&e.rel, Fault::Slow(Duration::from_millis(300)));
    }
    let mut child = s
        .get()
        .args(["-j", "2", "--quiet", "--mirror"])
        .arg(format!("Deb={}", s.a.url()))
        .arg(s.jigdo_url())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let journal = s.out.path().join("got.iso.part.journal");
    let start = Instant::now();
    let journaled = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().filter(|l| l.starts_with("P ")).count())
            .unwrap_or(0)
    };
    while journaled(&journal) < 4 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = journaled(&journal);
    assert!(kept < parts, "{kept} of {parts}");
    assert!(s.out.path().join("got.iso.part").exists());
    s.a.clear_log();
    let second = {
        // no faults now
        let a2 = Server::start(&s.tree.root);
        s.get()
            .arg("--mirror")
            .arg(format!("Deb={}", a2.url()))
            .arg(s.jigdo_url())
            .ok();
        Setup::part_requests(&a2)
    };
    s.assert_done();
    assert!(
        second > 0 && second <= parts - kept,
        "refetched {second}, {kept} of {parts} were kept"
    );
}

#[test]
fn a_seed_iso_holding_most_files_leaves_almost_nothing_to_fetch() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let old_tree = tree(84, false);
    let old = Jte::xorriso().build(&old_tree);
    let s = Setup::of(tree(84, true));
    let out = s
        .get()
        .arg("--json")
        .arg("--seed")
        .arg(&old.iso)
        .arg("--mirror")
        .arg(format!("Deb={}", s.a.url()))
        .arg(s.jigdo_url())
        .ok();
    s.assert_done();
    let fetched: Vec<String> = s.a.log().into_iter().map(|l| l.path).collect();
    assert_eq!(fetched, ["pool/new/added_9.9_all.deb"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(r#""bytes_network":50000"#), "{stdout}");
}

#[test]
fn missing_parts_keep_the_partial_image_and_list_them() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(85);
    s.a.fault("pool/many/f05.deb", Fault::Status(404));
    s.a.fault("pool/many/f06.deb", Fault::Status(404));
    let list = s.out.path().join("missing.txt");
    let out = s
        .get()
        .arg("--keep-going")
        .arg("--missing")
        .arg(&list)
        .arg("--mirror")
        .arg(format!("Deb={}", s.a.url()))
        .arg(s.jigdo_url())
        .fails();
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8(read(&list)).unwrap();
    assert_eq!(listed, "Deb:pool/many/f05.deb\nDeb:pool/many/f06.deb\n");
    assert!(!s.output().exists());
    let partial = s.out.path().join("got.iso.part");
    assert!(partial.exists());
    // damage a piece the journal trusts (a bad disk, a crash it did not see):
    // the image checksum catches it and the piece is fetched again
    let journal = std::fs::read_to_string(s.out.path().join("got.iso.part.journal")).unwrap();
    let offset: u64 = journal
        .lines()
        .find_map(|l| l.strip_prefix("P ")?.split(' ').nth(1)?.parse().ok())
        .unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&partial)
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"damage", offset).unwrap();
    // the mirror has them again: the rerun fetches just those two
    s.a.clear_log();
    s.a.fault("pool/many/f05.deb", Fault::Slow(Duration::ZERO));
    s.a.fault("pool/many/f06.deb", Fault::Slow(Duration::ZERO));
    s.get()
        .arg("--mirror")
        .arg(format!("Deb={}", s.a.url()))
        .arg(s.jigdo_url())
        .ok();
    std::fs::remove_file(&list).unwrap();
    s.assert_done();
    assert_eq!(Setup::part_requests(&s.a), 3, "{:?}", s.a.log());
}

#[test]
fn hostile_remote_jigdo_files_are_refused() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(86);
    let text = s.iso.jigdo_text();
    // a Filename= that climbs out of the output directory
    let evil = text.replacen("Filename=", "Filename=../../evil", 1);
    write(&s.iso.dir.path().join("evil.jigdo"), &evil);
    let mut c = jigsmith(["get", "--no-apt-cache", "-o"]);
    c.arg(s.out.path())
        .arg(format!("{}evil.jigdo", s.site.url()))
        .fails();
    // part names with .., and a file: server, from the network
    let mut bad = text.replace("Deb:pool/many/f01.deb", "Deb:../../../etc/passwd");
    bad.push_str(&format!("\nDeb=file:{}/\n", s.tree.root.display()));
    write(&s.iso.dir.path().join("bad.jigdo"), bad);
    let out = s
        .get()
        .arg("--keep-going")
        .arg(format!("{}bad.jigdo", s.site.url()))
        .fails();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused part location"), "{stderr}");
    assert!(stderr.contains("left out"), "{stderr}");
    assert!(Setup::part_requests(&s.a) == 0);
    let left: Vec<_> = std::fs::read_dir(s.out.path()).unwrap().collect();
    assert!(
        left.len() <= 3,
        "only the partial image, its journal and template"
    );
}

#[test]
fn make_image_fetches_from_a_mirror_into_its_cache() {
    require!("xorriso", "jigdo-gen-checksum-list");
    let s = Setup::new(87);
    s.a.fault("pool/main/c/gamma_2.0_all.deb", Fault::Corrupt);
    let cache = s.out.path().join("cache");
    let img = s.out.path().join("made.iso");
    let run = |out: &Path| {
        jigsmith(["make-image", "-j"])
            .arg(&s.iso.jigdo)
            .arg("--mirror")
            .arg(format!("Deb={}", s.a.url()))
            .arg("--mirror")
            .arg(format!("Deb={}", s.b.url()))
            .arg("--cache")
            .arg(&cache)
            .arg("-o")
            .arg(out)
            .ok();
    };
    run(&img);
    assert_eq!(md5_hex(&img), md5_hex(&s.iso.iso));
    // the second build comes from the cache alone
    s.a.clear_log();
    s.b.clear_log();
    std::fs::remove_file(&img).unwrap();
    run(&img);
    assert_eq!(md5_hex(&img), md5_hex(&s.iso.iso));
    assert_eq!(Setup::part_requests(&s.a) + Setup::part_requests(&s.b), 0);
}
