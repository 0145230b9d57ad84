//! Checksum commands: `sums`, `checksum-list`, and the `parallel-sums`,
//! `jigsum`, `jigsum-sha256`, `jigdo-gen-checksum-list` personalities.
//!
//! Each file is read once; its algorithms run in parallel on each chunk and
//! files run in parallel with each other, so every core is busy.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser};
use jigsmith_checksum::{Algorithm, Digest, MultiHasher};
use jigsmith_format::ChecksumListEntry;
use rayon::prelude::*;

use crate::exit::VERIFY_FAILED;
use crate::files::regular_files;
use crate::output;

/// Bytes read per chunk; big enough that per-chunk parallelism is cheap.
const CHUNK: usize = 4 << 20;

#[derive(Debug, Args)]
pub struct SumsArgs {
    /// MD5 (the default when no algorithm is chosen).
    #[arg(long)]
    md5: bool,
    /// SHA-1.
    #[arg(long)]
    sha1: bool,
    /// SHA-256.
    #[arg(long)]
    sha256: bool,
    /// SHA-512.
    #[arg(long)]
    sha512: bool,
    /// Print jigdo's base64 form (as jigsum) instead of hex.
    #[arg(long)]
    base64: bool,
    /// Files ('-' or none: standard input).
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ChecksumListArgs {
    /// SHA-256 instead of MD5 (for -checksum-list / jigit-mkimage -F).
    #[arg(long)]
    sha256: bool,
    /// Keep paths as given instead of making them absolute.
    #[arg(long)]
    keep_literal: bool,
    /// Files and directories (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Checksum files with several algorithms in one read (jigit's parallel-sums).
#[derive(Debug, Parser)]
#[command(name = "parallel-sums", version)]
pub struct ParallelSumsArgs {
    /// Write MD5 sums to this file.
    #[arg(long = "md5sum", alias = "md5", value_name = "FILE")]
    md5: Option<PathBuf>,
    /// Write SHA-1 sums to this file.
    #[arg(long = "sha1sum", alias = "sha1", value_name = "FILE")]
    sha1: Option<PathBuf>,
    /// Write SHA-256 sums to this file.
    #[arg(long = "sha256sum", alias = "sha256", value_name = "FILE")]
    sha256: Option<PathBuf>,
    /// Write SHA-512 sums to this file.
    #[arg(long = "sha512sum", alias = "sha512", value_name = "FILE")]
    sha512: Option<PathBuf>,
    /// Files to checksum.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Checksums in jigdo's base64 form (jigit's jigsum / jigsum-sha256).
#[derive(Debug, Parser)]
#[command(name = "jigsum", version)]
pub struct JigsumArgs {
    /// Files ('-' or none: standard input).
    files: Vec<PathBuf>,
}

/// Checksum list for -md5-list / -checksum-list (jigdo-gen-checksum-list).
#[derive(Debug, Parser)]
#[command(name = "jigdo-gen-checksum-list", version)]
pub struct GenChecksumListArgs {
    /// Make paths absolute, resolving directory symlinks (the default).
    #[arg(short = 'a', long = "make-absolute")]
    make_absolute: bool,
    /// Leave paths as given.
    #[arg(short = 'l', long = "keep-literal")]
    keep_literal: bool,
    /// md5 (default) or sha256.
    #[arg(short = 'c', long = "checksum-algo", default_value = "md5")]
    algorithm: String,
    /// Files and directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Digests of one input, in the order of the algorithms asked for.
struct Sums {
    name: PathBuf,
    result: std::io::Result<(Vec<Digest>, u64)>,
}

/// Hashes every input with every algorithm, files in parallel.
fn hash_all(files: &[PathBuf], algorithms: &[Algorithm]) -> Vec<Sums> {
    files
        .par_iter()
        .map(|name| {
            let result = if name.as_os_str() == "-" {
                hash_reader(std::io::stdin().lock(), algorithms)
            } else {
                File::open(name).and_then(|f| hash_reader(f, algorithms))
            };
            Sums {
                name: name.clone(),
                result,
            }
        })
        .collect()
}

/// One read of `r`, every algorithm (in parallel per block, see [`MultiHasher`]).
fn hash_reader(r: impl Read, algorithms: &[Algorithm]) -> std::io::Result<(Vec<Digest>, u64)> {
    let mut hashers = MultiHasher::new(algorithms);
    let len = std::io::copy(&mut BufReader::with_capacity(CHUNK, r), &mut hashers)?;
    Ok((hashers.finalize(), len))
}

fn stdin_if_empty(files: Vec<PathBuf>) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files
    }
}

/// Reports failed inputs like coreutils does; true if any failed.
fn report_failures(sums: &[Sums]) -> bool {
    let mut failed = false;
    for s in sums {
        if let Err(e) = &s.result {
            eprintln!("jigsmith: {}: {e}", s.name.display());
            failed = true;
        }
    }
    failed
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(VERIFY_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes `md5sum`-style lines of algorithm number `index`.
fn write_lines(
    w: &mut dyn Write,
    sums: &[Sums],
    index: usize,
    base64: bool,
) -> std::io::Result<()> {
    for s in sums {
        if let Ok((digests, _)) = &s.result {
            if let Some(d) = digests.get(index) {
                let text = if base64 { d.to_base64() } else { d.to_hex() };
                w.write_all(text.as_bytes())?;
                w.write_all(b"  ")?;
                w.write_all(s.name.as_os_str().as_encoded_bytes())?;
                w.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

pub fn run_sums(a: SumsArgs) -> anyhow::Result<ExitCode> {
    let chosen = [
        (a.md5, Algorithm::Md5),
        (a.sha1, Algorithm::Sha1),
        (a.sha256, Algorithm::Sha256),
        (a.sha512, Algorithm::Sha512),
    ];
    let mut algorithms: Vec<Algorithm> = chosen
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, a)| *a)
        .collect();
    if algorithms.is_empty() {
        algorithms.push(Algorithm::Md5);
    }
    let sums = hash_all(&stdin_if_empty(a.files), &algorithms);
    let failed = report_failures(&sums);
    output::write_to(None, |w| {
        for i in 0..algorithms.len() {
            write_lines(w, &sums, i, a.base64)?;
        }
        Ok(())
    })?;
    Ok(exit_code(failed))
}

pub fn run_parallel_sums(a: ParallelSumsArgs) -> anyhow::Result<ExitCode> {
    let outputs: Vec<(Algorithm, PathBuf)> = [
        (Algorithm::Md5, a.md5),
        (Algorithm::Sha1, a.sha1),
        (Algorithm::Sha256, a.sha256),
        (Algorithm::Sha512, a.sha512),
    ]
    .into_iter()
    .filter_map(|(alg, out)| out.map(|o| (alg, o)))
    .collect();
    anyhow::ensure!(
        !outputs.is_empty(),
        "no checksum algorithm chosen (e.g. --md5sum MD5SUMS)"
    );
    let algorithms: Vec<Algorithm> = outputs.iter().map(|(a, _)| *a).collect();
    let sums = hash_all(&a.files, &algorithms);
    let failed = report_failures(&sums);
    for (i, (_, path)) in outputs.iter().enumerate() {
        // parallel-sums writes '-' as a file of that name, not stdout
        output::AtomicFile::create(path).and_then(|mut f| {
            let mut w = std::io::BufWriter::new(f.file());
            write_lines(&mut w, &sums, i, false)
                .with_context(|| format!("writing {}", path.display()))?;
            w.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            drop(w);
            f.commit()
        })?;
    }
    Ok(exit_code(failed))
}

pub fn run_jigsum(a: JigsumArgs, algorithm: Algorithm) -> anyhow::Result<ExitCode> {
    let sums = hash_all(&stdin_if_empty(a.files), &[algorithm]);
    let failed = report_failures(&sums);
    output::write_to(None, |w| Ok(write_lines(w, &sums, 0, true)?))?;
    Ok(exit_code(failed))
}

pub fn run_checksum_list(a: ChecksumListArgs) -> anyhow::Result<ExitCode> {
    let alg = if a.sha256 {
        Algorithm::Sha256
    } else {
        Algorithm::Md5
    };
    checksum_list(&a.paths, alg, !a.keep_literal)
}

pub fn run_gen_checksum_list(a: GenChecksumListArgs) -> anyhow::Result<ExitCode> {
    let alg: Algorithm = a.algorithm.parse()?;
    anyhow::ensure!(
        matches!(alg, Algorithm::Md5 | Algorithm::Sha256),
        "unrecognised checksum algorithm {:?}: allowed values are md5 and sha256",
        a.algorithm
    );
    checksum_list(&a.paths, alg, a.make_absolute || !a.keep_literal)
}

fn checksum_list(paths: &[PathBuf], alg: Algorithm, absolute: bool) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(regular_files(p)?.into_iter().map(|(path, _)| path));
    }
    let files: Vec<PathBuf> = if absolute {
        files
            .iter()
            .map(|f| absolute_path(f))
            .collect::<anyhow::Result<_>>()?
    } else {
        files
    };
    let sums = hash_all(&files, &[alg]);
    let failed = report_failures(&sums);
    output::write_to(None, |w| {
        for s in &sums {
            if let Ok((digests, size)) = &s.result {
                if let Some(d) = digests.first() {
                    let entry = ChecksumListEntry {
                        digest: *d,
                        size: Some(*size),
                        path: s.name.as_os_str().as_encoded_bytes().to_vec(),
                    };
                    entry.write(&mut *w)?;
                }
            }
        }
        Ok(())
    })?;
    Ok(exit_code(failed))
}

/// The physical directory (symlinks resolved) joined with the file name,
/// as jigdo-gen-checksum-list's `cd $(dirname) && pwd -P` does.
fn absolute_path(f: &Path) -> anyhow::Result<PathBuf> {
    let dir = match f.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = f
        .file_name()
        .with_context(|| format!("{} has no file name", f.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving directory {}", dir.display()))?;
    Ok(dir.join(name))
}
