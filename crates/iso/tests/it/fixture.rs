//! Source trees with awkward names, generated from a seeded RNG.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// xorshift64*: deterministic test data without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// What a reader must see: relative path → entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    /// Length and MD5 of the content.
    File(u64, [u8; 16]),
    Link(String),
}

pub fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, data).unwrap();
}

/// Builds the awkward tree under `root`.
pub fn awkward(root: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let long = "L".repeat(180) + "-long-name.txt";
    assert_eq!(long.len(), 194);
    let names = [
        "with space.txt",
        "a=b=c",
        "#hash#",
        "quote'single",
        "quote\"double",
        "ünïcødé-日本語.txt",
        "UPPER.TXT",
        "upper.txt",
        "dots.in.the.name.tar.gz",
        ".hidden",
        "back\\slash",
        "colon:star*question?",
        &long,
    ];
    for (i, n) in names.iter().enumerate() {
        let len = (rng.next() % 5000) as usize + i;
        write(root, n, &rng.bytes(len));
    }
    write(
        root,
        &format!("{}/{}", "D".repeat(200), "x"),
        b"in a long dir",
    );
    let deep: Vec<String> = (1..=12).map(|i| format!("level{i}")).collect();
    write(
        root,
        &format!("{}/deep.bin", deep.join("/")),
        &rng.bytes(70_000),
    );
    write(root, "sub dir/empty", b"");
    write(root, "sub dir/exec.sh", b"#!/bin/sh\necho hi\n");
    fs::set_permissions(
        root.join("sub dir/exec.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    write(root, "sub dir/private", b"secret");
    fs::set_permissions(
        root.join("sub dir/private"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::create_dir_all(root.join("empty dir")).unwrap();
    symlink("../with space.txt", root.join("sub dir/rel link")).unwrap();
    symlink("/etc/absolute/target", root.join("abs link")).unwrap();
    symlink(
        format!("{}/{}", "t".repeat(150), "u".repeat(150)),
        root.join("long link"),
    )
    .unwrap();
    symlink("c".repeat(300), root.join("long component link")).unwrap();
    write(root, "big/2mb.bin", &rng.bytes(2 << 20));
    // many files so directories span several blocks
    for i in 0..120 {
        write(
            root,
            &format!("many/file number {i:03} with a fairly long name.dat"),
            &rng.bytes(i * 7),
        );
    }
}

/// Equal maps, or a failure naming only the differing paths.
pub fn assert_same_tree(got: &BTreeMap<String, Entry>, want: &BTreeMap<String, Entry>) {
    let diff: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        diff.is_empty() && extra.is_empty(),
        "differ or missing: {diff:?}\nunexpected: {extra:?}"
    );
}

/// Walks a source tree into the map readers must reproduce.
pub fn expected(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let key = r.to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.insert(
                    key,
                    Entry::Link(
                        fs::read_link(e.path())
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    ),
                );
            } else if ft.is_dir() {
                out.insert(key, Entry::Dir);
                stack.push(r);
            } else {
                let data = fs::read(e.path()).unwrap();
                out.insert(
                    key,
                    Entry::File(
                        data.len() as u64,
                        <md5::Md5 as md5::Digest>::digest(&data).into(),
                    ),
                );
            }
        }
    }
    out
}
