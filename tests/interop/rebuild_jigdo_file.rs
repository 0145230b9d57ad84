//! Templates written by `jigdo-file make-template` (format 1.2 / 2.0, names quoted,
//! `[Servers]` with `file:` URIs, parts chunked by compressed size) rebuilt by jigsmith.

use crate::checks::Rebuild;
use crate::fixture::{jigdo_file_template, Jte};
use crate::support::require;
use crate::tree::tricky_tree;

fn rebuilds(seed: u64, sha256: bool, bzip2: bool) {
    let tree = tricky_tree(seed);
    let iso = Jte::xorriso().build(&tree);
    let jf = jigdo_file_template(&iso.iso, &tree, sha256, bzip2);
    let text = jf.jigdo_text();
    assert!(
        text.contains("'Deb:with space.bin'"),
        "jigdo-file should quote names:\n{text}"
    );
    let rebuild = Rebuild::of(&jf, &tree);
    rebuild.assert_rebuilds_with_ranges(&tree);
}

#[test]
fn md5_gzip_quoted_names() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file", "md5sum");
    rebuilds(201, false, false);
}

#[test]
fn sha256_bzip2_quoted_names() {
    require!("xorriso", "jigdo-gen-checksum-list", "jigdo-file", "md5sum");
    rebuilds(202, true, true);
}
