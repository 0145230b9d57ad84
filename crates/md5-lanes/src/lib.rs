//! MD5 of eight independent messages at once.
//!
//! One MD5 stream cannot go faster than about 5 cycles a byte: every 64-byte
//! block depends on the one before. Rebuilding an image, though, means
//! checking hundreds of source files, which are independent messages. With
//! AVX2 each of the eight 32-bit lanes of a vector register carries its own
//! message, so one core checks files several times faster than a scalar MD5
//! and the other core is left free for the image's own (sequential) digest.
//! Without AVX2 the same API runs a portable scalar kernel.
//!
//! No well-kept crate offers multi-buffer MD5 (RustCrypto's `md-5` hashes one
//! stream), hence this small crate. All `unsafe` code is in the AVX2 kernel
//! (and one empty `asm!` in the scalar one, which fences a sum from the
//! optimiser, see `scalar.rs`); tests compare every path against `md-5`.
//!
//! ```
//! use jigsmith_md5_lanes::{Md5Lanes, LANES};
//!
//! let messages: [&[u8]; 2] = [&[7u8; 200], b"hello\n"];
//! let mut lanes = Md5Lanes::new();
//! // feed whole blocks while both lanes have some; here 64 bytes of the second fit none
//! let mut input: [Option<&[u8]>; LANES] = [None; LANES];
//! input[0] = Some(messages[0]);
//! let used = lanes.update(&input);
//! assert_eq!(used, 192);
//! let first = lanes.finish(0, &messages[0][used..]);
//! let second = lanes.finish(1, messages[1]);
//! assert_eq!(second[..4], [0xb1, 0x94, 0x6a, 0xc9]);
//! # let _ = first;
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "x86_64")]
mod avx2;
mod rounds;
mod scalar;
mod single;

pub use single::Md5;

/// Messages hashed side by side.
pub const LANES: usize = 8;
/// MD5's block size: lanes advance by whole blocks.
pub const BLOCK: usize = 64;

