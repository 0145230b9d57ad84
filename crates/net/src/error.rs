/// Why a download or a mirror setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Building the HTTP client failed (a bad CA certificate, TLS setup).
    #[error("setting up the HTTP client: {why}")]
    Client {
        /// What went wrong.
        why: String,
    },
    /// An `s3://` mirror that cannot be used.
    #[error("object store {url}: {why}")]
    ObjectStore {
        /// The mirror as given.
        url: String,
        /// Why.
        why: String,
    },
    /// Reading a CA certificate file failed.
    #[error("reading CA certificate {path}")]
    CaCert {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A URL that cannot be used.
    #[error("bad URL {url:?}: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        why: &'static str,
    },
    /// A `[Parts]` location or `Filename=` refused as hostile.
    #[error("refused part location {location:?}: {why}")]
    BadLocation {
        /// The location.
        location: String,
        /// Why.
        why: &'static str,
    },
    /// `[Servers]` labels that refer to each other in a circle.
    #[error("[Servers] label {label:?} refers back to itself")]
    LabelLoop {
        /// A label on the loop.
        label: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A transport error: connecting, TLS, a redirect refused, a reset.
    #[error("{url}: {why}")]
    Transport {
        /// The URL.
        url: String,
        /// reqwest's description, causes included.
        why: String,
        /// Whether it was a timeout or a connection problem worth retrying.
        transient: bool,
    },
    /// No byte arrived within the read timeout.
    #[error("{url}: no data for {secs} s")]
    Timeout {
        /// The URL.
        url: String,
        /// The read timeout.
        secs: u64,
    },
    /// The body ended before the expected length.
    #[error("{url}: body ended after {got} of {want} bytes")]
    ShortBody {
        /// The URL.
        url: String,
        /// Bytes received.
        got: u64,
        /// Bytes expected.
        want: u64,
    },
    /// The server sent (or announced) more bytes than the part has.
    #[error("{url}: more than the expected {want} bytes")]
    TooLong {
        /// The URL.
        url: String,
        /// Bytes expected.
        want: u64,
    },
    /// The downloaded bytes have another checksum: a stale or corrupt mirror.
    #[error("{url}: checksum is {actual}, expected {expected}")]
    Checksum {
        /// The URL.
        url: String,
        /// Expected digest (hex).
        expected: String,
        /// Actual digest (hex).
        actual: String,
    },
    /// Writing the downloaded bytes failed (disk full, ...).
    #[error("writing {what}")]
    Write {
        /// What was written.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No mirror knows the part.
    #[error("no mirror URL for this part")]
    NoUrl,
    /// Every mirror failed; each attempt is listed.
    #[error("all mirrors failed: {}", .tries.join("; "))]
    AllFailed {
        /// One line per failed attempt.
        tries: Vec<String>,
    },
}

impl Error {
    /// Whether trying the same URL again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Error::Transport { transient, .. } => *transient,
            Error::Timeout { .. } | Error::ShortBody { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn transport(url: &str, e: &reqwest::Error) -> Error {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            why.push_str(": ");
            why.push_str(&s.to_string());
            source = s.source();
        }
        Error::Transport {
            url: url.to_string(),
            why,
            transient: (e.is_timeout()
                || e.is_connect()
                || e.is_request()
                || e.is_body()
                || e.is_decode())
                && !e.is_redirect(),
        }
    }
}
