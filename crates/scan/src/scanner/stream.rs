//! The image, read sequentially into one reused buffer.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use crate::Error;

/// A window of the image: `data()` holds image bytes `base()..end()`.
pub(crate) struct ImageStream<'a> {
    file: File,
    path: &'a Path,
    buf: Box<[u8]>,
    len: usize,
    base: u64,
    eof: bool,
    /// Bytes at and past this offset are not read: the end of the stretch
    /// being scanned, where a file already found by the image's own
    /// directory begins.
    limit: u64,
}

impl<'a> ImageStream<'a> {
    /// An empty stream at offset 0; the first [`restart_at`](Self::restart_at) fills it.
    pub(crate) fn new(file: File, path: &'a Path, capacity: usize) -> Self {
        ImageStream {
            file,
            path,
            buf: vec![0u8; capacity].into_boxed_slice(),
            len: 0,
            base: 0,
            eof: false,
            limit: u64::MAX,
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    pub(crate) fn end(&self) -> u64 {
        self.base + self.len as u64
    }

    /// Stops reading at `limit` (never lower than what is buffered).
    pub(crate) fn set_limit(&mut self, limit: u64) {
        self.limit = limit.max(self.end());
    }

    /// Where reading stops.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether image bytes `offset..offset + n` are buffered.
    pub(crate) fn has(&self, offset: u64, n: usize) -> bool {
        offset >= self.base && offset.saturating_add(n as u64) <= self.end()
    }

    /// Drops everything before `offset` (the caller has used it) and fills
    /// the buffer from there, keeping what is already buffered past
    /// `offset` and seeking only when `offset` lies beyond the buffer.
    pub(crate) fn restart_at(&mut self, offset: u64) -> Result<(), Error> {
        match offset.checked_sub(self.base) {
            Some(keep) if keep <= self.len as u64 => {
                // keep <= len, so it fits in usize
                let keep = keep as usize;
                self.buf.copy_within(keep..self.len, 0);
                self.len -= keep;
            }
            _ => {
                self.file
                    .seek(SeekFrom::Start(offset))
                    .map_err(|source| self.read_error(offset, source))?;
                self.len = 0;
                self.eof = false;
            }
        }
        self.base = offset;
        self.fill()
    }

    fn fill(&mut self) -> Result<(), Error> {
        while !self.eof {
            let room_to_limit = self.limit.saturating_sub(self.end());
            let cap = usize::try_from(room_to_limit).map_or(self.buf.len(), |r| {
                self.len.saturating_add(r).min(self.buf.len())
            });
            let Some(room) = self.buf.get_mut(self.len..cap).filter(|r| !r.is_empty()) else {
                break;
            };
            match self.file.read(room) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => return Err(self.read_error(self.end(), source)),
            }
        }
        Ok(())
    }

    fn read_error(&self, offset: u64, source: std::io::Error) -> Error {
        Error::ReadImage {
            path: self.path.to_path_buf(),
            offset,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tail_and_seeks_past_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let mut s = ImageStream::new(File::open(&p).unwrap(), &p, 3000);
        s.restart_at(0).unwrap();
        assert_eq!(s.data(), &data[..3000]);
        s.restart_at(2500).unwrap();
        assert_eq!((s.base(), s.data()), (2500, &data[2500..5500]));
        assert!(s.has(2500, 3000) && !s.has(2499, 1) && !s.has(5000, 501));
        s.restart_at(9000).unwrap();
        assert_eq!(s.data(), &data[9000..]);
        s.restart_at(9999).unwrap();
        assert_eq!(s.data(), &data[9999..]);
        s.restart_at(20_000).unwrap();
        assert_eq!((s.end(), s.data()), (20_000, &[][..]));
    }

    #[test]
    fn stops_at_the_limit_and_goes_on_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let mut s = ImageStream::new(File::open(&p).unwrap(), &p, 3000);
        s.set_limit(1200);
        s.restart_at(100).unwrap();
        assert_eq!(s.data(), &data[100..1200]);
        s.set_limit(7000);
        s.restart_at(1500).unwrap();
        assert_eq!(s.data(), &data[1500..4500]);
        s.restart_at(5000).unwrap();
        assert_eq!(s.data(), &data[5000..7000]);
        s.set_limit(u64::MAX);
        s.restart_at(9000).unwrap();
        assert_eq!(s.data(), &data[9000..]);
    }
}
