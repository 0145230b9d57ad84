//! Which URLs a part can be downloaded from: `--mirror LABEL=URL` given by
//! the user first, then the `.jigdo`'s `[Servers]` in file order, the
//! `--try-last` ones at the end; label chains (`Debian=Mirror:debian/`)
//! expanded, loops refused.

use std::collections::HashMap;
use std::sync::Arc;

use jigsmith_format::{split_label, Jigdo};
use reqwest::Url;

use crate::{Error, Result};

/// One URL a part may be fetched from, and the mirror (base URL) it belongs
/// to, for per-mirror statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartUrl {
    /// The part's URL.
    pub url: Url,
    /// The base URL of the mirror.
    pub mirror: Arc<str>,
}

/// Label → ordered base URLs.
#[derive(Debug, Clone, Default)]
pub struct Mirrors {
    labels: HashMap<String, Vec<Arc<str>>>,
    /// Each base URL's tier: 0 given by the user, 1 `[Servers]`, 2 `--try-last`.
    tiers: HashMap<Arc<str>, u8>,
    /// `[Servers]` entries left out, with the reason (for warnings).
    refused: Vec<String>,
}

/// How deep label chains may go; real ones have one or two levels.
const MAX_CHAIN: usize = 8;
/// Expansion steps per server entry: a label defined n times branches n
/// ways at each level, so chains that loop among other labels are cut here.
const MAX_EXPANSION_STEPS: usize = 4096;

impl Mirrors {
    /// No mirrors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a base URL for `label`, tried after those already added.
    ///
    /// # Errors
    /// [`Error::BadUrl`] unless it is an http or https URL.
    pub fn add(&mut self, label: &str, base: &str) -> Result<()> {
        self.add_tier(label, base, 0)
    }

    fn add_tier(&mut self, label: &str, base: &str, tier: u8) -> Result<()> {
        check_base(base)?;
        let v = self.labels.entry(label.to_string()).or_default();
        if !v.iter().any(|b| &**b == base) {
            let base: Arc<str> = base.into();
            self.tiers.entry(base.clone()).or_insert(tier);
            v.push(base);
        }
        Ok(())
    }

    /// How early a mirror is tried: 0 given by the user, 1 from
    /// `[Servers]`, 2 marked `--try-last` (absolute URLs in `[Parts]`: 1).
    /// Mirrors of one tier are equals: parts may be spread over them.
    pub fn tier(&self, mirror: &str) -> u8 {
        self.tiers.get(mirror).copied().unwrap_or(1)
    }

    /// Mirrors from `user` (`LABEL=URL` pairs, first) and the `[Servers]`
    /// of `jigdo`. Server values that are not http(s) URLs are left out
    /// (local directories are `LocalSources`' job) and, when the `.jigdo`
    /// came from the network (`remote`), listed in [`Mirrors::refused`].
    ///
    /// # Errors
    /// [`Error::LabelLoop`] for labels that expand into themselves,
    /// [`Error::BadUrl`] for a bad user mirror.
    pub fn from_jigdo(jigdo: &Jigdo, user: &[(String, String)], remote: bool) -> Result<Mirrors> {
        let mut m = Mirrors::new();
        for (label, base) in user {
            m.add(label, base)?;
        }
        // plain servers in file order, then the --try-last ones
        let (last, first): (Vec<_>, Vec<_>) = jigdo
            .servers
            .iter()
            .partition(|s| s.options().iter().any(|o| o == "--try-last"));
        let n_first = first.len();
        for (i, s) in first.into_iter().chain(last).enumerate() {
            let tier = if i < n_first { 1 } else { 2 };
            let mut budget = MAX_EXPANSION_STEPS;
            for base in expand(jigdo, &s.label, &s.location(), 0, &mut budget)? {
                if m.add_tier(&s.label, &base, tier).is_err() && remote {
                    m.refused
                        .push(format!("{}={base}: not an http(s) URL", s.label));
                }
            }
        }
        Ok(m)
    }

    /// `[Servers]` entries left out of a remote `.jigdo`.
    pub fn refused(&self) -> &[String] {
        &self.refused
    }

    /// The base URLs of `label`.
    pub fn bases(&self, label: &str) -> &[Arc<str>] {
        self.labels.get(label).map_or(&[], Vec::as_slice)
    }

