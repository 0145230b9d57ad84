//! HTTP(S) mirrors as a [`PartSource`]: parts are downloaded into the
//! cache of verified parts and served from there.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use jigsmith_assemble::{Location, PartSource};
use jigsmith_checksum::Digest;
use jigsmith_format::Jigdo;

use crate::cache::CachedParts;
use crate::{Error, FetchProgress, Fetched, Fetcher, FileAt, Mirrors, PartCache, PartUrl, Task};

/// Bytes fetched per mirror.
pub type MirrorStats = HashMap<Arc<str>, u64>;

/// The `[Parts]` of a `.jigdo` reachable through [`Mirrors`], with a
/// [`PartCache`]: `candidates` offers cached parts, `fetch` downloads.
pub struct HttpMirrors {
    fetcher: Arc<Fetcher>,
    mirrors: Mirrors,
    parts: CachedParts,
    stats: Mutex<MirrorStats>,
    fetched_bytes: AtomicU64,
}

impl HttpMirrors {
    /// Mirrors for the parts of `jigdo`. Servers and mounts pass one
    /// `Arc<PartCache>` to the sources of all their images, so the cache's
    /// bound holds for all of them together.
    pub fn new(
        fetcher: Arc<Fetcher>,
        mirrors: Mirrors,
        jigdo: &Jigdo,
        cache: impl Into<Arc<PartCache>>,
    ) -> Self {
        HttpMirrors {
            fetcher,
            mirrors,
            parts: CachedParts::new(jigdo, cache),
            stats: Mutex::new(HashMap::new()),
            fetched_bytes: AtomicU64::new(0),
        }
    }

    /// Every URL the part may be fetched from; hostile locations are
    /// skipped (and logged).
    pub fn urls(&self, digest: &Digest) -> Vec<PartUrl> {
        let mut out: Vec<PartUrl> = Vec::new();
        for loc in self.parts.locations.get(digest).into_iter().flatten() {
            match self.mirrors.urls(loc) {
                Ok(urls) => {
                    for u in urls {
                        if !out.contains(&u) {
                            out.push(u);
                        }
                    }
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
        out
    }

    /// Downloads every part in `parts` that is not cached yet, `jobs` at a
    /// time (so a build that then reads them in order does not wait for
    /// each in turn). Returns how many could not be fetched.
    pub fn prefetch(&self, parts: &[(Digest, u64)], jobs: usize) -> usize {
        let mut tasks = Vec::new();
        let mut temps = Vec::new();
        let mut failed = 0;
        for (digest, len) in parts {
            if self.parts.cache.lookup(digest).is_some() {
                continue;
            }
            let urls = self.urls(digest);
            match (urls.is_empty(), self.parts.cache.temp()) {
                (false, Ok((file, path))) => {
                    tasks.push(Task {
                        digest: *digest,
                        len: *len,
                        urls,
                        writer: Arc::new(FileAt {
                            file: Arc::new(file),
                            base: 0,
                        }),
                    });
                    temps.push(path);
                }
                _ => failed += 1,
            }
        }
        let meta: Vec<(Digest, u64)> = tasks.iter().map(|t| (t.digest, t.len)).collect();
        self.fetcher.fetch_many(tasks, jobs, Arc::new(()), |i, r| {
            let (Some((digest, len)), Some(tmp)) = (meta.get(i), temps.get(i)) else {
                return true;
            };
            match r {
                Ok(f) => {
                    self.count(&f, *len);
                    if let Err(e) = self.parts.cache.commit(tmp, digest, *len) {
                        tracing::warn!("caching {}: {e}", tmp.display());
                        failed += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    let _ = std::fs::remove_file(tmp);
                    failed += 1;
                }
            }
            true
        });
        failed
    }

    /// Bytes fetched from each mirror so far.
    pub fn stats(&self) -> MirrorStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Bytes fetched in all.
    pub fn fetched_bytes(&self) -> u64 {
        self.fetched_bytes.load(Ordering::Relaxed)
    }

    fn count(&self, f: &Fetched, len: u64) {
        self.fetched_bytes.fetch_add(len, Ordering::Relaxed);
        if let Ok(mut s) = self.stats.lock() {
            *s.entry(f.mirror.clone()).or_default() += len;
        }
    }

    fn fetch_into_cache(&self, digest: &Digest, len: u64) -> Result<Option<Location>, Error> {
        let urls = self.urls(digest);
        if urls.is_empty() {
            return Ok(None);
        }
        let write_err = |source| Error::Write {
            what: self.parts.cache.dir().display().to_string(),
            source,
        };
        let (file, tmp) = self.parts.cache.temp().map_err(write_err)?;
        let file = Arc::new(file);
        let task = Task {
            digest: *digest,
            len,
            urls,
            writer: Arc::new(FileAt {
                file: file.clone(),
                base: 0,
            }),
        };
        let result = self.fetcher.fetch_part(&task, &());
        let fetched = match result {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // a part larger than the file would be if a retry wrote less
        File::set_len(&file, len).map_err(write_err)?;
        self.count(&fetched, len);
        let path = self
            .parts
            .cache
            .commit(&tmp, digest, len)
            .map_err(write_err)?;
        Ok(Some(Location::file(path)))
    }
}

impl PartSource for HttpMirrors {
    fn candidates(&self, digest: &Digest) -> Vec<Location> {
        self.parts.candidates(digest)
    }

    fn names(&self, digest: &Digest) -> Vec<String> {
        self.parts.names(digest)
    }

    fn fetch(&self, digest: &Digest, len: u64) -> std::io::Result<Option<Location>> {
        self.fetch_into_cache(digest, len)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

impl FetchProgress for HttpMirrors {}
