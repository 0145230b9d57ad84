//! One sequential read of an image, shared by every thread that needs its
//! bytes: each whole-image digest on a thread of its own, and the digests of
//! many spans (the files inside the image) eight MD5s at a time with
//! [`jigsmith_md5_lanes`].
//!
//! `verify` (check an image against its template) and `make-template` (find
//! where known files lie) both need the whole-image digests and the digest
//! of every file's extent. Reading the image once and handing the same
//! chunks to every consumer keeps both at the speed of the slowest single
//! digest (the image's MD5) on two cores, with memory bounded by the queues.
//!
//! ```
//! use jigsmith_checksum::{Algorithm, Hasher};
//! use jigsmith_stream::{hash_stream, Span};
//!
//! let image: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
//! let spans = [Span { offset: 1000, len: 5000, algorithm: Algorithm::Md5 }];
//! let d = hash_stream(&mut &image[..], &[Algorithm::Sha256], &spans, &mut |_| {})?;
//! assert_eq!(d.len, 100_000);
//! assert_eq!(d.whole, [Hasher::digest(Algorithm::Sha256, &image)]);
//! assert_eq!(d.spans, [Some(Hasher::digest(Algorithm::Md5, &image[1000..6000]))]);
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod spans;
mod window;

use std::io::Read;
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;

use jigsmith_checksum::{Algorithm, Digest, Hasher};

pub use spans::{hash_spans, Span};
pub use window::{Chunk, ChunkPool, Fill, Window, ALIGN, CHUNK};

/// Chunks queued for each whole-image hasher.
pub const HASHER_QUEUE: usize = 8;
/// Chunks queued for consumers off the critical path (span hashers, data
/// comparers): a long queue lets the image hashers run on while those are
/// descheduled on a busy machine; the chunks are shared, so it costs memory
/// only while they lag.
pub const SIDE_QUEUE: usize = 48;

/// The sending end: hands every chunk to every subscriber. Either it reads
/// a stream itself ([`Fanout::run`]) or a writer fills chunks from its
/// [`Fanout::pool`] and pushes them ([`Fanout::push`]).
pub struct Fanout {
    senders: Vec<SyncSender<Arc<Chunk>>>,
    pool: ChunkPool,
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout::new()
    }
}

impl Fanout {
    /// A fan-out of [`CHUNK`]-byte chunks with no subscribers yet.
    pub fn new() -> Fanout {
        Fanout::with_chunk_size(CHUNK)
    }

    /// A fan-out of `size`-byte chunks with no subscribers yet.
    pub fn with_chunk_size(size: usize) -> Fanout {
        Fanout {
            senders: Vec::new(),
            pool: ChunkPool::new(size),
        }
    }

    /// A window on every chunk to be sent, at most `queue` chunks ahead of
    /// the consumer. A consumer that drops its window stops receiving.
    pub fn subscribe(&mut self, queue: usize) -> Window {
        let (tx, rx) = mpsc::sync_channel(queue);
        self.senders.push(tx);
        Window::new(rx)
    }

    /// Where the chunks to [`Fanout::push`] come from.
    pub fn pool(&self) -> &ChunkPool {
        &self.pool
    }

    /// Hands `chunk` to every subscriber, waiting while one is its queue
    /// behind; false once no subscriber is left.
    pub fn push(&mut self, chunk: &Arc<Chunk>) -> bool {
        // a consumer that is done stops listening
        self.senders.retain(|tx| tx.send(Arc::clone(chunk)).is_ok());
        !self.senders.is_empty()
    }

