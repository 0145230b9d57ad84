//! Where an export's time went, so benchmarks can show the split by stage.

use std::time::{Duration, Instant};

use jigsmith_checksum::Algorithm;

/// Time spent by each stage of an export.
///
/// The stages run on different threads at once, so the figures add up to
/// more than the wall time. CPU times come from Linux's per-thread
/// `schedstat`; elsewhere they are the time a thread was busy.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct JteTimings {
    /// CPU time of the thread that wrote the image: reading the source
    /// files (the ISO writer), copying, writing the image and the template.
    pub writer: Duration,
    /// Of `writer`, wall time inside the image output's `write`.
    pub image_write: Duration,
    /// Of `writer`, wall time compressing and writing template data.
    pub template: Duration,
    /// Wall time the writer waited for hashers or the file checker to catch up.
    pub waiting: Duration,
    /// CPU time of each image checksum thread.
    pub image_hash: Vec<(Algorithm, Duration)>,
    /// CPU time of the file checker (the checksums of candidate files).
    pub file_checks: Duration,
    /// Files the checker hashed.
    pub files_checked: u64,
    /// Bytes the checker hashed.
    pub bytes_checked: u64,
}

/// CPU time the calling thread has used, where the OS tells.
pub(crate) fn thread_cpu() -> Option<Duration> {
    // "on-CPU ns, waiting ns, timeslices"
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Measures one thread: its CPU time, or else the time it spent working.
pub(crate) struct ThreadClock {
    cpu_start: Option<Duration>,
    busy: Duration,
}

impl ThreadClock {
    pub(crate) fn start() -> Self {
        ThreadClock {
            cpu_start: thread_cpu(),
            busy: Duration::ZERO,
        }
    }

    /// Runs `f`, counting its time as busy (the fallback figure).
    pub(crate) fn busy<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        let r = f();
        self.busy += t.elapsed();
        r
    }

    /// CPU time since `start`, or the busy time if the OS does not say.
    pub(crate) fn elapsed(&self) -> Duration {
        match (self.cpu_start, thread_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => self.busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_uses_cpu() {
        let mut clock = ThreadClock::start();
        let x = clock.busy(|| (0..2_000_000u64).fold(0u64, |a, b| a.wrapping_add(b * b)));
        assert!(x > 0);
        assert!(clock.elapsed() > Duration::ZERO);
    }
}
