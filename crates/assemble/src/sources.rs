use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jigsmith_checksum::Digest;
use jigsmith_format::{split_label, ChecksumList, Jigdo};

/// Where the file with a given digest may be found.
///
/// Nothing a source returns is trusted: [`crate::Resolver`] checks size and
/// checksum before any byte of it goes into an image.
pub trait PartSource: Send + Sync {
    /// Candidate local paths, best first.
    fn candidates(&self, digest: &Digest) -> Vec<PathBuf>;

    /// Human-readable names of the part (e.g. `Debian:pool/main/a/a.deb`),
    /// for "missing" reports when no candidate exists.
    fn names(&self, digest: &Digest) -> Vec<String> {
        let _ = digest;
        Vec::new()
    }
}

/// Parts on local disks, found through `.jigdo` files with `Label=DIR`
/// maps and through checksum lists.
#[derive(Debug, Default, Clone)]
pub struct LocalSources {
    paths: HashMap<Digest, Vec<PathBuf>>,
    names: HashMap<Digest, Vec<String>>,
}

impl LocalSources {
    /// No sources yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one candidate path for a digest (duplicates are ignored).
    pub fn add(&mut self, digest: Digest, path: PathBuf) {
        let v = self.paths.entry(digest).or_default();
        if !v.contains(&path) {
            v.push(path);
        }
    }

    /// Adds every [Parts] entry of `jigdo`, turning `Label:path` into
    /// `DIR/path` for each `(Label, DIR)` in `maps`, and following [Servers]
    /// entries that point at local directories (`file:/...` or `/...`).
    ///
    /// Every reading of an ambiguous value is added (see
    /// [`jigsmith_format::PartEntry::locations`]); only one will exist.
    pub fn add_jigdo(&mut self, jigdo: &Jigdo, maps: &[(String, PathBuf)]) {
        for part in &jigdo.parts {
            for location in part.locations() {
                self.names
                    .entry(part.digest)
                    .or_default()
                    .push(location.clone());
                if let Some((label, path)) = split_label(&location) {
                    let rel = path.trim_start_matches('/');
                    for (_, dir) in maps.iter().filter(|(l, _)| l == label) {
                        self.add(part.digest, dir.join(rel));
                    }
                }
                for expanded in jigdo.expand(&location) {
                    if let Some(local) = local_path(&expanded) {
                        self.add(part.digest, local);
                    }
                }
            }
        }
    }

    /// Adds every entry of a checksum list; entries of other algorithms
    /// simply never match a template's digests.
    pub fn add_checksum_list(&mut self, list: &ChecksumList) {
        for e in &list.entries {
            self.add(e.digest, path_from_bytes(&e.path));
        }
    }

    /// How many distinct digests have candidates.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether no digest has a candidate.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

impl PartSource for LocalSources {
    fn candidates(&self, digest: &Digest) -> Vec<PathBuf> {
        self.paths.get(digest).cloned().unwrap_or_default()
    }

    fn names(&self, digest: &Digest) -> Vec<String> {
        self.names.get(digest).cloned().unwrap_or_default()
    }
}

/// A local path for `file:/x`, `file:///x` or `/x`; `None` for other URLs.
fn local_path(location: &str) -> Option<PathBuf> {
    let p = location
        .strip_prefix("file://")
        .or_else(|| location.strip_prefix("file:"))
        .unwrap_or(location);
    p.starts_with('/').then(|| PathBuf::from(p))
}

#[cfg(unix)]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(b)).to_path_buf()
}

#[cfg(not(unix))]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::{Algorithm, Hasher};
    use jigsmith_format::PartEntry;

    #[test]
    fn maps_labels_and_local_servers() {
        let d = Hasher::digest(Algorithm::Md5, b"x");
        let jigdo = Jigdo {
            version: "1.1".into(),
            parts: vec![PartEntry::new(d, "Debian:pool/a b.deb")],
            servers: vec![jigsmith_format::ServerEntry {
                label: "Debian".into(),
                raw: "file:/srv/mirror/ --try-last".into(),
            }],
            ..Jigdo::default()
        };
        let mut s = LocalSources::new();
        s.add_jigdo(&jigdo, &[("Debian".into(), "/m".into())]);
        assert_eq!(
            s.candidates(&d),
            vec![
                PathBuf::from("/m/pool/a b.deb"),
                PathBuf::from("/srv/mirror/pool/a b.deb")
            ]
        );
        assert_eq!(s.names(&d)[0], "Debian:pool/a b.deb");
        assert!(s
            .candidates(&Hasher::digest(Algorithm::Md5, b"y"))
            .is_empty());
    }
}
