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
//! The image is hashed on helper threads (one per algorithm) while the
//! writer's thread copies and hashes files, so both cores are busy.
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

mod config;
mod error;
mod image_hash;
mod sink;

pub use config::{JteConfig, PathMap};
pub use error::Error;
pub use sink::{JteOutput, JteSink};
