//! `jigsmith serve`: every image of a [`Catalog`] downloadable over HTTP,
//! its bytes built on request.
//!
//! hyper speaks HTTP/1.1 (keep-alive) and HTTP/2 (prior knowledge) on the
//! same port; this crate adds what a download server needs on top: ranges
//! and `multipart/byteranges`, conditional requests, index pages in HTML
//! and JSON, and bounds against hostile clients (a connection cap, a
//! header timeout, an idle timeout that also catches clients that stop
//! reading, size limits on heads). Image bytes come from the catalog's
//! shared [`Image`](jigsmith_assemble::Image)s, read on tokio's blocking
//! pool; nothing here assembles images itself.
//!
//! Never a wrong byte: the source files a range needs are checked before
//! the status line (a 503 if one is missing or corrupt), and any later
//! failure cuts the transfer short rather than send bad data.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use jigsmith_catalog::{CatalogConfig, Shared};
//! use jigsmith_server::{Server, ServerConfig};
//!
//! let shared = Shared::new(CatalogConfig::new("/srv/cdimage"))?;
//! let server = Server::bind(ServerConfig::default(), shared).await?;
//! server.run(jigsmith_server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod conditional;
mod content;
mod handler;
mod idle;
mod index;
mod path;
mod range;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use jigsmith_catalog::{Catalog, Shared};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

pub use range::MAX_PARTS;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A listen address could not be bound.
    #[error("listening on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No listen address was given.
    #[error("no address to listen on")]
    NoListener,
    /// The initial scan of ROOT did not finish.
    #[error("scanning the catalog: {0}")]
    Scan(String),
}

/// How the server listens and what it tolerates.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Addresses to listen on (IPv4 and IPv6).
    pub listen: Vec<SocketAddr>,
    /// Open connections at most; more are closed as soon as accepted.
    pub max_connections: usize,
    /// How long a client may take to send a request head.
    pub header_timeout: Duration,
    /// A connection where nothing moves either way for this long is closed
    /// (idle keep-alive, or a client that stopped reading).
    pub idle_timeout: Duration,
    /// On shutdown, how long in-flight requests may take to finish.
    pub shutdown_grace: Duration,
    /// Rescan ROOT this often (new, changed and removed `.jigdo` files);
    /// `None`: only on SIGHUP.
    pub rescan_interval: Option<Duration>,
    /// Largest request head, in bytes.
    pub max_header_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8080))],
            max_connections: 1024,
            header_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            rescan_interval: Some(Duration::from_secs(30)),
            max_header_bytes: 16 << 10,
        }
    }
}

/// What every connection shares: the catalog and its current snapshot.
pub(crate) struct State {
    shared: Shared,
    catalog: RwLock<Arc<Catalog>>,
}

impl State {
    fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Walks ROOT again, keeping unchanged images; blocking.
    fn rescan(&self) {
        let previous = self.catalog();
        let next = Catalog::scan(&self.shared, Some(&previous));
        let (before, after) = (previous.len(), next.len());
        *self.catalog.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        if before != after {
            tracing::info!("catalog rescanned: {after} images (was {before})");
        }
    }
}

/// A bound server, not yet accepting.
pub struct Server {
    state: Arc<State>,
    listeners: Vec<TcpListener>,
    config: ServerConfig,
}

