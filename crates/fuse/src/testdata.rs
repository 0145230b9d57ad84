//! The shipped `examples/hello` image, laid out as catalogs for unit tests.

use std::path::{Path, PathBuf};

use jigsmith_catalog::{Catalog, CatalogConfig, Shared};

/// `examples/hello`: three files on a mirror and the .jigdo/.template of an image of them.
pub(crate) fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello")
}

/// A tree with `hello.jigdo` + `hello.template` (image `hello.iso`) in each of `dirs`.
pub(crate) fn hello_tree(dirs: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let ex = example();
    for dir in dirs {
        let d = root.path().join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(ex.join("hello.template"), d.join("hello.template")).unwrap();
        std::fs::copy(ex.join("hello.jigdo"), d.join("hello.jigdo")).unwrap();
    }
    root
}

/// The catalog of `root`, parts mapped to the example's mirror.
pub(crate) fn scan(root: &Path) -> (Shared, Catalog) {
    let mut config = CatalogConfig::new(root);
    config.maps = vec![("Debian".into(), example().join("mirror"))];
    let shared = Shared::new(config).unwrap();
    let catalog = Catalog::scan(&shared, None);
    (shared, catalog)
}
