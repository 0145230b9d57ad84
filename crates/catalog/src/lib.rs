//! What a tree of `.jigdo` files publishes: the one view of ROOT that
//! `jigsmith serve` and `jigsmith mount` both show.
//!
//! Every `X.jigdo` (plain or gzipped) whose template lies beside it becomes
//! an image named by its `[Image] Filename=` in the same directory, next to
//! the `.jigdo` and `.template` themselves and `MD5SUMS`/`SHA256SUMS`/
//! `SHA512SUMS` files for the checksums the `.jigdo` and template state. A
//! broken `.jigdo` or template is logged and left out; the rest is published.
//!
//! A [`Catalog`] is an immutable snapshot. [`Catalog::scan`] makes a new one
//! and keeps every image whose `.jigdo` and template did not change, with
//! its open files and checked verdicts, so a rescan costs a walk of the tree.
//!
//! ```no_run
//! use jigsmith_catalog::{Catalog, CatalogConfig, Entry, Shared};
//!
//! let shared = Shared::new(CatalogConfig::new("/srv/cdimage"))?;
//! let catalog = Catalog::scan(&shared, None);
//! if let Some(Entry::Image(published)) = catalog.lookup("debian-12.iso") {
//!     let mut head = vec![0u8; 2048];
//!     published.image.read_at(32768, &mut head)?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Errors carry the digests they report; they are cold, so size does not matter.
#![allow(clippy::result_large_err)]

mod published;
mod scan;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jigsmith_assemble::{DataCache, LocalSources, PartSource, VerdictCache};
use jigsmith_checksum::Algorithm;
use jigsmith_format::{ChecksumList, Jigdo};

pub use published::Published;
pub use scan::error_chain;

/// Why the catalog could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A checksum list given with `-f` could not be read.
    #[error("checksum list {}", path.display())]
    List {
        /// The list.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: jigsmith_format::Error,
    },
    /// A file or directory could not be read.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Where images are published from and where their parts are found.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    /// A directory tree of `.jigdo` files, or one `.jigdo` file.
    pub root: PathBuf,
    /// `Label=DIR` maps for `[Parts]` entries, as in make-image.
    pub maps: Vec<(String, PathBuf)>,
    /// Checksum lists naming more local files.
    pub lists: Vec<PathBuf>,
    /// Budget of the decompressed template data cache shared by all images.
    pub data_cache_bytes: u64,
}

impl CatalogConfig {
    /// Publishes `root` with no maps or lists and a 64 MiB data cache.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CatalogConfig {
            root: root.into(),
            maps: Vec::new(),
            lists: Vec::new(),
            data_cache_bytes: 64 << 20,
        }
    }
}

/// Makes the remote part source of one image: HTTP mirrors for the labels
/// of its `.jigdo` and its `[Servers]`, with a cache of verified parts. Asked
/// after local maps and lists, when an image is loaded.
pub trait RemoteSources: Send + Sync {
    /// The source for the image of `jigdo`, or `None` when it has no
    /// remote place to look.
    ///
    /// # Errors
    /// Why the `.jigdo`'s servers cannot be used (the image is then not
    /// published, and the reason logged).
    fn for_jigdo(&self, jigdo: &Jigdo) -> Result<Option<Arc<dyn PartSource>>, String>;
}

/// What every snapshot of one catalog shares: configuration, parsed
/// checksum lists, the verdict and data caches, and how images get their
/// remote part sources.
pub struct Shared {
    config: CatalogConfig,
    /// Canonical root directory (the `.jigdo`'s directory for one file).
    root_dir: PathBuf,
    /// `Some` when the root is a single `.jigdo` file.
    only: Option<PathBuf>,
    listed: Arc<LocalSources>,
    remote: Option<Arc<dyn RemoteSources>>,
    verdicts: Arc<VerdictCache>,
    data: Arc<DataCache>,
}

impl Shared {
    /// Reads the checksum lists and sets up the caches.
    ///
    /// # Errors
    /// [`Error::Io`] if the root cannot be resolved, [`Error::List`] for an
    /// unreadable or malformed checksum list.
    pub fn new(config: CatalogConfig) -> Result<Shared, Error> {
        let io_err = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        let root =
            std::fs::canonicalize(&config.root).map_err(io_err("resolving", &config.root))?;
        let meta = std::fs::metadata(&root).map_err(io_err("reading", &root))?;
        let (root_dir, only) = if meta.is_dir() {
            (root, None)
        } else {
            let dir = root.parent().unwrap_or(Path::new("/")).to_path_buf();
            (dir, Some(root))
        };
        let mut listed = LocalSources::new();
        for path in &config.lists {
            let f = std::fs::File::open(path).map_err(io_err("opening", path))?;
            let list =
                ChecksumList::parse(std::io::BufReader::new(f)).map_err(|source| Error::List {
                    path: path.clone(),
                    source,
                })?;
            listed.add_checksum_list(&list);
        }
        Ok(Shared {
            data: Arc::new(DataCache::new(config.data_cache_bytes)),
            config,
            root_dir,
            only,
            listed: Arc::new(listed),
            remote: None,
            verdicts: Arc::new(VerdictCache::new()),
        })
    }

