//! Checksums of the candidate files (those a checksum-list entry may match),
//! on a helper thread that reads them from the image's shared chunks.
//!
//! A file's MD5 cannot be computed faster than one stream allows, but the
//! files are independent: [`Md5Lanes`] hashes eight at once with AVX2, so
//! checking every file costs a fraction of the image's own MD5. Other
//! algorithms (SHA-256 lists or templates) are hashed one file at a time as
//! the bytes arrive. Verdicts come back in any order; the sink puts them
//! back in image order.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use jigsmith_checksum::{Algorithm, Digest, MultiHasher};
use jigsmith_md5_lanes::{Md5Lanes, BLOCK, LANES};

use crate::chunk::Slice;
use crate::timing::ThreadClock;
use crate::Error;

/// File bytes the checker may hold while it waits for enough files to fill
/// all its lanes (about 35 files of the average .deb); past that it hashes
/// what it has, so memory stays bounded behind a big file.
const WINDOW: u64 = 16 << 20;

/// Batches (one per image chunk) the checker may lag behind the writer.
const DEPTH: usize = 4;

/// What the writer tells the checker, in image order.
pub(crate) enum ToChecker {
    /// A candidate file of `size` bytes starts; hash it with `algorithms`.
    Begin {
        id: u64,
        size: u64,
        algorithms: Vec<Algorithm>,
    },
    /// The next bytes of file `id`.
    Data { id: u64, slice: Slice },
}

/// A candidate's digests, in the order of its `algorithms`.
pub(crate) struct Verdict {
    pub(crate) id: u64,
    pub(crate) digests: Vec<Digest>,
}

/// What the checker did, for [`crate::JteTimings`].
#[derive(Default)]
pub(crate) struct CheckerStats {
    pub(crate) cpu: std::time::Duration,
    pub(crate) files: u64,
    pub(crate) bytes: u64,
}

pub(crate) struct FileChecker {
    tx: Option<SyncSender<Vec<ToChecker>>>,
    verdicts: Receiver<Verdict>,
    handle: JoinHandle<CheckerStats>,
}

impl FileChecker {
    pub(crate) fn new() -> Self {
        let (tx, rx) = sync_channel(DEPTH);
        let (out, verdicts) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || Checker::new(out).run(&rx));
        FileChecker {
            tx: Some(tx),
            verdicts,
            handle,
        }
    }

    /// Hands over one chunk's worth of messages; blocks while the checker
    /// is `DEPTH` batches behind.
    pub(crate) fn send(&self, batch: Vec<ToChecker>) -> Result<(), Error> {
        match &self.tx {
            Some(tx) => tx.send(batch).map_err(|_| Error::HasherGone),
            None => Err(Error::HasherGone),
        }
    }

    /// A verdict, if one is ready.
    pub(crate) fn try_verdict(&self) -> Result<Option<Verdict>, Error> {
        match self.verdicts.try_recv() {
            Ok(v) => Ok(Some(v)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(Error::HasherGone),
        }
    }

    /// No more files: the checker hashes what it holds and stops.
    pub(crate) fn close(&mut self) {
        self.tx = None;
    }

    /// The next verdict, waiting for it.
    pub(crate) fn verdict(&self) -> Result<Verdict, Error> {
        self.verdicts.recv().map_err(|_| Error::HasherGone)
    }

    pub(crate) fn finish(mut self) -> Result<CheckerStats, Error> {
        self.close();
        self.handle.join().map_err(|_| Error::HasherGone)
    }
}

/// One candidate file being checked.
struct Job {
    id: u64,
    size: u64,
    received: u64,
    /// Bytes that went through MD5 so far.
    hashed: u64,
    /// Bytes received but not yet through MD5 (empty without MD5).
    pieces: VecDeque<Slice>,
    /// Offset into the first piece.
    at: usize,
    md5: bool,
    algorithms: Vec<Algorithm>,
    /// The algorithms other than MD5, fed as bytes arrive (none for an
    /// MD5-only list, the usual case).
    others: Option<MultiHasher>,
}

impl Job {
    fn buffered(&self) -> u64 {
        self.received - self.hashed
    }

