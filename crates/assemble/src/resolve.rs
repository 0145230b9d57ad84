use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufReader;
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
                // the OS's words ("No such file or directory"), not io::ErrorKind's
                Err(e) => rejected.push((path, e.to_string())),
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
        self.check(digest, len, false)
    }

    /// [`Resolver::verified`], except that a part whose only candidate has
    /// the wrong content fails with [`Error::ChecksumMismatch`] naming it.
    pub(crate) fn verified_naming_mismatch(&self, digest: &Digest, len: u64) -> Result<PathBuf> {
        self.check(digest, len, true)
    }

    fn check(&self, digest: &Digest, len: u64, name_mismatch: bool) -> Result<PathBuf> {
        if let Some(p) = self.known(digest) {
            return Ok(p);
        }
        let mut candidates = self.candidates(digest, len);
        while let Some(path) = candidates.next() {
            match hash_file(&path, digest) {
                Ok((actual, read)) => {
                    if candidates.accept(&path, actual, read) {
                        self.remember(actual, path.clone());
                        return Ok(path);
                    }
                }
                Err(e) => candidates.reject(path, e.to_string()),
            }
        }
        Err(candidates.into_error(name_mismatch))
    }

    /// The part's candidates of the right size, to be tried in turn.
    pub(crate) fn candidates(&self, digest: &Digest, len: u64) -> Candidates {
        let (usable, tried) = self.usable(digest, len);
        Candidates {
            digest: *digest,
            len,
            usable: usable.len(),
            untried: usable.into(),
            tried,
            mismatch: None,
        }
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

/// One part's candidate files, tried in turn, with why each was turned down.
pub(crate) struct Candidates {
    digest: Digest,
    len: u64,
    untried: VecDeque<PathBuf>,
    tried: Vec<(PathBuf, String)>,
    /// How many had the right size: with one, a wrong content can be named as such.
    usable: usize,
    /// The last candidate read in full whose content did not match.
    mismatch: Option<(PathBuf, Digest)>,
}

impl Candidates {
    /// The part's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The next candidate to try.
    pub fn next(&mut self) -> Option<PathBuf> {
        self.untried.pop_front()
    }

    /// Turns `path` down, for the final report.
    pub fn reject(&mut self, path: PathBuf, why: String) {
        self.tried.push((path, why));
    }

    /// Whether `path`, read in full (`read` bytes hashing to `actual`), holds
    /// the part; if not, it is turned down with the reason.
    pub fn accept(&mut self, path: &Path, actual: Digest, read: u64) -> bool {
        let why = if read != self.len {
            format!("{read} bytes, expected {}", self.len)
        } else if actual != self.digest {
            self.mismatch = Some((path.to_path_buf(), actual));
            format!("checksum is {}", actual.to_hex())
        } else {
            return true;
        };
        self.reject(path.to_path_buf(), why);
        false
    }

    /// The error once every candidate failed: with `name_mismatch`, a lone
    /// candidate with the wrong content is named as such; otherwise every
    /// place tried is listed.
    pub fn into_error(self, name_mismatch: bool) -> Error {
        match self.mismatch {
            Some((path, actual)) if name_mismatch && self.usable == 1 => Error::ChecksumMismatch {
                path,
                expected: self.digest,
                actual,
            },
            _ => Error::Missing {
                digest: self.digest,
                len: self.len,
                tried: self.tried,
            },
        }
    }
}

/// Hashes a whole file with the algorithm of `like`; returns digest and length.
pub(crate) fn hash_file(path: &Path, like: &Digest) -> std::io::Result<(Digest, u64)> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut h = Hasher::new(like.algorithm());
    let len = std::io::copy(&mut file, &mut h)?;
    Ok((h.finalize(), len))
}
