//! Hashing many spans of the stream (the files inside an image) as it
//! streams past.
//!
//! MD5 spans go eight at a time through [`Md5Lanes`]: lane *k* hashes the
//! *k*-th next span, so the hasher holds the bytes from the slowest lane's
//! position to the furthest lane's, bounded by [`WINDOW`]. When a big span
//! fills the window the other lanes wait (their state is kept) and that
//! span goes on alone. Other algorithms hash one span after the other.

use jigsmith_checksum::{Algorithm, Digest, Hasher};
use jigsmith_md5_lanes::{Md5Lanes, BLOCK, LANES};

use crate::Window;

/// Most image bytes the file checker holds at once.
const WINDOW: u64 = 64 << 20;
/// A lane is fed once this much of its file is in the window (or all of it),
/// so lanes advance together in long steps rather than block by block.
const STEP: u64 = 1 << 20;

/// Bytes `offset..offset + len` of the stream, to hash with `algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Where the span starts.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// The digest wanted.
    pub algorithm: Algorithm,
}

impl Span {
    fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// The digest of each span, in `spans` order (which must be by offset);
/// `None` for a span the stream ends before (`stream_len`, or the actual
/// end if the stream was shorter than it said).
pub fn hash_spans(spans: &[Span], stream_len: u64, mut window: Window) -> Vec<Option<Digest>> {
    if spans.iter().all(|s| s.algorithm == Algorithm::Md5) {
        Lanes::new(spans, stream_len).run(&mut window)
    } else {
        one_by_one(spans, stream_len, &mut window)
    }
}

fn one_by_one(files: &[Span], image_len: u64, window: &mut Window) -> Vec<Option<Digest>> {
    files
        .iter()
        .map(|f| {
            if f.end() > image_len {
                return None;
            }
            let mut h = Hasher::new(f.algorithm);
            let mut at = f.offset;
            while at < f.end() {
                window.seek(at);
                let s = window.slice(at);
                if s.is_empty() {
                    // the image shrank while it was read
                    return None;
                }
                let n = usize::try_from(f.end() - at)
                    .unwrap_or(usize::MAX)
                    .min(s.len());
                h.update(s.get(..n).unwrap_or_default());
                at += n as u64;
                window.release_before(at);
            }
            Some(h.finalize())
        })
        .collect()
}

/// One file in a lane: which, and the next byte of it to feed.
#[derive(Clone, Copy)]
struct Busy {
    index: usize,
    cursor: u64,
    end: u64,
}

struct Lanes<'a> {
    files: &'a [Span],
    image_len: u64,
    next: usize,
    lanes: [Option<Busy>; LANES],
    md5: Md5Lanes,
    out: Vec<Option<Digest>>,
}

impl<'a> Lanes<'a> {
    fn new(files: &'a [Span], image_len: u64) -> Self {
        Lanes {
            files,
            image_len,
            next: 0,
            lanes: [None; LANES],
            md5: Md5Lanes::new(),
            out: vec![None; files.len()],
        }
    }

    fn run(mut self, window: &mut Window) -> Vec<Option<Digest>> {
        let mut scratch = [[0u8; BLOCK]; LANES];
        loop {
            self.fill_lanes();
            if self.lanes.iter().all(Option::is_none) {
                return self.out;
            }
            if self.finish_tails(window) {
                continue;
            }
            let full = window.held() >= WINDOW || window.is_eof();
            let waiting = self.lanes.iter().flatten().any(|b| {
                let want = (b.end - b.cursor).min(STEP);
                window.end().saturating_sub(b.cursor) < want
            });
            if waiting && !full {
                window.pull();
                continue;
            }
            let mut input: [Option<&[u8]>; LANES] = [None; LANES];
            for ((slot, busy), block) in input.iter_mut().zip(&self.lanes).zip(&mut scratch) {
                let Some(b) = busy else { continue };
                let avail = b.end.min(window.end()).saturating_sub(b.cursor);
                if avail < BLOCK as u64 {
                    continue;
                }
                let s = window.slice(b.cursor);
                let s = s
                    .get(..usize::try_from(avail).unwrap_or(usize::MAX).min(s.len()))
                    .unwrap_or_default();
                if s.len() >= BLOCK {
                    *slot = Some(s);
                } else if window.gather(b.cursor, block) {
                    // a block across two chunks
                    *slot = Some(&block[..]);
                }
            }
            if input.iter().all(Option::is_none) {
                if !window.pull() {
                    // the image ended early: what is left cannot be hashed
                    for busy in &mut self.lanes {
                        *busy = None;
                    }
                }
                continue;
            }
            let used = self.md5.update(&input) as u64;
            for (slot, busy) in input.iter().zip(&mut self.lanes) {
                if let (Some(_), Some(b)) = (slot, busy) {
                    b.cursor += used;
                }
            }
            let low = self
                .lanes
                .iter()
                .flatten()
                .map(|b| b.cursor)
                .chain(self.files.get(self.next).map(|f| f.offset))
                .min()
                .unwrap_or(u64::MAX);
            window.release_before(low);
        }
    }