const INITIAL: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// Eight MD5 computations advanced in lockstep.
///
/// Each lane holds one message's running state. [`Md5Lanes::update`] feeds
/// every busy lane the same number of whole blocks; [`Md5Lanes::finish`]
/// adds a lane's last bytes, returns its digest and frees the lane.
#[derive(Clone, Debug)]
pub struct Md5Lanes {
    states: [[u32; 4]; LANES],
    /// Bytes fed to each lane so far (always whole blocks).
    fed: [u64; LANES],
    kernel: Kernel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Default for Md5Lanes {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5Lanes {
    /// Eight fresh lanes, using AVX2 when the CPU has it.
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        let kernel = if std::arch::is_x86_feature_detected!("avx2") {
            Kernel::Avx2
        } else {
            Kernel::Scalar
        };
        #[cfg(not(target_arch = "x86_64"))]
        let kernel = Kernel::Scalar;
        Md5Lanes {
            states: [INITIAL; LANES],
            fed: [0; LANES],
            kernel,
        }
    }

    /// Eight fresh lanes on the portable kernel (for tests and comparisons).
    pub fn portable() -> Self {
        Md5Lanes {
            kernel: Kernel::Scalar,
            ..Self::new()
        }
    }

    /// Whether the SIMD kernel is in use.
    pub fn is_simd(&self) -> bool {
        self.kernel != Kernel::Scalar
    }

    /// Feeds busy lanes (`Some`) as many whole blocks as the shortest of them
    /// holds, and returns how many bytes that took from each.
    ///
    /// Idle lanes (`None`) are left untouched. Returns 0 when a busy lane
    /// holds less than one block, or no lane is busy.
    pub fn update(&mut self, input: &[Option<&[u8]>; LANES]) -> usize {
        let blocks = input
            .iter()
            .flatten()
            .map(|s| s.len() / BLOCK)
            .min()
            .unwrap_or(0);
        if blocks == 0 {
            return 0;
        }
        let len = blocks * BLOCK;
        let busy: [Option<&[u8]>; LANES] = input.map(|s| s.and_then(|s| s.get(..len)));
        match self.kernel {
            Kernel::Scalar => {
                for (state, data) in self.states.iter_mut().zip(busy) {
                    if let Some(data) = data {
                        scalar::compress(state, data);
                    }
                }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => avx2::compress(&mut self.states, &busy, blocks),
        }
        for (fed, data) in self.fed.iter_mut().zip(busy) {
            if data.is_some() {
                *fed += len as u64;
            }
        }
        len
    }

    /// The digest of lane `lane`'s message once `tail` (any length) is
    /// appended; the lane starts over empty.
    ///
    /// # Panics
    /// If `lane >= LANES`.
    #[allow(clippy::indexing_slicing)] // `lane` is asserted
    pub fn finish(&mut self, lane: usize, tail: &[u8]) -> [u8; 16] {
        assert!(lane < LANES, "MD5 lane {lane} does not exist");
        let mut state = std::mem::replace(&mut self.states[lane], INITIAL);
        let fed = std::mem::take(&mut self.fed[lane]);
        let whole = tail.len() - tail.len() % BLOCK;
        let (blocks, rest) = tail.split_at(whole);
        scalar::compress(&mut state, blocks);
        scalar::finish(state, rest, fed + tail.len() as u64)
    }

    /// Forgets lane `lane`'s message.
    ///
    /// # Panics
    /// If `lane >= LANES`.
    #[allow(clippy::indexing_slicing)] // `lane` is asserted
    pub fn reset(&mut self, lane: usize) {
        assert!(lane < LANES, "MD5 lane {lane} does not exist");
        self.states[lane] = INITIAL;
        self.fed[lane] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;
    use proptest::prelude::*;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    /// Hashes `messages` (at most LANES) the way a file checker does: chunks
    /// of uneven size, lanes finishing at different times.
    fn run(mut lanes: Md5Lanes, messages: &[Vec<u8>], chunk: usize) -> Vec<[u8; 16]> {
        let mut pos = vec![0usize; messages.len()];
        let mut out = vec![None; messages.len()];
        loop {
            let mut input: [Option<&[u8]>; LANES] = [None; LANES];
            for (i, m) in messages.iter().enumerate() {
                if out[i].is_none() && m.len() - pos[i] >= BLOCK {
                    let end = (pos[i] + (chunk * (i + 1)).max(BLOCK)).min(m.len());
                    input[i] = Some(&m[pos[i]..end]);
                }
            }
            let used = lanes.update(&input);
            for (i, slot) in input.iter().enumerate() {
                if slot.is_some() {
                    pos[i] += used;
                }
            }
            let mut progressed = used > 0;
            for (i, m) in messages.iter().enumerate() {
                if out[i].is_none() && m.len() - pos[i] < BLOCK {
                    out[i] = Some(lanes.finish(i, &m[pos[i]..]));
                    progressed = true;
                }
            }
            if out.iter().all(Option::is_some) {
                return out.into_iter().map(Option::unwrap).collect();
            }
            assert!(progressed, "no progress");
        }
    }

    #[test]
    fn known_vectors() {
        let mut lanes = Md5Lanes::new();
        assert_eq!(
            lanes.finish(3, b""),
            reference(b""),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(lanes.finish(0, b"abc"), reference(b"abc"));
        let long = vec![b'a'; 1_000];
        assert_eq!(lanes.finish(7, &long), reference(&long));
    }

    #[test]
    fn padding_boundaries() {
        for len in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let messages = vec![data.clone(); LANES];
            for lanes in [Md5Lanes::new(), Md5Lanes::portable()] {
                for digest in run(lanes, &messages, 64) {
                    assert_eq!(digest, reference(&data), "length {len}");
                }
            }
        }
    }

    #[test]
    fn idle_lanes_keep_their_state() {
        let mut lanes = Md5Lanes::new();
        let a = vec![1u8; 640];
        let b = vec![2u8; 6400];
        let mut input: [Option<&[u8]>; LANES] = [None; LANES];
        input[2] = Some(&a);
        assert_eq!(lanes.update(&input), 640);
        input[2] = None;
        input[5] = Some(&b);
        assert_eq!(lanes.update(&input), 6400);
        assert_eq!(lanes.finish(2, &[]), reference(&a));
        assert_eq!(lanes.finish(5, &[]), reference(&b));
    }

    #[test]
    fn reset_forgets() {
        let mut lanes = Md5Lanes::new();
        let mut input: [Option<&[u8]>; LANES] = [None; LANES];
        input[1] = Some(&[9u8; 128]);
        lanes.update(&input);
        lanes.reset(1);
        assert_eq!(lanes.finish(1, b"abc"), reference(b"abc"));
    }

    #[test]
    fn this_machine_uses_simd_where_it_can() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            Md5Lanes::new().is_simd(),
            std::arch::is_x86_feature_detected!("avx2")
        );
        assert!(!Md5Lanes::portable().is_simd());
    }

    proptest! {
        #[test]
        fn every_lane_matches_md5(
            messages in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..3000), 1..=LANES),
            chunk in 1usize..400,
        ) {
            let want: Vec<[u8; 16]> = messages.iter().map(|m| reference(m)).collect();
            prop_assert_eq!(&run(Md5Lanes::new(), &messages, chunk), &want);
            prop_assert_eq!(&run(Md5Lanes::portable(), &messages, chunk), &want);
        }
    }
}
