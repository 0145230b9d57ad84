//! Remembering which files were checked, so a long-running server or mount
//! hashes each source file once, not once per request (issue 7, 9).

use std::collections::HashMap;
use std::fs::Metadata;
use std::sync::Mutex;

use jigsmith_checksum::Digest;

/// Identifies one version of a file's bytes: the same key means the same
/// inode, untouched since it was hashed.
///
/// A file rewritten in place with its old size and mtime restored would go
/// unnoticed; every jigdo tool shares that blind spot with `rsync` and `make`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    /// Where the part starts inside the file (non-zero for a file inside an ISO).
    offset: u64,
}

impl FileKey {
    /// The key of the bytes at `offset` of the file described by `meta`.
    pub fn new(meta: &Metadata, offset: u64) -> FileKey {
        let (dev, ino) = dev_ino(meta);
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_nanos() as i128)
            })
            .unwrap_or(0);
        FileKey {
            dev,
            ino,
            size: meta.len(),
            mtime_ns,
            offset,
        }
    }
}

#[cfg(unix)]
fn dev_ino(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dev_ino(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// Checksums already computed, by [`FileKey`]; shared by every image a
/// server or mount publishes, so a file used by several images is hashed once.
///
/// Bounded by the number of distinct source files, which the templates bound.
#[derive(Debug, Default)]
pub struct VerdictCache {
    known: Mutex<HashMap<(FileKey, u64), Digest>>,
}

impl VerdictCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the `len` bytes at `key` were hashed to `digest` before.
    pub fn holds(&self, key: &FileKey, len: u64, digest: &Digest) -> bool {
        self.lock().get(&(*key, len)) == Some(digest)
    }

    /// Records that the `len` bytes at `key` hash to `digest`.
    pub fn record(&self, key: FileKey, len: u64, digest: Digest) {
        self.lock().insert((key, len), digest);
    }

    /// How many verdicts are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(FileKey, u64), Digest>> {
        // entries are inserted whole: a panic elsewhere cannot leave one half-written
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::{Algorithm, Hasher};

    #[test]
    fn a_changed_file_has_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").unwrap();
        let before = FileKey::new(&std::fs::metadata(&path).unwrap(), 0);
        let cache = VerdictCache::new();
        let d = Hasher::digest(Algorithm::Md5, b"one");
        cache.record(before, 3, d);
        assert!(cache.holds(&before, 3, &d));
        assert!(!cache.holds(&before, 2, &d));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"two").unwrap();
        let after = FileKey::new(&std::fs::metadata(&path).unwrap(), 0);
        assert_ne!(before, after);
        assert!(!cache.holds(&after, 3, &d));
        assert_ne!(before, FileKey::new(&std::fs::metadata(&path).unwrap(), 1));
    }
}