    fn complete(&self) -> bool {
        self.received >= self.size
    }

    fn front(&self) -> &[u8] {
        self.pieces
            .front()
            .and_then(|s| s.bytes().get(self.at..))
            .unwrap_or_default()
    }

    /// Copies the next buffered bytes into `dst`; returns how many.
    fn peek(&self, dst: &mut [u8]) -> usize {
        let mut n = 0;
        let mut at = self.at;
        for piece in &self.pieces {
            let src = piece.bytes().get(at..).unwrap_or_default();
            at = 0;
            let take = src.len().min(dst.len() - n);
            if let (Some(d), Some(s)) = (dst.get_mut(n..n + take), src.get(..take)) {
                d.copy_from_slice(s);
            }
            n += take;
            if n == dst.len() {
                break;
            }
        }
        n
    }

    /// Drops `n` bytes that went through MD5.
    fn consume(&mut self, mut n: usize) {
        self.hashed += n as u64;
        while n > 0 {
            let Some(front) = self.pieces.front() else {
                return;
            };
            let left = front.len() - self.at;
            if n < left {
                self.at += n;
                return;
            }
            n -= left;
            self.at = 0;
            self.pieces.pop_front();
        }
    }

    fn verdict(self, md5: Option<[u8; 16]>) -> Verdict {
        let mut others = self
            .others
            .map(MultiHasher::finalize)
            .unwrap_or_default()
            .into_iter();
        let digests = self
            .algorithms
            .iter()
            .filter_map(|&alg| match (alg, md5) {
                (Algorithm::Md5, Some(d)) => Digest::new(Algorithm::Md5, &d).ok(),
                _ => others.next(),
            })
            .collect();
        Verdict {
            id: self.id,
            digests,
        }
    }
}

struct Checker {
    lanes: Md5Lanes,
    slots: [Option<Job>; LANES],
    /// Jobs that want MD5 and wait for a lane, in image order.
    waiting: VecDeque<Job>,
    /// The newest job when it does not want MD5.
    plain: Option<Job>,
    /// Bytes held for MD5.
    window: u64,
    out: Sender<Verdict>,
    clock: ThreadClock,
    stats: CheckerStats,
}

impl Checker {
    fn new(out: Sender<Verdict>) -> Self {
        Checker {
            lanes: Md5Lanes::new(),
            slots: Default::default(),
            waiting: VecDeque::new(),
            plain: None,
            window: 0,
            out,
            clock: ThreadClock::start(),
            stats: CheckerStats::default(),
        }
    }

    fn run(mut self, rx: &Receiver<Vec<ToChecker>>) -> CheckerStats {
        let mut open = true;
        loop {
            // take what has arrived, while there is room
            while open && self.window < WINDOW {
                match rx.try_recv() {
                    Ok(batch) => self.take(batch),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => open = false,
                }
            }
            if self.finish_lanes() {
                continue;
            }
            match self.step(open) {
                Step::Hashed => {}
                Step::NeedData if open => match rx.recv() {
                    Ok(batch) => self.take(batch),
                    Err(_) => open = false,
                },
                // closed with data missing: the writer stopped early and
                // waits for no verdict
                Step::NeedData | Step::Idle => break,
            }
        }
        self.stats.cpu = self.clock.elapsed();
        self.stats
    }

    fn take(&mut self, batch: Vec<ToChecker>) {
        for msg in batch {
            match msg {
                ToChecker::Begin {
                    id,
                    size,
                    algorithms,
                } => {
                    let md5 = algorithms.contains(&Algorithm::Md5);
                    let others: Vec<Algorithm> = algorithms
                        .iter()
                        .copied()
                        .filter(|a| *a != Algorithm::Md5)
                        .collect();
                    let job = Job {
                        id,
                        size,
                        received: 0,
                        hashed: 0,
                        pieces: VecDeque::new(),
                        at: 0,
                        md5,
                        algorithms,
                        others: (!others.is_empty()).then(|| MultiHasher::new(&others)),
                    };
                    self.stats.files += 1;
                    if md5 {
                        self.waiting.push_back(job);
                    } else {
                        self.plain = Some(job);
                    }
                }
                ToChecker::Data { id, slice } => {
                    let len = slice.len() as u64;
                    self.stats.bytes += len;
                    let Some(job) =
                        find_job(&mut self.plain, &mut self.waiting, &mut self.slots, id)
                    else {
                        continue;
                    };
                    job.received += len;
                    if let Some(others) = &mut job.others {
                        self.clock.busy(|| others.update(slice.bytes()));
                    }
                    if job.md5 {
                        job.pieces.push_back(slice);
                        self.window += len;
                    }
                }
            }
            self.settle_plain();
        }
    }

