//! The reader against images written by xorriso and genisoimage: the same
//! files as the writers' own listings, and each file's bytes where the
//! reader says they are.
// Helpers outside #[test] functions report failures by panicking too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

use jigsmith_isofs::{Error, IsoFs, Names};
use proptest::prelude::*;

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed (required under CI)"
        );
        eprintln!("skip: {tool} not installed");
    }
    found
}

/// A tree with long, Unicode and awkward names, a deep directory (which
/// genisoimage -r relocates), an empty file and files of many sizes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut add = |rel: &str, len: usize| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + rel.len()) as u8).collect();
        fs::write(&p, &data).unwrap();
        files.insert(rel.to_string(), data);
    };
    add("README", 100);
    add("empty", 0);
    add("pool/main/a/app_1.0-1_amd64.deb", 70_000);
    add(
        "pool/main/b/a very long file name that goes past sixty-four characters of Joliet.deb",
        3000,
    );
    add("pool/contrib/ünïcödé name.txt", 5);
    add("d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/deep.bin", 4096);
    add("dists/x/Release", 2049);
    for i in 0..60 {
        add(&format!("many/file-{i:03}.dat"), i * 37);
    }
    std::os::unix::fs::symlink("README", root.join("link")).unwrap();
    files
}

/// Runs `tool ARGS -o ISO SRC`.
fn mkiso(tool: &str, args: &[&str], src: &Path, iso: &Path) {
    let st = Command::new(tool)
        .args(args)
        .arg("-o")
        .arg(iso)
        .arg(src)
        .status()
        .unwrap();
    assert!(st.success(), "{tool} failed");
}

fn check(iso: &Path, want: &BTreeMap<String, Vec<u8>>, names: Names) {
    let mut fs = IsoFs::open(fs::File::open(iso).unwrap()).unwrap();
    assert_eq!(fs.names(), names);
    let files = fs.files().unwrap();
    let mut img = fs::File::open(iso).unwrap();
    let mut got = BTreeMap::new();
    for f in files {
        let mut buf = vec![0u8; f.len as usize];
        img.seek(SeekFrom::Start(f.contiguous_offset().unwrap()))
            .unwrap();
        img.read_exact(&mut buf).unwrap();
        got.insert(f.path, buf);
    }
    let got_names: Vec<_> = got.keys().collect();
    let want_names: Vec<_> = want.keys().collect();
    assert_eq!(got_names, want_names);
    assert!(got == *want, "contents differ");
}

