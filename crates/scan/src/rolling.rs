//! The scan's hot loop: rsync64 rolled over a 1024-byte window at every
//! image offset, with a bit test in front of the head index.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use jigsmith_checksum::Rsync64;

/// rsync64 block length: templates record the sum over a file's first 1024
/// bytes (libjte and jigdo-file both use 1024; FORMATS.md "rsync64").
pub(crate) const WINDOW: usize = 1024;

/// Prefilter size bounds: 2^23 bits (1 MiB) at most; see [`Prefilter::for_entries`].
const MIN_FILTER_BITS: u32 = 15;
const MAX_FILTER_BITS: u32 = 23;

/// The rsync64 state of one window, split so the loop keeps both halves in
/// registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sum {
    lo: u32,
    hi: u32,
}

impl Sum {
    /// The value templates store (`(hi << 32) | lo`).
    pub(crate) fn value(self) -> u64 {
        (u64::from(self.hi) << 32) | u64::from(self.lo)
    }

    /// The sum whose [`value`](Self::value) is `v`.
    pub(crate) fn from_value(v: u64) -> Sum {
        Sum {
            lo: v as u32,
            hi: (v >> 32) as u32,
        }
    }

    /// As the checksum crate's type.
    pub(crate) fn rsync64(self) -> Rsync64 {
        Rsync64::from_value(self.value())
    }

    fn slot(self, mask: u32) -> u32 {
        (self.lo ^ self.hi) & mask
    }
}

/// Per-byte tables of the sum, taken from [`Rsync64`] itself so the two can
/// never disagree: `add[x]` is what byte `x` adds to `lo`, `drop_hi[x]` what
/// it takes from `hi` when it leaves a [`WINDOW`]-byte window.
pub(crate) struct Roller {
    add: [u32; 256],
    drop_hi: [u32; 256],
}

impl Roller {
    pub(crate) fn new() -> Self {
        let mut add = [0u32; 256];
        let mut drop_hi = [0u32; 256];
        for ((b, a), d) in (0..=255u8).zip(add.iter_mut()).zip(drop_hi.iter_mut()) {
            // the sum of one byte has lo = hi = its table entry
            let t = Rsync64::of(&[b]).value() as u32;
            *a = t;
            *d = t.wrapping_mul(WINDOW as u32);
        }
        Roller { add, drop_hi }
    }

    /// The sum of a whole window.
    pub(crate) fn sum(&self, bytes: &[u8]) -> Sum {
        let v = Rsync64::of(bytes).value();
        Sum {
            lo: v as u32,
            hi: (v >> 32) as u32,
        }
    }

    /// Finds the first window at or after `start` in `buf` that passes
    /// `filter`. `sum` is the sum of the window at `start`; that window is
    /// tested too unless `tested` says it already was.
    ///
    /// Returns the start of the window found and its sum, or, when none
    /// passes, the start of the last whole window in `buf` (already tested)
    /// and its sum, so the caller can refill and go on rolling from there.
    pub(crate) fn find(
        &self,
        filter: &Prefilter,
        buf: &[u8],
        start: usize,
        sum: Sum,
        tested: bool,
    ) -> (usize, Sum, bool) {
        if !tested && filter.may_contain(sum) {
            return (start, sum, true);
        }
        // window k+1 drops buf[k] and takes in buf[k + WINDOW]; zipping the two
        // slices lets the compiler drop all bounds checks from the loop
        let last = buf.len().saturating_sub(WINDOW);
        let outs = buf.get(start..last).unwrap_or(&[]);
        let ins = buf.get(start + WINDOW..).unwrap_or(&[]);
        let Sum { mut lo, mut hi } = sum;
        for (k, (&o, &i)) in outs.iter().zip(ins).enumerate() {
            lo = lo.wrapping_add(entry(&self.add, i).wrapping_sub(entry(&self.add, o)));
            hi = hi.wrapping_add(lo.wrapping_sub(entry(&self.drop_hi, o)));
            let s = Sum { lo, hi };
            if filter.may_contain(s) {
                return (start + k + 1, s, true);
            }
        }
        (start + outs.len(), Sum { lo, hi }, false)
    }
}

/// `table[b]`; a `u8` index into 256 entries is always in bounds, so the
/// optimizer drops the `get` check.
#[inline(always)]
fn entry(table: &[u32; 256], b: u8) -> u32 {
    table.get(usize::from(b)).copied().unwrap_or(0)
}

/// A bitset over 24 bits of a window sum: one bit test per image byte
/// instead of a hash map lookup.
pub(crate) struct Prefilter {
    words: Box<[u64]>,
    mask: u32,
}

impl Prefilter {
    /// A filter of `2^bits` bits (`bits` clamped to 15..=24).
    pub(crate) fn with_bits(bits: u32) -> Self {
        let bits = bits.clamp(MIN_FILTER_BITS, MAX_FILTER_BITS);
        Prefilter {
            words: vec![0u64; 1 << (bits - 6)].into_boxed_slice(),
            mask: (1 << bits) - 1,
        }
    }