    /// Gives idle lanes the next files; files the image ends before are left `None`.
    fn fill_lanes(&mut self) {
        for (lane, busy) in self.lanes.iter_mut().enumerate() {
            if busy.is_some() {
                continue;
            }
            while let Some(f) = self.files.get(self.next) {
                let index = self.next;
                self.next += 1;
                if f.end() <= self.image_len {
                    self.md5.reset(lane);
                    *busy = Some(Busy {
                        index,
                        cursor: f.offset,
                        end: f.end(),
                    });
                    break;
                }
            }
        }
    }

    /// Finishes every lane whose last (< 1 block) bytes are held; true if any.
    fn finish_tails(&mut self, window: &Window) -> bool {
        let mut any = false;
        for (lane, busy) in self.lanes.iter_mut().enumerate() {
            let Some(b) = *busy else { continue };
            let rest = b.end - b.cursor;
            if rest >= BLOCK as u64 || window.end() < b.end {
                continue;
            }
            let mut tail = [0u8; BLOCK];
            let tail = tail.get_mut(..rest as usize).unwrap_or_default();
            if !window.gather(b.cursor, tail) {
                continue;
            }
            let digest = self.md5.finish(lane, tail);
            if let Some(slot) = self.out.get_mut(b.index) {
                *slot = Digest::new(Algorithm::Md5, &digest).ok();
            }
            *busy = None;
            any = true;
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Chunk;
    use std::sync::{mpsc, Arc};

    fn window_over(image: &[u8], chunk: usize) -> Window {
        let (tx, rx) = mpsc::sync_channel(4);
        let (pool, _) = mpsc::channel();
        let data = image.to_vec();
        std::thread::spawn(move || {
            for (i, c) in data.chunks(chunk).enumerate() {
                let chunk = Arc::new(Chunk::new((i * chunk) as u64, c.to_vec(), pool.clone()));
                if tx.send(chunk).is_err() {
                    return;
                }
            }
        });
        Window::new(rx)
    }

    fn spans(image: &[u8], cuts: &[(u64, u64)], algorithm: Algorithm) -> Vec<(Span, Digest)> {
        cuts.iter()
            .map(|&(offset, len)| {
                let span = Span {
                    offset,
                    len,
                    algorithm,
                };
                let bytes = &image[offset as usize..(offset + len) as usize];
                (span, Hasher::digest(algorithm, bytes))
            })
            .collect()
    }

    fn hash_files(files: &[(Span, Digest)], len: u64, window: Window) -> Vec<Option<Digest>> {
        let spans: Vec<Span> = files.iter().map(|(s, _)| *s).collect();
        hash_spans(&spans, len, window)
    }

    #[test]
    fn every_file_is_hashed_whatever_the_chunking() {
        let image: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        // uneven files, some across chunk boundaries, a big one, an empty one, gaps
        let mut cuts = vec![(0, 0), (10, 1), (11, 63), (74, 64), (200, 65_000)];
        let mut at = 70_000;
        for len in [5, 700, 4096, 1000, 33_333, 129, 64, 100_000, 2, 3] {
            cuts.push((at, len));
            at += len + 17;
        }
        for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
            let files = spans(&image, &cuts, algorithm);
            for chunk in [64, 1000, 4096, 1 << 20] {
                let got = hash_files(&files, image.len() as u64, window_over(&image, chunk));
                let want: Vec<_> = files.iter().map(|f| Some(f.1)).collect();
                assert_eq!(got, want, "{algorithm:?} chunk {chunk}");
            }
        }
    }

    #[test]
    fn files_past_the_end_of_a_short_image_are_none() {
        let image = vec![9u8; 10_000];
        let files = spans(&image, &[(0, 4000), (4000, 6000)], Algorithm::Md5);
        let short = &image[..7000];
        let got = hash_files(&files, 7000, window_over(short, 1024));
        assert_eq!(got, vec![Some(files[0].1), None]);
        // the image is shorter than its stated length (it shrank while read)
        let got = hash_files(&files, 10_000, window_over(short, 1024));
        assert_eq!(got[0], Some(files[0].1));
        assert_eq!(got[1], None);
    }
}
