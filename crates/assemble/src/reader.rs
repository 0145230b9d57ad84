use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use crate::{Image, Result};

/// `Read + Seek` over an [`Image`]: a position and the shared image, so
/// each client (an HTTP response, an open FUSE file) keeps its own place.
pub struct ImageReader {
    image: Arc<Image>,
    pos: u64,
}

impl ImageReader {
    pub(crate) fn over(image: Arc<Image>) -> Self {
        ImageReader { image, pos: 0 }
    }

    /// The image read.
    pub fn image(&self) -> &Arc<Image> {
        &self.image
    }

    /// The image's length.
    pub fn len(&self) -> u64 {
        self.image.len()
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves to `pos` (past the end reads nothing).
    pub fn set_position(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Reads at the current position, with typed errors.
    ///
    /// # Errors
    /// As [`Image::read_at`].
    pub fn read_checked(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = self.image.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Read for ImageReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_checked(buf).map_err(io::Error::other)
    }
}

impl Seek for ImageReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the image",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}
