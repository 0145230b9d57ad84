//! Progress as data: the scan reports, the binary draws.

use crate::Match;

/// Receives progress while a template is made. `()` ignores it, and any
/// `Fn(u64)` closure receives the [`advance`](Progress::advance) steps.
///
/// Calls come from the thread that called
/// [`Scanner::make_template`](crate::Scanner::make_template).
pub trait Progress {
    /// The scan of an image of `image_len` bytes starts.
    fn start(&self, image_len: u64) {
        let _ = image_len;
    }
    /// `bytes` more image bytes are accounted for in the template (as
    /// unmatched data or as part of a match); the steps add up to the image
    /// length.
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }
    /// A candidate was found in the image.
    fn matched(&self, m: &Match) {
        let _ = m;
    }
}

impl Progress for () {}

impl<F: Fn(u64)> Progress for F {
    fn advance(&self, bytes: u64) {
        self(bytes);
    }
}