    /// Reads `reader` to its end in chunks, handing each to every
    /// subscriber and `progress` the bytes read; returns the bytes read.
    ///
    /// # Errors
    /// A read error; subscribers then see the stream end early.
    pub fn run(
        mut self,
        reader: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> std::io::Result<u64> {
        let mut offset = 0u64;
        loop {
            let mut fill = self.pool.take();
            let n = fill.read_from(reader)?;
            if n == 0 {
                return Ok(offset);
            }
            let chunk = self.pool.seal(fill, offset);
            self.push(&chunk);
            offset += n as u64;
            progress(n as u64);
        }
    }
}

/// The digest of every chunk `window` will receive.
pub fn hash_whole(algorithm: Algorithm, window: Window) -> Option<Digest> {
    let mut h = Hasher::new(algorithm);
    for chunk in window.into_chunks() {
        h.update(&chunk);
    }
    Some(h.finalize())
}

/// What [`hash_stream`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDigests {
    /// Bytes read.
    pub len: u64,
    /// One digest per whole-stream algorithm asked for, in that order.
    pub whole: Vec<Digest>,
    /// One per span, in order; `None` for a span the stream ended before.
    pub spans: Vec<Option<Digest>>,
}

/// Reads `reader` once: the whole-stream digests (each on a thread of its
/// own) and the digest of every span (sorted by offset; on one more thread).
///
/// # Errors
/// A read error.
pub fn hash_stream(
    reader: &mut dyn Read,
    whole: &[Algorithm],
    spans: &[Span],
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<StreamDigests> {
    let mut fanout = Fanout::new();
    let windows: Vec<Window> = whole
        .iter()
        .map(|_| fanout.subscribe(HASHER_QUEUE))
        .collect();
    let span_window = (!spans.is_empty()).then(|| fanout.subscribe(SIDE_QUEUE));
    std::thread::scope(|s| {
        let hashers: Vec<_> = whole
            .iter()
            .zip(windows)
            .map(|(&a, w)| s.spawn(move || hash_whole(a, w)))
            .collect();
        let span_hasher = span_window.map(|w| s.spawn(move || hash_spans(spans, u64::MAX, w)));
        let len = fanout.run(reader, progress)?;
        let gone = || std::io::Error::other("a hashing thread panicked");
        let whole = hashers
            .into_iter()
            .map(|h| h.join().ok().flatten().ok_or_else(gone))
            .collect::<std::io::Result<Vec<Digest>>>()?;
        let spans = match span_hasher {
            Some(h) => h.join().map_err(|_| gone())?,
            None => Vec::new(),
        };
        Ok(StreamDigests { len, whole, spans })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumer_sees_the_whole_stream() {
        let image: Vec<u8> = (0..(3 * CHUNK + 777) as u32)
            .map(|i| (i * 13 % 253) as u8)
            .collect();
        let spans: Vec<Span> = [
            (0, 10),
            (CHUNK as u64 - 5, 100),
            (2 * CHUNK as u64, CHUNK as u64 + 777),
        ]
        .iter()
        .map(|&(offset, len)| Span {
            offset,
            len,
            algorithm: Algorithm::Md5,
        })
        .collect();
        let mut seen = 0;
        let d = hash_stream(&mut &image[..], &Algorithm::ALL, &spans, &mut |n| seen += n).unwrap();
        assert_eq!((d.len, seen), (image.len() as u64, image.len() as u64));
        for (a, got) in Algorithm::ALL.iter().zip(&d.whole) {
            assert_eq!(*got, Hasher::digest(*a, &image));
        }
        for (s, got) in spans.iter().zip(&d.spans) {
            let bytes = &image[s.offset as usize..(s.offset + s.len) as usize];
            assert_eq!(*got, Some(Hasher::digest(Algorithm::Md5, bytes)));
        }
        // a span past the end of the stream has no digest
        let past = [Span {
            offset: image.len() as u64 - 10,
            len: 11,
            algorithm: Algorithm::Md5,
        }];
        let d = hash_stream(&mut &image[..], &[], &past, &mut |_| {}).unwrap();
        assert_eq!(d.spans, [None]);
    }

    #[test]
    fn a_read_error_is_returned() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let err = hash_stream(&mut Broken, &[Algorithm::Md5], &[], &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("disk on fire"));
    }
}
