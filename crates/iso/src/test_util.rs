//! What the writer's unit tests share: a small source tree, the image of a
//! tree, and integers read out of an image.

use std::path::{Path, PathBuf};

/// A temporary dir holding `cd/f` (5000 bytes): the smallest tree with a
/// file in it. Other test files go next to `cd`.
pub(crate) fn one_file_tree() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("cd");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("f"), vec![1u8; 5000]).unwrap();
    (d, tree)
}

/// The image `opts` make of `tree`.
pub(crate) fn image_of(opts: crate::IsoOptions, tree: &Path) -> Vec<u8> {
    let mut w = crate::IsoWriter::new(opts);
    w.add_root(tree);
    let mut sink = crate::PlainSink::new(Vec::new());
    w.write(&mut sink).unwrap();
    sink.into_inner()
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
