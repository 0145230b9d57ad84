//! The engine of `jigsmith make-template`: find where known files lie
//! inside an existing image and write the image's `.template`.
//!
//! Like `jigdo-file make-template`: every candidate file (at least
//! `min_size` bytes, 1024 by default) is indexed by the rsync64 sum of its
//! first 1024 bytes. The image is then read once, sequentially, with that
//! sum rolled over a 1024-byte window at every byte offset (files need not
//! be sector-aligned); a bitset prefilter keeps the per-byte cost at one bit
//! test (~1 GB/s per core). Where a head sum matches, the candidates with that head (biggest
//! first) are confirmed against the image region by its last block's sum,
//! then by its digest (or byte for byte against the file when no digest is
//! known yet). A confirmed region becomes a matched-file entry; everything
//! else becomes template data. Meanwhile a second thread hashes the whole
//! image for the template (and any extra digests for the `.jigdo` comments).
//!
//! Memory stays bounded: a 4 MiB read buffer, two 1 MiB confirm buffers, the
//! template writer's chunk, and the index (a bitset of at most 1 MiB plus a
//! few dozen bytes per candidate).
//!
//! ```
//! use jigsmith_checksum::Algorithm;
//! use jigsmith_scan::{Candidate, Scanner};
//!
//! let dir = tempfile::tempdir()?;
//! let file: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
//! std::fs::write(dir.path().join("pkg.deb"), &file)?;
//! let image = [vec![0u8; 2048], file.clone(), b"tail".to_vec()].concat();
//! std::fs::write(dir.path().join("x.iso"), &image)?;
//!
//! let mut scanner = Scanner::builder().algorithm(Algorithm::Md5).build()?;
//! scanner.add_candidate(Candidate::new(dir.path().join("pkg.deb"), file.len() as u64));
//! let mut template = Vec::new();
//! let report = scanner.make_template(&dir.path().join("x.iso"), &mut template, &())?;
//!
//! assert_eq!(report.matches.len(), 1);
//! assert_eq!((report.matches[0].offset, report.matches[0].size), (2048, 5000));
//! assert_eq!(report.image_len, image.len() as u64);
//! assert_eq!(report.template.template_len, template.len() as u64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod candidate;
mod error;
mod image_hash;
mod location;
mod progress;
mod rolling;
mod scanner;

pub use candidate::Candidate;
pub use error::Error;
pub use location::location_for;
pub use progress::Progress;
pub use scanner::{Match, ScanReport, Scanner, ScannerBuilder, Skipped};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
