//! `jigsmith`: argument parsing and wiring only; the work is in the crates.
//!
//! One binary, several personalities: called as `jigit-mkimage`, `jigdump`,
//! `parallel-sums`, `jigsum`, `jigsum-sha256` or `jigdo-gen-checksum-list`
//! (through a link of that name) it takes that tool's options; called as
//! `jigsmith` it offers native subcommands and the same personalities.

mod cmd;
mod exit;
mod files;
mod logging;
mod mkisofs_args;
mod output;
mod progress;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// `--version`: the release and the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("JIGSMITH_COMMIT"),
    ")"
);

/// Rebuild, inspect and checksum jigdo images, fast.
#[derive(Debug, Parser)]
#[command(name = "jigsmith", version = VERSION, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rebuild an image from .jigdo + .template + local files, verified.
    MakeImage(cmd::make_image::MakeImageArgs),
    /// Download an image from a .jigdo (URL or file): seeds, many mirrors
    /// at once, every part verified, resumable.
    Get(cmd::get::GetArgs),
    /// jigdo-lite personality (--noask, --scan DIR; never asks).
    #[command(name = "jigdo-lite")]
    JigdoLite(cmd::get::JigdoLiteArgs),
    /// Find known files in an existing image and write .jigdo + .template.
    MakeTemplate(cmd::make_template::MakeTemplateArgs),
    /// Serve every image of a tree of .jigdo files over HTTP, built on request.
    Serve(cmd::serve::ServeArgs),
    /// Mount a tree of .jigdo files (or one) as a read-only filesystem of their images.
    Mount(cmd::mount::MountArgs),
    /// Unmount what `jigsmith mount` mounted.
    Umount(cmd::mount::UmountArgs),
    /// Check an image against its template and .jigdo; name the wrong files.
    Verify(cmd::verify::VerifyArgs),
    /// Show a template's structure: version, parts, entries, image checksum.
    Inspect(cmd::inspect::InspectArgs),
    /// Checksum files with several algorithms at once, on every core.
    Sums(cmd::sums::SumsArgs),
    /// Write a checksum list for -md5-list / -checksum-list / jigit-mkimage -f.
    ChecksumList(cmd::sums::ChecksumListArgs),
    /// Write an ISO image, and with -jigdo-* options its .jigdo/.template
    /// (mkisofs/xorrisofs/genisoimage personality).
    #[command(visible_aliases = ["xorrisofs", "genisoimage"])]
    Mkisofs(cmd::mkisofs::MkisofsRawArgs),
    /// Write a shell completion script to standard output.
    Completions(cmd::docs::CompletionsArgs),
    /// Write man pages (jigsmith.1, jigsmith-SUBCOMMAND.1) into a directory.
    Manpages(cmd::docs::ManpagesArgs),
    /// jigit-mkimage personality (same options).
    #[command(name = "jigit-mkimage")]
    JigitMkimage(cmd::jigit_mkimage::JigitMkimageArgs),
    /// jigdo-file personality (make-template, make-image, print-missing, verify, md5sum …).
    #[command(
        name = "jigdo-file",
        disable_help_flag = true,
        disable_version_flag = true
    )]
    JigdoFile(cmd::jigdo_file::JigdoFileArgs),
    /// mkjigsnap personality: a snapshot tree of the files .jigdo files need.
    #[command(disable_help_flag = true)]
    Mkjigsnap(cmd::mkjigsnap::MkjigsnapRawArgs),
    /// jigdump personality.
    Jigdump(cmd::inspect::JigdumpArgs),
    /// parallel-sums personality (--md5sum FILE --sha256sum FILE ... FILES).
    ParallelSums(cmd::sums::ParallelSumsArgs),
    /// jigsum personality: MD5 in jigdo base64.
    Jigsum(cmd::sums::JigsumArgs),
    /// jigsum-sha256 personality: SHA-256 in jigdo base64.
    #[command(name = "jigsum-sha256")]
    JigsumSha256(cmd::sums::JigsumArgs),
    /// jigdo-gen-checksum-list personality.
    #[command(name = "jigdo-gen-checksum-list")]
    JigdoGenChecksumList(cmd::sums::GenChecksumListArgs),
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let stem = args
        .first()
        .and_then(|a| Path::new(a).file_stem())
        .and_then(|s| s.to_str())
        .unwrap_or("jigsmith");
    let command = match stem {
        "jigit-mkimage" => Command::JigitMkimage(parse_personality(&args)),
        "mkisofs" | "xorrisofs" | "genisoimage" => {
            return exit::report(cmd::mkisofs::run(args.into_iter().skip(1).collect()))
        }
        "jigdo-file" => {
            return cmd::jigdo_file::run("jigdo-file", args.into_iter().skip(1).collect())
        }
        "mkjigsnap" => return cmd::mkjigsnap::main(args),
        "jigdump" => Command::Jigdump(parse_personality(&args)),
        "jigdo-lite" => Command::JigdoLite(parse_personality(&args)),
        "parallel-sums" => Command::ParallelSums(parse_personality(&args)),
        "jigsum" => Command::Jigsum(parse_personality(&args)),
        "jigsum-sha256" => Command::JigsumSha256(parse_personality(&args)),
        "jigdo-gen-checksum-list" => Command::JigdoGenChecksumList(parse_personality(&args)),
        _ => Cli::parse_from(&args).command,
    };
    exit::report(run(command))
}

