//! [`Scanner`]: configuration, candidates, and the two-thread driver.

mod confirm;
mod layout;
mod scan;
mod stream;

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_format::{Compression, TemplateSummary, TemplateWriterBuilder};
use jigsmith_stream::Span;

use crate::candidate::HeadIndex;
use crate::image_hash::hash_image;
use crate::rolling::{Roller, WINDOW};
use crate::{Candidate, Error, Progress, Result};
use confirm::Confirmer;
use scan::{Scan, Scanned};
use stream::ImageStream;

/// Default sequential read buffer: big enough that refills (which copy the
/// last window to the front) are rare, small enough to stay "a few MiB".
const DEFAULT_BUFFER: usize = 4 << 20;
/// Largest chunk read at once when confirming a match.
const MAX_CONFIRM_CHUNK: usize = 1 << 20;

/// A candidate found in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Where the file starts in the image.
    pub offset: u64,
    /// Its length.
    pub size: u64,
    /// Its digest in the template's algorithm (as in the template's DESC).
    pub digest: Digest,
    /// Index of the [`Candidate`] (in the order they were added).
    pub candidate: usize,
}

impl Match {
    /// Where the file ends in the image (exclusive).
    pub fn end(&self) -> u64 {
        self.offset + self.size
    }
}

/// A candidate that was left out because it could not be read.
#[derive(Debug)]
pub struct Skipped {
    /// Index of the [`Candidate`].
    pub candidate: usize,
    /// What went wrong (one of the candidate variants of [`Error`]).
    pub error: Error,
}

/// The result of [`Scanner::make_template`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ScanReport {
    /// Bytes in the image.
    pub image_len: u64,
    /// The image's digest in the template's algorithm (as in the template).
    pub image_digest: Digest,
    /// One digest per algorithm given to
    /// [`ScannerBuilder::image_checksums`], in that order, for the
    /// `# Image Hex ...Sum` comments of the `.jigdo` file.
    pub image_checksums: Vec<Digest>,
    /// Every match, in image order; they do not overlap.
    pub matches: Vec<Match>,
    /// What the template is (length, MD5 and SHA-256 for the `.jigdo`).
    pub template: TemplateSummary,
    /// Candidates that could not be read, in the order they failed.
    pub skipped: Vec<Skipped>,
}

impl ScanReport {
    /// Image bytes covered by matches.
    pub fn matched_bytes(&self) -> u64 {
        self.matches.iter().map(|m| m.size).sum()
    }

    /// The image's digest in `algorithm`, if it was computed.
    pub fn image_checksum(&self, algorithm: Algorithm) -> Option<Digest> {
        std::iter::once(&self.image_digest)
            .chain(&self.image_checksums)
            .find(|d| d.algorithm() == algorithm)
            .copied()
    }
}

/// Configures a [`Scanner`].
#[derive(Debug, Clone)]
pub struct ScannerBuilder {
    algorithm: Algorithm,
    compression: Compression,
    level: Option<u32>,
    chunk_size: Option<usize>,
    min_size: u64,
    image_checksums: Vec<Algorithm>,
    buffer_size: usize,
    iso_aware: bool,
}

impl Default for ScannerBuilder {
    fn default() -> Self {
        ScannerBuilder {
            algorithm: Algorithm::Md5,
            compression: Compression::Zlib,
            level: None,
            chunk_size: None,
            min_size: WINDOW as u64,
            image_checksums: Vec::new(),
            buffer_size: DEFAULT_BUFFER,
            iso_aware: true,
        }
    }
}

impl ScannerBuilder {
    /// Template algorithm: MD5 (format 1.1, the default) or SHA-256 (2.0).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Compression of the template's data parts (zlib by default).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Compression level 1..=9 (9 by default, as libjte and jigdo-file).
    pub fn level(mut self, level: u32) -> Self {
        self.level = Some(level);
        self
    }

