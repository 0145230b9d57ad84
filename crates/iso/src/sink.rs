//! Where the image goes: a sink that is told which bytes are metadata and which are file data.

use std::io::{self, Write};
use std::path::PathBuf;

/// One source file's data inside the image, announced by [`ImageSink::begin_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileExtent {
    /// Absolute path of the source file the bytes are read from.
    pub source: PathBuf,
    /// Path of the (first) file inside the image, `/`-separated, starting with `/`.
    pub image_path: String,
    /// Number of data bytes that follow (0 for an empty file: `begin_file` then `end_file`).
    pub size: u64,
    /// Offset of the first data byte in the image.
    pub offset: u64,
}

/// The receiver of an image being written, strictly sequentially.
///
/// The writer calls [`write_meta`](Self::write_meta) for every byte that is not a verbatim copy of a
/// source file (descriptors, directories, path tables, boot catalog, boot images patched with a boot
/// info table, sector padding). The content of a source file is framed by
/// [`begin_file`](Self::begin_file) / [`end_file`](Self::end_file) with exactly
/// [`FileExtent::size`] bytes passed to [`write_file_data`](Self::write_file_data) in between.
///
/// Files of size 0 are announced with `begin_file` and `end_file` and no data in between, so an exporter can list them. A file whose data is shared by several hard
/// links (with `cache_inodes`) is announced once, under the first image path. A file of 4 GiB or more
/// (multi-extent) is still announced once: its data is contiguous.
pub trait ImageSink {
    /// Bytes that are not a source file's content.
    ///
    /// # Errors
    /// Any I/O error of the underlying output.
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The content of one source file starts here.
    ///
    /// # Errors
    /// Any error the sink wants to abort the image with.
    fn begin_file(&mut self, file: &FileExtent) -> io::Result<()>;
    /// A piece of the current file's content.
    ///
    /// # Errors
    /// Any I/O error of the underlying output.
    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The current file's content is complete.
    ///
    /// # Errors
    /// Any error the sink wants to abort the image with.
    fn end_file(&mut self) -> io::Result<()>;
}

impl<S: ImageSink + ?Sized> ImageSink for &mut S {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).write_meta(bytes)
    }
    fn begin_file(&mut self, file: &FileExtent) -> io::Result<()> {
        (**self).begin_file(file)
    }
    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).write_file_data(bytes)
    }
    fn end_file(&mut self) -> io::Result<()> {
        (**self).end_file()
    }
}

/// A sink that writes every byte, metadata or not, to a [`Write`]: a plain ISO writer.
#[derive(Debug)]
pub struct PlainSink<W> {
    inner: W,
}

impl<W: Write> PlainSink<W> {
    /// Wraps an output. Wrap a `File` in a `BufWriter` only if you need to: metadata is written in
    /// sector-sized pieces and file data in large chunks already.
    pub fn new(inner: W) -> Self {
        Self { inner }
    }

    /// Flushes and returns the output.
    ///
    /// # Errors
    /// The error of the final flush.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// The wrapped output.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> ImageSink for PlainSink<W> {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }
    fn begin_file(&mut self, _file: &FileExtent) -> io::Result<()> {
        Ok(())
    }
    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that only counts bytes (the `-o /dev/null` case without JTE, and cheap tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CountingSink {
    /// Metadata bytes seen.
    pub meta_bytes: u64,
    /// File data bytes seen.
    pub file_bytes: u64,
    /// Number of files announced.
    pub files: u64,
}

impl ImageSink for CountingSink {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.meta_bytes += bytes.len() as u64;
        Ok(())
    }
    fn begin_file(&mut self, _file: &FileExtent) -> io::Result<()> {
        self.files += 1;
        Ok(())
    }
    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file_bytes += bytes.len() as u64;
        Ok(())
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sink_writes_everything_in_order() {
        let mut s = PlainSink::new(Vec::new());
        s.write_meta(b"ab").unwrap();
        let fe = FileExtent {
            source: "/x".into(),
            image_path: "/x".into(),
            size: 2,
            offset: 2,
        };
        s.begin_file(&fe).unwrap();
        s.write_file_data(b"cd").unwrap();
        s.end_file().unwrap();
        assert_eq!(s.finish().unwrap(), b"abcd");
    }

    #[test]
    fn counting_sink_counts() {
        let mut s = CountingSink::default();
        s.write_meta(&[0; 10]).unwrap();
        let fe = FileExtent {
            source: "/x".into(),
            image_path: "/x".into(),
            size: 3,
            offset: 10,
        };
        s.begin_file(&fe).unwrap();
        s.write_file_data(&[1; 3]).unwrap();
        s.end_file().unwrap();
        assert_eq!(
            s,
            CountingSink {
                meta_bytes: 10,
                file_bytes: 3,
                files: 1
            }
        );
    }
}
