//! A persistent cache of file checksums, keyed by path and checked against
//! the file's size and modification time, so that scanning a big mirror a
//! second time reads no file that did not change.
//!
//! `make-template` and `jigdo-file scan --cache` need, for every candidate
//! file, its digest and the rsync64 sums of its first and last 1024-byte
//! blocks. Computing them means reading the whole mirror; with this cache a
//! rescan is a `stat` and a lookup per file.
//!
//! The store is a single [redb] file: a commit is atomic, and a crash (or a
//! full disk) in the middle of a write leaves the last committed state. An
//! entry is only trusted while the file's size and mtime are the ones it was
//! hashed with; [`compute`] refuses to return sums of a file that changed
//! while it was being read.
//!
//! ```
//! use jigsmith_checksum::Algorithm;
//! use jigsmith_sumcache::{compute, SumCache, Want};
//!
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("pkg.deb");
//! std::fs::write(&file, vec![7u8; 5000])?;
//!
//! let cache = SumCache::open(&dir.path().join("sums.db"))?;
//! let (stamp, sums) = compute(&file, Want { md5: true, sha256: false, blocks: true })?;
//! let mut writer = cache.writer()?;
//! writer.put(&file, stamp, &sums)?;
//! writer.commit()?;
//!
//! let found = cache.reader()?.get(&file, stamp)?.expect("cached");
//! assert_eq!(found.md5, sums.md5);
//! assert_eq!(found.md5.map(|d| d.algorithm()), Some(Algorithm::Md5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod compute;
mod error;
mod record;
mod store;

pub use compute::{compute, Want};
pub use error::Error;
pub use record::{Blocks, FileSums, Stamp, BLOCK_LEN};
pub use store::{CacheReader, CacheWriter, SumCache};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
