//! Progress display: an indicatif bar on a terminal, log lines otherwise.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use jigsmith_assemble::Progress;

/// A bar on stderr, drawn only when stderr is a terminal.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Bar(bar)
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl jigsmith_scan::Progress for Bar {
    fn start(&self, image_len: u64) {
        self.0.set_length(image_len);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

/// jigit-mkimage's `-v` output: percentages at level 1, every item at level 2,
/// to stderr or to the `-l` log file.
pub struct LogLines {
    level: u8,
    sink: Mutex<Box<dyn Write + Send>>,
    state: Mutex<(u64, u64, u64)>,
}

impl LogLines {
    pub fn new(level: u8, sink: Box<dyn Write + Send>) -> Self {
        LogLines {
            level,
            sink: Mutex::new(sink),
            state: Mutex::new((0, 0, 0)),
        }
    }

    pub fn line(&self, text: &str) {
        if let Ok(mut s) = self.sink.lock() {
            let _ = writeln!(s, "{text}");
            let _ = s.flush();
        }
    }
}

impl Progress for LogLines {
    fn start(&self, total: u64) {
        if let Ok(mut st) = self.state.lock() {
            *st = (total, 0, 0);
        }
    }
    fn advance(&self, bytes: u64) {
        if self.level < 1 {
            return;
        }
        let report = self.state.lock().ok().and_then(|mut st| {
            st.1 += bytes;
            let pct = (st.1 * 100).checked_div(st.0).unwrap_or(100);
            (pct > st.2 || st.1 == st.0).then(|| {
                st.2 = pct;
                pct
            })
        });
        if let Some(pct) = report {
            self.line(&format!("{pct:3}% done"));
        }
    }
    fn file(&self, path: &Path, offset: u64, len: u64) {
        if self.level >= 2 {
            self.line(&format!(
                "{offset:12}: file {} ({len} bytes)",
                path.display()
            ));
        }
    }
    fn template_data(&self, offset: u64, len: u64) {
        if self.level >= 2 {
            self.line(&format!("{offset:12}: template data ({len} bytes)"));
        }
    }
}
