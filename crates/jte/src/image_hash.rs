//! Hashing the image on helper threads, one per algorithm.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use jigsmith_checksum::{Algorithm, Digest, Hasher};

use crate::Error;

/// Bytes gathered before a chunk is handed to the hashers.
const CHUNK: usize = 1 << 20;

/// A hashing thread: where to send chunks, and its result.
type Worker = (SyncSender<Arc<[u8]>>, JoinHandle<Digest>);

pub(crate) struct ImageHashers {
    pending: Vec<u8>,
    workers: Vec<Worker>,
    algorithms: Vec<Algorithm>,
}

impl ImageHashers {
    pub(crate) fn new(algorithms: &[Algorithm]) -> Self {
        let workers = algorithms
            .iter()
            .map(|&alg| {
                let (tx, rx) = sync_channel::<Arc<[u8]>>(8);
                let handle = std::thread::spawn(move || {
                    let mut h = Hasher::new(alg);
                    for chunk in rx {
                        h.update(&chunk);
                    }
                    h.finalize()
                });
                (tx, handle)
            })
            .collect();
        ImageHashers {
            pending: Vec::with_capacity(CHUNK),
            workers,
            algorithms: algorithms.to_vec(),
        }
    }

    pub(crate) fn update(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        while !bytes.is_empty() {
            let room = CHUNK - self.pending.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = later;
            if self.pending.len() == CHUNK {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        let chunk: Arc<[u8]> = Arc::from(std::mem::take(&mut self.pending));
        self.pending.reserve(CHUNK);
        for (tx, _) in &self.workers {
            tx.send(Arc::clone(&chunk)).map_err(|_| Error::HasherGone)?;
        }
        Ok(())
    }

    /// Digests in the order of the algorithms given to `new`.
    pub(crate) fn finish(mut self) -> Result<Vec<(Algorithm, Digest)>, Error> {
        if !self.pending.is_empty() {
            self.flush()?;
        }
        let mut out = Vec::with_capacity(self.workers.len());
        for ((tx, handle), alg) in self.workers.into_iter().zip(self.algorithms) {
            drop(tx);
            out.push((alg, handle.join().map_err(|_| Error::HasherGone)?));
        }
        Ok(out)
    }
}