    /// Every URL for a `[Parts]` location: `Label:path` under each of the
    /// label's mirrors, or the location itself when it is an http(s) URL.
    ///
    /// # Errors
    /// [`Error::BadLocation`] for paths with `..` or `.` segments, NUL,
    /// backslashes, absolute paths without a label, or other URL schemes.
    ///
    /// # Security
    /// A `.jigdo` from the network chooses these strings; nothing but
    /// http(s) URLs under the chosen mirrors, or absolute http(s) URLs it
    /// names itself, comes out.
    pub fn urls(&self, location: &str) -> Result<Vec<PartUrl>> {
        let refuse = |why| Error::BadLocation {
            location: location.to_string(),
            why,
        };
        if location.contains('\0') {
            return Err(refuse("contains NUL"));
        }
        if let Some((label, path)) = split_label(location) {
            let path = path.trim_start_matches('/');
            check_path(path).map_err(refuse)?;
            let mut out = Vec::new();
            for base in self.bases(label) {
                let text = format!("{base}{}", encode_path(path));
                let url =
                    Url::parse(&text).map_err(|_| refuse("not a valid URL under its mirror"))?;
                out.push(PartUrl {
                    url,
                    mirror: base.clone(),
                });
            }
            return Ok(out);
        }
        let url = Url::parse(location).map_err(|_| refuse("neither Label:path nor a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse("not an http(s) URL"));
        }
        if url
            .path_segments()
            .is_some_and(|mut s| s.any(|x| x == ".." || x == "."))
        {
            return Err(refuse("has '..' or '.' segments"));
        }
        let mirror: Arc<str> = url.origin().ascii_serialization().into();
        Ok(vec![PartUrl { url, mirror }])
    }
}

/// A server value expanded through label chains into plain base URLs.
fn expand(
    jigdo: &Jigdo,
    label: &str,
    value: &str,
    depth: usize,
    budget: &mut usize,
) -> Result<Vec<String>> {
    *budget = budget.checked_sub(1).ok_or_else(|| Error::LabelLoop {
        label: label.to_string(),
    })?;
    let chained = split_label(value).filter(|(l, _)| jigdo.servers.iter().any(|s| s.label == *l));
    let Some((next, rest)) = chained else {
        return Ok(vec![value.to_string()]);
    };
    if next == label || depth >= MAX_CHAIN {
        return Err(Error::LabelLoop {
            label: next.to_string(),
        });
    }
    let mut out = Vec::new();
    for s in jigdo.servers.iter().filter(|s| s.label == next) {
        for base in expand(jigdo, label, &s.location(), depth + 1, budget)? {
            out.push(format!("{base}{rest}"));
        }
    }
    Ok(out)
}

fn check_base(base: &str) -> Result<()> {
    let bad = |why| Error::BadUrl {
        url: base.to_string(),
        why,
    };
    let url = Url::parse(base).map_err(|_| bad("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https mirrors can be fetched from"));
    }
    Ok(())
}

/// Refuses paths that could leave the mirror's directory or mean
/// something else to a server.
pub(crate) fn check_path(path: &str) -> std::result::Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.contains(['\0', '\\']) {
        return Err("contains NUL or a backslash");
    }
    if path.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err("has '..' or '.' segments");
    }
    Ok(())
}

/// Percent-encodes a file path for a URL, keeping `/` and the characters
/// Debian file names use literally (`+`, `~`, `:`).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~+:@!$&'()*,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_format::ServerEntry;

    fn server(label: &str, raw: &str) -> ServerEntry {
        ServerEntry {
            label: label.into(),
            raw: raw.into(),
        }
    }

    #[test]
    fn order_chains_and_try_last() {
        let jigdo = Jigdo {
            servers: vec![
                server("Debian", "http://slow/debian/ --try-last"),
                server("Debian", "Mirror:debian/"),
                server("Mirror", "http://a/"),
                server("Mirror", "https://b/x/"),
                server("Debian", "file:/srv/debian/"),
            ],
            ..Jigdo::default()
        };
        let user = [("Debian".to_string(), "http://mine/d/".to_string())];
        let m = Mirrors::from_jigdo(&jigdo, &user, true).unwrap();
        let urls: Vec<String> = m
            .urls("Debian:pool/main/a/a b+c.deb")
            .unwrap()
            .into_iter()
            .map(|u| u.url.to_string())
            .collect();
        assert_eq!(
            urls,
            [
                "http://mine/d/pool/main/a/a%20b+c.deb",
                "http://a/debian/pool/main/a/a%20b+c.deb",
                "https://b/x/debian/pool/main/a/a%20b+c.deb",
                "http://slow/debian/pool/main/a/a%20b+c.deb",
            ]
        );
        assert_eq!(m.refused().len(), 1);
        assert!(m.urls("Nobody:x").unwrap().is_empty());
        let tiers: Vec<u8> = m
            .urls("Debian:x")
            .unwrap()
            .iter()
            .map(|u| m.tier(&u.mirror))
            .collect();
        assert_eq!(tiers, [0, 1, 1, 2]);
    }

    #[test]
    fn hostile_locations_are_refused() {
        let mut m = Mirrors::new();
        m.add("D", "http://h/").unwrap();
        for bad in [
            "D:../etc/passwd",
            "D:a/../../b",
            "D:a\0b",
            "D:a\\..\\b",
            "/etc/passwd",
            "file:///etc/passwd",
            "ftp://h/x",
            "D:a/./b",
        ] {
            assert!(
                matches!(m.urls(bad), Err(Error::BadLocation { .. })),
                "{bad}"
            );
        }
        assert!(m.add("D", "file:/x/").is_err());
        assert_eq!(m.urls("http://h/x.deb").unwrap().len(), 1);
    }

    #[test]
    fn label_loops_are_refused() {
        let jigdo = Jigdo {
            servers: vec![server("A", "B:x/"), server("B", "A:y/")],
            ..Jigdo::default()
        };
        assert!(matches!(
            Mirrors::from_jigdo(&jigdo, &[], true),
            Err(Error::LabelLoop { .. })
        ));
        let jigdo = Jigdo {
            servers: vec![server("A", "A:x/")],
            ..Jigdo::default()
        };
        assert!(matches!(
            Mirrors::from_jigdo(&jigdo, &[], true),
            Err(Error::LabelLoop { .. })
        ));
    }
}
