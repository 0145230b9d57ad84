//! An ISO 9660 image writer (Rock Ridge, Joliet, El Torito, isohybrid) whose output stream tells a
//! sink which bytes are metadata and which are the data of which source file — so a Jigdo Template
//! Export can be made in the same pass (issue #3).
//!
//! ```
//! use jigsmith_iso::{IsoOptions, IsoWriter, Joliet, PlainSink, RockRidge};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("hello.txt"), b"hello")?;
//! let options = IsoOptions::builder()
//!     .volume_id("EXAMPLE")
//!     .rock_ridge(RockRidge::Rationalized)
//!     .joliet(Joliet::Long)
//!     .source_date_epoch(Some(1_700_000_000))
//!     .build();
//! let mut writer = IsoWriter::new(options);
//! writer.add_root(dir.path());
//! let mut sink = PlainSink::new(Vec::new());
//! let report = writer.write(&mut sink)?;
//! let image = sink.finish()?;
//! assert_eq!(image.len() as u64, report.image_size);
//! assert_eq!(&image[0x8001..0x8006], b"CD001");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Deep directories (more than 8 levels) are recorded in place, not relocated (xorriso's and
//! mkisofs `-D` behaviour); all common readers accept them.
//!
//! Hybrid layouts follow xorriso's: an isohybrid MBR, a GPT and an Apple Partition Map in the
//! system area ([`Hybrid`], [`BootEntry::apm_hfsplus`]); with `-partition_offset` the directory
//! structures are written a second time with addresses relative to the partition, so the
//! partition mounts on its own. Either way only metadata is added: every file's data is written
//! (and announced to the [`ImageSink`]) once. The other PC boot setups of `xorriso -as mkisofs`
//! are laid out as xorriso does too: El Torito floppy and hard disk emulation, `-G`,
//! `--grub2-mbr`, the protective MBR, CHRP, and partitions appended after the filesystem or put
//! before its files (in an MBR, a GPT or an Apple Partition Map); their data is metadata to the
//! sink, so JTE keeps it in the template as libjte does.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod appended;
mod boot_blocks;
mod dirrec;
mod eltorito;
mod error;
mod glob;
mod hybrid;
mod layout;
mod names;
mod options;
mod part_gpt;
mod partitions;
mod prepended;
mod rockridge;
mod sink;
mod sun_label;
#[cfg(test)]
mod test_util;
mod time;
mod tree;
mod volume;
mod writer;

pub use boot_blocks::{BootBlock, Palo, MAX_MIPS_BOOT_FILES};
pub use error::{Error, Result};
pub use options::{
    AppendedPartition, BootEntry, CylinderAlign, ElTorito, Hybrid, IsoOptions, IsoOptionsBuilder,
    Joliet, Platform, RockRidge,
};
pub use sink::{CountingSink, FileExtent, ImageSink, PlainSink};
pub use sun_label::{SunLabel, MAX_SPARC_PARTITIONS};
pub use tree::PathSpec;
pub use writer::{Image, IsoWriter, WriteReport};
