//! Hashing a file once for everything the cache holds.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use jigsmith_checksum::{Algorithm, Hasher, Rsync64};

use crate::{Blocks, Error, FileSums, Result, Stamp, BLOCK_LEN};

/// Which sums [`compute`] should produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    /// MD5 of the whole file.
    pub md5: bool,
    /// SHA-256 of the whole file.
    pub sha256: bool,
    /// Head and tail block sums.
    pub blocks: bool,
}

impl Want {
    /// What is wanted and not yet in `have`.
    pub fn missing_from(self, have: &FileSums) -> Want {
        Want {
            md5: self.md5 && have.md5.is_none(),
            sha256: self.sha256 && have.sha256.is_none(),
            blocks: self.blocks && have.blocks.is_none(),
        }
    }

    /// Nothing is wanted.
    pub fn is_empty(self) -> bool {
        !(self.md5 || self.sha256 || self.blocks)
    }

    /// Only whole-file digests need the whole file; block sums need two
    /// blocks.
    fn reads_whole_file(self) -> bool {
        self.md5 || self.sha256
    }
}

/// Reads `path` once and returns its stamp and the wanted sums.
///
/// # Errors
/// [`Error::Read`] if the file cannot be read, [`Error::Changed`] if its size
/// or mtime changed while it was being read (the sums would be of no
/// version of the file that can be named).
pub fn compute(path: &Path, want: Want) -> Result<(Stamp, FileSums)> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let stamp = Stamp::of(&file.metadata().map_err(read_err)?);
    let mut md5 = want.md5.then(|| Hasher::new(Algorithm::Md5));
    let mut sha256 = want.sha256.then(|| Hasher::new(Algorithm::Sha256));
    let blocks_wanted = want.blocks && stamp.size >= BLOCK_LEN as u64;

    let mut sums = FileSums::default();
    if want.reads_whole_file() {
        let mut buf = vec![0u8; 256 << 10];
        let mut head = Vec::with_capacity(BLOCK_LEN);
        // the last BLOCK_LEN bytes seen, for the tail sum
        let mut last = Vec::with_capacity(2 * BLOCK_LEN);
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            total += n as u64;
            for h in [&mut md5, &mut sha256].into_iter().flatten() {
                h.update(chunk);
            }
            if blocks_wanted {
                if head.len() < BLOCK_LEN {
                    let more = (BLOCK_LEN - head.len()).min(chunk.len());
                    head.extend_from_slice(chunk.get(..more).unwrap_or_default());
                }
                keep_last(&mut last, chunk);
            }
        }
        if total != stamp.size {
            return Err(Error::Changed {
                path: path.to_path_buf(),
            });
        }
        sums.md5 = md5.map(Hasher::finalize);
        sums.sha256 = sha256.map(Hasher::finalize);
        if blocks_wanted {
            let tail = last.get(last.len().saturating_sub(BLOCK_LEN)..);
            sums.blocks = Some(Blocks {
                head: Rsync64::of(&head),
                tail: Rsync64::of(tail.unwrap_or_default()),
            });
        }
    } else if blocks_wanted {
        sums.blocks = Some(read_blocks(&mut file, stamp.size).map_err(read_err)?);
    }
    let after = Stamp::of(&file.metadata().map_err(read_err)?);
    if after != stamp {
        return Err(Error::Changed {
            path: path.to_path_buf(),
        });
    }
    Ok((stamp, sums))
}

fn keep_last(last: &mut Vec<u8>, chunk: &[u8]) {
    if chunk.len() >= BLOCK_LEN {
        last.clear();
        last.extend_from_slice(chunk.get(chunk.len() - BLOCK_LEN..).unwrap_or_default());
    } else {
        last.extend_from_slice(chunk);
        let excess = last.len().saturating_sub(BLOCK_LEN);
        last.drain(..excess);
    }
}

fn read_blocks(file: &mut File, size: u64) -> std::io::Result<Blocks> {
    use std::io::{Seek, SeekFrom};
    let mut block = [0u8; BLOCK_LEN];
    file.read_exact(&mut block)?;
    let head = Rsync64::of(&block);
    file.seek(SeekFrom::Start(size - BLOCK_LEN as u64))?;
    file.read_exact(&mut block)?;
    Ok(Blocks {
        head,
        tail: Rsync64::of(&block),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn one_read_gives_digests_and_blocks() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1000, 1024, 1025, 300_000, 262_144 + 5] {
            let bytes = data(n);
            let p = dir.path().join(format!("f{n}"));
            std::fs::write(&p, &bytes).unwrap();
            let all = Want {
                md5: true,
                sha256: true,
                blocks: true,
            };
            let (stamp, sums) = compute(&p, all).unwrap();
            assert_eq!(stamp.size, n as u64);
            assert_eq!(sums.md5, Some(Hasher::digest(Algorithm::Md5, &bytes)));
            assert_eq!(sums.sha256, Some(Hasher::digest(Algorithm::Sha256, &bytes)));
            let expect_blocks = (n >= BLOCK_LEN).then(|| Blocks {
                head: Rsync64::of(&bytes[..BLOCK_LEN]),
                tail: Rsync64::of(&bytes[n - BLOCK_LEN..]),
            });
            assert_eq!(sums.blocks, expect_blocks, "n={n}");
            let only_blocks = Want {
                blocks: true,
                ..Want::default()
            };
            assert_eq!(compute(&p, only_blocks).unwrap().1.blocks, expect_blocks);
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = compute(Path::new("/nonexistent/x.deb"), Want::default()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.deb"), "{err}");
    }
}
