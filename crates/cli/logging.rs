//! Log output for the long-running commands (serve, mount): tracing events
//! on stderr, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; `json` writes one JSON object per line.
pub fn init(json: bool) {
    init_at(json, "info");
}

/// As [`init`], showing events from `default_level` up unless `RUST_LOG` says otherwise.
pub fn init_at(json: bool, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // Only fails when a subscriber is already set, which is then kept.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
