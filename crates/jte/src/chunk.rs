//! Image bytes in shared chunks ([`jigsmith_stream::Chunk`]): filled once by
//! the writer's thread, then read in place by every image hasher, the file
//! checker and the template writer. No byte is copied after it entered a
//! chunk.
//!
//! Chunks start on a 4 KiB boundary ([`jigsmith_stream::ALIGN`]), so an
//! image output that bypasses the page cache (O_DIRECT) can take them as
//! they are.

use std::ops::Range;
use std::sync::Arc;

use jigsmith_stream::Chunk as Buf;

/// Bytes per chunk: large enough that handing one to a thread costs nothing
/// next to hashing it, small enough that the chunks in flight stay in cache.
pub(crate) const CHUNK: usize = 2 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_stream::{ChunkPool, ALIGN};

    #[test]
    fn buffers_come_back_when_the_last_reader_is_done() {
        let pool = ChunkPool::new(CHUNK);
        let mut v = pool.take();
        assert!(v.is_empty());
        v.extend(b"abcdef");
        let chunk = pool.seal(v, 0);
        let ptr = chunk.as_ptr();
        assert_eq!(ptr as usize % ALIGN, 0);
        let mut s = Slice::new(&chunk, 1..3);
        assert!(s.extend_within(&chunk, &(3..5)));
        assert!(!s.extend_within(&chunk, &(6..7)));
        let mut other = pool.take();
        other.extend(&[0; 8]);
        let other = pool.seal(other, 6);
        assert!(!s.extend_within(&other, &(5..6)));
        drop(other);
        assert_eq!(s.bytes(), b"bcde");
        drop(chunk);
        assert_eq!(s.bytes(), b"bcde");
        drop(s);
        // both buffers are back, aligned as before
        let a = pool.seal(pool.take(), 0);
        let b = pool.seal(pool.take(), 0);
        assert!(a.is_empty() && b.is_empty());
        assert!(a.as_ptr() == ptr || b.as_ptr() == ptr);
        assert_eq!(b.as_ptr() as usize % ALIGN, 0);
    }
}