    /// Raw bytes per template data part (the writer's default otherwise).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes);
        self
    }

    /// Smallest candidate considered, 1024 by default. Values below the
    /// rsync64 block length (1024) are raised to it: a file must fill the
    /// window that finds it.
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min_size = bytes.max(WINDOW as u64);
        self
    }

    /// Extra whole-image digests to compute (e.g. MD5 and SHA-512 for the
    /// `.jigdo` comments), reported in [`ScanReport::image_checksums`].
    pub fn image_checksums(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.image_checksums = algorithms.into_iter().collect();
        self
    }

    /// Size of the sequential read buffer (4 MiB by default, at least 2 KiB).
    /// Confirm reads use two more buffers of up to 1 MiB each.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = bytes.max(2 * WINDOW);
        self
    }

    /// Whether to read an ISO 9660 image's directory trees first and check
    /// each file extent against the candidates of its size (on by default).
    /// The rolling scan then only covers what the trees do not account for;
    /// the template is the same either way, but found several times faster.
    pub fn iso_aware(mut self, on: bool) -> Self {
        self.iso_aware = on;
        self
    }

    /// The scanner, with no candidates yet.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] unless the algorithm is MD5 or SHA-256.
    pub fn build(self) -> Result<Scanner> {
        if !matches!(self.algorithm, Algorithm::Md5 | Algorithm::Sha256) {
            return Err(Error::UnsupportedAlgorithm {
                algorithm: self.algorithm,
            });
        }
        Ok(Scanner {
            config: self,
            candidates: Vec::new(),
        })
    }
}

/// Finds candidate files inside an image and writes the image's template.
///
/// See the crate documentation for the algorithm and an example.
#[derive(Debug, Clone)]
pub struct Scanner {
    config: ScannerBuilder,
    candidates: Vec<Candidate>,
}

impl Scanner {
    /// A builder with the defaults (MD5, zlib, min size 1024).
    pub fn builder() -> ScannerBuilder {
        ScannerBuilder::default()
    }

    /// Adds a candidate; returns its index, as [`Match::candidate`] gives it.
    pub fn add_candidate(&mut self, candidate: Candidate) -> usize {
        self.candidates.push(candidate);
        self.candidates.len() - 1
    }