impl Server {
    /// Scans ROOT and binds every listen address.
    ///
    /// # Errors
    /// [`Error::Bind`] when an address is taken or not allowed,
    /// [`Error::NoListener`] when there is none.
    pub async fn bind(config: ServerConfig, shared: Shared) -> Result<Server, Error> {
        if config.listen.is_empty() {
            return Err(Error::NoListener);
        }
        let mut listeners = Vec::with_capacity(config.listen.len());
        for addr in &config.listen {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Bind {
                    addr: *addr,
                    source,
                })?;
            listeners.push(listener);
        }
        let mut server = Server::unbound(config, shared).await?;
        server.listeners = listeners;
        Ok(server)
    }

    /// Scans ROOT but listens nowhere: connections come from
    /// [`Server::serve_stream`] (tests, fuzzing, socket activation).
    ///
    /// # Errors
    /// [`Error::Scan`] if the scan could not run.
    pub async fn unbound(config: ServerConfig, shared: Shared) -> Result<Server, Error> {
        let state = tokio::task::spawn_blocking(move || {
            let catalog = Catalog::scan(&shared, None);
            State {
                shared,
                catalog: RwLock::new(Arc::new(catalog)),
            }
        })
        .await
        .map_err(|e| Error::Scan(e.to_string()))?;
        Ok(Server {
            state: Arc::new(state),
            listeners: Vec::new(),
            config,
        })
    }

    /// Serves one connection, already accepted, until it ends; `peer` is
    /// what the access log names.
    pub async fn serve_stream<S>(&self, stream: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let builder = connection_builder(&self.config);
        let io = TokioIo::new(idle::IdleTimeout::new(stream, self.config.idle_timeout));
        let state = Arc::clone(&self.state);
        let service = service_fn(move |req| handler::handle(Arc::clone(&state), req, peer));
        if let Err(e) = builder.serve_connection(io, service).await {
            tracing::debug!(%peer, "connection ended: {e}");
        }
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// How many images the catalog publishes now.
    pub fn images(&self) -> usize {
        self.state.catalog().len()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish for up to
    /// [`ServerConfig::shutdown_grace`]. ROOT is rescanned on SIGHUP and
    /// every [`ServerConfig::rescan_interval`].
    ///
    /// # Errors
    /// None today; the signature leaves room for fatal listener errors.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Server {
            state,
            listeners,
            config,
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let graceful = Arc::new(GracefulShutdown::new());
        let limit = Arc::new(Semaphore::new(config.max_connections));
        let builder = Arc::new(connection_builder(&config));

        let rescans = tokio::spawn(rescan_loop(
            Arc::clone(&state),
            config.rescan_interval,
            stop_rx.clone(),
        ));
        let mut accepts = Vec::new();
        for listener in listeners {
            accepts.push(tokio::spawn(accept_loop(Accept {
                listener,
                state: Arc::clone(&state),
                builder: Arc::clone(&builder),
                graceful: Arc::clone(&graceful),
                limit: Arc::clone(&limit),
                idle_timeout: config.idle_timeout,
                stop: stop_rx.clone(),
            })));
        }

        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing requests");
        let _ = stop_tx.send(true);
        for a in accepts {
            let _ = a.await;
        }
        let _ = rescans.await;
        let Ok(graceful) = Arc::try_unwrap(graceful) else {
            return Ok(());
        };
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(config.shutdown_grace) => {
                tracing::warn!("connections still open after {} s; closing them", config.shutdown_grace.as_secs());
            }
        }
        Ok(())
    }
}

fn connection_builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(4 << 20)
        .max_send_buf_size(1 << 20);
    builder
}

struct Accept {
    listener: TcpListener,
    state: Arc<State>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    graceful: Arc<GracefulShutdown>,
    limit: Arc<Semaphore>,
    idle_timeout: Duration,
    stop: watch::Receiver<bool>,
}

async fn accept_loop(mut a: Accept) {
    loop {
        let accepted = tokio::select! {
            _ = a.stop.wait_for(|stop| *stop) => return,
            accepted = a.listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors or similar: back off, do not spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&a.limit).try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: the connection cap is reached");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(idle::IdleTimeout::new(stream, a.idle_timeout));
        let state = Arc::clone(&a.state);
        let service = service_fn(move |req| handler::handle(Arc::clone(&state), req, peer));
        let builder = Arc::clone(&a.builder);
        let watcher = a.graceful.watcher();
        tokio::spawn(async move {
            let conn = builder.serve_connection(io, service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(permit);
        });
    }
}

async fn rescan_loop(state: Arc<State>, every: Option<Duration>, mut stop: watch::Receiver<bool>) {
    let mut hangup = hangup_signal();
    loop {
        let tick = async {
            match every {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            () = tick => {}
            () = next_hangup(&mut hangup) => tracing::info!("SIGHUP: rescanning"),
        }
        let state = Arc::clone(&state);
        if let Err(e) = tokio::task::spawn_blocking(move || state.rescan()).await {
            tracing::error!("rescan failed: {e}");
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

fn hangup_signal() -> Hangup {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::hangup()).ok()
    }
    #[cfg(not(unix))]
    None
}

async fn next_hangup(hangup: &mut Hangup) {
    #[cfg(unix)]
    if let Some(s) = hangup {
        if s.recv().await.is_some() {
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Completes on SIGINT or SIGTERM: the usual way to stop a server.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
