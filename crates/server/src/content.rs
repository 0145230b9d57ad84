//! What the server sends in byte ranges: images read through their shared
//! [`Image`](jigsmith_assemble::Image), and `.jigdo`/template files as
//! they are on disk.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use jigsmith_catalog::error_chain as chain;
use jigsmith_catalog::Published;

use crate::body::Content;

/// An image of the catalog.
pub struct ImageContent(pub Arc<Published>);

impl Content for ImageContent {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let read = self
            .0
            .image
            .read_at(offset, buf)
            .map_err(|e| io::Error::other(format!("image {}: {}", self.0.name, chain(&e))))?;
        if read < buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "image {}: ends at byte {}",
                    self.0.name,
                    offset + read as u64
                ),
            ));
        }
        Ok(())
    }
}

/// A file served byte for byte, through a handle opened per request (so a
/// file replaced on disk is never mixed with its old self in one answer).
pub struct FileContent {
    file: File,
    path: PathBuf,
    len: u64,
    /// Last modification, for `Last-Modified` and the entity tag.
    pub modified: Option<std::time::SystemTime>,
}

impl FileContent {
    /// Opens `path`.
    ///
    /// # Errors
    /// If it cannot be opened or `fstat`ed.
    pub fn open(path: &Path) -> io::Result<FileContent> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        Ok(FileContent {
            len: meta.len(),
            modified: meta.modified().ok(),
            file,
            path: path.to_path_buf(),
        })
    }

    /// An entity tag made of size and mtime, as nginx does.
    pub fn etag(&self) -> String {
        let mtime = self
            .modified
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("\"{:x}-{:x}\"", mtime, self.len)
    }
}

impl Content for FileContent {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}
