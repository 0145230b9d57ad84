//! A directory of verified parts, named by digest, bounded in size.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use jigsmith_checksum::Digest;

/// Parts downloaded and verified, as `DIR/<hex digest>`; temporary files
/// start with `.tmp-`. When the total passes the bound, the least recently
/// used parts are deleted.
#[derive(Debug)]
pub struct PartCache {
    dir: PathBuf,
    max_bytes: u64,
    used: AtomicU64,
    next_tmp: AtomicU64,
    evicting: Mutex<()>,
}

impl PartCache {
    /// Opens (creating) `dir`, counting what it holds and removing
    /// temporary files left by a killed run.
    ///
    /// # Errors
    /// Creating or listing the directory failed.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<PartCache> {
        fs::create_dir_all(dir)?;
        let mut used = 0;
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name();
            if name.to_string_lossy().starts_with(".tmp-") {
                let _ = fs::remove_file(e.path());
            } else if let Ok(m) = e.metadata() {
                used += m.len();
            }
        }
        Ok(PartCache {
            dir: dir.to_path_buf(),
            max_bytes,
            used: AtomicU64::new(used),
            next_tmp: AtomicU64::new(0),
            evicting: Mutex::new(()),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a part is kept.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.to_hex())
    }

    /// The cached part, if present (marked as recently used).
    pub fn lookup(&self, digest: &Digest) -> Option<PathBuf> {
        let p = self.path(digest);
        let f = File::options().append(true).open(&p).ok()?;
        let _ = f.set_modified(SystemTime::now());
        Some(p)
    }

    /// A new temporary file in the cache directory (same file system, so
    /// it can be renamed into place).
    ///
    /// # Errors
    /// Creating the file failed.
    pub fn temp(&self) -> io::Result<(File, PathBuf)> {
        let n = self.next_tmp.fetch_add(1, Ordering::Relaxed);
        let p = self.dir.join(format!(".tmp-{}-{n}", std::process::id()));
        let f = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)?;
        Ok((f, p))
    }

    /// Moves a verified temporary file into place and evicts old parts if
    /// the cache is over its bound.
    ///
    /// # Errors
    /// Renaming failed.
    pub fn commit(&self, tmp: &Path, digest: &Digest, len: u64) -> io::Result<PathBuf> {
        let dest = self.path(digest);
        fs::rename(tmp, &dest)?;
        let used = self.used.fetch_add(len, Ordering::Relaxed) + len;
        if used > self.max_bytes {
            self.evict(&dest);
        }
        Ok(dest)
    }

    /// Deletes least recently used parts until 90 % of the bound is used.
    fn evict(&self, keep: &Path) {
        let Ok(_guard) = self.evicting.lock() else {
            return;
        };
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut parts: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                let m = e.metadata().ok()?;
                let p = e.path();
                let tmp = e.file_name().to_string_lossy().starts_with(".tmp-");
                (m.is_file() && !tmp && p != keep)
                    .then(|| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), p))
            })
            .collect();
        parts.sort();
        let target = self.max_bytes / 10 * 9;
        for (_, len, p) in parts {
            if self.used.load(Ordering::Relaxed) <= target {
                break;
            }
            if fs::remove_file(&p).is_ok() {
                self.used.fetch_sub(len, Ordering::Relaxed);
            }
        }
    }
}

/// The `[Parts]` names of a `.jigdo` by digest, with the cache of verified
/// parts: what every remote part source offers before it fetches anything.
pub(crate) struct CachedParts {
    pub(crate) cache: std::sync::Arc<PartCache>,
    pub(crate) locations: std::collections::HashMap<Digest, Vec<String>>,
}

impl CachedParts {
    pub(crate) fn new(
        jigdo: &jigsmith_format::Jigdo,
        cache: impl Into<std::sync::Arc<PartCache>>,
    ) -> CachedParts {
        let mut locations: std::collections::HashMap<Digest, Vec<String>> = Default::default();
        for p in &jigdo.parts {
            locations.entry(p.digest).or_default().extend(p.locations());
        }
        CachedParts {
            cache: cache.into(),
            locations,
        }
    }

    /// The cached copy of the part, if any.
    pub(crate) fn candidates(&self, digest: &Digest) -> Vec<jigsmith_assemble::Location> {
        self.cache
            .lookup(digest)
            .map(jigsmith_assemble::Location::file)
            .into_iter()
            .collect()
    }

    /// The part's `.jigdo` names.
    pub(crate) fn names(&self, digest: &Digest) -> Vec<String> {
        self.locations.get(digest).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::{Algorithm, Hasher};

    #[test]
    fn evicts_least_recently_used() {
        let d = tempfile::tempdir().unwrap();
        let cache = PartCache::open(d.path(), 250).unwrap();
        let mut paths = Vec::new();
        for i in 0..3u8 {
            let digest = Hasher::digest(Algorithm::Md5, &[i]);
            let (_, tmp) = cache.temp().unwrap();
            fs::write(&tmp, [i; 100]).unwrap();
            let t = SystemTime::now() - std::time::Duration::from_secs(100 - u64::from(i));
            File::options()
                .append(true)
                .open(&tmp)
                .unwrap()
                .set_modified(t)
                .unwrap();
            paths.push(cache.commit(&tmp, &digest, 100).unwrap());
        }
        assert!(!paths[0].exists(), "oldest evicted");
        assert!(paths[1].exists() && paths[2].exists());
        let reopened = PartCache::open(d.path(), 250).unwrap();
        assert_eq!(reopened.used.load(Ordering::Relaxed), 200);
    }
}
