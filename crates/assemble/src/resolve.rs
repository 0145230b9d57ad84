use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Read};
use std::sync::{Arc, Mutex};

use jigsmith_checksum::{Digest, Hasher};

use crate::{Error, FileKey, Location, PartSource, Result, VerdictCache};

/// Picks, for each part, a place that really holds it.
///
/// A candidate is usable once it is a regular file long enough for the
/// part; [`Resolver::verified`] also hashes it and remembers the verdict by
/// [`FileKey`], so an unchanged file is hashed once however often it is used.
pub struct Resolver {
    sources: Arc<dyn PartSource>,
    verdicts: Arc<VerdictCache>,
    /// The place each part was last verified at.
    winners: Mutex<HashMap<Digest, Location>>,
}

impl Resolver {
    /// A resolver over `sources`, with a verdict cache of its own.
    pub fn new(sources: Arc<dyn PartSource>) -> Self {
        Self::with_verdicts(sources, Arc::new(VerdictCache::new()))
    }

    /// A resolver sharing `verdicts` with others (all images of a server).
    pub fn with_verdicts(sources: Arc<dyn PartSource>, verdicts: Arc<VerdictCache>) -> Self {
        Resolver {
            sources,
            verdicts,
            winners: Mutex::new(HashMap::new()),
        }
    }

    /// Human-readable names for a part, for reports.
    pub fn names(&self, digest: &Digest) -> Vec<String> {
        self.sources.names(digest)
    }

    /// Candidates that exist as regular files long enough for the part,
    /// and the rejected ones with the reason.
    pub fn usable(&self, digest: &Digest, len: u64) -> (Vec<Location>, Vec<(Location, String)>) {
        let mut ok = Vec::new();
        let mut rejected = Vec::new();
        for location in self.sources.candidates(digest) {
            match std::fs::metadata(&location.path) {
                Ok(m) if m.is_file() => match location.fits(m.len(), len) {
                    Ok(()) => ok.push(location),
                    Err(why) => rejected.push((location, why)),
                },
                Ok(_) => rejected.push((location, "not a regular file".into())),
                // the OS's words ("No such file or directory"), not io::ErrorKind's
                Err(e) => rejected.push((location, e.to_string())),
            }
        }
        (ok, rejected)
    }

