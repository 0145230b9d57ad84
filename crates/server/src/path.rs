//! Request paths to catalog paths, refusing every way out of ROOT.
//!
//! The catalog is an in-memory map, so nothing here touches the file
//! system; still, a path that tries to escape (`..` in any encoding,
//! encoded slashes, backslashes, NUL) is refused outright rather than
//! normalised, so logs show the attempt.

use percent_encoding::percent_decode_str;

/// A request path in the catalog's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPath {
    /// Segments joined with `/`, no leading or trailing slash; `""` is ROOT.
    pub rel: String,
    /// Whether the request path ended in `/` (directories are linked so).
    pub trailing_slash: bool,
}

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPath {
    /// Not an absolute path (`*`, an authority form, ...).
    #[error("not an absolute path")]
    NotAbsolute,
    /// A `.` or `..` segment, however it was encoded.
    #[error("dot segment")]
    DotSegment,
    /// A segment decodes to `/`, `\`, NUL or another control character.
    #[error("forbidden character")]
    ForbiddenCharacter,
    /// A segment is not UTF-8 once decoded.
    #[error("not UTF-8")]
    NotUtf8,
}

/// Decodes and checks the path part of a request target.
pub fn parse(raw: &str) -> Result<CatalogPath, BadPath> {
    let rest = raw.strip_prefix('/').ok_or(BadPath::NotAbsolute)?;
    let mut rel = String::with_capacity(rest.len());
    for segment in rest.split('/') {
        if segment.is_empty() {
            continue;
        }
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| BadPath::NotUtf8)?;
        if decoded == "." || decoded == ".." {
            return Err(BadPath::DotSegment);
        }
        if decoded
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            return Err(BadPath::ForbiddenCharacter);
        }
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(&decoded);
    }
    Ok(CatalogPath {
        trailing_slash: raw.ends_with('/'),
        rel,
    })
}

/// Percent-encodes a catalog path for use in a link or `Location`.
pub fn encode(rel: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    /// Everything but unreserved characters and `/`.
    const PATH: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'\\')
        .add(b'^')
        .add(b'|')
        .add(b'[')
        .add(b']')
        .add(b'\'')
        .add(b'&')
        .add(b';')
        .add(b'=')
        .add(b'+')
        .add(b'$')
        .add(b',')
        .add(b'@')
        .add(b':');
    utf8_percent_encode(rel, PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        parse(raw).unwrap().rel
    }

    #[test]
    fn plain_paths() {
        assert_eq!(ok("/"), "");
        assert_eq!(ok("/a/b.iso"), "a/b.iso");
        assert_eq!(ok("//a///b/"), "a/b");
        assert_eq!(ok("/debian%2012.iso"), "debian 12.iso");
        assert_eq!(ok("/caf%C3%A9"), "café");
        assert!(parse("/a/").unwrap().trailing_slash);
        assert!(!parse("/a").unwrap().trailing_slash);
    }

    #[test]
    fn escapes_are_refused() {
        for raw in ["/..", "/a/../b", "/%2e%2e/x", "/%2E%2e", "/./a", "/%2e"] {
            assert_eq!(parse(raw), Err(BadPath::DotSegment), "{raw}");
        }
        for raw in ["/a%2fb", "/a%2F..%2Fb", "/a\\b", "/a%5c..", "/a%00", "/%0a"] {
            assert_eq!(parse(raw), Err(BadPath::ForbiddenCharacter), "{raw}");
        }
        assert_eq!(parse("/%ff"), Err(BadPath::NotUtf8));
        assert_eq!(parse("*"), Err(BadPath::NotAbsolute));
        assert_eq!(parse(""), Err(BadPath::NotAbsolute));
    }

    #[test]
    fn encode_round_trips() {
        for rel in [
            "a/b c.iso",
            "x%y#z?.iso",
            "café/ü.iso",
            "plain-1.0_amd64.iso",
        ] {
            assert_eq!(ok(&format!("/{}", encode(rel))), rel);
        }
    }
}
