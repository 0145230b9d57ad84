//! The image as independent readers see it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use jigsmith_iso::{IsoOptions, IsoWriter, Joliet, PlainSink, RockRidge};

use crate::fixture::{self, Entry};
use crate::tools::{have, run_p};

pub fn write_image(writer: &IsoWriter, out: &Path) -> jigsmith_iso::WriteReport {
    let f = std::io::BufWriter::new(fs::File::create(out).unwrap());
    let mut sink = PlainSink::new(f);
    let report = writer.write(&mut sink).unwrap();
    sink.finish().unwrap();
    assert_eq!(fs::metadata(out).unwrap().len(), report.image_size);
    report
}

fn awkward_image(rr: RockRidge, joliet: Joliet) -> (tempfile::TempDir, BTreeMap<String, Entry>) {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fixture::awkward(&src, 42);
    let expected = fixture::expected(&src);
    let opts = IsoOptions::builder()
        .iso_level(3)
        .rock_ridge(rr)
        .joliet(joliet)
        .volume_id("AWKWARD")
        .build();
    let mut w = IsoWriter::new(opts);
    w.add_root(&src);
    write_image(&w, &d.path().join("out.iso"));
    (d, expected)
}

fn keys(m: &BTreeMap<String, Entry>) -> BTreeSet<String> {
    m.keys().cloned().collect()
}

/// Equal sets, or a failure naming only the differences.
pub fn assert_same(got: &BTreeSet<String>, want: &BTreeSet<String>) {
    let extra: Vec<_> = got.difference(want).collect();
    let missing: Vec<_> = want.difference(got).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "unexpected: {extra:?}\nmissing: {missing:?}"
    );
}

