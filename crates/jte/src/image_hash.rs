//! Hashing the image on helper threads, one per algorithm, all reading the
//! same shared chunks: on two cores the four default image checksums (MD5,
//! SHA-1, SHA-256, SHA-512) cost the writer nothing but a hand-off.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use jigsmith_checksum::{Algorithm, Digest, Hasher};

use crate::chunk::Chunk;
use crate::timing::ThreadClock;
use crate::Error;

/// Chunks a hasher may lag behind the writer (16 MiB: still in cache).
const DEPTH: usize = 8;

/// A hashing thread: where to send chunks, and its digest and CPU time.
type Worker = (SyncSender<Chunk>, JoinHandle<(Digest, Duration)>);

pub(crate) struct ImageHashers {
    workers: Vec<Worker>,
    algorithms: Vec<Algorithm>,
}

impl ImageHashers {
    pub(crate) fn new(algorithms: &[Algorithm]) -> Self {
        let workers = algorithms
            .iter()
            .map(|&alg| {
                let (tx, rx) = sync_channel::<Chunk>(DEPTH);
                let handle = std::thread::spawn(move || {
                    let mut clock = ThreadClock::start();
                    let mut h = Hasher::new(alg);
                    for chunk in rx {
                        clock.busy(|| h.update(&chunk));
                    }
                    (h.finalize(), clock.elapsed())
                });
                (tx, handle)
            })
            .collect();
        ImageHashers {
            workers,
            algorithms: algorithms.to_vec(),
        }
    }

    /// Hands a chunk to every hasher; blocks while one is `DEPTH` behind.
    pub(crate) fn send(&self, chunk: &Chunk) -> Result<(), Error> {
        for (tx, _) in &self.workers {
            tx.send(Chunk::clone(chunk))
                .map_err(|_| Error::HasherGone)?;
        }
        Ok(())
    }

    /// Digests and CPU times in the order of the algorithms given to `new`.
    pub(crate) fn finish(self) -> Result<Vec<(Algorithm, Digest, Duration)>, Error> {
        let mut out = Vec::with_capacity(self.workers.len());
        for ((tx, handle), alg) in self.workers.into_iter().zip(self.algorithms) {
            drop(tx);
            let (digest, cpu) = handle.join().map_err(|_| Error::HasherGone)?;
            out.push((alg, digest, cpu));
        }
        Ok(out)
    }
}