fn xorriso_find(iso: &Path) -> Vec<String> {
    let out = Command::new("xorriso")
        .args(["-abort_on", "FATAL", "-indev"])
        .arg(iso)
        .args(["-find", "/", "-type", "f"])
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let l = l.trim().trim_matches('\'');
            l.trim_start_matches('/').to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn xorriso_rock_ridge_and_joliet() {
    if !have("xorriso") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let want = tree(&d.path().join("src"));
    let iso = d.path().join("x.iso");
    mkiso(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-r", "-J", "-joliet-long"],
        &d.path().join("src"),
        &iso,
    );
    check(&iso, &want, Names::RockRidge);
    let listed = xorriso_find(&iso);
    assert_eq!(listed, want.keys().cloned().collect::<Vec<_>>());
}

#[test]
fn genisoimage_rock_ridge_relocates_deep_directories() {
    if !have("genisoimage") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let want = tree(&d.path().join("src"));
    let iso = d.path().join("g.iso");
    mkiso(
        "genisoimage",
        &["-quiet", "-r", "-J", "-joliet-long"],
        &d.path().join("src"),
        &iso,
    );
    check(&iso, &want, Names::RockRidge);
}

#[test]
fn genisoimage_joliet_only() {
    if !have("genisoimage") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let want = tree(&src);
    fs::remove_dir_all(src.join("d1")).unwrap();
    fs::remove_file(src.join(
        "pool/main/b/a very long file name that goes past sixty-four characters of Joliet.deb",
    ))
    .unwrap();
    let want: BTreeMap<_, _> = want
        .into_iter()
        .filter(|(k, _)| !k.starts_with("d1/") && !k.contains("very long"))
        .collect();
    let iso = d.path().join("j.iso");
    mkiso("genisoimage", &["-quiet", "-J"], &src, &iso);
    // without Rock Ridge genisoimage leaves the symlink out
    check(&iso, &want, Names::Joliet);
}

#[test]
fn hostile_images_fail_with_typed_errors() {
    if !have("xorriso") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    tree(&d.path().join("src"));
    let iso = d.path().join("x.iso");
    mkiso(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-r"],
        &d.path().join("src"),
        &iso,
    );
    let good = fs::read(&iso).unwrap();
    // root directory length absurd
    let mut bad = good.clone();
    bad[16 * 2048 + 156 + 10..16 * 2048 + 156 + 14].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = IsoFs::open(std::io::Cursor::new(bad)).unwrap().files();
    assert!(matches!(err, Err(Error::DirectoryTooBig { .. })), "{err:?}");
    // root directory past the end
    let mut bad = good.clone();
    bad[16 * 2048 + 156 + 2..16 * 2048 + 156 + 6].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(
        IsoFs::open(std::io::Cursor::new(bad)).map(|_| ()),
        Err(Error::DirectoryOutOfBounds { .. })
    ));
    // a subdirectory pointing back at the root: a loop
    let mut fs = IsoFs::open(std::io::Cursor::new(good.clone())).unwrap();
    fs.files().unwrap();
    let root_lba = u32::from_le_bytes(good[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap());
    let mut bad = good.clone();
    let root = root_lba as usize * 2048;
    // third record of the root: the first child (sorted: README? dirs too)
    let mut pos = root;
    let mut patched = false;
    for _ in 0..20 {
        let len = bad[pos] as usize;
        if len == 0 {
            break;
        }
        if bad[pos + 25] & 2 != 0 && bad[pos + 33] > 1 {
            bad[pos + 2..pos + 6].copy_from_slice(&root_lba.to_le_bytes());
            patched = true;
            break;
        }
        pos += len;
    }
    assert!(patched);
    let err = IsoFs::open(std::io::Cursor::new(bad)).unwrap().files();
    assert!(matches!(err, Err(Error::Loop { .. })), "{err:?}");
    // truncated anywhere: an error or a listing, never a panic
    for cut in [
        0,
        100,
        16 * 2048 + 10,
        17 * 2048,
        root + 50,
        good.len() - 5000,
    ] {
        if let Ok(mut fs) = IsoFs::open(std::io::Cursor::new(good[..cut].to_vec())) {
            let _ = fs.files();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Random bytes written over the descriptor and directory area of a
    /// real image never panic the reader.
    #[test]
    fn corrupted_images_never_panic(flips in proptest::collection::vec((16usize * 2048..40 * 2048, any::<u8>()), 1..64)) {
        let mut img = base_image();
        for (at, b) in flips {
            if let Some(x) = img.get_mut(at) {
                *x = b;
            }
        }
        if let Ok(mut fs) = IsoFs::open(std::io::Cursor::new(img)) {
            let _ = fs.files();
        }
    }
}

/// A small Rock Ridge + Joliet image, or a blank one without xorriso.
fn base_image() -> Vec<u8> {
    use std::sync::OnceLock;
    static IMG: OnceLock<Vec<u8>> = OnceLock::new();
    IMG.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        tree(&d.path().join("src"));
        let iso = d.path().join("p.iso");
        let ok = Command::new("xorriso")
            .args(["-as", "mkisofs", "-quiet", "-r", "-J", "-o"])
            .arg(&iso)
            .arg(d.path().join("src"))
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            fs::read(&iso).unwrap()
        } else {
            vec![0; 64 * 2048]
        }
    })
    .clone()
}
