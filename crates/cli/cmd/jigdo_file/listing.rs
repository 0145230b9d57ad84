//! `list-template`: the DESC table of a template or a `.tmp` image, one
//! line per entry, in jigdo-file's column layout (including its one-column
//! shorter `have-file` lines).

use std::fs::File;
use std::io::{Read, Write};

use anyhow::Context;
use jigsmith_checksum::{jigdo_base64_encode, Algorithm, Digest};
use jigsmith_format::{read_desc_table, DescEntry};

use super::args::{try_help, Options};
use super::report::{print_line, Reporter};

pub fn run(o: &Options, rep: &Reporter) -> anyhow::Result<u8> {
    let Some(name) = &o.template else {
        eprintln!("{} list-template: --template not specified.", rep.bin);
        return Ok(try_help(&rep.bin));
    };
    if name == "-" {
        eprintln!(
            "{} list-template: Sorry, cannot read from standard input.",
            rep.bin
        );
        return Ok(try_help(&rep.bin));
    }
    let Some(entries) = read_entries(name, rep)? else {
        return Ok(3);
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut offset = 0u64;
    for e in &entries {
        print_line(&mut out, &line(e, offset, o.hex))?;
        if !matches!(e, DescEntry::ImageInfo { .. }) {
            offset = offset.saturating_add(e.len());
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(0)
}

/// Opens a template or `.tmp` image and reads its DESC table, printing
/// jigdo-file's messages; `None` after an error (exit 3).
pub fn read_entries(name: &str, rep: &Reporter) -> anyhow::Result<Option<Vec<DescEntry>>> {
    let mut f = match File::open(name) {
        Ok(f) => f,
        Err(e) => {
            rep.cannot_open(name, &e);
            return Ok(None);
        }
    };
    let mut magic = [0u8; 24];
    let looks_like_template =
        f.read_exact(&mut magic).is_ok() && &magic == b"JigsawDownload template ";
    if !looks_like_template {
        rep.info("Warning: This does not seem to be a template file");
    }
    match read_desc_table(&mut f) {
        Ok((entries, _)) if matches!(entries.last(), Some(DescEntry::ImageInfo { .. })) => {
            Ok(Some(entries))
        }
        _ => {
            rep.error(&format!(
                "{}: Invalid template data - corrupted file?",
                rep.bin
            ));
            Ok(None)
        }
    }
}

fn sum(d: &Digest, hex: bool) -> String {
    if hex {
        d.to_hex()
    } else {
        d.to_base64()
    }
}

fn line(e: &DescEntry, offset: u64, hex: bool) -> String {
    match e {
        DescEntry::Unmatched { len } => format!("{:<18}{offset:>12} {len:>12}", "in-template"),
        DescEntry::File {
            len,
            rsync64,
            digest,
            written,
        } => {
            let sha = digest.algorithm() == Algorithm::Sha256;
            // jigdo-file's own labels; its have-file ones are one column short
            let label = match (written, sha) {
                (false, false) => "need-file-md5     ",
                (false, true) => "need-file-sha256  ",
                (true, false) => "have-file        ",
                (true, true) => "have-file-sha256 ",
            };
            let bytes = rsync64.map(|r| r.value().to_le_bytes()).unwrap_or_default();
            let rsync = if hex {
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            } else {
                jigdo_base64_encode(&bytes)
            };
            format!(
                "{label}{offset:>12} {len:>12} {:>46} {rsync:>12}",
                sum(digest, hex)
            )
        }
        DescEntry::ImageInfo {
            len,
            digest,
            rsync_block_len,
        } => {
            let label = if digest.algorithm() == Algorithm::Sha256 {
                "image-info-sha256"
            } else {
                "image-info-md5"
            };
            format!(
                "{label:<18}{len:>12} {:>12} {:>46}",
                rsync_block_len.unwrap_or(0),
                sum(digest, hex)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use jigsmith_checksum::Rsync64;

    use super::*;

    /// Lines as jigdo-file 0.8.0 printed them for a small template.
    #[test]
    fn columns_as_jigdo_file() {
        let md5 = Digest::from_base64(Algorithm::Md5, "WL8dj_JRDJnyX3dviSF9hA").unwrap();
        let rsync = Rsync64::from_value(u64::from_le_bytes([
            0xa5, 0xea, 0x9a, 0xda, 0x64, 0x5f, 0x86, 0xbf,
        ]));
        let file = |written| DescEntry::File {
            len: 5000,
            rsync64: Some(rsync),
            digest: md5,
            written,
        };
        assert_eq!(
            line(&DescEntry::Unmatched { len: 100 }, 0, false),
            "in-template                  0          100"
        );
        assert_eq!(
            line(&file(false), 100, false),
            "need-file-md5              100         5000                         \
             WL8dj_JRDJnyX3dviSF9hA  peqa2mRfhr8"
        );
        assert_eq!(
            line(&file(true), 100, false),
            "have-file                 100         5000                         \
             WL8dj_JRDJnyX3dviSF9hA  peqa2mRfhr8"
        );
        assert_eq!(
            line(&file(false), 100, true),
            "need-file-md5              100         5000               \
             58bf1d8ff2510c99f25f776f89217d84 a5ea9ada645f86bf"
        );
        let image = DescEntry::ImageInfo {
            len: 15237,
            digest: Digest::from_base64(Algorithm::Md5, "xrA1y9aGGRCcC6jZ9Wcopg").unwrap(),
            rsync_block_len: Some(1024),
        };
        assert_eq!(
            line(&image, 0, false),
            "image-info-md5           15237         1024                         \
             xrA1y9aGGRCcC6jZ9Wcopg"
        );
    }
}
