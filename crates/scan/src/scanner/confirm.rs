//! Proving that an image region is a candidate file, byte for byte or by
//! digest, with positional reads that leave the sequential stream alone.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use jigsmith_checksum::{Algorithm, Digest, Hasher};

use crate::candidate::open_checked;
use crate::rolling::{Roller, Sum, WINDOW};
use crate::{Candidate, Error};

/// The part of the image the sequential stream holds right now; regions
/// inside it are hashed straight from there instead of being read again.
#[derive(Clone, Copy)]
pub(crate) struct Buffered<'b> {
    pub(crate) data: &'b [u8],
    pub(crate) base: u64,
}

impl<'b> Buffered<'b> {
    fn get(&self, offset: u64, n: usize) -> Option<&'b [u8]> {
        let start = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        self.data.get(start..start.checked_add(n)?)
    }
}

/// What comparing a region with a candidate file found.
pub(crate) enum Outcome {
    /// The region is the file; its digest.
    Same(Digest),
    /// It is not.
    Differs,
    /// The candidate could not be read: skip it from now on.
    Unreadable(Error),
}

pub(crate) struct Confirmer<'a> {
    image: File,
    path: &'a Path,
    algorithm: Algorithm,
    region: Box<[u8]>,
    file: Box<[u8]>,
}

impl<'a> Confirmer<'a> {
    /// `image` is a handle of its own: confirming seeks it freely.
    pub(crate) fn new(image: File, path: &'a Path, algorithm: Algorithm, chunk: usize) -> Self {
        Confirmer {
            image,
            path,
            algorithm,
            region: vec![0u8; chunk].into_boxed_slice(),
            file: vec![0u8; chunk].into_boxed_slice(),
        }
    }

    /// rsync64 of the image's [`WINDOW`] bytes at `offset`.
    pub(crate) fn block_sum(
        &mut self,
        buffered: Buffered<'_>,
        offset: u64,
        roller: &Roller,
    ) -> Result<Sum, Error> {
        let block = region_chunk(
            buffered,
            &mut self.image,
            self.path,
            &mut self.region,
            offset,
            WINDOW,
        )?;
        Ok(roller.sum(block))
    }

    /// Digest of image bytes `offset..offset + len`.
    pub(crate) fn region_digest(
        &mut self,
        buffered: Buffered<'_>,
        offset: u64,
        len: u64,
    ) -> Result<Digest, Error> {
        let mut h = Hasher::new(self.algorithm);
        let mut at = offset;
        let end = offset.saturating_add(len);
        while at < end {
            let n = chunk_len(end - at, self.region.len());
            let bytes = region_chunk(
                buffered,
                &mut self.image,
                self.path,
                &mut self.region,
                at,
                n,
            )?;
            h.update(bytes);
            at += n as u64;
        }
        Ok(h.finalize())
    }

    /// Compares image bytes from `offset` with the whole candidate file,
    /// hashing the region on the way. A difference stops the comparison at
    /// the first differing chunk, which makes false head matches cheap.
    ///
    /// Only image read errors are `Err`; candidate trouble is an outcome.
    pub(crate) fn compare(
        &mut self,
        buffered: Buffered<'_>,
        offset: u64,
        candidate: &Candidate,
    ) -> Result<Outcome, Error> {
        self.compare_as(buffered, offset, candidate, None)
    }

    /// [`compare`](Self::compare) for a region whose digest is already
    /// known (the image pass hashed it): bytes are compared, not hashed.
    pub(crate) fn compare_hashed(
        &mut self,
        offset: u64,
        candidate: &Candidate,
        region_digest: Digest,
    ) -> Result<Outcome, Error> {
        let none = Buffered { data: &[], base: 0 };
        self.compare_as(none, offset, candidate, Some(region_digest))
    }

    fn compare_as(
        &mut self,
        buffered: Buffered<'_>,
        offset: u64,
        candidate: &Candidate,
        region_digest: Option<Digest>,
    ) -> Result<Outcome, Error> {
        let mut f = match open_checked(&candidate.path, candidate.size) {
            Ok(f) => f,
            Err(e) => return Ok(Outcome::Unreadable(e)),
        };
        let mut h = Hasher::new(self.algorithm);
        let mut done = 0u64;
        while done < candidate.size {
            let n = chunk_len(candidate.size - done, self.file.len());
            let Some(theirs) = self.file.get_mut(..n) else {
                break;
            };
            if let Err(source) = f.read_exact(theirs) {
                return Ok(Outcome::Unreadable(Error::ReadCandidate {
                    path: candidate.path.clone(),
                    offset: done,
                    source,
                }));
            }
            let ours = region_chunk(
                buffered,
                &mut self.image,
                self.path,
                &mut self.region,
                offset + done,
                n,
            )?;
            if ours != &*theirs {
                return Ok(Outcome::Differs);
            }
            if region_digest.is_none() {
                h.update(ours);
            }
            done += n as u64;
        }
        Ok(Outcome::Same(region_digest.unwrap_or_else(|| h.finalize())))
    }
}

fn chunk_len(left: u64, chunk: usize) -> usize {
    usize::try_from(left).map_or(chunk, |l| l.min(chunk))
}

/// Image bytes `offset..offset + n` (`n` at most the scratch size): from the
/// stream's buffer when it holds them, else read into `scratch`.
fn region_chunk<'b>(
    buffered: Buffered<'b>,
    image: &mut File,
    path: &Path,
    scratch: &'b mut [u8],
    offset: u64,
    n: usize,
) -> Result<&'b [u8], Error> {
    if let Some(bytes) = buffered.get(offset, n) {
        return Ok(bytes);
    }
    let dst = scratch.get_mut(..n).unwrap_or_default();
    image
        .seek(SeekFrom::Start(offset))
        .and_then(|_| image.read_exact(dst))
        .map_err(|source| Error::ReadImage {
            path: path.to_path_buf(),
            offset,
            source,
        })?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_buffer_or_file_alike() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let cand_path = dir.path().join("c");
        std::fs::write(&cand_path, &data[5000..12_000]).unwrap();
        let cand = Candidate::new(&cand_path, 7000);
        let mut c = Confirmer::new(File::open(&p).unwrap(), &p, Algorithm::Md5, 1500);
        let want = Hasher::digest(Algorithm::Md5, &data[5000..12_000]);
        let none = Buffered { data: &[], base: 0 };
        let some = Buffered {
            data: &data[4000..9000],
            base: 4000,
        };
        for b in [none, some] {
            assert_eq!(c.region_digest(b, 5000, 7000).unwrap(), want);
            assert!(matches!(c.compare(b, 5000, &cand).unwrap(), Outcome::Same(d) if d == want));
            assert!(matches!(
                c.compare(b, 5001, &cand).unwrap(),
                Outcome::Differs
            ));
            let roller = Roller::new();
            assert_eq!(
                c.block_sum(b, 11_000, &roller).unwrap(),
                roller.sum(&data[11_000..12_024])
            );
        }
        assert!(matches!(
            c.region_digest(none, 19_000, 7000),
            Err(Error::ReadImage { offset: 19_000, .. })
        ));
        let gone = Candidate::new(dir.path().join("gone"), 7000);
        assert!(matches!(
            c.compare(none, 0, &gone).unwrap(),
            Outcome::Unreadable(Error::OpenCandidate { .. })
        ));
    }
}
