use std::path::{Path, PathBuf};

use jigsmith_checksum::{Algorithm, Hasher};

use super::*;

/// The example shipped in `examples/hello`: three files on a mirror and the
/// .jigdo/.template xorriso wrote for an image of them.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello")
}

const HELLO_MD5: &str = "b0b5d84a18314aff787b92cab46df168";

fn hello_tree() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let ex = example();
    for dir in ["", "release/12"] {
        let d = root.path().join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(ex.join("hello.template"), d.join("hello.template")).unwrap();
        let jigdo = std::fs::read_to_string(ex.join("hello.jigdo")).unwrap();
        let jigdo = jigdo
            .replace("Filename=null", "Filename=hello.iso")
            .replace("[Image]\n", "[Image]\nShortInfo='Hello CD'\n");
        std::fs::write(d.join("hello.jigdo"), jigdo).unwrap();
    }
    root
}

fn config(root: &Path) -> CatalogConfig {
    let mut c = CatalogConfig::new(root);
    c.maps = vec![("Debian".into(), example().join("mirror"))];
    c
}

fn image_md5(p: &Published) -> String {
    let mut bytes = vec![0u8; usize::try_from(p.len()).unwrap()];
    assert_eq!(p.image.read_at(0, &mut bytes).unwrap(), bytes.len());
    Hasher::digest(Algorithm::Md5, &bytes).to_hex()
}

#[test]
fn publishes_every_image_with_its_files_and_sums() {
    let root = hello_tree();
    let shared = Shared::new(config(root.path())).unwrap();
    let catalog = Catalog::scan(&shared, None);
    assert_eq!(catalog.len(), 2);
    let names: Vec<&String> = catalog.dir("").unwrap().entries.keys().collect();
    assert_eq!(
        names,
        [
            "MD5SUMS",
            "SHA256SUMS",
            "SHA512SUMS",
            "hello.iso",
            "hello.jigdo",
            "hello.template",
            "release"
        ]
    );
    assert!(matches!(catalog.lookup("release"), Some(Entry::Dir(d)) if d == "release"));
    let Some(Entry::Image(p)) = catalog.lookup("release/12/hello.iso") else {
        panic!("no image in release/12");
    };
    assert_eq!(p.dir, "release/12");
    assert_eq!(p.short_info(), Some("'Hello CD'"));
    assert_eq!(image_md5(&p), HELLO_MD5);
    let sums = catalog.dir("release/12").unwrap().sums(Algorithm::Md5);
    assert_eq!(sums, format!("{HELLO_MD5}  hello.iso\n"));
    assert!(catalog
        .dir("")
        .unwrap()
        .sums(Algorithm::Sha512)
        .starts_with("0aebc8f8eaa0"));
    assert!(catalog.lookup("release/12/nothing").is_none());
    assert!(catalog.lookup("release/1").is_none());
}

#[test]
fn broken_and_outside_files_are_left_out_and_the_rest_is_published() {
    let root = hello_tree();
    let r = root.path();
    // a template of another image
    std::fs::create_dir(r.join("bad")).unwrap();
    let jigdo = std::fs::read_to_string(r.join("hello.jigdo")).unwrap();
    std::fs::write(r.join("bad/hello.jigdo"), &jigdo).unwrap();
    std::fs::write(r.join("bad/hello.template"), b"not a template").unwrap();
    // not a .jigdo at all
    std::fs::write(r.join("bad/junk.jigdo"), [0x1f, 0x8b, 0, 1, 2]).unwrap();
    // a template that is a link out of ROOT
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(r.join("hello.template"), outside.path().join("t.template")).unwrap();
    std::fs::create_dir(r.join("link")).unwrap();
    std::fs::write(
        r.join("link/x.jigdo"),
        jigdo.replace("hello.template", "t.template"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path().join("t.template"), r.join("link/t.template"))
        .unwrap();
    let shared = Shared::new(config(r)).unwrap();
    let catalog = Catalog::scan(&shared, None);
    assert_eq!(catalog.len(), 2, "only the two good images");
    assert!(catalog.lookup("bad").is_none());
    assert!(catalog.lookup("link/x.iso").is_none());
}

#[test]
fn rescan_keeps_unchanged_images_and_sees_new_and_removed_ones() {
    let root = hello_tree();
    let r = root.path();
    let shared = Shared::new(config(r)).unwrap();
    let first = Catalog::scan(&shared, None);
    let Some(Entry::Image(kept)) = first.lookup("hello.iso") else {
        panic!("no image");
    };
    std::fs::remove_file(r.join("release/12/hello.jigdo")).unwrap();
    std::fs::create_dir(r.join("new")).unwrap();
    std::fs::copy(r.join("hello.jigdo"), r.join("new/hello.jigdo")).unwrap();
    std::fs::copy(r.join("hello.template"), r.join("new/hello.template")).unwrap();
    let second = Catalog::scan(&shared, Some(&first));
    assert_eq!(second.len(), 2);
    assert!(second.lookup("release/12/hello.iso").is_none());
    assert!(second.lookup("new/hello.iso").is_some());
    let Some(Entry::Image(again)) = second.lookup("hello.iso") else {
        panic!("no image");
    };
    assert!(Arc::ptr_eq(&kept, &again), "an unchanged image is reused");
}

#[test]
fn one_jigdo_file_as_root() {
    let root = hello_tree();
    let shared = Shared::new(config(&root.path().join("release/12/hello.jigdo"))).unwrap();
    let catalog = Catalog::scan(&shared, None);
    assert_eq!(catalog.len(), 1);
    let Some(Entry::Image(p)) = catalog.lookup("hello.iso") else {
        panic!("no image");
    };
    assert_eq!(image_md5(&p), HELLO_MD5);
}
