//! A read-only ISO 9660 reader: lists an image's regular files with where
//! their bytes are, so files inside an old release's ISO (or a half-finished
//! download) can serve as jigdo parts without mounting anything.
//!
//! Names come from Rock Ridge (SUSP `NM` entries, continuation areas
//! followed) when the image has it, else from the Joliet tree, else from
//! the plain ISO 9660 identifiers. Levels 1–3 and multi-extent files are
//! read; relocated deep directories (`CL`/`RE`) appear where they belong.
//!
//! ```no_run
//! use jigsmith_isofs::IsoFs;
//!
//! let mut iso = IsoFs::open(std::fs::File::open("old.iso")?)?;
//! for f in iso.files()? {
//!     if let Some(offset) = f.contiguous_offset() {
//!         println!("{} {} bytes at {offset}", f.path, f.len);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod reader;
mod record;

pub use error::Error;
pub use reader::{Extent, IsoFile, IsoFs, Names};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
