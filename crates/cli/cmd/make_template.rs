//! `jigsmith make-template`: find known files in an existing image and write
//! its .jigdo and .template (what `jigdo-file make-template` does).

use std::collections::HashSet;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use jigsmith_checksum::Algorithm;
use jigsmith_format::{Compression, ImageSection, Jigdo, PartEntry, ServerEntry};
use jigsmith_scan::{location_for, Candidate, ScanReport, Scanner};
use jigsmith_sumcache::{SumCache, Want};

use super::image_job::parse_map;
use crate::files::{file_name, read_checksum_list, regular_files};
use crate::output::{self, AtomicFile};
use crate::progress::Bar;

#[derive(Debug, Args)]
pub struct MakeTemplateArgs {
    /// The existing image.
    #[arg(short, long)]
    image: PathBuf,
    /// The .jigdo file to write.
    #[arg(short, long)]
    jigdo: PathBuf,
    /// The .template file to write.
    #[arg(short, long)]
    template: PathBuf,
    /// Candidate files from a checksum list (jigdo-gen-checksum-list format or md5sum output).
    #[arg(short = 'f', long, value_name = "FILE")]
    checksum_list: Vec<PathBuf>,
    /// Name files under DIR as LABEL:path in the .jigdo (e.g. Debian=/srv/mirror/debian).
    #[arg(short, long, value_name = "LABEL=DIR", value_parser = parse_map)]
    map: Vec<(String, PathBuf)>,
    /// SHA-256 (format 2.0) instead of MD5 (format 1.1).
    #[arg(long)]
    sha256: bool,
    /// Compress template data with bzip2 (as `--compress bzip2`).
    #[arg(long, conflicts_with = "compress")]
    bzip2: bool,
    /// Template data compression: gzip (default, read by every jigdo tool),
    /// bzip2, or jigsmith's own xz (smallest) and zstd (fastest to read).
    #[arg(long, value_name = "ALGORITHM")]
    compress: Option<Compression>,
    /// Compression level, 1 (fast) to 9 (small, the default).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u32).range(1..=9))]
    level: u32,
    /// Files smaller than this stay in the template.
    #[arg(long, default_value_t = 1024)]
    min_size: u64,
    /// Whole-image checksums for the .jigdo's comments (besides the
    /// template's own): any of md5, sha1, sha256, sha512. libjte writes all
    /// four; each costs a pass of CPU over the image.
    #[arg(long, value_name = "ALG,...", value_delimiter = ',', default_values = ["md5", "sha256"])]
    image_checksum: Vec<Algorithm>,
    /// Keep file checksums in this cache (created if missing), so that a
    /// second run reads no candidate file that did not change.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Scan every byte with the rolling checksum, even for an ISO 9660
    /// image whose directory says where its files are (slower; the
    /// template is the same).
    #[arg(long)]
    no_iso: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// More candidate files or directories (walked recursively).
    files: Vec<PathBuf>,
}

