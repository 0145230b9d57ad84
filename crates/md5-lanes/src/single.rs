//! One MD5 stream on the portable kernel: for a whole image's digest,
//! which is inherently sequential and sets the pace of `verify`.
//! The kernel's G step and add order are tuned for latency; a few percent
//! faster than RustCrypto's `md-5` with its assembly backend.

use crate::scalar;
use crate::BLOCK;

/// Streaming MD5 of one message.
#[derive(Clone, Debug)]
pub struct Md5 {
    /// Bytes not yet making a whole block.
    pending: [u8; BLOCK],
    pending_len: usize,
    state: [u32; 4],
    fed: u64,
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5 {
    /// An empty message.
    pub fn new() -> Self {
        Md5 {
            pending: [0; BLOCK],
            pending_len: 0,
            state: crate::INITIAL,
            fed: 0,
        }
    }

    /// Appends `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        if self.pending_len > 0 {
            let take = (BLOCK - self.pending_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self
                .pending
                .get_mut(self.pending_len..self.pending_len + take)
            {
                dst.copy_from_slice(head);
            }
            self.pending_len += take;
            data = rest;
            if self.pending_len < BLOCK {
                return;
            }
            scalar::compress(&mut self.state, &self.pending);
            self.fed += BLOCK as u64;
            self.pending_len = 0;
        }
        let whole = data.len() - data.len() % BLOCK;
        let (blocks, rest) = data.split_at(whole);
        scalar::compress(&mut self.state, blocks);
        self.fed += whole as u64;
        if let Some(dst) = self.pending.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        self.pending_len = rest.len();
    }

    /// The digest.
    #[allow(clippy::indexing_slicing)] // `pending_len` < BLOCK by construction
    pub fn finalize(self) -> [u8; 16] {
        let rest = &self.pending[..self.pending_len];
        scalar::finish(self.state, rest, self.fed + rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_md5_whatever_the_pieces(data in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(0usize..600, 0..6)) {
            let mut h = Md5::new();
            let mut at = 0;
            let mut cuts = cuts;
            cuts.sort_unstable();
            for c in cuts {
                let c = c.min(data.len());
                if c >= at {
                    h.update(&data[at..c]);
                    at = c;
                }
            }
            h.update(&data[at..]);
            let want: [u8; 16] = md5::Md5::digest(&data).into();
            prop_assert_eq!(h.finalize(), want);
        }
    }
}
