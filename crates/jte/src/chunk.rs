//! Image bytes in shared chunks: filled once by the writer's thread, then
//! read in place by every image hasher, the file checker and the template
//! writer. No byte is copied after it entered a chunk.
//!
//! Chunks start on a 4 KiB boundary, so an image output that bypasses the
//! page cache (O_DIRECT) can take them as they are.

use std::ops::{Deref, Range};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// Bytes per chunk: large enough that handing one to a thread costs nothing
/// next to hashing it, small enough that the chunks in flight stay in cache.
pub(crate) const CHUNK: usize = 2 << 20;

/// Where a chunk's first byte lies in memory: a multiple of this.
pub(crate) const ALIGN: usize = 4096;

/// A chunk being filled: `data[off..]` are its bytes, `off` aligns them.
pub(crate) struct Fill {
    data: Vec<u8>,
    off: usize,
}

impl Fill {
    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.off
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends bytes; the caller keeps `len()` at most [`CHUNK`], so the
    /// buffer never moves.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
    }
}

/// A filled chunk. Its buffer goes back to the pool when the last reader
/// lets go, so the image does not page-fault a fresh gigabyte of memory.
pub(crate) struct Buf {
    data: Vec<u8>,
    off: usize,
    pool: Sender<Vec<u8>>,
}

impl Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.data.get(self.off..).unwrap_or_default()
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // the pool is gone once the export is over: then the buffer is freed
        let _ = self.pool.send(std::mem::take(&mut self.data));
    }
}

/// A chunk shared by its readers.
pub(crate) type Chunk = Arc<Buf>;

/// Bytes `range` of a chunk.
#[derive(Clone)]
pub(crate) struct Slice {
    chunk: Chunk,
    range: Range<usize>,
}

impl Slice {
    pub(crate) fn new(chunk: &Chunk, range: Range<usize>) -> Self {
        Slice {
            chunk: Arc::clone(chunk),
            range,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.chunk.get(self.range.clone()).unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.range.len()
    }

    /// Grows this slice by `next` if that continues it in `chunk`.
    pub(crate) fn extend_within(&mut self, chunk: &Chunk, next: &Range<usize>) -> bool {
        if Arc::ptr_eq(&self.chunk, chunk) && self.range.end == next.start {
            self.range.end = next.end;
            true
        } else {
            false
        }
    }
}

/// Empty buffers, recycled.
pub(crate) struct Pool {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
}

impl Pool {
    pub(crate) fn new() -> Self {
        let (tx, rx) = channel();
        Pool { tx, rx }
    }

    /// An empty chunk to fill.
    pub(crate) fn take(&self) -> Fill {
        let mut data = match self.rx.try_recv() {
            Ok(mut v) => {
                v.clear();
                v
            }
            Err(_) => Vec::with_capacity(CHUNK + ALIGN),
        };
        let off = match data.as_ptr().align_offset(ALIGN) {
            n if n < ALIGN => n,
            _ => 0,
        };
        data.resize(off, 0);
        Fill { data, off }
    }

    /// Freezes a filled chunk so it can be shared.
    pub(crate) fn seal(&self, fill: Fill) -> Chunk {
        Arc::new(Buf {
            data: fill.data,
            off: fill.off,
            pool: self.tx.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_when_the_last_reader_is_done() {
        let pool = Pool::new();
        let mut v = pool.take();
        assert!(v.is_empty());
        v.extend(b"abcdef");
        let chunk = pool.seal(v);
        let ptr = chunk.as_ptr();
        assert_eq!(ptr as usize % ALIGN, 0);
        let mut s = Slice::new(&chunk, 1..3);
        assert!(s.extend_within(&chunk, &(3..5)));
        assert!(!s.extend_within(&chunk, &(6..7)));
        let mut other = pool.take();
        other.extend(&[0; 8]);
        let other = pool.seal(other);
        assert!(!s.extend_within(&other, &(5..6)));
        drop(other);
        assert_eq!(s.bytes(), b"bcde");
        drop(chunk);
        assert_eq!(s.bytes(), b"bcde");
        drop(s);
        // both buffers are back, aligned as before
        let a = pool.seal(pool.take());
        let b = pool.seal(pool.take());
        assert!(a.is_empty() && b.is_empty());
        assert!(a.as_ptr() == ptr || b.as_ptr() == ptr);
        assert_eq!(b.as_ptr() as usize % ALIGN, 0);
    }
}
