//! Seeds: local files that may hold some of an image's parts — directories
//! (walked), ISO images (their files read in place, no mount) — checked
//! before anything is fetched. Only files whose size some needed part has
//! are hashed, in parallel.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jigsmith_assemble::Location;
use jigsmith_checksum::{Digest, Hasher};
use jigsmith_isofs::IsoFs;
use rayon::prelude::*;

/// Directory levels walked below a seed directory.
const MAX_DEPTH: usize = 64;

/// What the seeds hold.
#[derive(Debug, Default)]
pub struct Seeds {
    /// Places verified (when scanned) to hold a needed part.
    pub found: HashMap<Digest, Vec<Location>>,
    /// Files and ISO members hashed.
    pub hashed: usize,
    /// Seeds that could not be read, in words.
    pub warnings: Vec<String>,
}

/// Scans `paths` (directories, files, ISO images) for the `needed` parts
/// (all of one checksum algorithm).
pub fn scan(paths: &[PathBuf], needed: &[(Digest, u64)]) -> Seeds {
    let mut seeds = Seeds::default();
    let Some(algorithm) = needed.first().map(|(d, _)| d.algorithm()) else {
        return seeds;
    };
    let sizes: HashSet<u64> = needed.iter().map(|(_, len)| *len).collect();
    let wanted: HashSet<Digest> = needed.iter().map(|(d, _)| *d).collect();
    let mut candidates: Vec<(Location, u64)> = Vec::new();
    for p in paths {
        collect(p, &sizes, &mut candidates, &mut seeds.warnings, 0);
    }
    seeds.hashed = candidates.len();
    let hits: Vec<(Digest, Location)> = candidates
        .into_par_iter()
        .filter_map(|(loc, len)| {
            let digest = hash(&loc, len, algorithm).ok()?;
            wanted.contains(&digest).then_some((digest, loc))
        })
        .collect();
    for (d, loc) in hits {
        seeds.found.entry(d).or_default().push(loc);
    }
    seeds
}

fn collect(
    path: &Path,
    sizes: &HashSet<u64>,
    out: &mut Vec<(Location, u64)>,
    warnings: &mut Vec<String>,
    depth: usize,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            warnings.push(format!("seed {}: {e}", path.display()));
            return;
        }
    };
    if meta.is_dir() {
        if depth >= MAX_DEPTH {
            return;
        }
        let entries = match std::fs::read_dir(path) {
            Ok(e) => e,
            Err(e) => {
                warnings.push(format!("seed {}: {e}", path.display()));
                return;
            }
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for p in names {
            // symlinked directories are not followed: they can loop
            let is_link_dir = std::fs::symlink_metadata(&p)
                .is_ok_and(|m| m.file_type().is_symlink())
                && p.is_dir();
            if !is_link_dir {
                collect(&p, sizes, out, warnings, depth + 1);
            }
        }
        return;
    }
    if !meta.is_file() {
        return;
    }
    if sizes.contains(&meta.len()) {
        out.push((Location::file(path), meta.len()));
    }
    // the volume descriptors start at 32 KiB
    if meta.len() > 17 * 2048 && is_iso(path) {
        match iso_members(path) {
            Ok(members) => out.extend(members.into_iter().filter(|(_, len)| sizes.contains(len))),
            Err(e) => warnings.push(format!("seed {}: {e:#}", path.display())),
        }
    }
}

/// An ISO 9660 volume descriptor at sector 16.
fn is_iso(path: &Path) -> bool {
    let mut magic = [0u8; 5];
    File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(16 * 2048 + 1))?;
            f.read_exact(&mut magic)
        })
        .is_ok()
        && &magic == b"CD001"
}

/// The image's files as extents of the image file.
fn iso_members(path: &Path) -> anyhow::Result<Vec<(Location, u64)>> {
    let mut iso = IsoFs::open(BufReader::new(File::open(path)?))?;
    Ok(iso
        .files()?
        .into_iter()
        .filter_map(|f| Some((Location::extent(path, f.contiguous_offset()?), f.len)))
        .collect())
}

/// The digest of the `len` bytes at `loc`.
pub fn hash(
    loc: &Location,
    len: u64,
    algorithm: jigsmith_checksum::Algorithm,
) -> std::io::Result<Digest> {
    let mut f = File::open(&loc.path)?;
    f.seek(SeekFrom::Start(loc.offset()))?;
    let mut h = Hasher::new(algorithm);
    let n = std::io::copy(&mut BufReader::with_capacity(1 << 20, f).take(len), &mut h)?;
    if n != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(h.finalize())
}
