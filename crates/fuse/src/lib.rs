//! `jigsmith mount`: a read-only FUSE filesystem in which every `.jigdo`
//! appears as its image (issue 9, "jigdoofus").
//!
//! The mount shows what [`jigsmith_catalog`] publishes for a tree of
//! `.jigdo` files (or one): each image under its `Filename=`, 0444, dated
//! by its template, next to the `.jigdo` and `.template` files themselves
//! and `MD5SUMS`/`SHA256SUMS`/`SHA512SUMS`. Every byte is read through the
//! catalog's shared [`jigsmith_assemble::Image`]: a source file is checked
//! (size and checksum) before its bytes are served, its verdict cached by
//! (device, inode, size, mtime); a missing or corrupt source fails only the
//! reads that need it, with EIO and a log line naming the image and file.
//!
//! Reads are answered by several session threads, so many readers proceed
//! at once (one waiting on a source file being hashed holds up no other); each
//! open file keeps its position, and a sequential reader gets the source
//! files ahead of it checked before it reaches them. Images never change
//! under an inode (a changed image gets a new one), so the kernel keeps
//! their pages cached between opens.
//!
//! Memory: the catalog's decompressed template data cache
//! ([`CatalogConfig::data_cache_bytes`]), one read buffer of at most 4 MiB
//! (1 MiB in practice) per session thread, and per image its DESC table and at
//! most 64 open source files.
//!
//! ```no_run
//! use std::path::Path;
//! use jigsmith_fuse::{mount, CatalogConfig, MountOptions};
//!
//! let mut catalog = CatalogConfig::new("/srv/cdimage");
//! catalog.maps.push(("Debian".into(), "/srv/mirror/debian".into()));
//! let mounted = mount(catalog, Path::new("/mnt/images"), &MountOptions::default())?;
//! mounted.run()?; // until SIGINT/SIGTERM or `fusermount3 -u /mnt/images`
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg(unix)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attr;
mod fs;
mod inodes;
mod readahead;
mod session;
#[cfg(test)]
mod testdata;

use std::path::PathBuf;
use std::time::Duration;

pub use jigsmith_catalog::CatalogConfig;
pub use session::{mount, mount_shared, Mounted};

/// How the filesystem is mounted and served.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// `-o` options: `allow_other` and `allow_root` choose who may use the
    /// mount; anything else goes to the kernel / `fusermount3` as given.
    /// The mount is always `ro,nodev,nosuid,default_permissions`.
    pub fuse_options: Vec<String>,
    /// Session threads answering requests (a read blocks its thread on disk
    /// and on checking files).
    pub read_threads: usize,
    /// Rescan the root this often (as well as on SIGHUP); `None`: only on SIGHUP.
    pub rescan_interval: Option<Duration>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            fuse_options: Vec::new(),
            read_threads: 8,
            rescan_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// Why a catalog could not be mounted or served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The root or a checksum list could not be read.
    #[error("reading the catalog")]
    Catalog(#[source] jigsmith_catalog::Error),
    /// The root is one `.jigdo` file, and it cannot be published (the
    /// reason was logged).
    #[error("{} publishes no image (broken .jigdo or template missing)", root.display())]
    NothingPublished {
        /// The `.jigdo` file.
        root: PathBuf,
    },
    /// The mount point is missing or not a directory.
    #[error("mount point {}", path.display())]
    Mountpoint {
        /// The mount point.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel or `fusermount3` refused the mount (no /dev/fuse, not
    /// permitted, `allow_other` not enabled in /etc/fuse.conf, ...).
    #[error("mounting on {}", path.display())]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// SIGHUP/SIGINT/SIGTERM could not be handled.
    #[error("setting up signal handling")]
    Signals(#[source] std::io::Error),
    /// The helper threads could not be started.
    #[error("starting the helper threads")]
    ThreadPool(#[source] rayon::ThreadPoolBuildError),
    /// Talking to the kernel failed while the filesystem was mounted.
    #[error("serving the FUSE session")]
    Session(#[source] std::io::Error),
}
