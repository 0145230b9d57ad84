//! Checking an existing image against its template (and `.jigdo`), and
//! saying where it is wrong (issue 10).
//!
//! The image is read once, sequentially, in 1 MiB chunks ([`jigsmith_stream`]) shared by every
//! checker thread: one per whole-image checksum (the template's, and each
//! `# Image Hex …Sum` of the `.jigdo`), one hashing every matched file
//! (eight MD5 files at once with [`jigsmith_md5_lanes`]), and one
//! comparing the template-data bytes with the decompressed template data.
//! On two cores the whole-image MD5 sets the pace; the rest fits on the
//! other core.

mod data;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::path::Path;

use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_format::{ItemKind, Jigdo, Template};

use crate::{Error, JigdoImage, Progress, Result};
use jigsmith_stream::{hash_spans, hash_whole, Fanout, Span, HASHER_QUEUE, SIDE_QUEUE};

/// Where an expected whole-image checksum comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SumSource {
    /// The template's image-info entry (MD5 for 1.x, SHA-256 for 2.x).
    Template,
    /// A `# Image Hex …Sum` comment of the `.jigdo`.
    Jigdo,
}

impl SumSource {
    /// `template` or `.jigdo`.
    pub fn name(self) -> &'static str {
        match self {
            SumSource::Template => "template",
            SumSource::Jigdo => ".jigdo",
        }
    }
}

/// One whole-image checksum, compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumCheck {
    /// Where `expected` was stated.
    pub source: SumSource,
    /// The stated checksum.
    pub expected: Digest,
    /// The image's.
    pub actual: Digest,
}

impl SumCheck {
    /// Whether the image has the stated checksum.
    pub fn is_ok(&self) -> bool {
        self.expected == self.actual
    }
}

impl fmt::Display for SumCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "image {} ({}): expected {}, found {}",
            self.expected.algorithm().jigdo_name(),
            self.source.name(),
            self.expected.to_hex(),
            self.actual.to_hex()
        )
    }
}

/// A matched file whose bytes in the image do not have its checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFile {
    /// Where the file starts in the image.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// Its checksum according to the template.
    pub expected: Digest,
    /// The checksum of the image's bytes there; `None` when the image ends
    /// before the file does.
    pub actual: Option<Digest>,
    /// The `.jigdo` [Parts] locations with that checksum (`Label:path`);
    /// empty without a `.jigdo`.
    pub names: Vec<String>,
}

impl fmt::Display for BadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = if self.names.is_empty() {
            format!("file {}", self.expected)
        } else {
            self.names.join(", ")
        };
        write!(
            f,
            "bytes {}..{} ({} bytes): {names}: ",
            self.offset,
            self.offset + self.len,
            self.len
        )?;
        match &self.actual {
            Some(actual) => write!(
                f,
                "{} is {}, expected {}",
                actual.algorithm().jigdo_name(),
                actual.to_hex(),
                self.expected.to_hex()
            ),
            None => f.write_str("cut off by the end of the image"),
        }
    }
}

/// A run of template-data bytes that differ from the template's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadData {
    /// First differing byte of the run, in the image.
    pub offset: u64,
    /// From the first to the last differing byte of the run (runs closer
    /// than 2 KiB are merged).
    pub len: u64,
}

impl fmt::Display for BadData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bytes {}..{} ({} bytes): template data differs",
            self.offset,
            self.offset + self.len,
            self.len
        )
    }
}

/// What [`check_image`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Bytes read from the image.
    pub image_len: u64,
    /// The image length the template states.
    pub expected_len: u64,
    /// The length the `.jigdo`'s `# Image size` comment states, if any.
    pub jigdo_len: Option<u64>,
    /// Every whole-image checksum compared, the template's first.
    pub sums: Vec<SumCheck>,
    /// How many matched files were checked.
    pub files: usize,
    /// The files whose bytes are wrong, in image order (a file the end of
    /// a short image cuts through among them; those wholly past it are
    /// only counted, in `files_past_end`).
    pub bad_files: Vec<BadFile>,
    /// How many files start at or after the end of a short image.
    pub files_past_end: usize,
    /// The template-data runs that differ, in image order.
    pub bad_data: Vec<BadData>,
}

