//! Where the parts of a catalog's images come from, for the commands that
//! publish one (serve, mount): `--map LABEL=DIR` and `-f LIST` as in
//! make-image, and `--mirror LABEL=URL` with `--cache DIR`: each image gets
//! HTTP mirrors (or S3 buckets) for the parts no local source has, through
//! the same code as `get` and `make-image`, with one size-bounded cache of
//! verified parts shared by all images.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use jigsmith_assemble::{PartSource, SourceSet};
use jigsmith_catalog::{RemoteSources, Shared};
use jigsmith_format::Jigdo;
use jigsmith_net::{
    is_object_store_url, ClientConfig, Fetcher, HttpMirrors, Mirrors, ObjectStoreMirrors, PartCache,
};

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Where a [Parts] label's files are: LABEL=DIR, e.g. Debian=/srv/mirror/debian.
    #[arg(short, long, value_name = "LABEL=DIR", value_parser = super::image_job::parse_map)]
    pub map: Vec<(String, PathBuf)>,
    /// A checksum list naming more local files (jigdo-gen-checksum-list
    /// format or md5sum/sha256sum output).
    #[arg(short = 'f', long, value_name = "FILE")]
    pub checksum_list: Vec<PathBuf>,
    /// An HTTP(S) mirror or an s3://bucket/prefix object store for a [Parts]
    /// label, for parts no local source has (the .jigdo's [Servers] are
    /// then used too); repeatable.
    #[arg(long, value_name = "LABEL=URL", value_parser = super::get::parse_mirror)]
    mirror: Vec<(String, String)>,
    /// Where parts fetched from mirrors are kept (default:
    /// ~/.cache/jigsmith/parts).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Most the part cache may hold, GiB; the least recently used parts go first.
    #[arg(long, value_name = "GIB", default_value_t = 16)]
    cache_max: u64,
}

impl SourceArgs {
    /// The same options as arguments, the cache directory made absolute
    /// (for a process started from `/`, like a background mount).
    pub fn to_args(&self) -> anyhow::Result<Vec<std::ffi::OsString>> {
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        for (label, url) in &self.mirror {
            args.push(format!("--mirror={label}={url}").into());
        }
        if let Some(dir) = &self.cache {
            let dir =
                std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
            args.push("--cache".into());
            args.push(dir.into());
        }
        args.push(format!("--cache-max={}", self.cache_max).into());
        Ok(args)
    }

    /// Gives every image of `shared` its mirrors, when any `--mirror` was given.
    pub fn install(&self, shared: &mut Shared) -> anyhow::Result<()> {
        if self.mirror.is_empty() {
            return Ok(());
        }
        let dir = self.cache.clone().unwrap_or_else(super::get::default_cache);
        let cache = PartCache::open(&dir, self.cache_max.saturating_mul(1 << 30))
            .with_context(|| format!("opening the part cache {}", dir.display()))?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
        let fetcher = Arc::new(Fetcher::new(ClientConfig::default(), threads)?);
        shared.set_remote(Arc::new(MirrorSources {
            fetcher,
            cache: Arc::new(cache),
            user: self.mirror.clone(),
        }));
        Ok(())
    }
}

struct MirrorSources {
    fetcher: Arc<Fetcher>,
    cache: Arc<PartCache>,
    user: Vec<(String, String)>,
}

impl RemoteSources for MirrorSources {
    fn for_jigdo(&self, jigdo: &Jigdo) -> Result<Option<Arc<dyn PartSource>>, String> {
        let (buckets, http): (Vec<_>, Vec<_>) = self
            .user
            .iter()
            .cloned()
            .partition(|(_, url)| is_object_store_url(url));
        let mirrors = Mirrors::from_jigdo(jigdo, &http, false).map_err(|e| e.to_string())?;
        let http: Arc<dyn PartSource> = Arc::new(HttpMirrors::new(
            Arc::clone(&self.fetcher),
            mirrors,
            jigdo,
            Arc::clone(&self.cache),
        ));
        if buckets.is_empty() {
            return Ok(Some(http));
        }
        let buckets = ObjectStoreMirrors::new(&buckets, jigdo, Arc::clone(&self.cache))
            .map_err(|e| e.to_string())?;
        // --mirror order: buckets given first are asked first
        Ok(Some(Arc::new(
            SourceSet::new().with(Arc::new(buckets)).with(http),
        )))
    }
}