    /// A filter sized for `n` head sums: 128 to 256 bits per sum (under 1%
    /// of image offsets reach the hash map), at most 1 MiB. Size matters
    /// because every image byte tests a random bit: measured with 50,000
    /// sums, a 1 MiB filter scans at about 800 MB/s and a 2 MiB one at about
    /// 430 MB/s, as its pages no longer fit the TLB (`roll_speed` below).
    pub(crate) fn for_entries(n: usize) -> Self {
        let want = n.saturating_mul(128).max(1).next_power_of_two();
        Prefilter::with_bits(want.trailing_zeros())
    }

    pub(crate) fn insert(&mut self, sum: Sum) {
        let slot = sum.slot(self.mask);
        if let Some(w) = self.words.get_mut((slot >> 6) as usize) {
            *w |= 1 << (slot & 63);
        }
    }

    #[inline(always)]
    fn may_contain(&self, sum: Sum) -> bool {
        let slot = sum.slot(self.mask);
        self.words
            .get((slot >> 6) as usize)
            .is_some_and(|w| (w >> (slot & 63)) & 1 != 0)
    }
}

/// A map keyed by [`Sum::value`]. Sums are already well mixed, so a
/// multiply-shift hash does; SipHash would cost more than the rest of a
/// prefilter hit.
pub(crate) type SumMap<V> = HashMap<u64, V, BuildHasherDefault<SumHasher>>;

/// The hasher of [`SumMap`].
#[derive(Default, Clone, Copy)]
pub(crate) struct SumHasher(u64);

impl Hasher for SumHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = (n ^ (n >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 = x ^ (x >> 32);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) as u8
            })
            .collect()
    }

    #[test]
    fn rolling_matches_fresh_sums() {
        let roller = Roller::new();
        let buf = data(3 * WINDOW + 77, 1);
        // a filter that passes everything makes `find` stop at every window
        let mut all = Prefilter::with_bits(24);
        all.words.iter_mut().for_each(|w| *w = u64::MAX);
        let mut at = 0;
        let mut sum = roller.sum(&buf[..WINDOW]);
        let mut tested = false;
        loop {
            let (j, s, hit) = roller.find(&all, &buf, at, sum, tested);
            assert_eq!(s, roller.sum(&buf[j..j + WINDOW]), "window {j}");
            if !hit {
                assert_eq!(j, buf.len() - WINDOW);
                break;
            }
            assert_eq!(j, if tested { at + 1 } else { at });
            (at, sum, tested) = (j, s, true);
        }
    }

    #[test]
    fn finds_only_inserted_sums() {
        let roller = Roller::new();
        let buf = data(64 * 1024, 2);
        let target = 40_000;
        let mut filter = Prefilter::with_bits(24);
        filter.insert(roller.sum(&buf[target..target + WINDOW]));
        let (j, s, hit) = roller.find(&filter, &buf, 0, roller.sum(&buf[..WINDOW]), false);
        assert!(hit);
        // a false positive of the 24-bit filter before `target` is possible but
        // not with this seed; the map behind it would reject one anyway
        assert_eq!(j, target);
        assert_eq!(s.rsync64(), Rsync64::of(&buf[target..target + WINDOW]));
        let (j, _, hit) = roller.find(&filter, &buf, j, s, true);
        assert!(!hit);
        assert_eq!(j, buf.len() - WINDOW);
    }

    #[test]
    fn short_buffer_finds_nothing() {
        let roller = Roller::new();
        let filter = Prefilter::with_bits(24);
        let buf = data(WINDOW, 3);
        let sum = roller.sum(&buf);
        assert_eq!(roller.find(&filter, &buf, 0, sum, false), (0, sum, false));
        assert_eq!(
            roller.find(&filter, &buf[..10], 0, sum, true),
            (0, sum, false)
        );
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// `cargo test --release -p jigsmith-scan -- --ignored --nocapture roll_speed`
    #[test]
    #[ignore = "timing only"]
    fn roll_speed() {
        let roller = Roller::new();
        let mut x = 1u64;
        let buf: Vec<u8> = (0..256 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for entries in [0u32, 500, 5_000, 50_000, 200_000] {
            let mut filter = Prefilter::for_entries(entries as usize);
            let mut map: SumMap<u32> = SumMap::default();
            for i in 0..entries {
                let s = Sum {
                    lo: i.wrapping_mul(0x9e37_79b9),
                    hi: i.wrapping_mul(0x85eb_ca6b),
                };
                filter.insert(s);
                map.insert(s.value(), i);
            }
            let t = std::time::Instant::now();
            let (mut at, mut sum, mut tested) = (0, roller.sum(&buf[..WINDOW]), false);
            let (mut hits, mut found) = (0, 0);
            loop {
                let (j, s, hit) = roller.find(&filter, &buf, at, sum, tested);
                if !hit {
                    break;
                }
                hits += 1;
                found += usize::from(map.contains_key(&s.value()));
                (at, sum, tested) = (j, s, true);
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{entries} entries, 2^{} bits: {:.0} MB/s, {hits} prefilter hits, {found} found",
                (filter.mask + 1).trailing_zeros(),
                buf.len() as f64 / secs / 1e6
            );
        }
    }
}