impl CheckReport {
    /// Whether the image has the stated length (template and `.jigdo`).
    pub fn is_length_ok(&self) -> bool {
        self.image_len == self.expected_len && self.jigdo_len.is_none_or(|l| l == self.image_len)
    }

    /// Whether the image is exactly the one the template describes.
    pub fn is_ok(&self) -> bool {
        self.is_length_ok()
            && self.sums.iter().all(SumCheck::is_ok)
            && self.bad_files.is_empty()
            && self.files_past_end == 0
            && self.bad_data.is_empty()
    }

    /// The length problem, if any, in words.
    pub fn length_problem(&self) -> Option<String> {
        if self.is_length_ok() {
            return None;
        }
        let want = match self.jigdo_len {
            Some(j) if j != self.expected_len => {
                format!("the template says {}, the .jigdo {j}", self.expected_len)
            }
            _ => format!("the template says {}", self.expected_len),
        };
        let how = match self.image_len.cmp(&self.expected_len) {
            std::cmp::Ordering::Less => format!(
                "; bytes {}..{} are missing (truncated)",
                self.image_len, self.expected_len
            ),
            std::cmp::Ordering::Greater => format!(
                "; {} bytes too many from byte {}",
                self.image_len - self.expected_len,
                self.expected_len
            ),
            std::cmp::Ordering::Equal => String::new(),
        };
        Some(format!(
            "length: the image is {} bytes, {want}{how}",
            self.image_len
        ))
    }
}

impl JigdoImage {
    /// Checks the image at `image` against this template and `.jigdo`:
    /// see [`check_image`].
    ///
    /// # Errors
    /// As [`check_image`].
    pub fn check(&self, image: &Path, progress: &dyn Progress) -> Result<CheckReport> {
        check_image(
            image,
            &self.template,
            &self.template_path,
            Some(&self.jigdo),
            progress,
        )
    }
}

