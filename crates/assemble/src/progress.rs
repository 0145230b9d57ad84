use std::path::Path;

/// Receives progress while an image is built. `()` ignores it.
///
/// Libraries never print: the binary turns these calls into a progress bar
/// or log lines.
pub trait Progress: Sync {
    /// The build starts; `total` image bytes will be produced.
    fn start(&self, total: u64) {
        let _ = total;
    }
    /// `bytes` more image bytes were produced.
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }
    /// A source file is being copied into the image at `offset`.
    fn file(&self, path: &Path, offset: u64, len: u64) {
        let _ = (path, offset, len);
    }
    /// `len` bytes of template data are being written at `offset`.
    fn template_data(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }
}

impl Progress for () {}