#[test]
fn bsdtar_sees_and_extracts_the_source_tree() {
    if !have("bsdtar") {
        return;
    }
    let (d, expected) = awkward_image(RockRidge::Full, Joliet::Long);
    let iso = d.path().join("out.iso");
    let listed: BTreeSet<String> = run_p("bsdtar", &["-tf"], &iso)
        .lines()
        .filter(|l| *l != ".")
        .map(|l| l.trim_end_matches('/').replace("\\\\", "\\"))
        .collect();
    assert_same(&listed, &keys(&expected));
    let x = d.path().join("x");
    fs::create_dir(&x).unwrap();
    run_p("bsdtar", &["-x", "-C", x.to_str().unwrap(), "-f"], &iso);
    fixture::assert_same_tree(&fixture::expected(&x), &expected);
    let mode = fs::symlink_metadata(x.join("sub dir/exec.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let mode = fs::symlink_metadata(x.join("sub dir/private"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn isoinfo_and_xorriso_see_the_rock_ridge_tree() {
    let (d, expected) = awkward_image(RockRidge::Full, Joliet::Off);
    let iso = d.path().join("out.iso");
    let want: BTreeSet<String> = keys(&expected)
        .into_iter()
        .map(|k| format!("/{k}"))
        .collect();
    if have("isoinfo") {
        let got: BTreeSet<String> = run_p("isoinfo", &["-R", "-f", "-i"], &iso)
            .lines()
            .map(str::to_string)
            .collect();
        assert_same(&got, &want);
    }
    if have("xorriso") {
        let out = run_p("xorriso", &["-abort_on", "WARNING", "-indev"], &iso);
        let _ = out;
        let out = crate::tools::run(
            "xorriso",
            &[
                "-indev".as_ref(),
                iso.as_os_str(),
                "-find".as_ref(),
                "/".as_ref(),
            ],
        );
        let got: BTreeSet<String> = out
            .lines()
            .filter(|l| l.starts_with('\''))
            .map(|l| l.trim_matches('\'').replace("'\"'\"'", "'"))
            .filter(|l| l != "/")
            .collect();
        assert_same(&got, &want);
    }
}

/// What Joliet makes of a name: forbidden characters become `_`.
fn joliet_name(s: &str) -> String {
    s.chars()
        .map(|c| if "*/:;?\\".contains(c) { '_' } else { c })
        .collect()
}

#[test]
fn seven_zip_sees_the_joliet_tree() {
    if !have("7z") {
        return;
    }
    let (d, expected) = awkward_image(RockRidge::Full, Joliet::Long);
    let out = run_p("7z", &["l", "-slt"], &d.path().join("out.iso"));
    let mut got: BTreeMap<String, Option<u64>> = BTreeMap::new();
    let body = out.split("----------").nth(1).expect("7z listing");
    let mut path = None;
    for line in body.lines() {
        if let Some(p) = line.strip_prefix("Path = ") {
            path = Some(p.to_string());
        } else if let (Some(s), Some(p)) = (line.strip_prefix("Size = "), path.as_ref()) {
            got.insert(p.clone(), s.trim().parse().ok());
        } else if line.is_empty() {
            if let Some(p) = path.take() {
                got.entry(p).or_insert(None);
            }
        }
    }
    let mut checked = 0;
    for (k, e) in &expected {
        if matches!(e, Entry::Link(_)) || k.split('/').any(|c| c.chars().count() > 103) {
            continue;
        }
        let jk: String = k.split('/').map(joliet_name).collect::<Vec<_>>().join("/");
        assert!(got.contains_key(&jk), "7z does not list {jk}");
        if let Entry::File(len, _) = e {
            assert_eq!(got[&jk], Some(*len), "{jk}");
        }
        checked += 1;
    }
    let links = expected
        .values()
        .filter(|e| matches!(e, Entry::Link(_)))
        .count();
    assert_eq!(
        got.len(),
        expected.len() - links,
        "7z lists the tree without symlinks"
    );
    assert!(checked > 140);
}

#[test]
fn rationalized_rock_ridge_modes() {
    if !have("bsdtar") {
        return;
    }
    let (d, _) = awkward_image(RockRidge::Rationalized, Joliet::Off);
    let out = run_p("bsdtar", &["-tvf"], &d.path().join("out.iso"));
    let line = |name: &str| out.lines().find(|l| l.ends_with(name)).unwrap().to_string();
    assert!(
        line("sub dir/private").starts_with("-r--r--r--  1 0      0"),
        "{}",
        line("sub dir/private")
    );
    assert!(
        line("sub dir/exec.sh").starts_with("-r-xr-xr-x"),
        "{}",
        line("sub dir/exec.sh")
    );
    assert!(
        line(" empty dir").starts_with("dr-xr-xr-x"),
        "{}",
        line("empty dir")
    );
}

#[test]
fn plain_iso9660_without_rock_ridge() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fixture::write(&src, "Some File.html", b"x");
    fixture::write(&src, "dir.with.dots/readme", b"y");
    std::os::unix::fs::symlink("x", src.join("link")).unwrap();
    let opts = IsoOptions::builder().rock_ridge(RockRidge::Off).build();
    let mut w = IsoWriter::new(opts);
    w.add_root(&src);
    let report = write_image(&w, &d.path().join("out.iso"));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    if have("isoinfo") {
        let got: BTreeSet<String> = run_p("isoinfo", &["-f", "-i"], &d.path().join("out.iso"))
            .lines()
            .map(str::to_string)
            .collect();
        let want: BTreeSet<String> = ["/SOME_FIL.HTM;1", "/DIR_WITH", "/DIR_WITH/README.;1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_same(&got, &want);
    }
}

#[test]
fn roots_grafts_excludes_and_hides() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a");
    let b = d.path().join("b");
    fixture::write(&a, "common/from-a", b"a");
    fixture::write(&a, "junk.tmp", b"no");
    fixture::write(&b, "common/from-b", b"b");
    fixture::write(&b, "CVS/Entries", b"no");
    fixture::write(&b, "secret", b"joliet only");
    fixture::write(d.path(), "single", b"one file");
    let opts = IsoOptions::builder()
        .joliet(Joliet::On)
        .exclude("*.tmp")
        .exclude("CVS")
        .hide("secret")
        .build();
    let mut w = IsoWriter::new(opts);
    w.add_root(&a)
        .add_root(&b)
        .add_graft("/grafted/here=x", d.path().join("single"))
        .add_graft("/copy", &a);
    let iso = d.path().join("out.iso");
    write_image(&w, &iso);
    if have("isoinfo") {
        let got: BTreeSet<String> = run_p("isoinfo", &["-R", "-f", "-i"], &iso)
            .lines()
            .map(str::to_string)
            .collect();
        let want: BTreeSet<String> = [
            "/common",
            "/common/from-a",
            "/common/from-b",
            "/grafted",
            "/grafted/here=x",
            "/copy",
            "/copy/common",
            "/copy/common/from-a",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_same(&got, &want);
        let joliet = run_p("isoinfo", &["-J", "-f", "-i"], &iso);
        assert!(joliet.lines().any(|l| l == "/secret;1"), "{joliet}");
    }
}

#[test]
fn reproducible_with_source_date_epoch() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fixture::awkward(&src, 7);
    let build = |vol: &str| {
        let opts = IsoOptions::builder()
            .volume_id(vol)
            .joliet(Joliet::Long)
            .iso_level(3)
            .source_date_epoch(Some(1_700_000_000))
            .build();
        let mut w = IsoWriter::new(opts);
        w.add_root(&src);
        let mut sink = PlainSink::new(Vec::new());
        w.write(&mut sink).unwrap();
        sink.finish().unwrap()
    };
    let one = build("SAME");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(one == build("SAME"), "two runs differ");
    assert!(one != build("OTHER"));
    // the volume dates are the epoch: 2023-11-14 22:13:20
    assert_eq!(&one[0x8000 + 813..0x8000 + 829], b"2023111422132000");
}