    /// A job without MD5 is done once all its bytes went through its hashers.
    fn settle_plain(&mut self) {
        if self.plain.as_ref().is_some_and(Job::complete) {
            if let Some(job) = self.plain.take() {
                let _ = self.out.send(job.verdict(None));
            }
        }
    }

    /// Fills free lanes, and finishes lanes whose file has less than a
    /// block left. Returns whether a lane was finished.
    fn finish_lanes(&mut self) -> bool {
        let mut finished = false;
        for (lane, slot) in self.slots.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = self.waiting.pop_front();
            }
            let Some(job) = slot.as_ref() else { continue };
            if !job.complete() || job.buffered() >= BLOCK as u64 {
                continue;
            }
            let mut tail = [0u8; BLOCK];
            let n = job.peek(&mut tail);
            let lanes = &mut self.lanes;
            let digest = self
                .clock
                .busy(|| lanes.finish(lane, tail.get(..n).unwrap_or_default()));
            self.window -= n as u64;
            if let Some(job) = slot.take() {
                let _ = self.out.send(job.verdict(Some(digest)));
            }
            finished = true;
        }
        finished
    }

    /// Hashes what the lanes hold, if each busy lane holds a block.
    fn step(&mut self, open: bool) -> Step {
        let mut carry = [[0u8; BLOCK]; LANES];
        let mut starved = false;
        let mut busy = false;
        for (slot, carry) in self.slots.iter().zip(carry.iter_mut()) {
            let Some(job) = slot else {
                // a lane without a file is wasted work
                starved = true;
                continue;
            };
            busy = true;
            if job.front().len() < BLOCK {
                // a block split between two chunks, or not all here yet
                if job.peek(carry) < BLOCK {
                    starved = true;
                }
            }
        }
        if !busy {
            return if self.waiting.is_empty() && self.plain.is_none() && !open {
                Step::Idle
            } else {
                Step::NeedData
            };
        }
        // wait for more rather than run lanes idle, unless memory says no
        if starved && open && self.window < WINDOW {
            return Step::NeedData;
        }
        let mut input: [Option<&[u8]>; LANES] = [None; LANES];
        for ((slot, carry), input) in self.slots.iter().zip(carry.iter()).zip(input.iter_mut()) {
            let Some(job) = slot else { continue };
            let front = job.front();
            if front.len() >= BLOCK {
                *input = Some(front);
            } else if job.buffered() >= BLOCK as u64 {
                *input = Some(carry);
            }
        }
        if input.iter().all(Option::is_none) {
            return Step::NeedData;
        }
        let lanes = &mut self.lanes;
        let used = self.clock.busy(|| lanes.update(&input));
        let fed = input.map(|i| i.is_some());
        for (slot, fed) in self.slots.iter_mut().zip(fed) {
            if let (Some(job), true) = (slot, fed) {
                job.consume(used);
                self.window -= used as u64;
            }
        }
        Step::Hashed
    }
}

/// The job `id`: the newest one, so searched from the back.
fn find_job<'a>(
    plain: &'a mut Option<Job>,
    waiting: &'a mut VecDeque<Job>,
    slots: &'a mut [Option<Job>; LANES],
    id: u64,
) -> Option<&'a mut Job> {
    if let Some(job) = plain.as_mut().filter(|j| j.id == id) {
        return Some(job);
    }
    if let Some(job) = waiting.iter_mut().rev().find(|j| j.id == id) {
        return Some(job);
    }
    slots.iter_mut().flatten().find(|j| j.id == id)
}

/// What one round of the lanes did.
enum Step {
    Hashed,
    NeedData,
    Idle,
}
