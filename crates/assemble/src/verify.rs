//! Checking source files ahead of the copy.
//!
//! A whole-image build runs a verifier thread that hashes each part's
//! candidate files, in image order, a bounded distance ahead of the copier,
//! and posts a verdict per file on a [`Board`]: the path that matched, or
//! why none did. The copier waits for a file's verdict before copying it, so
//! no unchecked file is ever used, and a bad file stops the build before any
//! of its bytes are written.
//!
//! MD5 parts (format 1.x templates, all that xorriso and debian-cd write)
//! are hashed eight files at a time with [`Md5Lanes`]: on one core that is
//! several times faster than the image's own digest, which runs on the
//! other core and sets the pace. Other algorithms hash one file at a time.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_format::{Item, ItemKind};
use jigsmith_md5_lanes::{Md5Lanes, BLOCK, LANES};

use crate::resolve::Candidates;
use crate::{Error, FileKey, Location, Resolver, Result};

/// How far (in image bytes) the verifier may run ahead of the copier: far
/// enough to keep the lanes busy, near enough that checked files are still
/// in the page cache when they are copied.
const AHEAD: u64 = 256 << 20;
/// Read size per lane.
const LANE_BUF: usize = 256 << 10;

/// One matched file of the image, in image order.
#[derive(Debug, Clone)]
pub(crate) struct FileJob {
    /// Position among the image's files (0 = first).
    pub index: usize,
    /// Where it starts in the image.
    pub offset: u64,
    pub len: u64,
    pub digest: Digest,
}

impl FileJob {
    /// The job for a matched-file item (index 0: callers number them).
    pub fn of(item: &Item) -> Option<FileJob> {
        match item.kind {
            ItemKind::File { digest, .. } => Some(FileJob {
                index: 0,
                offset: item.offset,
                len: item.len,
                digest,
            }),
            ItemKind::Unmatched { .. } => None,
        }
    }
}

/// Verdicts, posted by the verifier and taken by the copier.
#[derive(Default)]
pub(crate) struct Board {
    state: Mutex<BoardState>,
    changed: Condvar,
    /// The copier gave up: the verifier should stop (checked between blocks without the lock).
    cancelled: AtomicBool,
}

