//! `jigsmith serve`: publish every image of a tree of .jigdo files over HTTP.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use jigsmith_catalog::{CatalogConfig, Shared};
use jigsmith_server::{Server, ServerConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A directory tree of .jigdo files (with their templates beside them),
    /// or one .jigdo file.
    root: PathBuf,
    /// Address to listen on, ADDR:PORT (IPv6 as [::1]:8080); repeatable.
    #[arg(short, long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: Vec<SocketAddr>,
    #[command(flatten)]
    sources: super::source_args::SourceArgs,
    /// Open connections at most; more are closed on accept.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Close connections where nothing moves for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    idle_timeout: u64,
    /// Close connections that take longer than this to send a request head.
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    header_timeout: u64,
    /// On SIGTERM/SIGINT, let running requests finish for up to SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    shutdown_grace: u64,
    /// Rescan ROOT for new, changed and removed .jigdo files every SECS
    /// seconds (0: only on SIGHUP).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    rescan: u64,
    /// Memory for decompressed template data shared by all images, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    cache_size: u64,
    /// Log one JSON object per line (access log included) instead of text.
    #[arg(long)]
    log_json: bool,
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.to_socket_addrs()
        .map_err(|e| format!("{s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::logging::init(a.log_json);
    let config = CatalogConfig {
        root: a.root.clone(),
        maps: a.sources.map.clone(),
        lists: a.sources.checksum_list.clone(),
        data_cache_bytes: a.cache_size.saturating_mul(1 << 20),
    };
    let mut shared =
        Shared::new(config).with_context(|| format!("publishing {}", a.root.display()))?;
    a.sources.install(&mut shared)?;
    let server_config = ServerConfig {
        listen: a.listen,
        max_connections: a.max_connections.max(1),
        idle_timeout: Duration::from_secs(a.idle_timeout.max(1)),
        header_timeout: Duration::from_secs(a.header_timeout.max(1)),
        shutdown_grace: Duration::from_secs(a.shutdown_grace),
        rescan_interval: (a.rescan > 0).then(|| Duration::from_secs(a.rescan)),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Image reads run on the blocking pool; a bound keeps thousands of
        // slow clients from becoming thousands of threads.
        .max_blocking_threads(64)
        .thread_name("jigsmith-serve")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let server = Server::bind(server_config, shared).await?;
        for addr in server.local_addrs() {
            tracing::info!("serving {} images on http://{addr}/", server.images());
        }
        server.run(jigsmith_server::shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}
