//! Conditional requests (RFC 9110 §13): `If-Match`, `If-Unmodified-Since`,
//! `If-None-Match`, `If-Modified-Since` and `If-Range`, evaluated in the
//! order §13.2.2 gives.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{self, HeaderMap, HeaderValue};

/// A representation's validators.
#[derive(Debug, Clone)]
pub struct Validators {
    /// Strong entity tag, quoted (`"abc"`), if there is one.
    pub etag: Option<String>,
    /// Last modification, whole seconds (what HTTP dates can say).
    pub modified: Option<SystemTime>,
}

impl Validators {
    /// Validators of a representation; `modified` is cut to whole seconds.
    pub fn new(etag: Option<String>, modified: Option<SystemTime>) -> Validators {
        Validators {
            etag,
            modified: modified.map(whole_seconds),
        }
    }
}

/// What the preconditions say to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answer normally; `honour_range` is false when `If-Range` did not
    /// match, so the whole representation goes out.
    Proceed {
        /// Whether a `Range` header may be used.
        honour_range: bool,
    },
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the request's preconditions for a GET or HEAD.
pub fn evaluate(headers: &HeaderMap, v: &Validators) -> Outcome {
    if let Some(if_match) = text(headers, &header::IF_MATCH) {
        if !list_matches(if_match, v.etag.as_deref(), true) {
            return Outcome::Failed;
        }
    } else if let Some(since) = date(headers, &header::IF_UNMODIFIED_SINCE) {
        if v.modified.is_none_or(|m| m > since) {
            return Outcome::Failed;
        }
    }
    if let Some(if_none) = text(headers, &header::IF_NONE_MATCH) {
        if list_matches(if_none, v.etag.as_deref(), false) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = date(headers, &header::IF_MODIFIED_SINCE) {
        if v.modified.is_some_and(|m| m <= since) {
            return Outcome::NotModified;
        }
    }
    let honour_range = match text(headers, &header::IF_RANGE) {
        None => true,
        Some(value) => if_range_matches(value.trim(), v),
    };
    Outcome::Proceed { honour_range }
}

/// `If-Range`: an entity tag compared strongly, or a date equal to
/// `Last-Modified`.
fn if_range_matches(value: &str, v: &Validators) -> bool {
    if value.starts_with('"') || value.starts_with("W/") {
        return !value.starts_with("W/") && v.etag.as_deref() == Some(value);
    }
    match (httpdate::parse_http_date(value), v.modified) {
        (Ok(d), Some(m)) => d == m,
        _ => false,
    }
}

/// Whether a comma-separated entity-tag list (or `*`) matches `etag`.
/// Weak comparison ignores `W/`; strong comparison never matches weak tags.
fn list_matches(list: &str, etag: Option<&str>, strong: bool) -> bool {
    let Some(etag) = etag else {
        return false;
    };
    if list.trim() == "*" {
        return true;
    }
    list.split(',')
        .map(str::trim)
        .any(|tag| match tag.strip_prefix("W/") {
            Some(weak) => !strong && weak == etag,
            None => tag == etag,
        })
}

fn text<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    let values: Vec<&HeaderValue> = headers.get_all(name).iter().collect();
    // Several fields of one name are a list; the one-field case is all
    // real clients send, and joining would allocate per request.
    match values.as_slice() {
        [one] => one.to_str().ok(),
        [] => None,
        _ => values.last().and_then(|v| v.to_str().ok()),
    }
}

fn date(headers: &HeaderMap, name: &header::HeaderName) -> Option<SystemTime> {
    text(headers, name).and_then(|t| httpdate::parse_http_date(t.trim()).ok())
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn validators() -> Validators {
        Validators::new(
            Some("\"abc\"".into()),
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_700)),
        )
    }

    const MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const EARLIER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
    const PROCEED: Outcome = Outcome::Proceed { honour_range: true };

    #[test]
    fn none_match_and_modified_since() {
        let v = validators();
        assert_eq!(evaluate(&headers(&[]), &v), PROCEED);
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "\"abc\"")]), &v),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "W/\"abc\"")]), &v),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "\"x\", \"abc\"")]), &v),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "*")]), &v),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "\"x\"")]), &v),
            PROCEED
        );
        assert_eq!(
            evaluate(&headers(&[("if-modified-since", MODIFIED)]), &v),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-modified-since", EARLIER)]), &v),
            PROCEED
        );
        assert_eq!(
            evaluate(&headers(&[("if-modified-since", "yesterday")]), &v),
            PROCEED
        );
        // If-None-Match wins over If-Modified-Since.
        assert_eq!(
            evaluate(
                &headers(&[("if-none-match", "\"x\""), ("if-modified-since", MODIFIED)]),
                &v
            ),
            PROCEED
        );
    }

    #[test]
    fn match_and_unmodified_since() {
        let v = validators();
        assert_eq!(evaluate(&headers(&[("if-match", "\"abc\"")]), &v), PROCEED);
        assert_eq!(
            evaluate(&headers(&[("if-match", "W/\"abc\"")]), &v),
            Outcome::Failed
        );
        assert_eq!(
            evaluate(&headers(&[("if-match", "\"x\"")]), &v),
            Outcome::Failed
        );
        assert_eq!(
            evaluate(&headers(&[("if-unmodified-since", EARLIER)]), &v),
            Outcome::Failed
        );
        assert_eq!(
            evaluate(&headers(&[("if-unmodified-since", MODIFIED)]), &v),
            PROCEED
        );
    }

    #[test]
    fn if_range() {
        let v = validators();
        let no_range = Outcome::Proceed {
            honour_range: false,
        };
        assert_eq!(evaluate(&headers(&[("if-range", "\"abc\"")]), &v), PROCEED);
        assert_eq!(
            evaluate(&headers(&[("if-range", "W/\"abc\"")]), &v),
            no_range
        );
        assert_eq!(evaluate(&headers(&[("if-range", "\"old\"")]), &v), no_range);
        assert_eq!(evaluate(&headers(&[("if-range", MODIFIED)]), &v), PROCEED);
        assert_eq!(evaluate(&headers(&[("if-range", EARLIER)]), &v), no_range);
        assert_eq!(evaluate(&headers(&[("if-range", "garbage")]), &v), no_range);
    }
}
