//! One request to one response: routing over the catalog, conditional and
//! range requests, index pages.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use jigsmith_catalog::{Dir, Entry, Published};
use jigsmith_checksum::Algorithm;

use crate::body::{read_chunk, Body, Content, Segment};
use crate::conditional::{self, Outcome, Validators};
use crate::content::{chain, FileContent, ImageContent};
use crate::index::{dir_url, Listing};
use crate::range::{self, Ranges};
use crate::{path, State};

/// What `Content-Type` an image is sent with.
const ISO_TYPE: &str = "application/x-iso9660-image";

/// Bytes of each requested range whose source files are checked before the
/// status line goes out. Beyond that, files are checked as the transfer
/// reaches them (and a failure cuts it short), so a whole-DVD request
/// starts at once instead of after hashing 4 GB.
const PRECHECK: u64 = 16 << 20;

/// Serves one request and writes its access log line.
pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let response = route(&state, &req).await;
    tracing::info!(
        target: "jigsmith::access",
        peer = %peer,
        method = %req.method(),
        path = req.uri().path(),
        version = ?req.version(),
        status = response.status().as_u16(),
        bytes = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0),
        range = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).unwrap_or(""),
        micros = started.elapsed().as_micros() as u64,
    );
    Ok(response)
}

async fn route(state: &State, req: &Request<Incoming>) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let target = match path::parse(req.uri().path()) {
        Ok(t) => t,
        Err(why) => {
            tracing::warn!(path = req.uri().path(), "refused: {why}");
            return text(StatusCode::BAD_REQUEST, &format!("bad path: {why}\n"));
        }
    };
    let catalog = state.catalog();
    let response = match catalog.lookup(&target.rel) {
        None => text(StatusCode::NOT_FOUND, "not found\n"),
        Some(Entry::Dir(rel)) if !target.trailing_slash && !rel.is_empty() => {
            redirect(&dir_url(&rel))
        }
        Some(Entry::Dir(rel)) => match catalog.dir(&rel) {
            Some(dir) => index(req, dir),
            None => text(StatusCode::NOT_FOUND, "not found\n"),
        },
        Some(Entry::Image(p)) => image(req, p, head).await,
        Some(Entry::Jigdo(p)) => file(req, &p.loaded.jigdo_path, "application/x-jigdo"),
        Some(Entry::Template(p)) => {
            file(req, &p.loaded.template_path, "application/x-jigdo-template")
        }
        Some(Entry::Sums(algorithm)) => {
            let parent = target.rel.rsplit_once('/').map_or("", |(d, _)| d);
            sums(catalog.dir(parent), algorithm)
        }
    };
    if head {
        // Same headers, Content-Length included; hyper sends no body.
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    response
}

async fn image(req: &Request<Incoming>, p: Arc<Published>, head: bool) -> Response<Body> {
    let validators = Validators::new(
        Some(format!("\"{}\"", p.template_digest().to_hex())),
        Some(p.modified),
    );
    let content: Arc<dyn Content> = Arc::new(ImageContent(Arc::clone(&p)));
    let plan = match plan(req, content.len(), &validators) {
        Ok(plan) => plan,
        Err(response) => return with_validators(*response, &validators),
    };
    if head {
        return with_validators(plan.respond(content, ISO_TYPE, None), &validators);
    }
    // One trip to the blocking pool checks the files the ranges start with
    // and reads the first chunk, so a small range costs one hand-off.
    let spans: Vec<Range<u64>> = plan.spans().collect();
    let reader = Arc::clone(&content);
    let image = Arc::clone(&p);
    let prepared = tokio::task::spawn_blocking(move || {
        for r in &spans {
            let len = (r.end - r.start).min(PRECHECK);
            image
                .image
                .check_range(r.start, len)
                .map_err(|e| chain(&e))?;
        }
        let Some(first) = spans.first() else {
            return Ok(None);
        };
        read_chunk(&*reader, first.start, first.end)
            .map(Some)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(format!("internal error: {e}")));
    match prepared {
        Ok(first) => with_validators(plan.respond(content, ISO_TYPE, first), &validators),
        Err(why) => {
            tracing::warn!(image = %p.name, "cannot serve: {why}");
            let mut r = text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("{} cannot be built right now: {why}\n", p.name),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("300"));
            r
        }
    }
}

fn file(req: &Request<Incoming>, path: &Path, content_type: &'static str) -> Response<Body> {
    let content = match FileContent::open(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(file = %path.display(), "cannot serve: {e}");
            return text(StatusCode::NOT_FOUND, "not found\n");
        }
    };
    let validators = Validators::new(Some(content.etag()), content.modified);
    let content: Arc<dyn Content> = Arc::new(content);
    let response = match plan(req, content.len(), &validators) {
        Ok(plan) => plan.respond(content, content_type, None),
        Err(response) => *response,
    };
    with_validators(response, &validators)
}

/// What a GET of a ranged representation sends.
enum Plan {
    Whole { len: u64 },
    One { range: Range<u64>, len: u64 },
    Multipart { ranges: Vec<Range<u64>>, len: u64 },
}

/// Evaluates preconditions and `Range`; `Err` is a finished answer
/// (304, 412, 416).
fn plan(req: &Request<Incoming>, len: u64, v: &Validators) -> Result<Plan, Box<Response<Body>>> {
    let honour_range = match conditional::evaluate(req.headers(), v) {
        Outcome::Failed => return Err(Box::new(status(StatusCode::PRECONDITION_FAILED))),
        Outcome::NotModified => return Err(Box::new(status(StatusCode::NOT_MODIFIED))),
        Outcome::Proceed { honour_range } => honour_range,
    };
    let header = req
        .headers()
        .get(header::RANGE)
        .and_then(|h| h.to_str().ok())
        .filter(|_| honour_range);
    let ranges = header.map_or(Ranges::Whole, |h| range::parse(h, len));
    Ok(match ranges {
        Ranges::Whole => Plan::Whole { len },
        Ranges::Unsatisfiable => {
            let mut r = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Err(Box::new(r));
        }
        Ranges::Parts(mut parts) if parts.len() == 1 => match parts.pop() {
            Some(range) => Plan::One { range, len },
            None => Plan::Whole { len },
        },
        Ranges::Parts(ranges) => Plan::Multipart { ranges, len },
    })
}

