//! The jigit-mkimage personality: its options, our engine.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use super::image_job::{self, Inputs, Job};
use crate::progress::LogLines;

/// Create an ISO image from jigdo files (jigit-mkimage compatible).
#[derive(Debug, Parser)]
#[command(name = "jigit-mkimage", version)]
pub struct JigitMkimageArgs {
    /// The .jigdo file.
    #[arg(short = 'j')]
    jigdo: Option<PathBuf>,
    /// The .template file.
    #[arg(short = 't')]
    template: Option<PathBuf>,
    /// MD5 checksum list.
    #[arg(short = 'f')]
    md5_list: Vec<PathBuf>,
    /// SHA-256 checksum list.
    #[arg(short = 'F')]
    sha256_list: Vec<PathBuf>,
    /// Where a label's files are: item=path, e.g. Debian=/mirror/debian.
    #[arg(short = 'm', value_parser = image_job::parse_map)]
    pub map: Vec<(String, PathBuf)>,
    /// List missing files into this file instead of building.
    #[arg(short = 'M')]
    missing: Option<PathBuf>,
    /// More output (repeat for more).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write progress/log output here instead of stderr.
    #[arg(short = 'l')]
    logfile: Option<PathBuf>,
    /// Accepted for compatibility: .jigdo files without the JigsawDownload header are always accepted.
    #[arg(short = 'O')]
    skip_header_check: bool,
    /// Output file (default: stdout).
    #[arg(short = 'o')]
    output: Option<PathBuf>,
    /// Do not verify checksums.
    #[arg(short = 'q')]
    quiet: bool,
    /// First image byte to write.
    #[arg(short = 's')]
    pub start: Option<u64>,
    /// Last image byte to write (inclusive).
    #[arg(short = 'e')]
    pub end: Option<u64>,
    /// Print the image size and exit.
    #[arg(short = 'z')]
    size: bool,
}

pub fn run(a: JigitMkimageArgs) -> anyhow::Result<ExitCode> {
    let sink: Box<dyn std::io::Write + Send> = match &a.logfile {
        Some(p) => {
            Box::new(File::create(p).with_context(|| format!("creating log file {}", p.display()))?)
        }
        None => Box::new(std::io::stderr()),
    };
    let log = LogLines::new(a.verbose, sink);
    let logs_to_file = a.logfile.is_some();
    let inputs = Inputs {
        jigdo: a.jigdo,
        template: a.template,
        maps: a.map,
        lists: a.md5_list.into_iter().chain(a.sha256_list).collect(),
        ..Inputs::default()
    };
    let job = if a.size {
        Job::Size
    } else if let Some(list) = a.missing {
        Job::Missing { list: Some(list) }
    } else {
        let range = (a.start.is_some() || a.end.is_some()).then(|| (a.start.unwrap_or(0), a.end));
        Job::Build {
            output: a.output,
            range,
            // unlike jigit-mkimage, ranges stay verified: files touched are checked in full
            verify: !a.quiet,
        }
    };
    // jigit-mkimage prints nothing on success; neither does its personality.
    let result = image_job::run(&inputs, job, &log).map(|done| done.code);
    if let (Err(e), true) = (&result, logs_to_file) {
        log.line(&format!("jigit-mkimage: {e:#}"));
    }
    result
}
