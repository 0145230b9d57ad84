//! `jigsmith make-image`: the native rebuild command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::image_job::{self, Inputs, Job};
use crate::progress::Bar;

#[derive(Debug, Args)]
pub struct MakeImageArgs {
    /// The .jigdo file (gzipped or plain); names the template and the parts.
    #[arg(short, long)]
    jigdo: Option<PathBuf>,
    /// The .template file (default: the one the .jigdo names, next to it).
    #[arg(short, long)]
    template: Option<PathBuf>,
    /// Where a [Parts] label's files are: LABEL=DIR, e.g. Debian=/srv/mirror/debian.
    #[arg(short, long, value_name = "LABEL=DIR", value_parser = image_job::parse_map)]
    map: Vec<(String, PathBuf)>,
    /// A checksum list (jigdo-gen-checksum-list format or md5sum/sha256sum output).
    #[arg(short = 'f', long, value_name = "FILE")]
    checksum_list: Vec<PathBuf>,
    /// An HTTP(S) mirror or an s3://bucket/prefix object store for a [Parts]
    /// label, for parts no local source has: LABEL=URL (repeatable; the
    /// .jigdo's [Servers] follow).
    #[arg(long, value_name = "LABEL=URL", value_parser = super::get::parse_mirror)]
    mirror: Vec<(String, String)>,
    /// Where parts fetched from mirrors are kept (default:
    /// ~/.cache/jigsmith/parts).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Output file, written atomically ('-' or absent: stdout).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Only bytes START-END of the image (both inclusive; END may be omitted).
    #[arg(long, value_name = "START-END", value_parser = parse_range)]
    range: Option<(u64, Option<u64>)>,
    /// List the missing files into FILE ('-': stdout) and build nothing.
    #[arg(long, value_name = "FILE")]
    missing: Option<PathBuf>,
    /// Print the image size and exit.
    #[arg(long)]
    size: bool,
    /// Skip checksum checks of files and image (fast, and can be wrong).
    #[arg(long)]
    no_verify: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_range(s: &str) -> Result<(u64, Option<u64>), String> {
    let (a, b) = s.split_once('-').ok_or("expected START-END, e.g. 0-1023")?;
    let start = a
        .trim()
        .parse()
        .map_err(|_| format!("bad range start {a:?}"))?;
    let end = match b.trim() {
        "" => None,
        b => Some(b.parse().map_err(|_| format!("bad range end {b:?}"))?),
    };
    Ok((start, end))
}

pub fn run(a: MakeImageArgs) -> anyhow::Result<ExitCode> {
    // mirrors report each refused download (404, bad checksum) as a warning
    crate::logging::init_at(false, "warn");
    let inputs = Inputs {
        jigdo: a.jigdo,
        template: a.template,
        maps: a.map,
        lists: a.checksum_list,
        mirrors: a.mirror,
        cache: a.cache,
    };
    let job = if a.size {
        Job::Size
    } else if let Some(list) = a.missing {
        Job::Missing { list: Some(list) }
    } else {
        Job::Build {
            output: a.output,
            range: a.range,
            verify: !a.no_verify,
        }
    };
    let bar = Bar::new(a.quiet);
    let done = image_job::run(&inputs, job, &bar);
    bar.finish();
    let done = done?;
    if let (Some(line), false) = (&done.summary, a.quiet) {
        eprintln!("{line}");
    }
    Ok(done.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("5-9"), Ok((5, Some(9))));
        assert_eq!(parse_range("5-"), Ok((5, None)));
        assert!(parse_range("x-9").is_err());
        assert!(parse_range("59").is_err());
    }
}
