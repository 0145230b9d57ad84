//! Jigdo Template Export (JTE): the `.template` and `.jigdo` of an ISO image,
//! made in the same pass that writes the image.
//!
//! [`JteSink`] is a [`jigsmith_iso::ImageSink`]: the ISO writer tells it which
//! bytes are metadata and which are the data of which source file. Each file
//! is classified as libjte does (`shared/reference/FORMATS.md`, "How JTE
//! decides"): too small or excluded files stay in the template; a file whose
//! size, basename and checksum match a checksum-list entry becomes a [Parts]
//! entry named through the `-jigdo-map` rules; a file under a
//! `-jigdo-force-checksum` path that matches no entry stops the build.
//!
//! Image bytes are gathered into shared chunks that are written once and
//! read in place by helper threads: one per image checksum, and a file
//! checker that hashes eight candidate files at once ([`jigsmith_md5_lanes`]).
//! The template is written in image order as the verdicts come back.
//! [`JteOutput::timings`] says where the time went.
//!
//! ```
//! use jigsmith_checksum::Algorithm;
//! use jigsmith_format::{ChecksumList, Compression};
//! use jigsmith_iso::ImageSink;
//! use jigsmith_jte::{JteConfig, JteSink};
//!
//! let config = JteConfig::new(Algorithm::Md5, Compression::Zlib);
//! let mut sink = JteSink::new(Vec::new(), Vec::new(), config, &ChecksumList::default())?;
//! sink.write_meta(&[0u8; 2048])?;
//! let out = sink.finish()?;
//! assert_eq!(out.image.len(), 2048);
//! assert_eq!(out.jigdo.parts.len(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod chunk;
mod config;
mod error;
mod file_check;
mod image_hash;
mod sink;
mod timing;

pub use config::{JteConfig, PathMap};
pub use error::Error;
pub use sink::{JteOutput, JteSink};
pub use timing::JteTimings;
