//! What `get` tells the user: one indicatif bar on a terminal (bytes,
//! rate, ETA, parts), warnings, a summary; or JSON lines on stdout.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use jigsmith_format::Template;
use jigsmith_net::FetchProgress;

use crate::output::json_str;

/// How often a JSON progress line is printed.
const JSON_EVERY: Duration = Duration::from_secs(1);

pub struct Report {
    bar: ProgressBar,
    quiet: bool,
    json: bool,
    started: Instant,
    state: Mutex<State>,
    local_bytes: AtomicU64,
    local_parts: AtomicU64,
}

#[derive(Default)]
struct State {
    total_parts: u64,
    parts_done: u64,
    mirrors: BTreeMap<String, u64>,
    last_json: Option<Instant>,
}

/// Network bytes as they arrive, onto the bar.
struct BarProgress(ProgressBar);

impl FetchProgress for BarProgress {
    fn received(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn discarded(&self, bytes: u64) {
        self.0.dec(bytes);
    }
}

impl Report {
    pub fn new(quiet: bool, json: bool) -> Report {
        let bar = if quiet || json || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "[{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Report {
            bar,
            quiet,
            json,
            started: Instant::now(),
            state: Mutex::new(State::default()),
            local_bytes: AtomicU64::new(0),
            local_parts: AtomicU64::new(0),
        }
    }

    pub fn start(&self, out: &Path, template: &Template, resumed: usize) {
        let parts = template.files().count() as u64;
        if let Ok(mut s) = self.state.lock() {
            s.total_parts = parts;
            s.parts_done = resumed as u64;
        }
        self.bar.set_length(template.image_len());
        self.update_msg();
        if self.json {
            json_line(&format!(
                r#"{{"event":"start","image":{},"bytes":{},"parts":{parts},"parts_resumed":{resumed}}}"#,
                json_str(&out.display().to_string()),
                template.image_len()
            ));
        } else if resumed > 0 && !self.quiet {
            self.bar.println(format!(
                "resuming: {resumed} of {parts} parts already in place"
            ));
        }
    }

    pub fn set_done_bytes(&self, bytes: u64) {
        self.bar.set_position(bytes);
    }

    pub fn fetch_progress(&self) -> Arc<dyn FetchProgress> {
        Arc::new(BarProgress(self.bar.clone()))
    }

    /// A part copied from local disk.
    pub fn local(&self, len: u64) {
        self.local_bytes.fetch_add(len, Ordering::Relaxed);
        self.local_parts.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(len);
        self.part_done();
    }

    /// A part downloaded (its bytes are already on the bar).
    pub fn fetched(&self, mirror: &str, len: u64) {
        if let Ok(mut s) = self.state.lock() {
            *s.mirrors.entry(mirror.to_string()).or_default() += len;
        }
        self.part_done();
    }

    fn part_done(&self) {
        let json_due = self.state.lock().ok().and_then(|mut s| {
            s.parts_done += 1;
            let due = self.json && s.last_json.is_none_or(|t| t.elapsed() >= JSON_EVERY);
            due.then(|| {
                s.last_json = Some(Instant::now());
                (s.parts_done, s.total_parts)
            })
        });
        self.update_msg();
        if let Some((done, total)) = json_due {
            json_line(&format!(
                r#"{{"event":"progress","bytes_done":{},"bytes":{},"parts_done":{done},"parts":{total}}}"#,
                self.bar.position(),
                self.bar.length().unwrap_or(0)
            ));
        }
    }

    fn update_msg(&self) {
        if let Ok(s) = self.state.lock() {
            self.bar
                .set_message(format!("parts {}/{}", s.parts_done, s.total_parts));
        }
    }

    pub fn verifying(&self) {
        self.bar.set_message("checking the image");
    }

    /// A problem worth a line (not in --quiet or --json mode).
    pub fn warn(&self, text: &str) {
        if self.json {
            json_line(&format!(
                r#"{{"event":"warning","message":{}}}"#,
                json_str(text)
            ));
        } else if !self.quiet {
            self.bar.suspend(|| eprintln!("jigsmith: {text}"));
        }
    }

    /// A retried attempt: logged only.
    pub fn note(&self, text: &str) {
        tracing::info!("{text}");
    }

    pub fn finish(&self, out: &Path, ok: bool, missing: usize) {
        self.bar.finish_and_clear();
        let (mirrors, parts_done, total) = self
            .state
            .lock()
            .map(|s| (s.mirrors.clone(), s.parts_done, s.total_parts))
            .unwrap_or_default();
        let local = self.local_bytes.load(Ordering::Relaxed);
        let net: u64 = mirrors.values().sum();
        let secs = self.started.elapsed().as_secs_f64();
        if self.json {
            let per: Vec<String> = mirrors
                .iter()
                .map(|(m, b)| format!("{}:{b}", json_str(m)))
                .collect();
            json_line(&format!(
                r#"{{"event":"done","ok":{ok},"image":{},"parts_done":{parts_done},"parts":{total},"missing":{missing},"bytes_local":{local},"bytes_network":{net},"mirrors":{{{}}},"seconds":{secs:.3}}}"#,
                json_str(&out.display().to_string()),
                per.join(",")
            ));
            return;
        }
        if self.quiet {
            return;
        }
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        if ok {
            eprintln!("{}: done in {secs:.1} s", out.display());
        }
        eprintln!(
            "  from local files: {:.1} MiB ({} parts); from the network: {:.1} MiB",
            mib(local),
            self.local_parts.load(Ordering::Relaxed),
            mib(net)
        );
        for (m, b) in &mirrors {
            eprintln!("    {m}: {:.1} MiB", mib(*b));
        }
    }
}

fn json_line(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}
