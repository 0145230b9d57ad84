use std::io::Read;

use jigsmith_checksum::{Algorithm, Digest};

use super::{unquote_value, ImageSection, Jigdo, PartEntry, ServerEntry};
use crate::{Error, Result};

/// Largest (decompressed) `.jigdo` accepted: Debian's biggest, for Blu-ray
/// images, are about 10 MiB, so this bounds a gzip bomb long before memory.
pub const MAX_JIGDO: u64 = 64 * 1024 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Jigdo,
    Image,
    /// A second `[Image]`: ignored, as jigdo does.
    IgnoredImage,
    Parts,
    Servers,
    /// `[Comment]` or anything unknown: skipped.
    Skipped,
}

impl Jigdo {
    /// Reads a `.jigdo` file, gzip-compressed or plain.
    ///
    /// # Errors
    /// [`Error::Io`] (including a corrupt gzip stream), or any parse error of
    /// [`Jigdo::parse`].
    ///
    /// # Security
    /// At most [`MAX_JIGDO`] (64 MiB) of decompressed text is read, so a
    /// gzip bomb ends in [`Error::JigdoTooLarge`], not in exhausted memory.
    pub fn from_reader<R: Read>(r: R) -> Result<Jigdo> {
        let mut raw = Vec::new();
        r.take(MAX_JIGDO + 1)
            .read_to_end(&mut raw)
            .map_err(Error::io("reading the .jigdo file"))?;
        if raw.starts_with(&[0x1f, 0x8b]) {
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(raw.as_slice())
                .take(MAX_JIGDO + 1)
                .read_to_end(&mut text)
                .map_err(Error::io("decompressing the gzipped .jigdo file"))?;
            raw = text;
        }
        if raw.len() as u64 > MAX_JIGDO {
            return Err(Error::JigdoTooLarge { limit: MAX_JIGDO });
        }
        Self::parse(&raw)
    }

    /// Parses the text of a `.jigdo` file.
    ///
    /// # Errors
    /// [`Error::JigdoSyntax`] for a malformed line (with its number),
    /// [`Error::JigdoEncoding`] for invalid UTF-8, [`Error::NotAJigdo`] if
    /// there is no `[Jigdo]` section and no `[Parts]`.
    pub fn parse(text: &[u8]) -> Result<Jigdo> {
        let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        let mut j = Jigdo::default();
        let mut section = Section::None;
        let mut saw_jigdo = false;
        let mut image = ImageSection::default();
        let mut in_first_image = false;
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let line =
                std::str::from_utf8(line).map_err(|_| Error::JigdoEncoding { line: number })?;
            let line = line.trim();
            let syntax = |message: String| Error::JigdoSyntax {
                line: number,
                message,
            };
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                if section == Section::Image {
                    image.comments.push(comment.trim().to_string());
                }
                continue;
            }
            if let Some(inner) = line.strip_prefix('[') {
                let name = inner
                    .split_once(']')
                    .map(|(n, _)| n.trim())
                    .ok_or_else(|| syntax(format!("section line {line:?} has no closing ]")))?;
                if in_first_image {
                    j.image = Some(std::mem::take(&mut image));
                    in_first_image = false;
                }
                if let Some(target) = name.strip_prefix("Include") {
                    j.includes.push(target.trim().to_string());
                    section = Section::Skipped;
                    continue;
                }
                section = match name {
                    "Jigdo" => {
                        saw_jigdo = true;
                        Section::Jigdo
                    }
                    "Image" if j.image.is_none() => {
                        in_first_image = true;
                        Section::Image
                    }
                    "Image" => Section::IgnoredImage,
                    "Parts" => Section::Parts,
                    "Servers" => Section::Servers,
                    _ => Section::Skipped,
                };
                continue;
            }
            if matches!(section, Section::Skipped | Section::IgnoredImage) {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| syntax(format!("expected Label=Value, found {line:?}")))?;
            match section {
                Section::None => return Err(syntax(format!("entry {key:?} outside any section"))),
                Section::Jigdo => match key {
                    "Version" => j.version = first_word(value),
                    "Generator" => j.generator = Some(first_word(value)),
                    _ => {}
                },
                Section::Image => match key {
                    "Filename" => image.filename = first_word(value),
                    "Template" => image.template = first_word(value),
                    "Template-MD5Sum" => {
                        image.template_md5 =
                            Some(digest(Algorithm::Md5, &first_word(value)).map_err(syntax)?)
                    }
                    "Template-SHA256Sum" => {
                        image.template_sha256 =
                            Some(digest(Algorithm::Sha256, &first_word(value)).map_err(syntax)?)
                    }
                    "ShortInfo" => image.short_info = Some(value.to_string()),
                    "Info" => image.info = Some(value.to_string()),
                    _ => {}
                },
                Section::Parts => {
                    let alg = match key.len() {
                        22 => Algorithm::Md5,
                        43 => Algorithm::Sha256,
                        _ => {
                            return Err(syntax(format!(
                                "{key:?} is not an MD5 (22 characters) or SHA-256 (43) checksum"
                            )))
                        }
                    };
                    let digest = digest(alg, key).map_err(syntax)?;
                    if value.is_empty() {
                        return Err(syntax(format!("part {key} has no location")));
                    }
                    j.parts.push(PartEntry {
                        digest,
                        raw: value.to_string(),
                    });
                }
                Section::Servers => {
                    if value.is_empty() {
                        return Err(syntax(format!("server {key} has no location")));
                    }
                    j.servers.push(ServerEntry {
                        label: key.to_string(),
                        raw: value.to_string(),
                    })
                }
                Section::Skipped | Section::IgnoredImage => {}
            }
        }
        if in_first_image {
            j.image = Some(image);
        }
        if !saw_jigdo && j.parts.is_empty() {
            return Err(Error::NotAJigdo("it has no [Jigdo] and no [Parts] section"));
        }
        Ok(j)
    }
}

fn first_word(value: &str) -> String {
    unquote_value(value)
        .and_then(|w| w.into_iter().next())
        .unwrap_or_else(|| value.to_string())
}

fn digest(alg: Algorithm, text: &str) -> std::result::Result<Digest, String> {
    Digest::from_base64(alg, text).map_err(|e| e.to_string())
}
