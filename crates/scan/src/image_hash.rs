//! The whole-image digests (and, for the ISO-aware pass, the digests of the
//! files' extents), from one read of the image shared by a thread per
//! digest ([`jigsmith_stream`]).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use jigsmith_checksum::Algorithm;
use jigsmith_stream::{hash_stream, Span, StreamDigests};

use crate::Error;

/// Hashes the whole image with each algorithm, and each span.
///
/// Returns `Ok(None)` if `cancel` was set because the scan failed.
pub(crate) fn hash_image(
    path: &Path,
    algorithms: &[Algorithm],
    spans: &[Span],
    cancel: &AtomicBool,
    progress: &dyn Fn(u64),
) -> Result<Option<StreamDigests>, Error> {
    let file = File::open(path).map_err(|source| Error::OpenImage {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = Cancellable {
        file,
        cancel,
        at: 0,
    };
    match hash_stream(&mut reader, algorithms, spans, &mut |n| progress(n)) {
        Ok(_) if cancel.load(Ordering::Relaxed) => Ok(None),
        Ok(digests) => Ok(Some(digests)),
        Err(_) if cancel.load(Ordering::Relaxed) => Ok(None),
        Err(source) => Err(Error::ReadImage {
            path: path.to_path_buf(),
            offset: reader.at,
            source,
        }),
    }
}

/// Stops the read (as an error) once the scan has failed, and knows where
/// a read error happened.
struct Cancellable<'a> {
    file: File,
    cancel: &'a AtomicBool,
    /// Bytes read so far.
    at: u64,
}

impl Read for Cancellable<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        let n = self.file.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::Hasher;

    #[test]
    fn digests_every_algorithm_and_honours_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let data: Vec<u8> = (0..3 * jigsmith_stream::CHUNK + 5)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        let h = hash_image(&p, &Algorithm::ALL, &[], &AtomicBool::new(false), &|_| {})
            .unwrap()
            .unwrap();
        assert_eq!(h.len, data.len() as u64);
        for (a, d) in Algorithm::ALL.iter().zip(h.whole) {
            assert_eq!(d, Hasher::digest(*a, &data));
        }
        assert!(
            hash_image(&p, &[Algorithm::Md5], &[], &AtomicBool::new(true), &|_| {})
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            hash_image(
                &dir.path().join("none"),
                &[Algorithm::Md5],
                &[],
                &AtomicBool::new(false),
                &|_| {}
            ),
            Err(Error::OpenImage { .. })
        ));
    }
}
