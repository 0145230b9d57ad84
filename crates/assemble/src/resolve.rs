use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jigsmith_checksum::{Digest, Hasher};

use crate::{Error, PartSource, Result};

/// Picks, for each part, a file that really holds it.
///
/// A candidate is usable once it is a regular file of the right length;
/// [`Resolver::verified`] also hashes it and remembers the winner, so each
/// file is hashed at most once per resolver.
pub struct Resolver {
    sources: Arc<dyn PartSource>,
    verified: Mutex<HashMap<Digest, PathBuf>>,
}

impl Resolver {
    /// A resolver over `sources`.
    pub fn new(sources: Arc<dyn PartSource>) -> Self {
        Resolver {
            sources,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Human-readable names for a part, for reports.
    pub fn names(&self, digest: &Digest) -> Vec<String> {
        self.sources.names(digest)
    }

    /// Candidates that exist as regular files of length `len`, and the
    /// rejected ones with the reason.
    pub fn usable(&self, digest: &Digest, len: u64) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
        let mut ok = Vec::new();
        let mut rejected = Vec::new();
        for path in self.sources.candidates(digest) {
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() && m.len() == len => ok.push(path),
                Ok(m) if m.is_file() => {
                    let why = format!("{} bytes, expected {len}", m.len());
                    rejected.push((path, why));
                }
                Ok(_) => rejected.push((path, "not a regular file".into())),
                Err(e) => rejected.push((path, e.kind().to_string())),
            }
        }
        (ok, rejected)
    }

    /// The first usable candidate, unverified.
    ///
    /// # Errors
    /// [`Error::Missing`] if there is none.
    pub fn first_usable(&self, digest: &Digest, len: u64) -> Result<PathBuf> {
        if let Some(p) = self.known(digest) {
            return Ok(p);
        }
        let (ok, tried) = self.usable(digest, len);
        ok.into_iter().next().ok_or(Error::Missing {
            digest: *digest,
            len,
            tried,
        })
    }

    /// A candidate whose checksum was checked to be `digest`.
    ///
    /// # Errors
    /// [`Error::Missing`] if no candidate holds the part (each rejected
    /// candidate is listed with the reason), [`Error::Io`] never: read errors
    /// only reject a candidate.
    pub fn verified(&self, digest: &Digest, len: u64) -> Result<PathBuf> {
        if let Some(p) = self.known(digest) {
            return Ok(p);
        }
        let (ok, mut tried) = self.usable(digest, len);
        for path in ok {
            match hash_file(&path, digest) {
                Ok((actual, n)) if actual == *digest && n == len => {
                    self.remember(*digest, path.clone());
                    return Ok(path);
                }
                Ok((actual, _)) => tried.push((path, format!("checksum is {}", actual.to_hex()))),
                Err(e) => tried.push((path, e.to_string())),
            }
        }
        Err(Error::Missing {
            digest: *digest,
            len,
            tried,
        })
    }

    /// Records that `path` was verified to hold `digest` (e.g. while it was copied).
    pub fn remember(&self, digest: Digest, path: PathBuf) {
        if let Ok(mut m) = self.verified.lock() {
            m.insert(digest, path);
        }
    }

    /// A path already verified to hold `digest`, if any.
    pub fn known(&self, digest: &Digest) -> Option<PathBuf> {
        self.verified.lock().ok()?.get(digest).cloned()
    }
}

/// Hashes a whole file with the algorithm of `like`; returns digest and length.
pub(crate) fn hash_file(path: &Path, like: &Digest) -> std::io::Result<(Digest, u64)> {
    let mut f = File::open(path)?;
    let mut h = Hasher::new(like.algorithm());
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or(&[]));
        total += n as u64;
    }
    Ok((h.finalize(), total))
}