#[derive(Default)]
struct BoardState {
    verdicts: HashMap<usize, Result<Location>>,
    /// Image offset of the file the copier is at.
    copier_offset: u64,
    /// Index of the file the copier is at.
    copier_index: usize,
    /// The verifier is gone: nothing more will be posted.
    closed: bool,
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, BoardState> {
        // A panic elsewhere cannot leave the map half-updated: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The copier's side: waits for file `job`'s verdict.
    pub fn take(&self, job: &FileJob) -> Result<Location> {
        let mut state = self.lock();
        state.copier_offset = job.offset;
        state.copier_index = job.index;
        self.changed.notify_all();
        loop {
            if let Some(verdict) = state.verdicts.remove(&job.index) {
                return verdict;
            }
            if state.closed {
                return Err(Error::WorkerGone("the file checking thread"));
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// The copier stopped early; the verifier should too.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        // taking the lock orders the store before any waiter's next check
        drop(self.lock());
        self.changed.notify_all();
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    fn post(&self, index: usize, verdict: Result<Location>) {
        self.lock().verdicts.insert(index, verdict);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Whether `job` may start now: it is the copier's file or before it, or
    /// ends within [`AHEAD`] of it. With `wait`, blocks until it may.
    /// `None` once the copier cancelled.
    fn may_start(&self, job: &FileJob, wait: bool) -> Option<bool> {
        let mut state = self.lock();
        loop {
            if self.is_cancelled() {
                return None;
            }
            let near = job.index <= state.copier_index
                || job.offset.saturating_add(job.len) <= state.copier_offset.saturating_add(AHEAD);
            if near || !wait {
                return Some(near);
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Closes the board however the verifier ends, so the copier never waits forever.
struct CloseOnDrop<'a>(&'a Board);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Runs on the verifier thread: posts a verdict for every job, in order.
pub(crate) fn verify_files(jobs: Vec<FileJob>, resolver: &Resolver, board: &Board) {
    let _close = CloseOnDrop(board);
    let md5 = jobs
        .first()
        .is_some_and(|j| j.digest.algorithm() == Algorithm::Md5)
        && jobs.iter().all(|j| j.digest.algorithm() == Algorithm::Md5);
    if md5 {
        Lanes::new(jobs, resolver, board).run();
    } else {
        for job in jobs {
            if board.may_start(&job, true).is_none() {
                return;
            }
            board.post(
                job.index,
                resolver.verified_naming_mismatch(&job.digest, job.len),
            );
        }
    }
}

/// A lane hashing one candidate file.
struct Busy {
    /// The file's position among the image's files.
    index: usize,
    candidates: Candidates,
    location: Location,
    /// The file as it was opened, for the verdict cache.
    key: Option<FileKey>,
    file: File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    read: u64,
    eof: bool,
}

/// Up to [`LANES`] files hashed side by side.
struct Lanes<'a> {
    jobs: VecDeque<FileJob>,
    resolver: &'a Resolver,
    board: &'a Board,
    md5: Md5Lanes,
    lanes: [Option<Busy>; LANES],
    spare_bufs: Vec<Vec<u8>>,
}

impl<'a> Lanes<'a> {
    fn new(jobs: Vec<FileJob>, resolver: &'a Resolver, board: &'a Board) -> Self {
        Lanes {
            jobs: jobs.into(),
            resolver,
            board,
            md5: Md5Lanes::new(),
            lanes: Default::default(),
            spare_bufs: Vec::new(),
        }
    }

    fn run(mut self) {
        loop {
            // files being hashed may be large: stop between blocks once the copier gave up
            if self.board.is_cancelled() || !self.fill_idle_lanes() {
                return;
            }
            if self.lanes.iter().all(Option::is_none) {
                if self.jobs.is_empty() {
                    return;
                }
                continue;
            }
            for lane in 0..LANES {
                self.prepare(lane);
            }
            // refill an idle lane first, unless the next job must wait for the copier
            let startable = |job: &FileJob| self.board.may_start(job, false) == Some(true);
            if self.lanes.iter().any(Option::is_none) && self.jobs.front().is_some_and(startable) {
                continue;
            }
            let input: [Option<&[u8]>; LANES] = std::array::from_fn(|lane| {
                self.lanes
                    .get(lane)
                    .and_then(Option::as_ref)
                    .and_then(|b| b.buf.get(b.start..b.end))
            });
            let used = self.md5.update(&input);
            for busy in self.lanes.iter_mut().flatten() {
                busy.start += used;
            }
        }
    }

    /// Starts jobs on idle lanes while the board allows; waits only when no
    /// lane is busy. `false` once the copier cancelled.
    fn fill_idle_lanes(&mut self) -> bool {
        for lane in 0..LANES {
            while self.lanes.get(lane).is_some_and(Option::is_none) {
                let Some(job) = self.jobs.front() else {
                    return true;
                };
                let idle = self.lanes.iter().all(Option::is_none);
                match self.board.may_start(job, idle) {
                    None => return false,
                    Some(false) => return true,
                    Some(true) => {}
                }
                let Some(job) = self.jobs.pop_front() else {
                    return true;
                };
                self.start_job(lane, job);
            }
        }
        true
    }

    fn start_job(&mut self, lane: usize, job: FileJob) {
        if let Some(known) = self.resolver.known(&job.digest) {
            self.board.post(job.index, Ok(known));
            return;
        }
        let candidates = self.resolver.candidates(&job.digest, job.len);
        self.next_candidate(lane, job.index, candidates);
    }

    /// Puts the next candidate that opens on `lane`, or posts the failure
    /// when none is left.
    fn next_candidate(&mut self, lane: usize, index: usize, mut candidates: Candidates) {
        self.md5.reset(lane);
        while let Some(location) = candidates.next() {
            match location.open() {
                Ok(file) => {
                    let key = file
                        .metadata()
                        .ok()
                        .map(|m| FileKey::new(&m, location.offset()));
                    let mut buf = self.spare_bufs.pop().unwrap_or_default();
                    buf.resize(LANE_BUF, 0);
                    if let Some(slot) = self.lanes.get_mut(lane) {
                        *slot = Some(Busy {
                            index,
                            candidates,
                            location,
                            key,
                            file,
                            buf,
                            start: 0,
                            end: 0,
                            read: 0,
                            eof: false,
                        });
                    }
                    return;
                }
                Err(e) => candidates.reject(location, e.to_string()),
            }
        }
        self.board.post(index, Err(candidates.into_error(true)));
    }

    /// Reads until `lane` holds a whole block, finishing its file at the end.
    fn prepare(&mut self, lane: usize) {
        loop {
            let Some(busy) = self.lanes.get_mut(lane).and_then(Option::as_mut) else {
                return;
            };
            if busy.end - busy.start >= BLOCK {
                return;
            }
            if busy.eof {
                self.finish(lane);
                continue;
            }
            if let Err(why) = refill(busy) {
                self.reject(lane, why);
            }
        }
    }

    /// The lane's file is read to the end: post it, or move to the next candidate.
    fn finish(&mut self, lane: usize) {
        let Some(busy) = self.lanes.get_mut(lane).and_then(Option::take) else {
            return;
        };
        let tail = busy.buf.get(busy.start..busy.end).unwrap_or(&[]);
        let bytes = self.md5.finish(lane, tail);
        self.spare_bufs.push(busy.buf);
        let Busy {
            index,
            mut candidates,
            location,
            key,
            read,
            ..
        } = busy;
        match Digest::new(Algorithm::Md5, &bytes) {
            Ok(actual) if candidates.accept(&location, actual, read) => {
                match key {
                    Some(key) => self.resolver.record(key, actual, read, location.clone()),
                    None => self.resolver.remember(actual, location.clone()),
                }
                self.board.post(index, Ok(location));
            }
            Ok(_) => self.next_candidate(lane, index, candidates),
            Err(e) => {
                candidates.reject(location, e.to_string());
                self.next_candidate(lane, index, candidates);
            }
        }
    }

    /// Turns the lane's file down after a read error and moves on.
    fn reject(&mut self, lane: usize, why: String) {
        if let Some(mut busy) = self.lanes.get_mut(lane).and_then(Option::take) {
            self.spare_bufs.push(busy.buf);
            busy.candidates.reject(busy.location, why);
            self.next_candidate(lane, busy.index, busy.candidates);
        }
    }
}

/// Tops up a lane's buffer: keeps the unhashed tail, reads after it.
fn refill(busy: &mut Busy) -> std::result::Result<(), String> {
    busy.buf.copy_within(busy.start..busy.end, 0);
    busy.end -= busy.start;
    busy.start = 0;
    while busy.end < BLOCK && !busy.eof {
        let mut dst = busy.buf.get_mut(busy.end..).unwrap_or(&mut []);
        if busy.location.extent.is_some() {
            // a file inside a bigger one ends where the part does
            let left = busy.candidates.len() - busy.read;
            if left == 0 {
                busy.eof = true;
                break;
            }
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(dst.len());
            dst = dst.get_mut(..n).unwrap_or(&mut []);
        }
        match busy.file.read(dst) {
            Ok(0) => busy.eof = true,
            Ok(n) => {
                busy.end += n;
                busy.read += n as u64;
                if busy.read > busy.candidates.len() {
                    return Err(format!("longer than {} bytes", busy.candidates.len()));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::Hasher;

    fn job(index: usize, offset: u64, len: u64) -> FileJob {
        FileJob {
            index,
            offset,
            len,
            digest: Hasher::digest(Algorithm::Md5, b""),
        }
    }

    #[test]
    fn verifier_stays_within_reach_of_the_copier() {
        let board = Board::default();
        let near = job(1, AHEAD - 10, 10);
        let far = job(2, AHEAD + 1, 5);
        assert_eq!(board.may_start(&near, false), Some(true));
        assert_eq!(board.may_start(&far, false), Some(false));
        // the copier moves on: the far file comes within reach
        board.post(0, Ok(Location::file("a")));
        assert_eq!(board.take(&job(0, 100, 1)).unwrap(), Location::file("a"));
        assert_eq!(board.may_start(&far, false), Some(true));
        // a file larger than the window starts once the copier waits for it
        let huge = job(3, AHEAD + 200, 10 * AHEAD);
        assert_eq!(board.may_start(&huge, false), Some(false));
        board.post(3, Ok(Location::file("d")));
        assert!(board.take(&huge).is_ok());
        assert_eq!(board.may_start(&huge, false), Some(true));
        board.cancel();
        assert_eq!(board.may_start(&near, true), None);
    }

    #[test]
    fn copier_is_told_when_the_verifier_is_gone() {
        let board = Board::default();
        drop(CloseOnDrop(&board));
        let err = board.take(&job(0, 0, 1)).unwrap_err();
        assert!(matches!(err, Error::WorkerGone(_)), "{err}");
    }
}
