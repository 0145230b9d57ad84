//! Readahead for sequential readers of one open image.
//!
//! The kernel already reads ahead in the page cache and asks for up to
//! 1 MiB at a time, several requests at once. What it cannot hide is the
//! first use of each source file: the file is hashed in full before any of
//! its bytes are returned. So each open file keeps its own position, and
//! once its reads run sequentially a helper checks the files of the next
//! [`AHEAD`] bytes (`Image::check_range`) while the reader is still busy
//! with the current ones: by the time it gets there, their verdicts are known.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// How far ahead of a sequential reader files are checked.
pub(crate) const AHEAD: u64 = 64 << 20;
/// How far from the last read's end a read may start and still count as
/// sequential: the kernel sends its readahead requests concurrently, and
/// they arrive in any order.
const SLACK: u64 = 8 << 20;

/// One open file's reading position and what has been checked ahead of it.
#[derive(Debug, Default)]
pub(crate) struct Readahead {
    window: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    /// Where the reader is expected next: the end of its furthest read.
    next: u64,
    /// Everything before this has been checked ahead.
    checked_to: u64,
    /// A check ahead is running.
    busy: bool,
}

impl Readahead {
    /// Notes a read of `len` bytes at `offset` of an image of `image_len`
    /// bytes, and returns the range `(start, end)` to check ahead now, if the
    /// reader is sequential and no check ahead is running or needed. The
    /// caller runs the check and then calls [`Readahead::done`].
    pub(crate) fn on_read(&self, offset: u64, len: u64, image_len: u64) -> Option<(u64, u64)> {
        let mut w = lock(&self.window);
        let end = offset.saturating_add(len);
        let sequential =
            offset <= w.next.saturating_add(SLACK) && end.saturating_add(SLACK) >= w.next;
        if !sequential {
            // a seek: start over from here, check nothing until reads follow on
            w.next = end;
            w.checked_to = end;
            return None;
        }
        w.next = w.next.max(end);
        let wanted = w.next.saturating_add(AHEAD).min(image_len);
        // start again when half the window has been used up
        if w.busy || w.checked_to >= wanted.saturating_sub(AHEAD / 2).max(w.next) {
            return None;
        }
        let start = w.checked_to.max(w.next);
        if start >= wanted {
            return None;
        }
        w.busy = true;
        Some((start, wanted))
    }

    /// The check ahead up to `end` has finished (successfully or not: a
    /// file that failed is reported by the read that needs it).
    pub(crate) fn done(&self, end: u64) {
        let mut w = lock(&self.window);
        w.busy = false;
        w.checked_to = w.checked_to.max(end);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // plain numbers, updated whole: a panic cannot leave them half-made
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const LEN: u64 = 1000 * MIB;

    /// Reads MiB by MiB from `from` until a check ahead is asked for.
    fn read_on(r: &Readahead, from: u64) -> (u64, (u64, u64)) {
        let mut at = from;
        loop {
            if let Some(range) = r.on_read(at, MIB, LEN) {
                return (at, range);
            }
            at += MIB;
            assert!(at < LEN, "no check ahead asked for");
        }
    }

    #[test]
    fn a_sequential_reader_gets_the_next_window_checked() {
        let r = Readahead::default();
        assert_eq!(r.on_read(0, MIB, LEN), Some((MIB, MIB + AHEAD)));
        // one check at a time
        assert_eq!(r.on_read(MIB, MIB, LEN), None);
        r.done(MIB + AHEAD);
        // the next one once less than half a window is checked ahead
        let (at, range) = read_on(&r, 2 * MIB);
        assert_eq!(at, AHEAD / 2 + MIB);
        assert_eq!(range, (MIB + AHEAD, at + MIB + AHEAD));
    }

    #[test]
    fn reads_out_of_order_within_the_slack_are_still_sequential() {
        let r = Readahead::default();
        assert!(r.on_read(0, MIB, LEN).is_some());
        r.done(MIB + AHEAD);
        assert_eq!(r.on_read(3 * MIB, MIB, LEN), None);
        assert_eq!(r.on_read(2 * MIB, MIB, LEN), None);
        assert_eq!(r.on_read(MIB, MIB, LEN), None);
        // still sequential: the furthest end (4 MiB) was kept, nothing reset
        let (_, (start, _)) = read_on(&r, 4 * MIB);
        assert_eq!(start, MIB + AHEAD);
    }

    #[test]
    fn random_reads_check_nothing_ahead() {
        let r = Readahead::default();
        assert!(r.on_read(0, MIB, LEN).is_some());
        r.done(MIB + AHEAD);
        for offset in [700 * MIB, 90 * MIB, 400 * MIB, 10 * MIB] {
            assert_eq!(r.on_read(offset, 64 << 10, LEN), None, "{offset}");
        }
        // reading on from the last seek is sequential again
        let at = 10 * MIB + (64 << 10);
        assert_eq!(r.on_read(at, MIB, LEN), Some((at + MIB, at + MIB + AHEAD)));
    }

    #[test]
    fn nothing_is_checked_past_the_end() {
        let r = Readahead::default();
        let len = 3 * MIB;
        assert_eq!(r.on_read(0, MIB, len), Some((MIB, len)));
        r.done(len);
        assert_eq!(r.on_read(MIB, MIB, len), None);
        assert_eq!(r.on_read(2 * MIB, MIB, len), None);
        assert_eq!(r.on_read(3 * MIB, MIB, len), None);
    }
}
