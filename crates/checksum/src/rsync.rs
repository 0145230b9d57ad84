use crate::rsync_table::RSYNC_TABLE;

/// The table entry of a byte.
#[inline(always)]
#[allow(clippy::indexing_slicing)] // a u8 index into a 256-entry table is always in bounds
fn addend(b: u8) -> u32 {
    RSYNC_TABLE[usize::from(b)]
}

/// Jigdo's rsync64 sum, rolling or not.
///
/// A template stores, for each matched file, this sum over the file's first
/// `rsyncBlockLen` bytes (1024 in libjte and jigdo-file); scanners keep a
/// window of that length sliding over an image to spot where files begin.
/// The stored form is [`Rsync64::value`] as 8 little-endian bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rsync64 {
    lo: u32,
    hi: u32,
}

impl Rsync64 {
    /// The sum of no bytes.
    pub const fn new() -> Self {
        Rsync64 { lo: 0, hi: 0 }
    }

    /// The sum of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut r = Rsync64::new();
        r.update(bytes);
        r
    }

    /// Appends bytes to the window.
    pub fn update(&mut self, bytes: &[u8]) {
        let (mut lo, mut hi) = (self.lo, self.hi);
        for &b in bytes {
            lo = lo.wrapping_add(addend(b));
            hi = hi.wrapping_add(lo);
        }
        self.lo = lo;
        self.hi = hi;
    }

    /// Slides a window of `window_len` bytes by one: `out` leaves at the
    /// front, `inp` enters at the back.
    pub fn roll(&mut self, out: u8, inp: u8, window_len: u32) {
        let t_out = addend(out);
        self.lo = self.lo.wrapping_sub(t_out);
        self.hi = self.hi.wrapping_sub(window_len.wrapping_mul(t_out));
        self.lo = self.lo.wrapping_add(addend(inp));
        self.hi = self.hi.wrapping_add(self.lo);
    }

    /// `(hi << 32) | lo`, the value templates store.
    pub const fn value(&self) -> u64 {
        ((self.hi as u64) << 32) | self.lo as u64
    }

    /// Rebuilds a sum from its stored value.
    pub const fn from_value(v: u64) -> Self {
        Rsync64 {
            lo: v as u32,
            hi: (v >> 32) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_byte_is_table_entry() {
        let r = Rsync64::of(&[0]);
        assert_eq!(r.value(), (0x51d65c0f_u64 << 32) | 0x51d65c0f);
    }

    proptest! {
        #[test]
        fn rolling_equals_fresh(data in proptest::collection::vec(any::<u8>(), 2..300), w in 1usize..64) {
            let w = w.min(data.len() - 1);
            let mut r = Rsync64::of(&data[..w]);
            for i in w..data.len() {
                r.roll(data[i - w], data[i], w as u32);
                prop_assert_eq!(r, Rsync64::of(&data[i + 1 - w..=i]));
            }
        }
    }
}