    /// The first usable candidate, unverified.
    ///
    /// # Errors
    /// [`Error::Missing`] if there is none.
    pub fn first_usable(&self, digest: &Digest, len: u64) -> Result<Location> {
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

    /// A place whose content was checked to be `digest`: a local candidate,
    /// else what a source fetches.
    ///
    /// # Errors
    /// [`Error::Missing`] if no candidate holds the part (each rejected
    /// candidate is listed with the reason), [`Error::Io`] never: read errors
    /// only reject a candidate.
    pub fn verified(&self, digest: &Digest, len: u64) -> Result<Location> {
        self.check(digest, len, false)
    }

    /// [`Resolver::verified`], except that a part whose only candidate has
    /// the wrong content fails with [`Error::ChecksumMismatch`] naming it.
    pub(crate) fn verified_naming_mismatch(&self, digest: &Digest, len: u64) -> Result<Location> {
        self.check(digest, len, true)
    }

    fn check(&self, digest: &Digest, len: u64, name_mismatch: bool) -> Result<Location> {
        if let Some(known) = self.known(digest) {
            if self.still_holds(&known, digest, len) {
                return Ok(known);
            }
            self.forget(digest);
        }
        let mut candidates = self.candidates(digest, len);
        while let Some(location) = candidates.next() {
            if self.try_location(&location, &mut candidates) {
                return Ok(location);
            }
        }
        match self.sources.fetch(digest, len) {
            Ok(Some(fetched)) => {
                if self.try_location(&fetched, &mut candidates) {
                    return Ok(fetched);
                }
            }
            Ok(None) => {}
            Err(e) => candidates.reject_fetch(e.to_string()),
        }
        Err(candidates.into_error(name_mismatch))
    }

    /// Hashes `location` unless its verdict is known; `true` if it holds the part.
    fn try_location(&self, location: &Location, candidates: &mut Candidates) -> bool {
        let digest = candidates.digest;
        let len = candidates.len;
        if self.still_holds(location, &digest, len) {
            self.remember(digest, location.clone());
            return true;
        }
        let before = key_of(location);
        match hash_location(location, &digest, len) {
            Ok((actual, read)) => {
                if !candidates.accept(location, actual, read) {
                    return false;
                }
                // only a file that did not change while it was read earns a verdict
                if let (Some(before), Some(after)) = (before, key_of(location)) {
                    if before == after {
                        self.verdicts.record(after, len, actual);
                    }
                }
                self.remember(actual, location.clone());
                true
            }
            Err(e) => {
                candidates.reject(location.clone(), e.to_string());
                false
            }
        }
    }

    /// Whether `location` is unchanged since it was found to hold `digest`.
    pub fn still_holds(&self, location: &Location, digest: &Digest, len: u64) -> bool {
        key_of(location).is_some_and(|key| self.verdicts.holds(&key, len, digest))
    }

    /// The verdict cache this resolver records into.
    pub fn verdicts(&self) -> &Arc<VerdictCache> {
        &self.verdicts
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

    /// Records that `location` was verified to hold `digest` (e.g. while it was copied).
    pub fn remember(&self, digest: Digest, location: Location) {
        if let Ok(mut m) = self.winners.lock() {
            m.insert(digest, location);
        }
    }

    /// Records a verdict for a file checked elsewhere (the lanes, a
    /// downloader hashing as it writes): `key` is the file as it was read.
    pub fn record(&self, key: FileKey, digest: Digest, len: u64, location: Location) {
        self.verdicts.record(key, len, digest);
        self.remember(digest, location);
    }

    /// A place already verified to hold `digest`, if any.
    pub fn known(&self, digest: &Digest) -> Option<Location> {
        self.winners.lock().ok()?.get(digest).cloned()
    }

    fn forget(&self, digest: &Digest) {
        if let Ok(mut m) = self.winners.lock() {
            m.remove(digest);
        }
    }
}

/// The key of the bytes at `location` now, if the file can be looked at.
fn key_of(location: &Location) -> Option<FileKey> {
    let meta = std::fs::metadata(&location.path).ok()?;
    Some(FileKey::new(&meta, location.offset()))
}

/// One part's candidate files, tried in turn, with why each was turned down.
pub(crate) struct Candidates {
    digest: Digest,
    len: u64,
    untried: VecDeque<Location>,
    tried: Vec<(Location, String)>,
    /// How many had the right size: with one, a wrong content can be named as such.
    usable: usize,
    /// The last candidate read in full whose content did not match.
    mismatch: Option<(Location, Digest)>,
}

impl Candidates {
    /// The part's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The next candidate to try.
    pub fn next(&mut self) -> Option<Location> {
        self.untried.pop_front()
    }

    /// Turns `path` down, for the final report.
    pub fn reject(&mut self, location: Location, why: String) {
        self.tried.push((location, why));
    }

    /// Records that fetching the part from a remote source failed.
    pub fn reject_fetch(&mut self, why: String) {
        self.tried.push((Location::file("(remote sources)"), why));
    }

    /// Whether `path`, read in full (`read` bytes hashing to `actual`), holds
    /// the part; if not, it is turned down with the reason.
    pub fn accept(&mut self, location: &Location, actual: Digest, read: u64) -> bool {
        let why = if read != self.len {
            format!("{read} bytes, expected {}", self.len)
        } else if actual != self.digest {
            self.mismatch = Some((location.clone(), actual));
            format!("checksum is {}", actual.to_hex())
        } else {
            return true;
        };
        self.reject(location.clone(), why);
        false
    }

    /// The error once every candidate failed: with `name_mismatch`, a lone
    /// candidate with the wrong content is named as such; otherwise every
    /// place tried is listed.
    pub fn into_error(self, name_mismatch: bool) -> Error {
        match self.mismatch {
            Some((location, actual)) if name_mismatch && self.usable == 1 => {
                Error::ChecksumMismatch {
                    path: location.path,
                    expected: self.digest,
                    actual,
                }
            }
            _ => Error::Missing {
                digest: self.digest,
                len: self.len,
                tried: self.tried,
            },
        }
    }
}

/// Hashes the part's bytes at `location` with the algorithm of `like`;
/// returns digest and length read (a whole file is read to its end, so a
/// longer file shows as such).
pub(crate) fn hash_location(
    location: &Location,
    like: &Digest,
    len: u64,
) -> std::io::Result<(Digest, u64)> {
    let file = location.open()?;
    let mut h = Hasher::new(like.algorithm());
    let read = match location.extent {
        None => std::io::copy(&mut BufReader::with_capacity(1 << 20, file), &mut h)?,
        Some(_) => std::io::copy(
            &mut BufReader::with_capacity(1 << 20, file).take(len),
            &mut h,
        )?,
    };
    Ok((h.finalize(), read))
}
