//! The `.jigdo` file: an INI-like text listing where each part can be found.
//!
//! Two dialects exist for [Parts] values: jigdo-file quotes them like a
//! shell (`'Debian:pool/a b.deb'`), libjte writes them verbatim
//! (`Debian:pool/a b.deb`, with any `'`, `"`, `#` or `=` inside). A value is
//! ambiguous between the two, so [`PartEntry::locations`] offers every
//! reading and the caller keeps the one whose file has the right checksum.

mod parse;
mod quote;
mod write;

use jigsmith_checksum::Digest;

pub use quote::{quote_value, unquote_value};

/// A parsed `.jigdo` file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jigdo {
    /// `[Jigdo] Version`, e.g. `1.1` (MD5) or `2.0` (SHA-256).
    pub version: String,
    /// `[Jigdo] Generator`.
    pub generator: Option<String>,
    /// The first `[Image]` section (later ones are ignored, as jigdo does).
    pub image: Option<ImageSection>,
    /// Every `[Parts]` entry of every `[Parts]` section, in file order.
    pub parts: Vec<PartEntry>,
    /// Every `[Servers]` entry, in file order.
    pub servers: Vec<ServerEntry>,
    /// Targets of `[Include ...]` lines, unresolved.
    pub includes: Vec<String>,
}

/// The `[Image]` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageSection {
    /// Suggested file name for the image (unquoted).
    pub filename: String,
    /// Where the template is: a URL, relative or absolute (unquoted).
    pub template: String,
    /// `Template-MD5Sum`.
    pub template_md5: Option<Digest>,
    /// `Template-SHA256Sum`.
    pub template_sha256: Option<Digest>,
    /// `ShortInfo`, verbatim.
    pub short_info: Option<String>,
    /// `Info`, verbatim.
    pub info: Option<String>,
    /// Comment lines inside the section, without `#` and surrounding blanks
    /// (libjte's `Image Hex MD5Sum ...`, `Image size ... bytes`).
    pub comments: Vec<String>,
}

impl ImageSection {
    /// The value of a libjte comment such as `Image Hex SHA256Sum` or `Image size`.
    ///
    /// For `Image size 123 bytes` this returns `123 bytes`.
    pub fn comment_value(&self, key: &str) -> Option<&str> {
        self.comments.iter().find_map(|c| {
            c.strip_prefix(key)
                .filter(|rest| rest.starts_with(' '))
                .map(str::trim)
        })
    }
}

/// One `[Parts]` line: `digest=location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartEntry {
    /// The part's digest.
    pub digest: Digest,
    /// The value as written in the file (possibly quoted).
    pub raw: String,
}

impl PartEntry {
    /// An entry for `location` (e.g. `Debian:pool/main/a/a.deb`), quoted if needed.
    pub fn new(digest: Digest, location: &str) -> Self {
        PartEntry {
            digest,
            raw: quote_value(location),
        }
    }

    /// Every plausible reading of the value, most likely first: the
    /// jigdo-file (unquoted) reading, then the verbatim libjte reading.
    pub fn locations(&self) -> Vec<String> {
        let verbatim = self.raw.trim().to_string();
        let mut out = Vec::with_capacity(2);
        if let Some(words) = unquote_value(&self.raw) {
            if let [one] = words.as_slice() {
                out.push(one.clone());
            }
        }
        if !out.contains(&verbatim) {
            out.push(verbatim);
        }
        out
    }
}

/// One `[Servers]` line: `Label=value [options]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// The label that [Parts] values use before the colon.
    pub label: String,
    /// The value as written (possibly quoted, possibly with `--try-last`).
    pub raw: String,
}

impl ServerEntry {
    /// The location the label expands to: the first word of the value.
    pub fn location(&self) -> String {
        unquote_value(&self.raw)
            .and_then(|w| w.into_iter().next())
            .unwrap_or_else(|| self.raw.trim().to_string())
    }

    /// Options after the location, e.g. `--try-last`.
    pub fn options(&self) -> Vec<String> {
        unquote_value(&self.raw)
            .map(|w| w.into_iter().skip(1).collect())
            .unwrap_or_default()
    }
}

/// Most steps [`Jigdo::expand`] takes: far above what real label chains
/// need (a few mirrors per label, one or two levels).
const MAX_EXPANSION_STEPS: usize = 4096;

/// Splits `Label:path` into its parts; `None` for URLs (`http://...`) and plain paths.
pub fn split_label(location: &str) -> Option<(&str, &str)> {
    let (label, path) = location.split_once(':')?;
    let is_label = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    (is_label && !path.starts_with("//")).then_some((label, path))
}

impl Jigdo {
    /// Adds what an `[Include]`d file holds: its parts and servers, and its
    /// image section if this file has none.
    pub fn merge(&mut self, other: Jigdo) {
        if self.image.is_none() {
            self.image = other.image;
        }
        self.parts.extend(other.parts);
        self.servers.extend(other.servers);
        self.includes.extend(other.includes);
    }

    /// The server values a label expands to, following label chains
    /// (`LabelB=LabelC:sub/`) up to a depth of 8 to survive loops.
    ///
    /// # Security
    /// A label defined n times branches n ways at each level, so a loop such
    /// as twenty `A=A:` lines would take 20^8 steps; expansion stops after
    /// 4096 steps and returns what it found by then.
    pub fn expand(&self, location: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut budget = MAX_EXPANSION_STEPS;
        self.expand_into(location, 0, &mut budget, &mut out);
        out
    }

    fn expand_into(&self, location: &str, depth: usize, budget: &mut usize, out: &mut Vec<String>) {
        let Some(left) = budget.checked_sub(1) else {
            return;
        };
        *budget = left;
        let label_path = split_label(location)
            .filter(|(label, _)| self.servers.iter().any(|s| s.label == *label));
        // a "label" no server defines is a URL scheme such as file: or http:
        let Some((label, path)) = label_path else {
            out.push(location.to_string());
            return;
        };
        if depth >= 8 {
            return;
        }
        for s in self.servers.iter().filter(|s| s.label == label) {
            let base = s.location();
            self.expand_into(&format!("{base}{path}"), depth + 1, budget, out);
        }
    }
}

#[cfg(test)]
mod tests;
