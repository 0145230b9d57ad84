//! Parts from HTTP(S) mirrors: the only crate with TLS and async code.
//!
//! - [`Client`]: reqwest with rustls and the system's CA store (plus
//!   extra CA files), HTTP/1.1 keep-alive and HTTP/2, proxies from the
//!   environment, connect and read timeouts, redirects capped and never
//!   from https to http, bodies bounded to the expected length.
//! - [`Mirrors`]: label → ordered base URLs from `--mirror` and the
//!   `.jigdo`'s `[Servers]`; hostile part locations refused.
//! - [`fetch_part`]: one part, hashed as it arrives, failing over to the
//!   next mirror on 404, 5xx, timeouts, short bodies and wrong checksums;
//!   [`Fetcher::fetch_many`] runs many at once; [`Fetcher`] owns a runtime
//!   and offers blocking calls.
//! - [`HttpMirrors`]: a [`jigsmith_assemble::PartSource`] that downloads
//!   into a size-bounded [`PartCache`] of verified parts.
//!
//! ```no_run
//! use std::sync::Arc;
//! use jigsmith_net::{ClientConfig, Fetcher, HttpMirrors, Mirrors, PartCache};
//!
//! let jigdo = jigsmith_format::Jigdo::from_reader(std::fs::File::open("x.jigdo")?)?;
//! let fetcher = Arc::new(Fetcher::new(ClientConfig::default(), 2)?);
//! let user = [("Debian".to_string(), "http://deb.debian.org/debian/".to_string())];
//! let mirrors = Mirrors::from_jigdo(&jigdo, &user, false)?;
//! let cache = PartCache::open("cache".as_ref(), 10 << 30)?;
//! let source = HttpMirrors::new(fetcher, mirrors, &jigdo, cache);
//! # let _ = source;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Errors carry URLs and reasons; they are cold, so size does not matter.
#![allow(clippy::result_large_err)]

mod cache;
mod client;
mod error;
mod fetch;
mod mirrors;
mod object_store;
mod pipeline;
mod source;

pub use cache::PartCache;
pub use client::{Client, ClientConfig};
pub use error::Error;
pub use fetch::{fetch_part, FetchProgress, Fetched, Fetcher, FileAt, PartWriter, Task};
pub use mirrors::{Mirrors, PartUrl};
pub use object_store::{is_object_store_url, ObjectStoreMirrors};
pub use reqwest::Url;
pub use source::{HttpMirrors, MirrorStats};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
