//! jigdo-file's `--report` levels: what goes to stderr, what is kept quiet.
//!
//! jigsmith draws no `x% done` progress lines (jigdo-file redraws them with
//! carriage returns on stderr even when it is not a terminal), so `default`
//! prints what `noprogress` prints, plus the few lines jigdo-file shows only
//! at its default level.

use std::io::Write;

use super::args::Report;

pub struct Reporter {
    /// argv[0]'s name, as jigdo-file puts it in front of errors.
    pub bin: String,
    pub mode: Report,
}

impl Reporter {
    /// A status line; `quiet` keeps it back.
    pub fn info(&self, msg: &str) {
        if self.mode != Report::Quiet {
            eprintln!("{msg}");
        }
    }

    /// A line jigdo-file prints only at `--report=default`.
    pub fn default_only(&self, msg: &str) {
        if self.mode == Report::Default {
            eprintln!("{msg}");
        }
    }

    /// An error line, printed at every level.
    pub fn error(&self, msg: &str) {
        eprintln!("{msg}");
    }

    /// `BIN: Could not open `NAME' for input: REASON`; jigdo-file exits 3 after it.
    pub fn cannot_open(&self, name: &str, e: &std::io::Error) -> u8 {
        self.error(&format!(
            "{}: Could not open `{name}' for input: {}",
            self.bin,
            strerror(e)
        ));
        3
    }

    /// `BIN: Output file `NAME' already exists - delete it or use --force`.
    pub fn exists(&self, name: &str) {
        self.error(&format!(
            "{}: Output file `{name}' already exists - delete it or use --force",
            self.bin
        ));
    }
}

pub use crate::exit::strerror;

/// Writes stdout lines, ending quietly when the reader has gone (`| head`).
pub fn print_line(out: &mut dyn Write, line: &str) -> std::io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}
