//! `print-missing` / `print-missing-all`: the files the image (or its
//! `.tmp`) still needs, in checksum order as jigdo-file prints them, each
//! as the first URI (or all URIs, then the `MD5Sum:`/`SHA256Sum:` fallback
//! and a blank line) its `[Parts]` entries expand to through `[Servers]`,
//! `file:` taken off.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_format::{read_desc_table, unquote_value, DescEntry, ServerEntry};

use super::args::{try_help, Options};
use super::image::tmp_entries;
use super::report::{print_line, Reporter};

pub fn run(o: &Options, rep: &Reporter, all: bool) -> anyhow::Result<u8> {
    let (Some(image), Some(jigdo_name), Some(template_name)) = (&o.image, &o.jigdo, &o.template)
    else {
        eprintln!(
            "{} print-missing: Not all of --image, --jigdo, --template specified.\n\
             (Attempt to deduce missing names failed.)",
            rep.bin
        );
        return Ok(try_help(&rep.bin));
    };
    let mut template = match File::open(template_name) {
        Ok(f) => f,
        Err(e) => return Ok(rep.cannot_open(template_name, &e)),
    };
    // an image that exists is taken to be complete
    if image != "-" && Path::new(image).exists() {
        return Ok(0);
    }
    if let Err(e) = File::open(jigdo_name) {
        return Ok(rep.cannot_open(jigdo_name, &e));
    }
    let mut jigdo = match jigsmith_assemble::read_jigdo(Path::new(jigdo_name)) {
        Ok(j) => j,
        Err(e) => {
            rep.error(&format!("{} print-missing: {e:#}", rep.bin));
            return Ok(3);
        }
    };
    // --uri lines go first in [Servers], as jigdo-file inserts them
    let uris: Vec<ServerEntry> = o
        .uris
        .iter()
        .filter_map(|u| u.split_once('='))
        .map(|(label, raw)| ServerEntry {
            label: label.trim().to_string(),
            raw: raw.to_string(),
        })
        .collect();
    jigdo.servers.splice(0..0, uris);

    let Ok((template_entries, _)) = read_desc_table(&mut template) else {
        rep.error(&format!(
            "{} print-missing: Invalid template data - corrupted file?",
            rep.bin
        ));
        return Ok(3);
    };
    // a `.tmp` says which files are still needed, if it is this template's
    // (a stale one of another image would list the wrong files)
    let tmp = format!("{image}.tmp");
    let entries = (image != "-")
        .then(|| tmp_entries(Path::new(&tmp), &template_entries).ok())
        .flatten()
        .unwrap_or(template_entries);
    let missing: BTreeSet<Digest> = entries
        .iter()
        .filter_map(|e| match e {
            DescEntry::File {
                digest,
                written: false,
                ..
            } => Some(*digest),
            _ => None,
        })
        .collect();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for d in &missing {
        let words: Vec<String> = jigdo
            .parts
            .iter()
            .filter(|p| p.digest == *d)
            .map(|p| {
                unquote_value(&p.raw)
                    .and_then(|w| w.into_iter().next())
                    .unwrap_or_else(|| p.raw.trim().to_string())
            })
            .collect();
        let fallback = format!(
            "{}:{}",
            if d.algorithm() == Algorithm::Sha256 {
                "SHA256Sum"
            } else {
                "MD5Sum"
            },
            d.to_base64()
        );
        if all {
            for w in words.iter().chain(std::iter::once(&fallback)) {
                for uri in jigdo.expand(w) {
                    print_line(&mut out, shown(&uri))?;
                }
            }
            print_line(&mut out, "")?;
        } else {
            let first = words
                .iter()
                .chain(std::iter::once(&fallback))
                .find_map(|w| jigdo.expand(w).into_iter().next());
            if let Some(uri) = first {
                print_line(&mut out, shown(&uri))?;
            }
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(0)
}

/// jigdo-file prints `file:` URIs as plain paths.
fn shown(uri: &str) -> &str {
    uri.strip_prefix("file:").unwrap_or(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_are_paths() {
        assert_eq!(shown("file:mirror/x"), "mirror/x");
        assert_eq!(shown("http://h/x"), "http://h/x");
    }
}