fn parse_personality<T: Parser>(args: &[OsString]) -> T {
    T::parse_from(args)
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::MakeImage(a) => cmd::make_image::run(a),
        Command::MakeTemplate(a) => cmd::make_template::run(a),
        Command::Get(a) => cmd::get::run(a),
        Command::JigdoLite(a) => cmd::get::run_jigdo_lite(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Mount(a) => cmd::mount::run(a),
        Command::Umount(a) => cmd::mount::run_umount(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Inspect(a) => cmd::inspect::run_inspect(a),
        Command::Sums(a) => cmd::sums::run_sums(a),
        Command::ChecksumList(a) => cmd::sums::run_checksum_list(a),
        Command::Completions(a) => cmd::docs::run_completions(a, Cli::command()),
        Command::Manpages(a) => cmd::docs::run_manpages(a, Cli::command()),
        Command::JigitMkimage(a) => cmd::jigit_mkimage::run(a),
        Command::Mkisofs(a) => cmd::mkisofs::run_raw(a),
        Command::JigdoFile(a) => cmd::jigdo_file::run_args(a),
        Command::Mkjigsnap(a) => cmd::mkjigsnap::run_raw(a),
        Command::Jigdump(a) => cmd::inspect::run_jigdump(a),
        Command::ParallelSums(a) => cmd::sums::run_parallel_sums(a),
        Command::Jigsum(a) => cmd::sums::run_jigsum(a, jigsmith_checksum::Algorithm::Md5),
        Command::JigsumSha256(a) => cmd::sums::run_jigsum(a, jigsmith_checksum::Algorithm::Sha256),
        Command::JigdoGenChecksumList(a) => cmd::sums::run_gen_checksum_list(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn personalities_parse_their_tools_options() {
        let a = cmd::jigit_mkimage::JigitMkimageArgs::try_parse_from([
            "jigit-mkimage",
            "-j",
            "x.jigdo",
            "-t",
            "x.template",
            "-m",
            "Debian=/m",
            "-m",
            "Non-US=/n",
            "-f",
            "md5.list",
            "-o",
            "x.iso",
            "-s",
            "10",
            "-e",
            "20",
            "-v",
            "-v",
            "-q",
            "-O",
        ])
        .unwrap();
        assert_eq!(a.map.len(), 2);
        assert_eq!((a.start, a.end, a.verbose), (Some(10), Some(20), 2));
        let p = cmd::sums::ParallelSumsArgs::try_parse_from([
            "parallel-sums",
            "--md5sum",
            "MD5SUMS",
            "--sha256",
            "SHA256SUMS",
            "a",
            "b",
        ])
        .unwrap();
        assert_eq!(p.files.len(), 2);
        assert!(Cli::try_parse_from([
            "jigsmith",
            "make-image",
            "--template",
            "t",
            "--range",
            "5-9"
        ])
        .is_ok());
    }
}
