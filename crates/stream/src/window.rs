//! The image in shared chunks, and the run of them one consumer holds.
//!
//! [`Fanout`](crate::Fanout) fills [`Chunk`]s and hands an `Arc` of each to
//! every consumer; a consumer keeps the chunks it still needs in a
//! [`Window`]. A chunk's buffer goes back to the reader's pool when the last
//! consumer lets go of it, so a whole-image pass allocates a few dozen
//! buffers, not one per read.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

/// Bytes per read of the image.
pub const CHUNK: usize = 1 << 20;

/// A run of image bytes starting at `offset`.
pub struct Chunk {
    /// Where the chunk starts in the stream.
    pub offset: u64,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Where the buffer goes once no checker holds the chunk any more.
    pub(crate) pool: Sender<Vec<u8>>,
}

impl Chunk {
    /// A chunk whose buffer is handed to `pool` once nobody holds it.
    pub fn new(offset: u64, data: Vec<u8>, pool: Sender<Vec<u8>>) -> Chunk {
        Chunk { offset, data, pool }
    }

    /// Where the chunk ends in the stream (exclusive).
    pub fn end(&self) -> u64 {
        self.offset + self.data.len() as u64
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // The reader may be gone (it finished); then the buffer is just freed.
        let _ = self.pool.send(std::mem::take(&mut self.data));
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
                .and_then(|from| c.data.get(from..))
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
    use std::sync::mpsc;

    fn window_of(parts: &[&[u8]]) -> (Window, Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel();
        let (pool_tx, pool_rx) = mpsc::channel();
        let mut offset = 0;
        for p in parts {
            tx.send(Arc::new(Chunk {
                offset,
                data: p.to_vec(),
                pool: pool_tx.clone(),
            }))
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
}
