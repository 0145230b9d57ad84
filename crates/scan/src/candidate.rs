//! Candidate files and the index of their first blocks.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jigsmith_checksum::{Digest, Rsync64};
use rayon::prelude::*;

use crate::rolling::{Prefilter, Roller, Sum, SumMap, WINDOW};
use crate::{Error, Skipped};

/// A file that may appear somewhere in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where to read it.
    pub path: PathBuf,
    /// Its size in bytes; a file whose size on disk differs is skipped.
    pub size: u64,
    /// Its digest if already known (from a checksum list). Used only when it
    /// is of the template's algorithm; the file is then never read past its
    /// first and last blocks, and the image region is hashed and compared
    /// with it instead.
    pub known: Option<Digest>,
    /// rsync64 sums of its first and last 1024 bytes if already known (from
    /// a checksum cache): the file is then not opened to index it.
    pub blocks: Option<(Rsync64, Rsync64)>,
}

impl Candidate {
    /// A candidate whose digest is not known yet.
    pub fn new(path: impl Into<PathBuf>, size: u64) -> Self {
        Candidate {
            path: path.into(),
            size,
            known: None,
            blocks: None,
        }
    }

    /// The same candidate with a digest from a checksum list.
    pub fn with_known(mut self, digest: Digest) -> Self {
        self.known = Some(digest);
        self
    }

    /// The same candidate with its head and tail block sums already known.
    pub fn with_blocks(mut self, head: Rsync64, tail: Rsync64) -> Self {
        self.blocks = Some((head, tail));
        self
    }
}

/// What the scan knows about a candidate before looking at the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// Index into the scanner's candidates.
    pub(crate) candidate: usize,
    pub(crate) size: u64,
    /// Sum of the first [`WINDOW`] bytes: where the file may start.
    pub(crate) head: Sum,
    /// Sum of the last [`WINDOW`] bytes: a one-block check before hashing a
    /// whole region, so a file whose head is common (e.g. a run of zeros)
    /// does not get hashed at every offset of a matching run.
    pub(crate) tail: Sum,
}

/// Candidates by head sum, behind a bitset prefilter.
pub(crate) struct HeadIndex {
    pub(crate) filter: Prefilter,
    /// Each list is sorted biggest first (then by candidate index), so the
    /// largest file that fits at an offset wins, deterministically.
    map: SumMap<Vec<Prepared>>,
}

impl HeadIndex {
    /// Reads every eligible candidate's first and last blocks, in parallel.
    ///
    /// Candidates smaller than `min_size` or larger than the image are left
    /// out silently; those that cannot be read become [`Skipped`] entries.
    pub(crate) fn build(
        candidates: &[Candidate],
        min_size: u64,
        image_len: u64,
        roller: &Roller,
    ) -> (HeadIndex, Vec<Skipped>) {
        let read: Vec<(usize, Result<Prepared, Error>)> = candidates
            .par_iter()
            .enumerate()
            .filter(|(_, c)| c.size >= min_size && c.size <= image_len)
            .map(|(i, c)| (i, prepare(i, c, roller)))
            .collect();
        let mut filter = Prefilter::for_entries(read.iter().filter(|(_, r)| r.is_ok()).count());
        let mut map: SumMap<Vec<Prepared>> = SumMap::default();
        let mut skipped = Vec::new();
        for (candidate, r) in read {
            match r {
                Ok(p) => {
                    filter.insert(p.head);
                    map.entry(p.head.value()).or_default().push(p);
                }
                Err(error) => skipped.push(Skipped { candidate, error }),
            }
        }
        for list in map.values_mut() {
            list.sort_by(|a, b| b.size.cmp(&a.size).then(a.candidate.cmp(&b.candidate)));
        }
        (HeadIndex { filter, map }, skipped)
    }

    /// Candidates whose first block has this sum.
    pub(crate) fn get(&self, head: Sum) -> Option<&[Prepared]> {
        self.map.get(&head.value()).map(Vec::as_slice)
    }
}

fn prepare(candidate: usize, c: &Candidate, roller: &Roller) -> Result<Prepared, Error> {
    if let Some((head, tail)) = c.blocks {
        return Ok(Prepared {
            candidate,
            size: c.size,
            head: Sum::from_value(head.value()),
            tail: Sum::from_value(tail.value()),
        });
    }
    let mut f = open_checked(&c.path, c.size)?;
    let mut block = [0u8; WINDOW];
    read_block(&mut f, &c.path, 0, &mut block)?;
    let head = roller.sum(&block);
    let tail_at = c.size - WINDOW as u64;
    let tail = if tail_at == 0 {
        head
    } else {
        read_block(&mut f, &c.path, tail_at, &mut block)?;
        roller.sum(&block)
    };
    Ok(Prepared {
        candidate,
        size: c.size,
        head,
        tail,
    })
}

/// Opens a candidate and checks that it still has the size it was added with.
pub(crate) fn open_checked(path: &Path, size: u64) -> Result<File, Error> {
    let open_err = |source| Error::OpenCandidate {
        path: path.to_path_buf(),
        source,
    };
    let f = File::open(path).map_err(open_err)?;
    let found = f.metadata().map_err(open_err)?.len();
    if found != size {
        return Err(Error::CandidateSize {
            path: path.to_path_buf(),
            expected: size,
            found,
        });
    }
    Ok(f)
}

fn read_block(f: &mut File, path: &Path, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_exact(buf))
        .map_err(|source| Error::ReadCandidate {
            path: path.to_path_buf(),
            offset,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keeps_biggest_first_and_skips_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let head = vec![7u8; WINDOW];
        let small = [head.clone(), vec![1; 100]].concat();
        let big = [head.clone(), vec![2; 5000]].concat();
        std::fs::write(dir.path().join("small"), &small).unwrap();
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("tiny"), [0u8; 100]).unwrap();
        let cands = vec![
            Candidate::new(dir.path().join("small"), small.len() as u64),
            Candidate::new(dir.path().join("missing"), 2000),
            Candidate::new(dir.path().join("big"), big.len() as u64),
            Candidate::new(dir.path().join("tiny"), 100),
            Candidate::new(dir.path().join("big"), 9999),
            Candidate::new(dir.path().join("big"), 1 << 40),
        ];
        let roller = Roller::new();
        let (index, skipped) = HeadIndex::build(&cands, 1024, 1 << 30, &roller);
        let list = index.get(roller.sum(&head)).unwrap();
        assert_eq!(
            list.iter().map(|p| p.candidate).collect::<Vec<_>>(),
            vec![2, 0]
        );
        assert_eq!(list[0].tail, roller.sum(&big[big.len() - WINDOW..]));
        let mut why: Vec<_> = skipped.iter().map(|s| s.candidate).collect();
        why.sort_unstable();
        assert_eq!(why, vec![1, 4]);
        assert!(skipped.iter().any(|s| matches!(
            s.error,
            Error::CandidateSize {
                expected: 9999,
                found: 6024,
                ..
            }
        )));
    }
}
