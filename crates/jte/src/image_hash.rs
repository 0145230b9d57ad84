//! Hashing the image on helper threads, one per algorithm, all reading the
//! same shared chunks through a [`Fanout`] fed by the writer: on two cores
//! the four default image checksums (MD5, SHA-1, SHA-256, SHA-512) cost the
//! writer nothing but a hand-off.

use std::thread::JoinHandle;
use std::time::Duration;

use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_stream::{hash_whole, Fanout, Fill};

use crate::chunk::{Chunk, CHUNK};
use crate::timing::ThreadClock;
use crate::Error;

/// Chunks a hasher may lag behind the writer (16 MiB: still in cache).
const DEPTH: usize = 8;

/// One algorithm's thread: its digest and CPU time.
type Worker = (Algorithm, JoinHandle<(Option<Digest>, Duration)>);

pub(crate) struct ImageHashers {
    fanout: Fanout,
    workers: Vec<Worker>,
}

impl ImageHashers {
    pub(crate) fn new(algorithms: &[Algorithm]) -> Self {
        let mut fanout = Fanout::with_chunk_size(CHUNK);
        let workers = algorithms
            .iter()
            .map(|&alg| {
                let window = fanout.subscribe(DEPTH);
                let handle = std::thread::spawn(move || {
                    let mut clock = ThreadClock::start();
                    let digest = clock.busy(|| hash_whole(alg, window));
                    (digest, clock.elapsed())
                });
                (alg, handle)
            })
            .collect();
        ImageHashers { fanout, workers }
    }

    /// An empty chunk for the writer to fill.
    pub(crate) fn take(&self) -> Fill {
        self.fanout.pool().take()
    }

    /// Shares a filled chunk (at image `offset`) and hands it to every
    /// hasher; blocks while one is `DEPTH` behind.
    pub(crate) fn send(&mut self, fill: Fill, offset: u64) -> Result<Chunk, Error> {
        let chunk = self.fanout.pool().seal(fill, offset);
        if !self.workers.is_empty() && !self.fanout.push(&chunk) {
            return Err(Error::HasherGone);
        }
        Ok(chunk)
    }

    /// Digests and CPU times in the order of the algorithms given to `new`.
    pub(crate) fn finish(self) -> Result<Vec<(Algorithm, Digest, Duration)>, Error> {
        drop(self.fanout);
        self.workers
            .into_iter()
            .map(|(alg, handle)| match handle.join() {
                Ok((Some(digest), cpu)) => Ok((alg, digest, cpu)),
                _ => Err(Error::HasherGone),
            })
            .collect()
    }
}
