//! S3-compatible object stores as part sources: `--mirror Debian=s3://bucket/prefix`.
//!
//! A part `Debian:pool/main/h/hello.deb` is the object `prefix/pool/main/h/hello.deb`
//! of the bucket. Credentials, region and endpoint come from the usual
//! `AWS_*` environment variables (`AWS_ENDPOINT_URL` for MinIO, Ceph or a
//! test server; `AWS_ALLOW_HTTP=true` for a plain-http endpoint). Like the
//! HTTP mirrors, a fetched object goes into the cache of verified parts
//! only after its size and checksum matched.

use std::io::Write;
use std::sync::Arc;

use jigsmith_assemble::{Location, PartSource};
use jigsmith_checksum::{Digest, Hasher};
use jigsmith_format::{split_label, Jigdo};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use crate::cache::CachedParts;
use crate::{Error, PartCache};

/// Whether a `--mirror` value names an object store rather than an HTTP mirror.
pub fn is_object_store_url(url: &str) -> bool {
    url.starts_with("s3://")
}

/// The runtime every object-store download runs on: one per process, so a
/// server publishing many images does not start threads for each.
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("jigsmith-s3")
                .enable_all()
                .build()
                .map_err(|e| format!("starting the I/O runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// One `LABEL=s3://bucket/prefix` mirror.
struct Bucket {
    label: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
}

/// The `[Parts]` of a `.jigdo` reachable in S3-compatible buckets, with a
/// [`PartCache`]: `candidates` offers cached parts, `fetch` downloads.
pub struct ObjectStoreMirrors {
    runtime: &'static tokio::runtime::Runtime,
    buckets: Vec<Bucket>,
    parts: CachedParts,
}

impl ObjectStoreMirrors {
    /// Buckets for the `(label, s3://bucket/prefix)` pairs, for the parts of `jigdo`.
    ///
    /// # Errors
    /// [`Error::ObjectStore`] for a URL without a bucket or one the store
    /// configuration refuses; [`Error::Client`] if no runtime can be made.
    pub fn new(
        mirrors: &[(String, String)],
        jigdo: &Jigdo,
        cache: impl Into<Arc<PartCache>>,
    ) -> Result<ObjectStoreMirrors, Error> {
        let mut buckets = Vec::new();
        for (label, url) in mirrors {
            let bad = |why: String| Error::ObjectStore {
                url: url.clone(),
                why,
            };
            let rest = url
                .strip_prefix("s3://")
                .ok_or_else(|| bad("not an s3:// URL".into()))?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket name".into()));
            }
            if prefix.split('/').any(|s| s == "..") {
                return Err(bad("`..` in the prefix".into()));
            }
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| bad(e.to_string()))?;
            buckets.push(Bucket {
                label: label.clone(),
                store: Arc::new(store),
                prefix: prefix.trim_matches('/').to_string(),
                url: url.clone(),
            });
        }
        let runtime = runtime().map_err(|why| Error::Client { why })?;
        Ok(ObjectStoreMirrors {
            runtime,
            buckets,
            parts: CachedParts::new(jigdo, cache),
        })
    }

    /// Downloads every part in `parts` that is not cached yet, `jobs` at a
    /// time (a build reads parts in order and would otherwise wait for each
    /// download in turn). Returns how many could not be fetched.
    pub fn prefetch(&self, parts: &[(Digest, u64)], jobs: usize) -> usize {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, 64).min(parts.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((digest, len)) = parts.get(i) else {
                        break;
                    };
                    if self.parts.cache.lookup(digest).is_some() {
                        continue;
                    }
                    if !matches!(self.fetch(digest, *len), Ok(Some(_))) {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        failed.into_inner()
    }

    /// Every (bucket, object key) the part may be at.
    fn objects(&self, digest: &Digest) -> Vec<(&Bucket, String)> {
        let mut out = Vec::new();
        for loc in self.parts.locations.get(digest).into_iter().flatten() {
            let Some((label, path)) = split_label(loc) else {
                continue;
            };
            let path = path.trim_start_matches('/');
            if path.split('/').any(|s| s == ".." || s.is_empty()) || path.contains('\0') {
                tracing::warn!("part name {loc:?} refused for object stores");
                continue;
            }
            for b in self.buckets.iter().filter(|b| b.label == label) {
                let key = if b.prefix.is_empty() {
                    path.to_string()
                } else {
                    format!("{}/{path}", b.prefix)
                };
                out.push((b, key));
            }
        }
        out
    }

    /// Downloads one object into a temporary file of the cache, checking
    /// its size and checksum; the cached path, or why not.
    fn fetch_object(
        &self,
        bucket: &Bucket,
        key: &str,
        digest: &Digest,
        len: u64,
    ) -> Result<std::path::PathBuf, String> {
        let (mut file, tmp) = self.parts.cache.temp().map_err(|e| e.to_string())?;
        let result = self.runtime.block_on(async {
            use futures_util::StreamExt;
            let got = bucket
                .store
                .get(&ObjectPath::from(key))
                .await
                .map_err(|e| e.to_string())?;
            if got.meta.size as u64 != len {
                return Err(format!("is {} bytes, the part {len}", got.meta.size));
            }
            let mut hasher = Hasher::new(digest.algorithm());
            let mut written = 0u64;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                written += chunk.len() as u64;
                if written > len {
                    return Err(format!("sent more than the {len} bytes asked"));
                }
                hasher.update(&chunk);
                file.write_all(&chunk).map_err(|e| e.to_string())?;
            }
            if written != len {
                return Err(format!("sent {written} of {len} bytes"));
            }
            let actual = hasher.finalize();
            if actual != *digest {
                return Err(format!(
                    "checksum {}, expected {}",
                    actual.to_hex(),
                    digest.to_hex()
                ));
            }
            Ok(())
        });
        match result.and_then(|()| file.sync_all().map_err(|e| e.to_string())) {
            Ok(()) => self
                .parts
                .cache
                .commit(&tmp, digest, len)
                .map_err(|e| e.to_string()),
            Err(why) => {
                let _ = std::fs::remove_file(&tmp);
                Err(why)
            }
        }
    }
}

impl PartSource for ObjectStoreMirrors {
    fn candidates(&self, digest: &Digest) -> Vec<Location> {
        self.parts.candidates(digest)
    }

    fn names(&self, digest: &Digest) -> Vec<String> {
        self.parts.names(digest)
    }

    fn fetch(&self, digest: &Digest, len: u64) -> std::io::Result<Option<Location>> {
        for (bucket, key) in self.objects(digest) {
            match self.fetch_object(bucket, &key, digest, len) {
                Ok(path) => return Ok(Some(Location::file(path))),
                Err(why) => tracing::warn!("{}/{key}: {why}", bucket.url.trim_end_matches('/')),
            }
        }
        Ok(None)
    }
}
