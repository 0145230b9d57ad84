//! `jigsmith make-template`: find known files in an existing image and write
//! its .jigdo and .template (what `jigdo-file make-template` does).

use std::collections::HashSet;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use jigsmith_checksum::Algorithm;
use jigsmith_format::{Compression, ImageSection, Jigdo, PartEntry};
use jigsmith_scan::{location_for, Candidate, Scanner};

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
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// More candidate files or directories (walked recursively).
    files: Vec<PathBuf>,
}

pub fn run(a: MakeTemplateArgs) -> anyhow::Result<ExitCode> {
    let algorithm = if a.sha256 {
        Algorithm::Sha256
    } else {
        Algorithm::Md5
    };
    let compression = match (a.compress, a.bzip2) {
        (Some(c), _) => c,
        (None, true) => Compression::Bzip2,
        (None, false) => Compression::Zlib,
    };
    super::mkisofs::warn_if_not_classic(compression);
    let mut scanner = Scanner::builder()
        .algorithm(algorithm)
        .compression(compression)
        .level(a.level)
        .min_size(a.min_size)
        .image_checksums(Algorithm::ALL)
        .build()?;
    for list in &a.checksum_list {
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
            scanner.add_candidate(Candidate::new(path, size).with_known(e.digest));
        }
    }
    for p in &a.files {
        for (path, size) in regular_files(p)? {
            scanner.add_candidate(Candidate::new(path, size));
        }
    }

    let mut template = AtomicFile::create(&a.template)?;
    let bar = Bar::new(a.quiet);
    let report = {
        let out = BufWriter::with_capacity(1 << 20, template.file());
        scanner
            .make_template(&a.image, out, &bar)
            .with_context(|| format!("making a template of {}", a.image.display()))?
    };
    bar.finish();
    for s in &report.skipped {
        eprintln!("jigsmith: warning: skipped a candidate: {}", s.error);
    }

    let mut parts = Vec::new();
    let mut seen = HashSet::new();
    for m in &report.matches {
        let Some(c) = scanner.candidates().get(m.candidate) else {
            continue;
        };
        let name = location_for(&c.path, &a.map).unwrap_or_else(|| c.path.display().to_string());
        if seen.insert((m.digest, name.clone())) {
            parts.push(PartEntry::new(m.digest, &name));
        }
    }
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
    let sha = a.sha256;
    let jigdo = Jigdo {
        version: if sha { "2.0" } else { "1.1" }.into(),
        generator: Some(concat!("jigsmith-", env!("CARGO_PKG_VERSION")).into()),
        image: Some(ImageSection {
            filename: file_name(&a.image),
            template: file_name(&a.template),
            template_md5: (!sha).then_some(report.template.template_md5),
            template_sha256: sha.then_some(report.template.template_sha256),
            comments,
            ..ImageSection::default()
        }),
        parts,
        ..Jigdo::default()
    };
    let jigdo_file = output::write_jigdo(&a.jigdo, &jigdo)?;
    template.commit()?;
    jigdo_file.commit()?;
    if !a.quiet {
        eprintln!(
            "jigsmith: {} of {} bytes matched in {} files; template {} bytes",
            report.matched_bytes(),
            report.image_len,
            report.matches.len(),
            report.template.template_len
        );
    }
    Ok(ExitCode::SUCCESS)
}
