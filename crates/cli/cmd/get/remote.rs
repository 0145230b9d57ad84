//! Remote sources for the other commands: `make-image --mirror LABEL=URL
//! --cache DIR` fetches parts no local source has through the same
//! [`HttpMirrors`] code as `get`, into a size-bounded cache of verified
//! parts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use jigsmith_assemble::{LocalSources, PartSource, SourceSet};
use jigsmith_checksum::Digest;
use jigsmith_format::{Jigdo, Template};
use jigsmith_net::{
    is_object_store_url, ClientConfig, Fetcher, HttpMirrors, Mirrors, ObjectStoreMirrors, PartCache,
};

/// The cache's bound unless told otherwise.
const CACHE_BYTES: u64 = 16 << 30;
/// Downloads at once while prefetching.
const JOBS: usize = 16;

/// The default cache: `$XDG_CACHE_HOME/jigsmith/parts`, else `~/.cache/jigsmith/parts`.
pub fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("jigsmith").join("parts")
}

/// `local`, then the mirrors: parts no local candidate has are downloaded
/// into the cache right away, many at once (a build reads parts in image
/// order and would otherwise wait for each download in turn).
pub fn with_mirrors(
    local: LocalSources,
    jigdo: &Jigdo,
    template: &Template,
    mirrors: &[(String, String)],
    cache: Option<&Path>,
) -> anyhow::Result<Arc<dyn PartSource>> {
    let cache_dir = cache.map_or_else(default_cache, Path::to_path_buf);
    let cache = Arc::new(
        PartCache::open(&cache_dir, CACHE_BYTES)
            .with_context(|| format!("opening the part cache {}", cache_dir.display()))?,
    );
    let (buckets, mirrors): (Vec<_>, Vec<_>) = mirrors
        .iter()
        .cloned()
        .partition(|(_, url)| is_object_store_url(url));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    let fetcher = Arc::new(Fetcher::new(ClientConfig::default(), threads)?);
    let buckets = match buckets.is_empty() {
        true => None,
        false => Some(Arc::new(ObjectStoreMirrors::new(
            &buckets,
            jigdo,
            Arc::clone(&cache),
        )?)),
    };
    let any_http = !mirrors.is_empty() || !jigdo.servers.is_empty();
    let mirrors = Mirrors::from_jigdo(jigdo, &mirrors, false)?;
    let http = Arc::new(HttpMirrors::new(
        fetcher,
        mirrors,
        jigdo,
        Arc::clone(&cache),
    ));
    let mut seen = HashSet::new();
    let mut absent: Vec<(Digest, u64)> = Vec::new();
    for (item, digest) in template.files() {
        let local_file = local.candidates(&digest).iter().any(|l| l.path.is_file());
        if !local_file && seen.insert(digest) {
            absent.push((digest, item.len));
        }
    }
    let total: u64 = absent.iter().map(|(_, len)| len).sum();
    // a cache too small to hold them all would evict what the build needs:
    // then each part is fetched when the build reaches it
    if total <= CACHE_BYTES {
        // buckets first (--mirror order puts them where they were given;
        // the HTTP mirrors then fetch only what is still not cached)
        let mut failed = match &buckets {
            Some(b) => b.prefetch(&absent, JOBS),
            None => 0,
        };
        if any_http {
            failed = http.prefetch(&absent, JOBS);
        }
        if failed > 0 {
            tracing::warn!("{failed} part(s) could not be fetched from the mirrors");
        }
    }
    let local: Arc<dyn PartSource> = Arc::new(local);
    let mut set = SourceSet::new().with(local);
    if let Some(buckets) = buckets {
        set.push(buckets as Arc<dyn PartSource>);
    }
    Ok(Arc::new(set.with(http)))
}