    /// Sets how each image gets its remote part source (asked last).
    pub fn set_remote(&mut self, remote: Arc<dyn RemoteSources>) {
        self.remote = Some(remote);
    }

    /// The configuration.
    pub fn config(&self) -> &CatalogConfig {
        &self.config
    }

    /// The directory the catalog's paths are relative to.
    pub fn root_dir(&self) -> &Path {
        &self.root_dir
    }

    /// The decompressed template data cache all images share.
    pub fn data_cache(&self) -> &Arc<DataCache> {
        &self.data
    }
}

/// One name in a directory of the catalog.
#[derive(Clone)]
pub enum Entry {
    /// A subdirectory, by its path relative to the root (`a/b`).
    Dir(String),
    /// An image built on the fly.
    Image(Arc<Published>),
    /// The `.jigdo` file of an image, served as it is on disk.
    Jigdo(Arc<Published>),
    /// The template of an image, served as it is on disk.
    Template(Arc<Published>),
    /// A checksum file (`MD5SUMS`, ...) of the directory's images.
    Sums(Algorithm),
}

/// The entries of one directory, by name.
#[derive(Clone, Default)]
pub struct Dir {
    /// Path relative to the root, `""` for the root itself.
    pub path: String,
    /// The names in it, sorted.
    pub entries: BTreeMap<String, Entry>,
}

impl Dir {
    /// The images published in this directory, sorted by name.
    pub fn images(&self) -> impl Iterator<Item = &Arc<Published>> {
        self.entries.values().filter_map(|e| match e {
            Entry::Image(p) => Some(p),
            _ => None,
        })
    }

    /// The text of this directory's `MD5SUMS`, `SHA256SUMS` or `SHA512SUMS`
    /// (`sha256sum` format: hex, two spaces, name), for the images that
    /// state a checksum of that algorithm.
    pub fn sums(&self, algorithm: Algorithm) -> String {
        let mut text = String::new();
        for p in self.images() {
            if let Some(d) = p.digest(algorithm) {
                text.push_str(&d.to_hex());
                text.push_str("  ");
                text.push_str(&p.name);
                text.push('\n');
            }
        }
        text
    }
}

/// The file name of a checksum file.
pub fn sums_name(algorithm: Algorithm) -> String {
    format!("{}SUMS", algorithm.jigdo_name())
}

/// An immutable snapshot of what ROOT publishes.
#[derive(Clone, Default)]
pub struct Catalog {
    dirs: BTreeMap<String, Dir>,
    /// Every image, by the `.jigdo` path it came from (for reuse on rescan).
    by_jigdo: BTreeMap<PathBuf, Arc<Published>>,
}

impl Catalog {
    /// Walks the root and loads every image, reusing those of `previous`
    /// whose `.jigdo` and template did not change. Broken `.jigdo` files and
    /// templates are logged (`tracing::warn!`) and left out.
    pub fn scan(shared: &Shared, previous: Option<&Catalog>) -> Catalog {
        scan::scan(shared, previous)
    }

    /// The entry at `rel`, a normalised relative path (`""` is the root,
    /// `a/b/x.iso` a file): no `.`, `..` or empty segments.
    pub fn lookup(&self, rel: &str) -> Option<Entry> {
        let rel = rel.trim_matches('/');
        if self.dirs.contains_key(rel) {
            return Some(Entry::Dir(rel.to_string()));
        }
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        self.dirs.get(dir)?.entries.get(name).cloned()
    }

    /// The directory at `rel` (`""` is the root).
    pub fn dir(&self, rel: &str) -> Option<&Dir> {
        self.dirs.get(rel.trim_matches('/'))
    }

    /// Every directory, parents before children.
    pub fn dirs(&self) -> impl Iterator<Item = &Dir> {
        self.dirs.values()
    }

    /// Every published image.
    pub fn images(&self) -> impl Iterator<Item = &Arc<Published>> {
        self.by_jigdo.values()
    }

    /// How many images are published.
    pub fn len(&self) -> usize {
        self.by_jigdo.len()
    }

    /// Whether nothing is published.
    pub fn is_empty(&self) -> bool {
        self.by_jigdo.is_empty()
    }
}

#[cfg(test)]
mod tests;
