//! The image in shared chunks, and the run of them one consumer holds.
//!
//! [`Fanout`](crate::Fanout) hands an `Arc` of each [`Chunk`] to every
//! consumer; a consumer keeps the chunks it still needs in a [`Window`]. A
//! chunk's buffer goes back to its [`ChunkPool`] when the last consumer lets
//! go of it, so a whole-image pass allocates a few dozen buffers, not one
//! per read.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::ops::Deref;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

/// Bytes per read of the image.
pub const CHUNK: usize = 1 << 20;

/// Where a pooled chunk's first byte lies in memory: a multiple of this, so
/// an output that bypasses the page cache (O_DIRECT) can take it as it is.
pub const ALIGN: usize = 4096;

/// A run of stream bytes starting at `offset`; derefs to its bytes.
pub struct Chunk {
    /// Where the chunk starts in the stream.
    pub offset: u64,
    /// `data[start..]` are the bytes; `start` aligns them.
    data: Vec<u8>,
    start: usize,
    /// Where the buffer goes once no consumer holds the chunk any more.
    pool: Sender<Vec<u8>>,
}

impl Chunk {
    /// A chunk whose buffer is handed to `pool` once nobody holds it.
    pub fn new(offset: u64, data: Vec<u8>, pool: Sender<Vec<u8>>) -> Chunk {
        Chunk {
            offset,
            data,
            start: 0,
            pool,
        }
    }

    /// Where the chunk ends in the stream (exclusive).
    pub fn end(&self) -> u64 {
        self.offset + self.len() as u64
    }
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.data.get(self.start..).unwrap_or_default()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // The pool may be gone (the pass is over); then the buffer is just freed.
        let _ = self.pool.send(std::mem::take(&mut self.data));
    }
}

/// Recycled buffers of `size` bytes each, [`ALIGN`]ed: the stream's memory
/// is a few dozen buffers, not a fresh allocation (and page faults) per chunk.
pub struct ChunkPool {
    size: usize,
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
}

impl ChunkPool {
    /// A pool of chunks of `size` bytes.
    pub fn new(size: usize) -> Self {
        let (tx, rx) = mpsc::channel();
        ChunkPool { size, tx, rx }
    }

    /// Bytes per chunk.
    pub fn size(&self) -> usize {
        self.size
    }

    /// An empty chunk to fill.
    pub fn take(&self) -> Fill {
        let mut data = match self.rx.try_recv() {
            Ok(mut v) => {
                v.clear();
                v
            }
            Err(_) => Vec::with_capacity(self.size + ALIGN),
        };
        let start = match data.as_ptr().align_offset(ALIGN) {
            n if n < ALIGN => n,
            _ => 0,
        };
        data.resize(start, 0);
        Fill {
            data,
            start,
            size: self.size,
        }
    }

    /// Freezes a filled chunk, which starts at `offset` in the stream, so it
    /// can be shared.
    pub fn seal(&self, fill: Fill, offset: u64) -> Arc<Chunk> {
        Arc::new(Chunk {
            offset,
            data: fill.data,
            start: fill.start,
            pool: self.tx.clone(),
        })
    }
}

/// A pooled chunk being filled; never holds more than the pool's size, so
/// its buffer never moves (and stays aligned).
pub struct Fill {
    data: Vec<u8>,
    start: usize,
    size: usize,
}

impl Fill {
    /// Bytes filled.
    pub fn len(&self) -> usize {
        self.data.len() - self.start
    }

    /// Nothing filled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes still to fill.
    pub fn room(&self) -> usize {
        self.size - self.len()
    }

    /// Appends as much of `bytes` as there is room for; returns how much.
    pub fn extend(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        self.data
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        n
    }

    /// Reads from `reader` until full or at its end; returns the bytes read.
    ///
    /// # Errors
    /// A read error.
    pub fn read_from(&mut self, reader: &mut dyn Read) -> std::io::Result<usize> {
        let filled = self.data.len();
        self.data.resize(self.start + self.size, 0);
        let mut n = filled;
        let result = loop {
            match reader.read(self.data.get_mut(n..).unwrap_or_default()) {
                Ok(0) => break Ok(()),
                Ok(k) => n += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
            if n == self.data.len() {
                break Ok(());
            }
        };
        self.data.truncate(n);
        result.map(|()| n - filled)
    }
}

/// The chunks one consumer still needs, in image order, and where more come from.
pub struct Window {
    chunks: VecDeque<Arc<Chunk>>,
    rx: Receiver<Arc<Chunk>>,
    /// Image offset where the held chunks end (all bytes before were received).
    end: u64,
    /// No more chunks will come.
    eof: bool,
}

impl Window {
    /// A window over the chunks `rx` delivers, in stream order.
    pub fn new(rx: Receiver<Arc<Chunk>>) -> Self {
        Window {
            chunks: VecDeque::new(),
            rx,
            end: 0,
            eof: false,
        }
    }

