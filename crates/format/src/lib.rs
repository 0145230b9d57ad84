//! Jigdo's file formats, read and written over `Read`/`Write`/`Seek`.
//!
//! - [`Template`]: a `.template` file's header, data parts and DESC table
//!   (formats 1.x with MD5 and 2.x with SHA-256), and [`TemplateWriter`].
//! - [`Jigdo`]: a `.jigdo` file (the INI-like list of parts and servers),
//!   plain or gzipped, with both quoting conventions that exist in the wild.
//! - [`ChecksumList`]: `-md5-list`/`-checksum-list` files and plain
//!   `md5sum`/`sha256sum` output.
//!
//! No file system or network access happens here: callers hand in readers.
//!
//! ```
//! use std::io::Cursor;
//! use jigsmith_checksum::{Algorithm, Hasher, Rsync64};
//! use jigsmith_format::{Compression, Template, TemplateWriter};
//!
//! let file = b"the contents of a file that the mirror has".to_vec();
//! let image = [b"head".as_slice(), &file, b"tail"].concat();
//! let mut w = TemplateWriter::builder()
//!     .algorithm(Algorithm::Md5)
//!     .compression(Compression::Zlib)
//!     .build(Vec::new())?;
//! w.write_unmatched(b"head")?;
//! w.add_file(file.len() as u64, Rsync64::of(&file), Hasher::digest(Algorithm::Md5, &file))?;
//! w.write_unmatched(b"tail")?;
//! let (bytes, _summary) = w.finish(Hasher::digest(Algorithm::Md5, &image))?;
//!
//! let t = Template::read(&mut Cursor::new(bytes))?;
//! assert_eq!(t.image_len(), image.len() as u64);
//! assert_eq!(t.files().count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checksum_list;
mod error;
mod jigdo;
mod le;
mod template;

pub use checksum_list::{ChecksumList, ChecksumListEntry};
pub use error::Error;
pub use jigdo::{
    quote_value, split_label, unquote_value, ImageSection, Jigdo, PartEntry, ServerEntry,
};
pub use template::{
    encode_desc_table, read_desc_table, Compression, DataPart, DescEntry, Item, ItemKind, Template,
    TemplateHeader, TemplateSummary, TemplateWriter, TemplateWriterBuilder, UnmatchedReader,
};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
