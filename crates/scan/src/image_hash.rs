//! The whole-image digests, computed on their own thread from their own
//! file handle, so the scan and the hashing use two cores.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use jigsmith_checksum::{Algorithm, Digest, MultiHasher};

use crate::Error;

const BLOCK: usize = 1 << 20;

/// Hashes the whole image with each algorithm (one pass over the file; with
/// several algorithms each block is hashed by them in parallel).
///
/// Returns the bytes read and one digest per algorithm, or `Ok(None)` if
/// `cancel` was set because the scan failed.
pub(crate) fn hash_image(
    path: &Path,
    algorithms: &[Algorithm],
    cancel: &AtomicBool,
) -> Result<Option<(u64, Vec<Digest>)>, Error> {
    let mut f = File::open(path).map_err(|source| Error::OpenImage {
        path: path.to_path_buf(),
        source,
    })?;
    let mut hashers = MultiHasher::new(algorithms);
    let mut buf = vec![0u8; BLOCK];
    let mut total = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::ReadImage {
                    path: path.to_path_buf(),
                    offset: total,
                    source,
                })
            }
        };
        hashers.update(buf.get(..n).unwrap_or(&[]));
        total += n as u64;
    }
    Ok(Some((total, hashers.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::Hasher;

    #[test]
    fn digests_every_algorithm_and_honours_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let data: Vec<u8> = (0..3 * BLOCK + 5).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let (n, d) = hash_image(&p, &Algorithm::ALL, &AtomicBool::new(false))
            .unwrap()
            .unwrap();
        assert_eq!(n, data.len() as u64);
        for (a, d) in Algorithm::ALL.iter().zip(d) {
            assert_eq!(d, Hasher::digest(*a, &data));
        }
        assert!(hash_image(&p, &[Algorithm::Md5], &AtomicBool::new(true))
            .unwrap()
            .is_none());
        assert!(matches!(
            hash_image(
                &dir.path().join("none"),
                &[Algorithm::Md5],
                &AtomicBool::new(false)
            ),
            Err(Error::OpenImage { .. })
        ));
    }
}
