//! Rebuilding jigdo images.
//!
//! - [`LocalSources`] knows where each part may be on local disks (from
//!   `.jigdo` [Parts] with `Label=DIR` maps, and from checksum lists); it is
//!   a [`PartSource`], the seam where network sources will plug in.
//! - [`Assembler::write_image`] streams a whole image, checking every
//!   source file's checksum before it is copied and the image's as it is
//!   written: one thread copies, one hashes the image, one checks files a
//!   little ahead of the copy (eight MD5 files at once with AVX2).
//! - [`ImageReader`] is `Read + Seek` over the image, building any byte range
//!   on demand through an index of item and data-part offsets: the base for
//!   byte-range output, an HTTP server and a FUSE mount.
//!
//! ```no_run
//! use std::fs::File;
//! use std::sync::Arc;
//! use jigsmith_assemble::{Assembler, LocalSources};
//! use jigsmith_format::{Jigdo, Template};
//!
//! let template = Template::read(&mut File::open("x.template")?)?;
//! let jigdo = Jigdo::from_reader(File::open("x.jigdo")?)?;
//! let mut sources = LocalSources::new();
//! sources.add_jigdo(&jigdo, &[("Debian".into(), "/mirror/debian".into())]);
//! let asm = Assembler::new(Arc::new(template), "x.template", Arc::new(sources));
//! let report = asm.write_image(File::create("x.iso")?, &())?;
//! println!("{} bytes", report.image_len);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
// Errors carry the digests they report (72 bytes each); they are cold, so size does not matter.
#![allow(clippy::result_large_err)]
#![deny(missing_docs)]

mod build;
mod data_cache;
mod error;
mod image;
mod image_check;
mod load;
mod progress;
mod reader;
mod resolve;
mod sources;
mod verdict;
mod verify;

pub use build::{Assembler, BuildReport, Missing};
pub use data_cache::DataCache;
pub use error::Error;
pub use image::{Image, ImageBuilder};
pub use image_check::{check_image, BadData, BadFile, CheckReport, SumCheck, SumSource};
pub use load::{
    check_template_sum, image_name, read_jigdo, read_template, template_beside, JigdoImage,
};
pub use progress::Progress;
pub use reader::ImageReader;
pub use resolve::Resolver;
pub use sources::{LocalSources, Location, PartSource, SourceSet};
pub use verdict::{FileKey, VerdictCache};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
