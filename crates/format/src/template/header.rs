use std::io::Read;

use jigsmith_checksum::Algorithm;

use crate::{Error, Result};

const MAGIC: &[u8] = b"JigsawDownload template ";
/// Longest header we accept; real ones are about 150 bytes.
const MAX_HEADER: usize = 64 * 1024;

/// The text header at the start of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateHeader {
    /// Format version as written, e.g. `1.1`, `1.2` or `2.0`.
    pub version: String,
    /// The program that wrote it, e.g. `libjte-2.0.0` or `jigdo-file/0.8.1`.
    pub creator: String,
    /// The free-text comment lines (without line ends).
    pub comment: String,
    /// Byte length of the whole header, i.e. where the first part starts.
    pub len: u64,
}

impl TemplateHeader {
    /// The checksum family of the format version: 1.x is MD5, 2.x is SHA-256.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] for any other version.
    pub fn algorithm(&self) -> Result<Algorithm> {
        algorithm_of_version(&self.version)
    }

    /// Reads the header from the start of a template.
    ///
    /// # Errors
    /// [`Error::NotATemplate`] if the magic is missing, [`Error::Truncated`]
    /// if the header does not end, [`Error::Io`] on read errors.
    ///
    /// # Security
    /// Reads at most 64 KiB.
    pub fn read<R: Read>(r: R) -> Result<TemplateHeader> {
        let mut buf = Vec::with_capacity(256);
        r.take(MAX_HEADER as u64)
            .read_to_end(&mut buf)
            .map_err(Error::io("reading the template header"))?;
        Self::parse(&buf)
    }

    /// Parses a header from the first bytes of a template (may hold more).
    ///
    /// # Errors
    /// As [`TemplateHeader::read`].
    pub fn parse(buf: &[u8]) -> Result<TemplateHeader> {
        if !buf.starts_with(MAGIC) {
            let shown = buf.get(..buf.len().min(32)).unwrap_or(&[]);
            return Err(Error::NotATemplate {
                found: String::from_utf8_lossy(shown).into_owned(),
            });
        }
        let truncated = || Error::Truncated {
            what: "header",
            offset: 0,
            file_len: buf.len() as u64,
        };
        let mut lines = Vec::new();
        let mut pos = 0usize;
        // header line, comment line(s), then an empty line
        loop {
            let rest = buf.get(pos..).ok_or_else(truncated)?;
            let nl = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(truncated)?;
            let line = rest.get(..nl).unwrap_or(&[]);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            pos += nl + 1;
            // the second line is the comment, even when blank
            if line.iter().all(|b| *b == b' ') && lines.len() >= 2 {
                break;
            }
            lines.push(String::from_utf8_lossy(line).trim_end().to_string());
        }
        let first = lines.first().map(String::as_str).unwrap_or("");
        let mut words = first
            .get(MAGIC.len()..)
            .unwrap_or("")
            .split_ascii_whitespace();
        let version = words.next().unwrap_or("").to_string();
        let creator = words.collect::<Vec<_>>().join(" ");
        algorithm_of_version(&version)?;
        Ok(TemplateHeader {
            version,
            creator,
            comment: lines.get(1..).unwrap_or(&[]).join("\n").trim().to_string(),
            len: pos as u64,
        })
    }

    /// The header's bytes as libjte writes them (a space before each CRLF).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "JigsawDownload template {} {} \r\n",
            self.version, self.creator
        );
        for line in self.comment.lines() {
            out.push_str(line);
            out.push_str(" \r\n");
        }
        if self.comment.is_empty() {
            out.push_str(" \r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// The checksum family of a template or `.jigdo` format version.
pub(crate) fn algorithm_of_version(version: &str) -> Result<Algorithm> {
    let major = version.split('.').next().unwrap_or("");
    let minor_ok = version
        .split_once('.')
        .is_some_and(|(_, m)| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
    match major {
        "1" if minor_ok => Ok(Algorithm::Md5),
        "2" if minor_ok => Ok(Algorithm::Sha256),
        _ => Err(Error::UnsupportedVersion(version.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libjte_and_jigdo_file_headers() {
        let h = TemplateHeader::parse(
            b"JigsawDownload template 1.1 libjte-2.0.0 \r\nSee https://x for details \r\n\r\nDATA",
        )
        .unwrap();
        assert_eq!(h.version, "1.1");
        assert_eq!(h.creator, "libjte-2.0.0");
        assert_eq!(h.algorithm().unwrap(), Algorithm::Md5);
        assert_eq!(h.len, 73);
        let h =
            TemplateHeader::parse(b"JigsawDownload template 2.0 jigdo-file/0.8.1\r\nSee x\r\n\r\n")
                .unwrap();
        assert_eq!(h.algorithm().unwrap(), Algorithm::Sha256);
        assert_eq!(h.creator, "jigdo-file/0.8.1");
    }

    #[test]
    fn round_trips() {
        let h = TemplateHeader {
            version: "2.0".into(),
            creator: "jigsmith/0.1.0".into(),
            comment: "a comment".into(),
            len: 0,
        };
        let bytes = h.to_bytes();
        let back = TemplateHeader::parse(&bytes).unwrap();
        assert_eq!(back.len, bytes.len() as u64);
        assert_eq!(
            (back.version, back.creator, back.comment),
            (h.version, h.creator, h.comment)
        );
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(matches!(
            TemplateHeader::parse(b"PK\x03\x04"),
            Err(Error::NotATemplate { .. })
        ));
        assert!(matches!(
            TemplateHeader::parse(b"JigsawDownload template 3.0 x\r\n\r\n\r\n"),
            Err(Error::UnsupportedVersion(_))
        ));
        assert!(matches!(
            TemplateHeader::parse(b"JigsawDownload template 1.1 x\r\ncomment"),
            Err(Error::Truncated { .. })
        ));
    }
}