    /// The candidates, in the order added.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The template algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.config.algorithm
    }

    /// Scans `image`, writes its template to `out` and reports the matches.
    ///
    /// Unreadable candidates are skipped and listed in
    /// [`ScanReport::skipped`]; the template is still complete and exact.
    ///
    /// # Errors
    /// [`Error::OpenImage`], [`Error::ReadImage`], [`Error::ImageChanged`]
    /// if the image is not readable throughout, [`Error::Template`] if
    /// writing `out` fails, [`Error::HashThread`].
    ///
    /// # Security
    /// Candidates are only trusted after the image region's digest equals
    /// theirs (or the bytes are equal); a wrong checksum-list entry costs a
    /// match, never a wrong template.
    pub fn make_template<W: Write>(
        &self,
        image: &Path,
        mut out: W,
        progress: &dyn Progress,
    ) -> Result<ScanReport> {
        self.make_template_dyn(image, &mut out, progress)
    }

    #[tracing::instrument(skip_all, fields(image = %image.display()))]
    fn make_template_dyn(
        &self,
        image: &Path,
        out: &mut dyn Write,
        progress: &dyn Progress,
    ) -> Result<ScanReport> {
        let cfg = &self.config;
        let open_err = |source| Error::OpenImage {
            path: image.to_path_buf(),
            source,
        };
        let sequential = File::open(image).map_err(open_err)?;
        let image_len = sequential.metadata().map_err(open_err)?.len();
        let positional = File::open(image).map_err(open_err)?;

        let mut tb = TemplateWriterBuilder::default()
            .algorithm(cfg.algorithm)
            .compression(cfg.compression)
            .rsync_block_len(WINDOW as u32);
        if let Some(level) = cfg.level {
            tb = tb.level(level);
        }
        if let Some(n) = cfg.chunk_size {
            tb = tb.chunk_size(n);
        }
        let writer = tb.build(out)?;

        progress.start(image_len);
        let roller = Roller::new();
        let (index, skipped) = HeadIndex::build(&self.candidates, cfg.min_size, image_len, &roller);
        for s in &skipped {
            tracing::warn!("skipping candidate {}: {}", s.candidate, s.error);
        }
        let digests = self
            .candidates
            .iter()
            .map(|c| c.known.filter(|d| d.algorithm() == cfg.algorithm))
            .collect();

        let mut algorithms = vec![cfg.algorithm];
        for a in &cfg.image_checksums {
            if !algorithms.contains(a) {
                algorithms.push(*a);
            }
        }
        let scan = Scan {
            roller: &roller,
            index: &index,
            candidates: &self.candidates,
            image_len,
            progress,
            stream: ImageStream::new(sequential, image, cfg.buffer_size),
            confirm: Confirmer::new(
                positional,
                image,
                cfg.algorithm,
                cfg.buffer_size.min(MAX_CONFIRM_CHUNK),
            ),
            writer,
            digests,
            dead: vec![false; self.candidates.len()],
            skipped,
        };
        let extents = if cfg.iso_aware {
            layout::iso_extents(image, image_len, cfg.min_size)
        } else {
            Vec::new()
        };
        let spans = layout::spans_to_hash(&extents, &self.candidates, cfg.min_size, cfg.algorithm);
        let cancel = AtomicBool::new(false);
        let place_and_scan = |hashed: &[(Span, Digest)], progress: &dyn Progress| {
            let placed = layout::place(
                image,
                hashed,
                &self.candidates,
                cfg.min_size,
                cfg.algorithm,
                &roller,
            )?;
            tracing::debug!(
                extents = extents.len(),
                placed = placed.fixed.len(),
                "ISO directory pass"
            );
            let mut scan = Scan { progress, ..scan };
            for s in placed.skipped {
                if let Some(dead) = scan.dead.get_mut(s.candidate) {
                    *dead = true;
                }
                scan.skipped.push(s);
            }
            for f in &placed.fixed {
                if let Some(d) = scan.digests.get_mut(f.found.candidate) {
                    *d = Some(f.found.digest);
                }
            }
            scan.run(&placed.fixed)
        };
        let (scanned, hashed) = if spans.is_empty() {
            // no extent to place: hash the image while the rolling scan runs
            std::thread::scope(|s| {
                let hasher = s.spawn(|| hash_image(image, &algorithms, &[], &cancel, &|_| {}));
                let scanned = place_and_scan(&[], progress);
                if scanned.is_err() {
                    cancel.store(true, Ordering::Relaxed);
                }
                (scanned, hasher.join())
            })
        } else {
            // one read gives the image's digests and every extent's: then
            // placing files costs lookups, and the rolling scan covers only
            // the stretches between them
            let hashed = hash_image(image, &algorithms, &spans, &cancel, &|n| {
                progress.advance(n)
            })?;
            tracing::debug!(spans = spans.len(), "image read once for its digests");
            // an extent the image ended before has no digest: the image
            // changed, which the length check below reports
            let span_digests: Vec<(Span, Digest)> = hashed
                .iter()
                .flat_map(|h| spans.iter().zip(&h.spans))
                .filter_map(|(s, d)| Some((*s, (*d)?)))
                .collect();
            let matched_only = MatchedOnly(progress);
            (place_and_scan(&span_digests, &matched_only), Ok(Ok(hashed)))
        };
        let Scanned {
            writer,
            matches,
            mut skipped,
        } = scanned?;
        // a candidate unreadable in both passes is reported once
        let mut seen = std::collections::HashSet::new();
        skipped.retain(|s| seen.insert(s.candidate));
        let thread_err = || Error::HashThread {
            path: image.to_path_buf(),
        };
        let hashed = hashed.map_err(|_| thread_err())??.ok_or_else(thread_err)?;
        let (hashed_len, digests) = (hashed.len, hashed.whole);
        for found in [hashed_len, writer.image_len()] {
            if found != image_len {
                return Err(Error::ImageChanged {
                    path: image.to_path_buf(),
                    expected: image_len,
                    found,
                });
            }
        }
        let by_algorithm = |a: Algorithm| {
            algorithms
                .iter()
                .zip(&digests)
                .find(|(x, _)| **x == a)
                .map(|(_, d)| *d)
        };
        let image_digest = by_algorithm(cfg.algorithm).ok_or_else(thread_err)?;
        let image_checksums = cfg
            .image_checksums
            .iter()
            .filter_map(|a| by_algorithm(*a))
            .collect();
        let (_, template) = writer.finish(image_digest)?;
        tracing::debug!(
            matches = matches.len(),
            skipped = skipped.len(),
            template_len = template.template_len,
            "template written"
        );
        Ok(ScanReport {
            image_len,
            image_digest,
            image_checksums,
            matches,
            template,
            skipped,
        })
    }
}

/// Passes on found files but not bytes: the image pass already reported
/// every byte.
struct MatchedOnly<'p>(&'p dyn Progress);

impl Progress for MatchedOnly<'_> {
    fn matched(&self, m: &Match) {
        self.0.matched(m);
    }
}

#[cfg(test)]
mod tests;
