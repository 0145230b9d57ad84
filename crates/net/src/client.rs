//! The HTTP client: one connection pool for every download, redirects
//! capped and never from https to http, bodies bounded.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderValue, RANGE};
use reqwest::{redirect, StatusCode, Url};

use crate::{Error, Result};

/// How the client behaves; [`ClientConfig::default`] suits public mirrors.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time allowed for the TCP and TLS handshakes.
    pub connect_timeout: Duration,
    /// Time allowed between two pieces of a response (headers or body).
    pub read_timeout: Duration,
    /// Redirects followed per request.
    pub max_redirects: usize,
    /// Extra CA certificates (PEM) trusted besides the system's.
    pub ca_certs: Vec<PathBuf>,
    /// Rounds of retries over all mirrors after the first round failed
    /// with transient errors.
    pub retries: u32,
    /// Wait before the first retry round; doubled each round.
    pub backoff: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Pipeline requests (two in flight per connection) to plain-http
    /// mirrors in [`crate::Fetcher::fetch_many`].
    pub pipeline: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            max_redirects: 5,
            ca_certs: Vec::new(),
            retries: 2,
            backoff: Duration::from_millis(500),
            user_agent: concat!("jigsmith/", env!("CARGO_PKG_VERSION")).to_string(),
            pipeline: true,
        }
    }
}

/// An HTTP(S) client shared by all downloads (cheap to clone).
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    config: ClientConfig,
}

impl Client {
    /// A client with `config`. Proxies come from `http_proxy`,
    /// `https_proxy`, `all_proxy` and `no_proxy`.
    ///
    /// # Errors
    /// [`Error::CaCert`] for an unreadable certificate file,
    /// [`Error::Client`] for a bad certificate or TLS setup.
    pub fn new(config: ClientConfig) -> Result<Client> {
        let max = config.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            let downgrade = attempt
                .previous()
                .last()
                .is_some_and(|p| p.scheme() == "https")
                && attempt.url().scheme() != "https";
            if downgrade {
                attempt.error("redirect from https to a non-https URL refused")
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                attempt.error("redirect to a non-http(s) URL refused")
            } else if attempt.previous().len() > max {
                attempt.error(format!("more than {max} redirects"))
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .redirect(policy)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .user_agent(config.user_agent.clone());
        for path in &config.ca_certs {
            let pem = std::fs::read(path).map_err(|source| Error::CaCert {
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Client {
                why: format!("{}: {e}", path.display()),
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let inner = builder
            .build()
            .map_err(|e| Error::Client { why: e.to_string() })?;
        Ok(Client { inner, config })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// GETs a whole body of at most `limit` bytes (a `.jigdo` file).
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Transport`], [`Error::Timeout`],
    /// [`Error::TooLong`] past `limit`.
    pub async fn get_bytes(&self, url: &Url, limit: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.stream(url, 0, None, limit, &mut |_, data| {
            out.extend_from_slice(data);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// GETs `url` from byte `from` on and hands each piece to `sink` with
    /// its offset in the resource. With `len`, the resource must be exactly
    /// `len` bytes long: more is cut off as [`Error::TooLong`], less is
    /// [`Error::ShortBody`]. Without it, at most `limit` bytes are taken.
    ///
    /// Returns the offset the body started at: `from` when the server
    /// honoured the range, 0 when it sent the whole resource.
    ///
    /// # Errors
    /// As [`Client::get_bytes`]; [`Error::Write`] when `sink` fails.
    pub async fn stream(
        &self,
        url: &Url,
        from: u64,
        len: Option<u64>,
        limit: u64,
        sink: &mut (dyn FnMut(u64, &[u8]) -> std::io::Result<()> + Send),
    ) -> Result<u64> {
        let name = url.as_str();
        let mut req = self.inner.get(url.clone());
        if from > 0 {
            let range =
                HeaderValue::from_str(&format!("bytes={from}-")).map_err(|_| Error::BadUrl {
                    url: name.into(),
                    why: "bad range",
                })?;
            req = req.header(RANGE, range);
        }
        let mut resp = req.send().await.map_err(|e| Error::transport(name, &e))?;
        let status = resp.status();
        let start = match status {
            StatusCode::PARTIAL_CONTENT if from > 0 => from,
            StatusCode::OK => 0,
            s => {
                return Err(Error::Status {
                    url: name.into(),
                    status: s.as_u16(),
                })
            }
        };
        let end = len.unwrap_or(limit);
        if let (Some(want), Some(announced)) = (len, resp.content_length()) {
            if start.checked_add(announced) != Some(want) {
                return Err(if start + announced > want {
                    Error::TooLong {
                        url: name.into(),
                        want,
                    }
                } else {
                    Error::ShortBody {
                        url: name.into(),
                        got: start + announced,
                        want,
                    }
                });
            }
        }
        let mut at = start;
        loop {
            let chunk = tokio::time::timeout(self.config.read_timeout, resp.chunk())
                .await
                .map_err(|_| Error::Timeout {
                    url: name.into(),
                    secs: self.config.read_timeout.as_secs(),
                })?
                .map_err(|e| Error::transport(name, &e))?;
            let Some(chunk) = chunk else { break };
            let next = at + chunk.len() as u64;
            if next > end {
                return Err(Error::TooLong {
                    url: name.into(),
                    want: end,
                });
            }
            sink(at, &chunk).map_err(|source| Error::Write {
                what: name.into(),
                source,
            })?;
            at = next;
        }
        if let Some(want) = len {
            if at != want {
                return Err(Error::ShortBody {
                    url: name.into(),
                    got: at,
                    want,
                });
            }
        }
        Ok(start)
    }
}
