use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jigsmith_checksum::Digest;
use jigsmith_format::{split_label, ChecksumList, Jigdo};

/// Where a part's bytes may be on local disk: a whole file, or the part's
/// length of bytes at an offset inside a bigger file (a file inside an old
/// release's ISO image, read without mounting it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// `None`: the whole file is the part (its length must match).
    /// `Some(offset)`: the part starts at this byte of the file.
    pub extent: Option<u64>,
}

impl Location {
    /// The whole file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Location {
        Location {
            path: path.into(),
            extent: None,
        }
    }

    /// The bytes starting at `offset` inside the file at `path`.
    pub fn extent(path: impl Into<PathBuf>, offset: u64) -> Location {
        Location {
            path: path.into(),
            extent: Some(offset),
        }
    }

    /// Where the part starts in the file.
    pub fn offset(&self) -> u64 {
        self.extent.unwrap_or(0)
    }

    /// Whether a file of `file_len` bytes can hold a part of `len` bytes
    /// here; if not, why.
    pub(crate) fn fits(&self, file_len: u64, len: u64) -> Result<(), String> {
        match self.extent {
            None if file_len == len => Ok(()),
            None => Err(format!("{file_len} bytes, expected {len}")),
            Some(offset) if offset.checked_add(len).is_some_and(|end| end <= file_len) => Ok(()),
            Some(offset) => Err(format!(
                "{file_len} bytes, too short for {len} bytes at {offset}"
            )),
        }
    }

    /// Opens the file, positioned at the part's first byte.
    pub(crate) fn open(&self) -> std::io::Result<File> {
        let mut f = File::open(&self.path)?;
        if let Some(offset) = self.extent {
            f.seek(SeekFrom::Start(offset))?;
        }
        Ok(f)
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::file(path)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.extent {
            None => write!(f, "{}", self.path.display()),
            Some(offset) => write!(f, "{} at byte {offset}", self.path.display()),
        }
    }
}

/// Where the file with a given digest may be found: the one seam through
/// which make-image, get, serve and mount reach local directories, old ISO
/// images, HTTP mirrors, object stores and the cache of verified parts.
///
/// Nothing a source returns is trusted: [`crate::Resolver`] checks size and
/// checksum before any byte of it goes into an image.
pub trait PartSource: Send + Sync {
    /// Local places that may hold the part, best first. Must be cheap: no
    /// network, no hashing.
    fn candidates(&self, digest: &Digest) -> Vec<Location>;

    /// Human-readable names of the part (e.g. `Debian:pool/main/a/a.deb`),
    /// for "missing" reports when no candidate exists.
    fn names(&self, digest: &Digest) -> Vec<String> {
        let _ = digest;
        Vec::new()
    }

    /// Brings a part that no candidate held onto local disk and says where
    /// (a remote mirror downloading into its cache); `Ok(None)`: this source
    /// has nothing more to offer. May block; the result is checked like
    /// any candidate.
    ///
    /// # Errors
    /// Why fetching failed, in words for the "missing" report.
    fn fetch(&self, digest: &Digest, len: u64) -> std::io::Result<Option<Location>> {
        let _ = (digest, len);
        Ok(None)
    }
}

/// Several sources asked in order: candidates and names of all of them,
/// then each one's [`PartSource::fetch`] until one delivers.
#[derive(Default, Clone)]
pub struct SourceSet {
    sources: Vec<Arc<dyn PartSource>>,
}

impl SourceSet {
    /// No sources yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source, asked after those already added.
    pub fn push(&mut self, source: Arc<dyn PartSource>) {
        self.sources.push(source);
    }

    /// Builder form of [`SourceSet::push`].
    #[must_use]
    pub fn with(mut self, source: Arc<dyn PartSource>) -> Self {
        self.push(source);
        self
    }
}

impl PartSource for SourceSet {
    fn candidates(&self, digest: &Digest) -> Vec<Location> {
        let mut all: Vec<Location> = Vec::new();
        for c in self.sources.iter().flat_map(|s| s.candidates(digest)) {
            if !all.contains(&c) {
                all.push(c);
            }
        }
        all
    }

    fn names(&self, digest: &Digest) -> Vec<String> {
        self.sources.iter().flat_map(|s| s.names(digest)).collect()
    }

    fn fetch(&self, digest: &Digest, len: u64) -> std::io::Result<Option<Location>> {
        let mut last_err = None;
        for s in &self.sources {
            match s.fetch(digest, len) {
                Ok(Some(found)) => return Ok(Some(found)),
                Ok(None) => {}
                Err(e) => last_err = Some(e),
            }
        }
        last_err.map_or(Ok(None), Err)
    }
}

/// Parts on local disks, found through `.jigdo` files with `Label=DIR`
/// maps and through checksum lists.
#[derive(Debug, Default, Clone)]
pub struct LocalSources {
    paths: HashMap<Digest, Vec<Location>>,
    names: HashMap<Digest, Vec<String>>,
}

impl LocalSources {
    /// No sources yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one candidate for a digest (duplicates are ignored).
    pub fn add(&mut self, digest: Digest, location: impl Into<Location>) {
        let location = location.into();
        let v = self.paths.entry(digest).or_default();
        if !v.contains(&location) {
            v.push(location);
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
    fn candidates(&self, digest: &Digest) -> Vec<Location> {
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
                Location::file("/m/pool/a b.deb"),
                Location::file("/srv/mirror/pool/a b.deb")
            ]
        );
        assert_eq!(s.names(&d)[0], "Debian:pool/a b.deb");
        assert!(s
            .candidates(&Hasher::digest(Algorithm::Md5, b"y"))
            .is_empty());
    }
}
