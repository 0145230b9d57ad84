//! Checksum lists: `jigdo-gen-checksum-list` output (`-md5-list`,
//! `-checksum-list`, `jigit-mkimage -f/-F`) and plain `md5sum` output.

use std::io::{BufRead, Write};

use jigsmith_checksum::{Algorithm, Digest};

use crate::{Error, Result};

/// One line of a checksum list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumListEntry {
    /// The file's digest (algorithm from the hex length).
    pub digest: Digest,
    /// The size column, absent in plain `md5sum` output.
    pub size: Option<u64>,
    /// The path, as raw bytes (paths need not be UTF-8).
    pub path: Vec<u8>,
}

impl ChecksumListEntry {
    /// The path for messages.
    pub fn path_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.path)
    }

    /// Writes the line as `jigdo-gen-checksum-list` does: hex, two spaces,
    /// the size right-aligned in 12 columns, two spaces, the path.
    ///
    /// # Errors
    /// Whatever `w` returns.
    pub fn write<W: Write>(&self, mut w: W) -> std::io::Result<()> {
        write!(
            w,
            "{}  {:>12}  ",
            self.digest.to_hex(),
            self.size.unwrap_or(0)
        )?;
        w.write_all(&self.path)?;
        w.write_all(b"\n")
    }
}

/// A parsed checksum list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumList {
    /// The lines, in file order.
    pub entries: Vec<ChecksumListEntry>,
}

impl ChecksumList {
    /// Parses a list. Blank lines and `#` comments are skipped.
    ///
    /// Accepted line forms:
    /// `HEX  SIZE  PATH` (sizes right-aligned, as jigdo-gen-checksum-list),
    /// `HEX  PATH` and `HEX *PATH` (md5sum and friends).
    ///
    /// # Errors
    /// [`Error::ChecksumListSyntax`] with the line number; [`Error::Io`].
    pub fn parse<R: BufRead>(mut r: R) -> Result<ChecksumList> {
        let mut entries = Vec::new();
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = r
                .read_until(b'\n', &mut line)
                .map_err(Error::io("reading a checksum list"))?;
            if n == 0 {
                break;
            }
            number += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) || text.first() == Some(&b'#') {
                continue;
            }
            entries.push(
                parse_line(text).map_err(|message| Error::ChecksumListSyntax {
                    line: number,
                    message,
                })?,
            );
        }
        Ok(ChecksumList { entries })
    }
}

fn parse_line(text: &[u8]) -> std::result::Result<ChecksumListEntry, String> {
    let hex_len = text.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let algorithm = match hex_len {
        32 => Algorithm::Md5,
        40 => Algorithm::Sha1,
        64 => Algorithm::Sha256,
        128 => Algorithm::Sha512,
        _ => {
            return Err(format!(
                "expected a checksum of 32, 40, 64 or 128 hex digits, found {:?}",
                String::from_utf8_lossy(text)
            ))
        }
    };
    let (hex, rest) = text.split_at(hex_len);
    let digest = Digest::from_hex(algorithm, std::str::from_utf8(hex).unwrap_or(""))
        .map_err(|e| e.to_string())?;
    let missing_path = || "no path after the checksum".to_string();
    // sized form: spaces, digits, two spaces, path
    let after_ws = rest
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    if after_ws == 0 {
        return Err("expected spaces after the checksum".into());
    }
    let rest_ws = rest.get(after_ws..).unwrap_or(&[]);
    let digits = rest_ws.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && rest_ws.get(digits..digits + 2) == Some(b"  ") && after_ws >= 2 {
        let size = std::str::from_utf8(rest_ws.get(..digits).unwrap_or(&[]))
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| "size column is out of range".to_string())?;
        let path = rest_ws.get(digits + 2..).unwrap_or(&[]);
        if path.is_empty() {
            return Err(missing_path());
        }
        return Ok(ChecksumListEntry {
            digest,
            size: Some(size),
            path: path.to_vec(),
        });
    }
    // md5sum form: one space, then ' ' (text) or '*' (binary), then the path
    let path = match rest {
        [b' ', b' ' | b'*', path @ ..] => path,
        _ => return Err("expected `HEX  SIZE  PATH` or `HEX  PATH`".into()),
    };
    if path.is_empty() {
        return Err(missing_path());
    }
    Ok(ChecksumListEntry {
        digest,
        size: None,
        path: path.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_all_forms() {
        let text = b"1d5fb8c4b90938c0c8af244d00025d6e          2400  /tmp/x/t/a b=c#d.txt\n\
            d41d8cd98f00b204e9800998ecf8427e  /plain md5sum\n\
            d41d8cd98f00b204e9800998ecf8427e *binary\n\
            \n# comment\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855             0  /e\r\n";
        let l = ChecksumList::parse(&text[..]).unwrap();
        assert_eq!(l.entries.len(), 4);
        assert_eq!(l.entries[0].size, Some(2400));
        assert_eq!(l.entries[0].path, b"/tmp/x/t/a b=c#d.txt");
        assert_eq!(l.entries[1].size, None);
        assert_eq!(l.entries[1].path, b"/plain md5sum");
        assert_eq!(l.entries[2].path, b"binary");
        assert_eq!(l.entries[3].digest.algorithm(), Algorithm::Sha256);
        assert_eq!(l.entries[3].size, Some(0));
    }

    #[test]
    fn errors_name_the_line() {
        let e = ChecksumList::parse(&b"\nnot a checksum\n"[..]).unwrap_err();
        assert!(
            matches!(e, Error::ChecksumListSyntax { line: 2, .. }),
            "{e}"
        );
        assert!(ChecksumList::parse(&b"d41d8cd98f00b204e9800998ecf8427e\n"[..]).is_err());
        assert!(ChecksumList::parse(
            &b"d41d8cd98f00b204e9800998ecf8427e  99999999999999999999999  /x\n"[..]
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn write_then_parse(size in any::<u64>(), path in "/[^\\n\\r]{1,40}", seed in any::<[u8; 4]>()) {
            let e = ChecksumListEntry {
                digest: jigsmith_checksum::Hasher::digest(Algorithm::Md5, &seed),
                size: Some(size),
                path: path.into_bytes(),
            };
            let mut out = Vec::new();
            e.write(&mut out).unwrap();
            let l = ChecksumList::parse(out.as_slice()).unwrap();
            prop_assert_eq!(&l.entries[..], &[e][..]);
        }
    }
}