    /// Offset up to which bytes have been received.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// No more chunks will come.
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Bytes held.
    pub fn held(&self) -> u64 {
        self.chunks.front().map_or(0, |c| self.end - c.offset)
    }

    /// Waits for the next chunk; false once the image has been read.
    pub fn pull(&mut self) -> bool {
        if self.eof {
            return false;
        }
        match self.rx.recv() {
            Ok(chunk) => {
                self.end = chunk.end();
                self.chunks.push_back(chunk);
                true
            }
            Err(_) => {
                self.eof = true;
                false
            }
        }
    }

    /// Drops every chunk before `offset` and pulls until the byte at
    /// `offset` is held (or the image ended), never holding what lies between.
    pub fn seek(&mut self, offset: u64) {
        self.release_before(offset);
        while self.end <= offset && self.pull() {
            self.release_before(offset);
        }
    }

    /// The bytes from `at` to the end of the chunk holding them (empty when
    /// `at` is not held).
    pub fn slice(&self, at: u64) -> &[u8] {
        let i = self.chunks.partition_point(|c| c.end() <= at);
        match self.chunks.get(i) {
            Some(c) if c.offset <= at => usize::try_from(at - c.offset)
                .ok()
                .and_then(|from| c.get(from..))
                .unwrap_or_default(),
            _ => &[],
        }
    }

    /// Copies the bytes from `at` into `out`, across chunks; false if not
    /// all of them are held.
    pub fn gather(&self, mut at: u64, out: &mut [u8]) -> bool {
        let mut filled = 0;
        while filled < out.len() {
            let s = self.slice(at);
            if s.is_empty() {
                return false;
            }
            let n = s.len().min(out.len() - filled);
            if let (Some(dst), Some(src)) = (out.get_mut(filled..filled + n), s.get(..n)) {
                dst.copy_from_slice(src);
            }
            filled += n;
            at += n as u64;
        }
        true
    }

    /// The chunks still to come, for consumers that take each chunk whole
    /// (a whole-stream hasher) and need no window.
    pub fn into_chunks(self) -> impl Iterator<Item = Arc<Chunk>> {
        self.chunks.into_iter().chain(self.rx)
    }

    /// Lets go of every chunk that ends at or before `offset`.
    pub fn release_before(&mut self, offset: u64) {
        while self.chunks.front().is_some_and(|c| c.end() <= offset) {
            self.chunks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_of(parts: &[&[u8]]) -> (Window, Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel();
        let (pool_tx, pool_rx) = mpsc::channel();
        let mut offset = 0;
        for p in parts {
            tx.send(Arc::new(Chunk::new(offset, p.to_vec(), pool_tx.clone())))
                .unwrap();
            offset += p.len() as u64;
        }
        (Window::new(rx), pool_rx)
    }

    #[test]
    fn slices_gathers_and_returns_buffers() {
        let (mut w, pool) = window_of(&[b"abcd", b"ef", b"ghij"]);
        for _ in 0..3 {
            w.pull();
        }
        assert_eq!(w.end(), 10);
        assert_eq!(w.slice(1), b"bcd");
        assert_eq!(w.slice(5), b"f");
        assert_eq!(w.slice(10), b"");
        let mut out = [0u8; 6];
        assert!(w.gather(3, &mut out));
        assert_eq!(&out, b"defghi");
        assert!(!w.gather(8, &mut out));
        w.release_before(6);
        assert_eq!(w.held(), 4);
        assert_eq!(pool.try_iter().count(), 2);
        assert_eq!(w.slice(2), b"");
        assert!(!w.pull());
        assert!(w.is_eof());
        w.seek(8);
        assert_eq!(w.slice(8), b"ij");
        w.seek(20);
        assert_eq!(w.held(), 0);
    }

    #[test]
    fn pooled_buffers_are_aligned_and_come_back_when_the_last_reader_is_done() {
        let pool = ChunkPool::new(8);
        let mut v = pool.take();
        assert!(v.is_empty());
        assert_eq!(v.extend(b"abcdef"), 6);
        assert_eq!(v.extend(b"ghij"), 2);
        assert_eq!(v.room(), 0);
        let chunk = pool.seal(v, 100);
        let ptr = chunk.as_ptr();
        assert_eq!(ptr as usize % ALIGN, 0);
        assert_eq!((&chunk[..], chunk.end()), (&b"abcdefgh"[..], 108));
        let held = Arc::clone(&chunk);
        drop(chunk);
        assert_eq!(&held[1..3], b"bc");
        drop(held);
        // the buffer is back, aligned as before
        let mut again = pool.take();
        assert!(again.is_empty());
        assert_eq!(again.read_from(&mut &b"0123456789"[..]).unwrap(), 8);
        let again = pool.seal(again, 0);
        assert_eq!((again.as_ptr(), &again[..]), (ptr, &b"01234567"[..]));
    }
}