pub fn run(a: MakeTemplateArgs) -> anyhow::Result<ExitCode> {
    // skipped candidates are reported below, once; RUST_LOG shows the stages
    crate::logging::init_at(false, "error");
    let compression = match (a.compress, a.bzip2) {
        (Some(c), _) => c,
        (None, true) => Compression::Bzip2,
        (None, false) => Compression::Zlib,
    };
    let job = TemplateJob {
        image: a.image,
        jigdo: Some(a.jigdo),
        template: a.template,
        checksum_lists: a.checksum_list,
        files: a.files,
        maps: a.map,
        servers: Vec::new(),
        algorithm: if a.sha256 {
            Algorithm::Sha256
        } else {
            Algorithm::Md5
        },
        compression,
        level: a.level,
        min_size: a.min_size,
        image_checksums: a.image_checksum,
        cache: a.cache,
        iso_aware: !a.no_iso,
        quiet: a.quiet,
    };
    let made = make(&job)?;
    for (m, name) in made.report.matches.iter().zip(&made.names) {
        tracing::debug!(offset = m.offset, size = m.size, "matched {name}");
    }
    if !job.quiet {
        eprintln!(
            "jigsmith: {} of {} bytes matched in {} files; template {} bytes",
            made.report.matched_bytes(),
            made.report.image_len,
            made.report.matches.len(),
            made.report.template.template_len
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything `make-template` (and `jigdo-file make-template`) needs.
#[derive(Debug, Clone)]
pub struct TemplateJob {
    /// The existing image.
    pub image: PathBuf,
    /// The .jigdo file to write (`None`: the caller writes its own).
    pub jigdo: Option<PathBuf>,
    /// The .template file to write.
    pub template: PathBuf,
    /// Checksum lists naming candidate files (with their digests).
    pub checksum_lists: Vec<PathBuf>,
    /// Candidate files and directories (walked recursively).
    pub files: Vec<PathBuf>,
    /// `(label, dir)`: files under `dir` are named `label:rest` in [Parts].
    pub maps: Vec<(String, PathBuf)>,
    /// `(label, uri)` lines for the .jigdo's [Servers] section.
    pub servers: Vec<(String, String)>,
    /// MD5 (format 1.1) or SHA-256 (format 2.0).
    pub algorithm: Algorithm,
    pub compression: Compression,
    pub level: u32,
    /// Files smaller than this stay in the template.
    pub min_size: u64,
    /// Whole-image checksums for the .jigdo's comments.
    pub image_checksums: Vec<Algorithm>,
    /// Persistent checksum cache.
    pub cache: Option<PathBuf>,
    /// Read an ISO 9660 image's directory first (see `Scanner::iso_aware`).
    pub iso_aware: bool,
    /// No progress bar.
    pub quiet: bool,
}

/// What [`make`] wrote.
#[derive(Debug)]
pub struct Made {
    pub report: ScanReport,
    /// Each match's [Parts] name, in the order of `report.matches`.
    pub names: Vec<String>,
}

/// Writes the job's .template and .jigdo (both atomically, the .jigdo last).
/// The returned report and names let a caller write a .jigdo of its own.
pub fn make(job: &TemplateJob) -> anyhow::Result<Made> {
    super::mkisofs::warn_if_not_classic(job.compression);
    let mut scanner = Scanner::builder()
        .algorithm(job.algorithm)
        .compression(job.compression)
        .level(job.level)
        .min_size(job.min_size)
        .iso_aware(job.iso_aware)
        .image_checksums(job.image_checksums.iter().copied())
        .build()?;
    for c in candidates(job)? {
        scanner.add_candidate(c);
    }

    let mut template = AtomicFile::create(&job.template)?;
    let bar = Bar::new(job.quiet);
    let report = {
        let out = BufWriter::with_capacity(1 << 20, template.file());
        scanner
            .make_template(&job.image, out, &bar)
            .with_context(|| format!("making a template of {}", job.image.display()))?
    };
    bar.finish();
    for s in &report.skipped {
        eprintln!("jigsmith: warning: skipped a candidate: {}", s.error);
    }

    let names: Vec<String> = report
        .matches
        .iter()
        .map(|m| {
            scanner
                .candidates()
                .get(m.candidate)
                .map(|c| {
                    location_for(&c.path, &job.maps).unwrap_or_else(|| c.path.display().to_string())
                })
                .unwrap_or_default()
        })
        .collect();
    let jigdo_file = match &job.jigdo {
        Some(path) => Some(output::write_jigdo(path, &jigdo_of(job, &report, &names))?),
        None => None,
    };
    template.commit()?;
    if let Some(f) = jigdo_file {
        f.commit()?;
    }
    Ok(Made { report, names })
}

/// The job's candidate files: checksum-list entries with their digests, and
/// the files under `job.files` (with digests and block sums from the cache,
/// which is brought up to date on the way, when there is one).
fn candidates(job: &TemplateJob) -> anyhow::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for list in &job.checksum_lists {
        let parsed = read_checksum_list(list)?;
        for e in parsed.entries {
            let path = PathBuf::from(e.path_lossy().into_owned());
            let size = match e.size {
                Some(s) => s,
                None => match std::fs::metadata(&path) {
                    Ok(m) => m.len(),
                    Err(_) => continue,
                },
            };
            out.push(Candidate::new(path, size).with_known(e.digest));
        }
    }
    let mut walked = Vec::new();
    for p in &job.files {
        walked.extend(regular_files(p)?);
    }
    let Some(cache_path) = &job.cache else {
        out.extend(
            walked
                .into_iter()
                .map(|(path, size)| Candidate::new(path, size)),
        );
        return Ok(out);
    };
    let cache = SumCache::open(cache_path)?;
    let want = Want {
        md5: job.algorithm == Algorithm::Md5,
        sha256: job.algorithm == Algorithm::Sha256,
        blocks: true,
    };
    // only files big enough to be parts are worth hashing
    let paths: Vec<PathBuf> = walked
        .into_iter()
        .filter(|(_, size)| *size >= job.min_size)
        .map(|(path, _)| path)
        .collect();
    for (path, sums) in paths.iter().zip(cache.refresh(&paths, want)?) {
        match sums {
            Ok((stamp, sums)) => {
                let mut c = Candidate::new(path, stamp.size);
                if let Some(d) = sums.digest(job.algorithm) {
                    c = c.with_known(d);
                }
                if let Some(b) = sums.blocks {
                    c = c.with_blocks(b.head, b.tail);
                }
                out.push(c);
            }
            Err(e) => eprintln!("jigsmith: warning: skipped a candidate: {e}"),
        }
    }
    Ok(out)
}

/// The .jigdo of a template `make` wrote: one [Parts] line per distinct
/// (digest, name), the template's and the image's checksums as comments.
fn jigdo_of(job: &TemplateJob, report: &ScanReport, names: &[String]) -> Jigdo {
    let mut seen = HashSet::new();
    let parts = report
        .matches
        .iter()
        .zip(names)
        .filter(|(m, name)| seen.insert((m.digest, name.as_str())))
        .map(|(m, name)| PartEntry::new(m.digest, name))
        .collect();
    let mut comments = vec![
        format!(
            "Template Hex MD5Sum {}",
            report.template.template_md5.to_hex()
        ),
        format!(
            "Template Hex SHA256Sum {}",
            report.template.template_sha256.to_hex()
        ),
        format!("Template size {} bytes", report.template.template_len),
    ];
    for alg in Algorithm::ALL {
        if let Some(d) = report.image_checksum(alg) {
            comments.push(format!("Image Hex {}Sum {}", alg.jigdo_name(), d.to_hex()));
        }
    }
    comments.push(format!("Image size {} bytes", report.image_len));
    let sha = job.algorithm == Algorithm::Sha256;
    Jigdo {
        version: if sha { "2.0" } else { "1.1" }.into(),
        generator: Some(concat!("jigsmith-", env!("CARGO_PKG_VERSION")).into()),
        image: Some(ImageSection {
            filename: file_name(&job.image),
            template: file_name(&job.template),
            template_md5: (!sha).then_some(report.template.template_md5),
            template_sha256: sha.then_some(report.template.template_sha256),
            comments,
            ..ImageSection::default()
        }),
        parts,
        servers: job
            .servers
            .iter()
            .map(|(label, uri)| ServerEntry {
                label: label.clone(),
                raw: jigsmith_format::quote_value(uri),
            })
            .collect(),
        ..Jigdo::default()
    }
}
