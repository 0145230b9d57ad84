//! The jigdo-file personality (issue 10): `jigsmith jigdo-file CMD …` or a
//! link named `jigdo-file`, with jigdo-file 0.8's commands, options, output
//! lines and exit codes (0 done, 1 more files needed, 2 checksum mismatch,
//! 3 any other error), so that jigdo-lite and other scripts run unchanged.
//!
//! Only the argument handling and jigdo-file's text live here; the work is
//! done by the format reader/writer and the assembler.

mod args;
mod help;
mod image;
mod jigdo_text;
mod listing;
mod missing;
mod report;
mod sums;
mod template;
mod walk;

use std::ffi::OsString;
use std::process::ExitCode;

use jigsmith_checksum::Algorithm;

use args::{Command, Parsed};
use report::Reporter;

/// Runs jigdo-file with `args` (without argv[0]); `bin` is the name it was
/// called by, used in front of messages as jigdo-file does.
pub fn run(bin: &str, args: Vec<OsString>) -> ExitCode {
    let o = match args::parse(bin, args) {
        Parsed::Run(o) => o,
        Parsed::Exit(code) => return ExitCode::from(code),
    };
    let rep = Reporter {
        bin: bin.to_string(),
        mode: o.report,
    };
    let result = match o.command {
        Command::MakeImage => image::make_image(&o, &rep),
        Command::Verify => image::verify(&o, &rep),
        Command::PrintMissing => missing::run(&o, &rep, false),
        Command::PrintMissingAll => missing::run(&o, &rep, true),
        Command::ListTemplate => listing::run(&o, &rep),
        Command::Md5sum => sums::run(&o, &rep, Algorithm::Md5),
        Command::Sha256sum => sums::run(&o, &rep, Algorithm::Sha256),
        Command::MakeTemplate => template::make_template(&o, &rep),
        Command::Scan => template::scan(&o, &rep),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if crate::exit::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            rep.error(&format!("{bin}: {e:#}"));
            ExitCode::from(3)
        }
    }
}

/// `jigsmith jigdo-file ARGS`: everything after the subcommand name, as is.
#[derive(Debug, clap::Args)]
pub struct JigdoFileArgs {
    /// jigdo-file's command and options (see `jigsmith jigdo-file -h`).
    #[arg(allow_hyphen_values = true, trailing_var_arg = true, num_args = 0..)]
    args: Vec<OsString>,
}

pub fn run_args(a: JigdoFileArgs) -> anyhow::Result<ExitCode> {
    Ok(run("jigdo-file", a.args))
}
