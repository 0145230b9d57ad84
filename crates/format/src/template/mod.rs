//! The `.template` file: header, compressed data parts and the DESC table.
//!
//! Layout (all integers little-endian, lengths 48-bit), see
//! `shared/reference/FORMATS.md` and jigdo-file's TechDetails.txt:
//! a three-line text header, zero or more `DATA`/`BZIP` parts, then one
//! `DESC` part that ends the file and whose length is repeated in the last
//! six bytes.

mod data;
mod desc;
mod desc_table;
mod header;
mod reader;
mod writer;

pub use data::{Compression, DataPart, UnmatchedReader};
pub use desc::DescEntry;
pub use desc_table::{encode_desc_table, read_desc_table};
pub use header::TemplateHeader;
pub use reader::{Item, ItemKind, Template};
pub use writer::{TemplateSummary, TemplateWriter, TemplateWriterBuilder};

#[cfg(test)]
mod tests;
