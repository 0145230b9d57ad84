//! Images written by genisoimage 1.1.11 (JTE 1.19) rebuilt by jigsmith.
//!
//! genisoimage knows only MD5 (`-md5-list`; no `-checksum-list`, no
//! `-jigdo-checksum-algorithm`) and refuses `-jigdo-min-file-size` below 1024.

use crate::checks::Rebuild;
use crate::fixture::Jte;
use crate::support::require;
use crate::tree::tricky_tree;

fn rebuilds_with_ranges(jte: Jte, seed: u64) {
    let tree = tricky_tree(seed);
    let iso = jte.build(&tree);
    let rebuild = Rebuild::of(&iso, &tree);
    rebuild.assert_rebuilds_with_ranges(&tree);
}

#[test]
fn md5_gzip_tricky_names_rebuild_bit_exact_with_ranges() {
    require!("genisoimage", "jigdo-gen-checksum-list", "md5sum");
    rebuilds_with_ranges(Jte::genisoimage(), 101);
}

#[test]
fn md5_bzip2_tricky_names_rebuild_bit_exact_with_ranges() {
    require!("genisoimage", "jigdo-gen-checksum-list", "md5sum");
    rebuilds_with_ranges(Jte::genisoimage().bzip2(), 102);
}

#[test]
fn checksum_list_instead_of_jigdo() {
    require!("genisoimage", "jigdo-gen-checksum-list", "md5sum");
    let tree = tricky_tree(103);
    let iso = Jte::genisoimage().build(&tree);
    Rebuild::from_list(&iso).assert_rebuilds();
}
