//! The ISO-aware first pass: an ISO 9660 image says where every file is, so
//! each file extent of its directory trees is checked against the
//! candidates of the same size, before the rolling scan covers what is left.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_isofs::IsoFs;
use jigsmith_stream::Span;
use rayon::prelude::*;

use super::confirm::{Buffered, Confirmer, Outcome};
use super::scan::Fixed;
use crate::rolling::{Roller, WINDOW};
use crate::{Candidate, Error, Match, Skipped};

/// Where the image's directory trees put files of at least `min_size` bytes:
/// `(offset, len)`, sorted, each inside the image, none overlapping (of
/// overlapping extents the first wins). Empty when the image is not ISO 9660
/// or its directory cannot be read: the rolling scan then covers it all.
pub(crate) fn iso_extents(image: &Path, image_len: u64, min_size: u64) -> Vec<(u64, u64)> {
    let files = File::open(image)
        .map_err(|source| jigsmith_isofs::Error::Io { offset: 0, source })
        .and_then(IsoFs::open)
        .and_then(|mut fs| fs.files());
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            tracing::debug!("no ISO 9660 directory to use ({e}); scanning every byte");
            return Vec::new();
        }
    };
    let mut extents: Vec<(u64, u64)> = files
        .iter()
        .filter(|f| f.len >= min_size)
        .filter_map(|f| Some((f.contiguous_offset()?, f.len)))
        .filter(|(offset, len)| offset.checked_add(*len).is_some_and(|end| end <= image_len))
        .collect();
    extents.sort_unstable();
    extents.dedup_by_key(|(offset, _)| *offset);
    let mut end = 0;
    extents.retain(|&(offset, len)| {
        let keep = offset >= end;
        if keep {
            end = offset + len;
        }
        keep
    });
    tracing::debug!(files = extents.len(), "ISO 9660 directory read");
    extents
}

/// The extents worth hashing in the image pass: those with a candidate of
/// their size (sorted, as the extents are). Hashing them there, eight at a
/// time, leaves only a byte comparison for candidates without a digest.
pub(crate) fn spans_to_hash(
    extents: &[(u64, u64)],
    candidates: &[Candidate],
    min_size: u64,
    algorithm: Algorithm,
) -> Vec<Span> {
    let known_sizes: HashSet<u64> = candidates
        .iter()
        .filter(|c| c.size >= min_size)
        .map(|c| c.size)
        .collect();
    extents
        .iter()
        .filter(|(_, len)| known_sizes.contains(len))
        .map(|&(offset, len)| Span {
            offset,
            len,
            algorithm,
        })
        .collect()
}

/// What the first pass found.
pub(crate) struct Placed {
    /// Files proven at their extents, in image order.
    pub(crate) fixed: Vec<Fixed>,
    /// Candidates that could not be read.
    pub(crate) skipped: Vec<Skipped>,
}

/// Checks every extent the image pass hashed against the candidates of its
/// size, on all cores.
///
/// A candidate with a known digest is matched when the extent's digest is
/// equal; one without is compared byte for byte (after its cached head and
/// tail sums, when it has them, agree). Nothing unproven is placed: an
/// extent no candidate matches is left to the rolling scan.
pub(crate) fn place(
    image: &Path,
    hashed: &[(Span, Digest)],
    candidates: &[Candidate],
    min_size: u64,
    algorithm: Algorithm,
    roller: &Roller,
) -> Result<Placed, Error> {
    let mut by_size: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, c) in candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.size >= min_size)
    {
        by_size.entry(c.size).or_default().push(i);
    }
    let outcomes: Vec<Result<PlacedOne, Error>> = hashed
        .par_iter()
        .map_init(
            || File::open(image).map(|f| Confirmer::new(f, image, algorithm, 1 << 20)),
            |confirmer, &(span, digest)| {
                let confirmer = confirmer.as_mut().map_err(|e| Error::OpenImage {
                    path: image.to_path_buf(),
                    source: std::io::Error::new(e.kind(), e.to_string()),
                })?;
                let list = by_size.get(&span.len).map_or(&[][..], Vec::as_slice);
                place_one(confirmer, span, digest, list, candidates, algorithm, roller)
            },
        )
        .collect();
    let mut placed = Placed {
        fixed: Vec::new(),
        skipped: Vec::new(),
    };
    for outcome in outcomes {
        let (fixed, skipped) = outcome?;
        placed.fixed.extend(fixed);
        placed.skipped.extend(skipped);
    }
    Ok(placed)
}

/// One extent's file, if proven, and the candidates found unreadable.
type PlacedOne = (Option<Fixed>, Vec<Skipped>);

fn place_one(
    confirmer: &mut Confirmer<'_>,
    span: Span,
    digest: Digest,
    list: &[usize],
    candidates: &[Candidate],
    algorithm: Algorithm,
    roller: &Roller,
) -> Result<PlacedOne, Error> {
    let (offset, len) = (span.offset, span.len);
    let none = Buffered { data: &[], base: 0 };
    let known = |c: &Candidate| c.known.filter(|d| d.algorithm() == algorithm);
    let fixed = |candidate: usize, confirmer: &mut Confirmer<'_>| {
        let head = confirmer.block_sum(none, offset, roller)?.rsync64();
        Ok::<_, Error>(Some(Fixed {
            found: Match {
                offset,
                size: len,
                digest,
                candidate,
            },
            head,
        }))
    };
    let mut skipped = Vec::new();
    if let Some(i) = list
        .iter()
        .copied()
        .find(|&i| candidates.get(i).and_then(known) == Some(digest))
    {
        return Ok((fixed(i, confirmer)?, skipped));
    }
    // the region's block sums, read once, rule out most unknown candidates
    let mut blocks = None;
    for &i in list {
        let Some(c) = candidates.get(i).filter(|c| known(c).is_none()) else {
            continue;
        };
        if let Some((head, tail)) = c.blocks.filter(|_| len >= WINDOW as u64) {
            let (h, t) = match blocks {
                Some(b) => b,
                None => {
                    let h = confirmer.block_sum(none, offset, roller)?.rsync64();
                    let t = confirmer
                        .block_sum(none, offset + len - WINDOW as u64, roller)?
                        .rsync64();
                    *blocks.insert((h, t))
                }
            };
            if (h, t) != (head, tail) {
                continue;
            }
        }
        match confirmer.compare_hashed(offset, c, digest)? {
            Outcome::Same(_) => return Ok((fixed(i, confirmer)?, skipped)),
            Outcome::Differs => {}
            Outcome::Unreadable(error) => skipped.push(Skipped {
                candidate: i,
                error,
            }),
        }
    }
    Ok((None, skipped))
}
