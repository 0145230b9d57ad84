//! Seeded, deterministic trees of files in a `TempDir`.
//!
//! Every byte comes from a xorshift64* stream, so a tree is the same on every run and
//! random file data does not compress: a template that wrongly kept a file's data would
//! be visibly large.

use std::path::{Path, PathBuf};

use crate::support::{temp_dir, write};

/// xorshift64*: tiny, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// One regular file of a tree.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Path relative to the tree root, `/`-separated.
    pub rel: String,
    pub size: u64,
    /// Whether it goes into the checksum list given to JTE (unlisted files stay in the
    /// template whatever their size).
    pub listed: bool,
}

/// A tree of files on disk; removed when dropped.
pub struct Tree {
    _dir: tempfile::TempDir,
    /// Canonical (symlink-free) root, as `jigdo-gen-checksum-list` writes it.
    pub root: PathBuf,
    pub entries: Vec<Entry>,
}

impl Tree {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn entry(&self, rel: &str) -> &Entry {
        self.entries
            .iter()
            .find(|e| e.rel == rel)
            .unwrap_or_else(|| panic!("no file {rel:?} in the tree"))
    }

    /// Absolute paths of the files that go into the checksum list.
    pub fn listed_paths(&self) -> Vec<PathBuf> {
        self.entries
            .iter()
            .filter(|e| e.listed)
            .map(|e| self.path(&e.rel))
            .collect()
    }

    /// Absolute paths of every file.
    pub fn all_paths(&self) -> Vec<PathBuf> {
        self.entries.iter().map(|e| self.path(&e.rel)).collect()
    }

    /// Flips one byte in the middle of a file (same size, different checksum).
    pub fn corrupt(&self, rel: &str) {
        let path = self.path(rel);
        let mut data = crate::support::read(&path);
        assert!(!data.is_empty(), "cannot corrupt empty {rel}");
        let mid = data.len() / 2;
        data[mid] ^= 0x5a;
        write(&path, data);
    }

    pub fn remove(&self, rel: &str) {
        let path = self.path(rel);
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("rm {}: {e}", path.display()));
    }
}

enum Content {
    Random(u64),
    CopyOf(String),
}

/// Builds a [`Tree`]: `TreeBuilder::new(seed).file("a", 1024).dup("b", "a").build()`.
pub struct TreeBuilder {
    seed: u64,
    files: Vec<(String, Content, bool)>,
}

impl TreeBuilder {
    pub fn new(seed: u64) -> Self {
        TreeBuilder {
            seed,
            files: Vec::new(),
        }
    }

    /// A file of `size` seeded random bytes, listed in the checksum list.
    pub fn file(mut self, rel: &str, size: u64) -> Self {
        self.files
            .push((rel.to_owned(), Content::Random(size), true));
        self
    }

    /// A file of random bytes kept out of the checksum list: it stays template data.
    pub fn unlisted(mut self, rel: &str, size: u64) -> Self {
        self.files
            .push((rel.to_owned(), Content::Random(size), false));
        self
    }

    /// A second file with the same bytes as `of` (duplicate contents).
    pub fn dup(mut self, rel: &str, of: &str) -> Self {
        self.files
            .push((rel.to_owned(), Content::CopyOf(of.to_owned()), true));
        self
    }

    pub fn build(self) -> Tree {
        let dir = temp_dir();
        let root = dir.path().join("tree").canonicalize_or_create();
        let mut rng = Rng::new(self.seed);
        let mut entries = Vec::new();
        for (rel, content, listed) in self.files {
            let path = root.join(&rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
            }
            let data = match content {
                Content::Random(size) => rng.bytes(usize::try_from(size).unwrap_or(usize::MAX)),
                Content::CopyOf(of) => crate::support::read(&root.join(of)),
            };
            write(&path, &data);
            entries.push(Entry {
                rel,
                size: data.len() as u64,
                listed,
            });
        }
        Tree {
            _dir: dir,
            root,
            entries,
        }
    }
}

trait CanonicalizeOrCreate {
    fn canonicalize_or_create(&self) -> PathBuf;
}

impl CanonicalizeOrCreate for Path {
    fn canonicalize_or_create(&self) -> PathBuf {
        std::fs::create_dir_all(self).unwrap_or_else(|e| panic!("mkdir {}: {e}", self.display()));
        self.canonicalize()
            .unwrap_or_else(|e| panic!("canonicalize {}: {e}", self.display()))
    }
}

/// Names JTE writes unquoted and jigdo-file must quote: spaces, `=`, `#`, both quotes,
/// non-ASCII; sizes at the 1 KiB boundary of `-jigdo-min-file-size`; an empty file;
/// duplicate contents; a subdirectory; and a 2.5 MiB unlisted file, so the template holds
/// several compressed data parts (libjte cuts every 1 MiB / 900 KiB of raw data).
pub fn tricky_tree(seed: u64) -> Tree {
    TreeBuilder::new(seed)
        .file("empty", 0)
        .file("one.bin", 1)
        .file("k1023.bin", 1023)
        .file("k1024.bin", 1024)
        .file("k1025.bin", 1025)
        .file("k2048.bin", 2048)
        .file("with space.bin", 3000)
        .file("eq=sign.dat", 4097)
        .file("hash#mark.txt", 5000)
        .file("quote'single.bin", 1500)
        .file("quote\"double.bin", 2500)
        .file("ünïcødé ✓/naïve file.bin", 6000)
        .file("sub/dir/deep.bin", 70_000)
        .dup("sub/copy of deep.bin", "sub/dir/deep.bin")
        .file("victim.bin", 9000)
        .unlisted("sub/unlisted.bin", 2_600_000)
        .build()
}

/// Names every old tool handles (jigit-mkimage cuts `Label:path` at `=` and does not
/// unquote jigdo-file style values): plain ASCII plus a non-ASCII directory.
pub fn plain_tree(seed: u64) -> Tree {
    TreeBuilder::new(seed)
        .file("empty", 0)
        .file("k1023.bin", 1023)
        .file("k1024.bin", 1024)
        .file("k1025.bin", 1025)
        .file("k2048.bin", 2048)
        .file("docs/readme.txt", 5000)
        .file("pool/main/a/alpha_1.0_all.deb", 70_000)
        .dup(
            "pool/main/b/beta_1.0_all.deb",
            "pool/main/a/alpha_1.0_all.deb",
        )
        .file("ünï/naïve.bin", 6000)
        .file("victim.bin", 9000)
        .unlisted("unlisted.bin", 1_500_000)
        .build()
}