impl Plan {
    fn spans(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        let (whole, list): (Option<Range<u64>>, &[Range<u64>]) = match self {
            Plan::Whole { len } => (Some(0..*len), &[]),
            Plan::One { range, .. } => (Some(range.clone()), &[]),
            Plan::Multipart { ranges, .. } => (None, ranges),
        };
        whole.into_iter().chain(list.iter().cloned())
    }

    /// The response; `first`, when given, holds the first bytes of the
    /// first span, already read.
    fn respond(
        self,
        content: Arc<dyn Content>,
        content_type: &'static str,
        first: Option<Bytes>,
    ) -> Response<Body> {
        let mut builder = Response::builder().header(header::ACCEPT_RANGES, "bytes");
        let body = match self {
            Plan::Whole { len } => {
                builder = builder
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, content_type);
                Body::spans(
                    content,
                    with_first(vec![Segment::Span { start: 0, end: len }], first),
                )
            }
            Plan::One { range, len } => {
                builder = builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::CONTENT_RANGE, content_range(&range, len));
                let span = Segment::Span {
                    start: range.start,
                    end: range.end,
                };
                Body::spans(content, with_first(vec![span], first))
            }
            Plan::Multipart { ranges, len } => {
                let boundary = boundary();
                let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
                for range in &ranges {
                    let head = format!(
                        "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                        content_range(range, len)
                    );
                    segments.push(Segment::Fixed(Bytes::from(head)));
                    segments.push(Segment::Span {
                        start: range.start,
                        end: range.end,
                    });
                }
                segments.push(Segment::Fixed(Bytes::from(format!(
                    "\r\n--{boundary}--\r\n"
                ))));
                builder = builder.status(StatusCode::PARTIAL_CONTENT).header(
                    header::CONTENT_TYPE,
                    format!("multipart/byteranges; boundary={boundary}"),
                );
                Body::spans(content, with_first(segments, first))
            }
        };
        let body_len = body.len();
        builder
            .header(header::CONTENT_LENGTH, body_len)
            .body(body)
            .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
    }
}

/// Puts bytes already read in place of the start of the first span.
fn with_first(mut segments: Vec<Segment>, first: Option<Bytes>) -> Vec<Segment> {
    let Some(first) = first else {
        return segments;
    };
    let at = segments
        .iter()
        .position(|s| matches!(s, Segment::Span { .. }));
    if let Some(Segment::Span { start, end }) = at.and_then(|i| segments.get(i)) {
        let (rest_start, end) = (*start + first.len() as u64, *end);
        let mut replaced = vec![Segment::Fixed(first)];
        if rest_start < end {
            replaced.push(Segment::Span {
                start: rest_start,
                end,
            });
        }
        if let Some(i) = at {
            segments.splice(i..=i, replaced);
        }
    }
    segments
}

fn content_range(range: &Range<u64>, len: u64) -> String {
    format!("bytes {}-{}/{len}", range.start, range.end - 1)
}

/// A multipart boundary that cannot be guessed to appear in the data.
fn boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("jigsmith-{:016x}", h.finish())
}

fn with_validators(mut response: Response<Body>, v: &Validators) -> Response<Body> {
    let headers = response.headers_mut();
    if let Some(etag) = v
        .etag
        .as_deref()
        .and_then(|e| HeaderValue::from_str(e).ok())
    {
        headers.insert(header::ETAG, etag);
    }
    if let Some(m) = v.modified {
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(m)) {
            headers.insert(header::LAST_MODIFIED, value);
        }
    }
    response
}

fn index(req: &Request<Incoming>, dir: &Dir) -> Response<Body> {
    let listing = Listing::of(dir);
    let json = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "format=json"))
        || req
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(prefers_json);
    let (body, content_type) = if json {
        (listing.json(), "application/json")
    } else {
        (listing.html(), "text/html; charset=utf-8")
    };
    let mut r = full(StatusCode::OK, content_type, body);
    let headers = r.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Whether an `Accept` header asks for JSON before HTML.
fn prefers_json(accept: &str) -> bool {
    let position = |what: &str| accept.find(what);
    match (position("application/json"), position("text/html")) {
        (Some(j), Some(h)) => j < h,
        (Some(_), None) => true,
        _ => false,
    }
}

fn sums(dir: Option<&Dir>, algorithm: Algorithm) -> Response<Body> {
    let text_body = dir.map(|d| d.sums(algorithm)).unwrap_or_default();
    let mut r = full(StatusCode::OK, "text/plain; charset=utf-8", text_body);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn redirect(location: &str) -> Response<Body> {
    let mut r = text(StatusCode::MOVED_PERMANENTLY, "moved\n");
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn text(code: StatusCode, message: &str) -> Response<Body> {
    full(code, "text/plain; charset=utf-8", message.to_string())
}

fn full(code: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let len = body.len();
    let mut r = Response::new(Body::full(body));
    *r.status_mut() = code;
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

fn status(code: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert!(prefers_json("application/json"));
        assert!(prefers_json("application/json, text/html;q=0.5"));
        assert!(!prefers_json(
            "text/html,application/xhtml+xml,application/json"
        ));
        assert!(!prefers_json("*/*"));
    }
}