/// Checks the image file at `image` against `template` (read from
/// `template_path`) and, when given, its `.jigdo`: the length, the
/// template's image checksum, the `.jigdo`'s `# Image Hex …Sum` and
/// `# Image size` comments, every matched file's checksum, and every
/// template-data byte against the decompressed template data.
///
/// A wrong image is not an error: the [`CheckReport`] says what is wrong
/// and where (see [`CheckReport::is_ok`]).
///
/// # Errors
/// [`Error::Io`] when the image or the template cannot be read;
/// [`Error::Template`] when the template's data is corrupt.
///
/// # Security
/// The image and template are untrusted: memory stays bounded (about
/// 170 MiB of image chunks) whatever their contents.
pub fn check_image(
    image: &Path,
    template: &Template,
    template_path: &Path,
    jigdo: Option<&Jigdo>,
    progress: &dyn Progress,
) -> Result<CheckReport> {
    let io = |action| {
        move |source| Error::Io {
            action,
            path: image.to_path_buf(),
            source,
        }
    };
    let mut file = File::open(image).map_err(io("opening"))?;
    let stat_len = file.metadata().map_err(io("reading"))?.len();
    let template_file = File::open(template_path).map_err(|source| Error::Io {
        action: "opening",
        path: template_path.to_path_buf(),
        source,
    })?;

    let mut wanted = vec![(SumSource::Template, template.image_digest())];
    wanted.extend(jigdo_sums(jigdo).into_iter().map(|d| (SumSource::Jigdo, d)));
    let algorithms: BTreeSet<Algorithm> = wanted.iter().map(|(_, d)| d.algorithm()).collect();
    let files: Vec<(Span, Digest)> = template
        .files()
        .map(|(item, digest)| {
            let span = Span {
                offset: item.offset,
                len: item.len,
                algorithm: digest.algorithm(),
            };
            (span, digest)
        })
        .collect();
    let spans: Vec<Span> = files.iter().map(|(span, _)| *span).collect();
    let unmatched: Vec<(u64, u64)> = template
        .items()
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Unmatched { .. }))
        .map(|i| (i.offset, i.len))
        .collect();
    progress.start(stat_len);

    let mut fanout = Fanout::new();
    let (read_len, digests, file_digests, bad_data) = std::thread::scope(|s| {
        let hashers: Vec<_> = algorithms
            .iter()
            .map(|&a| {
                let window = fanout.subscribe(HASHER_QUEUE);
                s.spawn(move || hash_whole(a, window))
            })
            .collect();
        let files_window = fanout.subscribe(SIDE_QUEUE);
        let spans = &spans;
        let files = s.spawn(move || hash_spans(spans, stat_len, files_window));
        let data_window = fanout.subscribe(SIDE_QUEUE);
        let unmatched = &unmatched;
        let data = s.spawn(move || {
            data::compare(template_file, template, unmatched, stat_len, data_window)
        });
        let read = fanout.run(&mut file, &mut |n| progress.advance(n));
        let digests: Vec<Digest> = hashers
            .into_iter()
            .map(|h| {
                h.join()
                    .ok()
                    .flatten()
                    .ok_or(Error::WorkerGone("an image hasher"))
            })
            .collect::<Result<_>>()?;
        let file_digests = files
            .join()
            .map_err(|_| Error::WorkerGone("the file checker"))?;
        let bad_data = data
            .join()
            .map_err(|_| Error::WorkerGone("the template data checker"))?
            .map_err(|source| Error::Template {
                path: template_path.to_path_buf(),
                source,
            })?;
        Ok::<_, Error>((
            read.map_err(io("reading"))?,
            digests,
            file_digests,
            bad_data,
        ))
    })?;

    let by_algorithm: HashMap<Algorithm, Digest> =
        algorithms.iter().copied().zip(digests).collect();
    let sums = wanted
        .into_iter()
        .filter_map(|(source, expected)| {
            let actual = *by_algorithm.get(&expected.algorithm())?;
            Some(SumCheck {
                source,
                expected,
                actual,
            })
        })
        .collect();
    // files wholly past a short image's end are counted, not listed one by one
    let files_past_end = files
        .iter()
        .filter(|(span, _)| span.offset >= read_len)
        .count();
    let mut bad_files: Vec<BadFile> = files
        .iter()
        .zip(&file_digests)
        .filter(|((span, _), _)| span.offset < read_len)
        .filter(|((_, expected), actual)| actual.as_ref() != Some(expected))
        .map(|((span, expected), actual)| BadFile {
            offset: span.offset,
            len: span.len,
            expected: *expected,
            actual: *actual,
            names: Vec::new(),
        })
        .collect();
    name_files(&mut bad_files, jigdo);
    Ok(CheckReport {
        image_len: read_len,
        expected_len: template.image_len(),
        jigdo_len: jigdo_len(jigdo),
        sums,
        files: spans.len(),
        bad_files,
        files_past_end,
        bad_data,
    })
}

/// The `# Image Hex …Sum` comments of the `.jigdo` that parse.
fn jigdo_sums(jigdo: Option<&Jigdo>) -> Vec<Digest> {
    let Some(image) = jigdo.and_then(|j| j.image.as_ref()) else {
        return Vec::new();
    };
    Algorithm::ALL
        .iter()
        .filter_map(|&a| {
            let key = format!("Image Hex {}Sum", a.jigdo_name());
            Digest::from_hex(a, image.comment_value(&key)?).ok()
        })
        .collect()
}

/// The `.jigdo`'s `# Image size N bytes`, if it says.
fn jigdo_len(jigdo: Option<&Jigdo>) -> Option<u64> {
    let value = jigdo?.image.as_ref()?.comment_value("Image size")?;
    value.strip_suffix("bytes")?.trim().parse().ok()
}

/// Fills in the `.jigdo` [Parts] names of each bad file.
fn name_files(bad: &mut [BadFile], jigdo: Option<&Jigdo>) {
    let Some(jigdo) = jigdo else { return };
    if bad.is_empty() {
        return;
    }
    let mut names: HashMap<Digest, Vec<String>> = HashMap::new();
    for part in &jigdo.parts {
        if let Some(first) = part.locations().into_iter().next() {
            names.entry(part.digest).or_default().push(first);
        }
    }
    for b in bad {
        b.names = names.get(&b.expected).cloned().unwrap_or_default();
    }
}

#[cfg(test)]
mod tests;
