//! `jigsmith inspect` (readable) and the `jigdump` personality (jigit's format).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser};
use jigsmith_checksum::jigdo_base64_encode;
use jigsmith_format::{DescEntry, Template};

use super::image_job::read_template;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The .template file.
    template: PathBuf,
    /// Only the summary, not every entry.
    #[arg(short, long)]
    brief: bool,
}

/// Dump the contents of a template file (jigdump compatible).
#[derive(Debug, Parser)]
#[command(name = "jigdump", version)]
pub struct JigdumpArgs {
    /// The .template file.
    template: PathBuf,
}

pub fn run_inspect(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let t = read_template(&a.template)?;
    let mut out = std::io::stdout().lock();
    let h = t.header();
    let files = t.files().count();
    let matched: u64 = t.files().map(|(i, _)| i.len).sum();
    let raw: u64 = t.parts().iter().map(|p| p.raw_len).sum();
    writeln!(out, "template:      {}", a.template.display())?;
    writeln!(
        out,
        "format:        {} ({}) by {}",
        h.version,
        t.algorithm().jigdo_name(),
        h.creator
    )?;
    writeln!(out, "template size: {} bytes", t.file_len())?;
    writeln!(out, "image size:    {} bytes", t.image_len())?;
    writeln!(
        out,
        "image {}: {} ({})",
        t.algorithm().jigdo_name(),
        t.image_digest().to_hex(),
        t.image_digest()
    )?;
    writeln!(out, "matched files: {files} ({matched} bytes)")?;
    writeln!(
        out,
        "template data: {raw} bytes in {} part(s)",
        t.parts().len()
    )?;
    for p in t.parts() {
        writeln!(
            out,
            "  {:5} part at {:>12}: {:>10} bytes compressed, {:>10} raw",
            p.compression.name(),
            p.offset,
            p.compressed_len,
            p.raw_len
        )?;
    }
    if !a.brief {
        writeln!(out, "entries:")?;
        for item in t.items() {
            match item.kind {
                jigsmith_format::ItemKind::Unmatched { .. } => {
                    writeln!(out, "  {:>12} {:>12}  template data", item.offset, item.len)?
                }
                jigsmith_format::ItemKind::File { digest, .. } => writeln!(
                    out,
                    "  {:>12} {:>12}  file {}",
                    item.offset,
                    item.len,
                    digest.to_hex()
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_jigdump(a: JigdumpArgs) -> anyhow::Result<ExitCode> {
    let path = &a.template;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let t = Template::read(&mut BufReader::new(file))
        .with_context(|| format!("reading template {}", path.display()))?;
    let mut out = std::io::stdout().lock();
    let name = path.display();
    if path.extension().is_some_and(|e| e == "template") {
        writeln!(out, "Filename {name} ends in .template.")?;
        writeln!(out, "Assuming this is meant to be a template file.")?;
    }
    writeln!(out, "Found header: \"JigsawDownload template\"")?;
    writeln!(out, "Format version: {}", t.header().version)?;
    writeln!(out, "Generator: {}", t.header().creator)?;
    writeln!(out)?;
    for p in t.parts() {
        // jigdump's word for zlib data
        let kind = match p.compression {
            jigsmith_format::Compression::Zlib => "gzip",
            other => other.name(),
        };
        writeln!(out, "{kind} data block found at offset {}", p.offset)?;
        writeln!(
            out,
            "  compressed block size {} bytes",
            p.compressed_len + 16
        )?;
        writeln!(out, "  uncompressed block size {} bytes", p.raw_len)?;
        writeln!(out)?;
    }
    let desc = t.desc_offset();
    let desc_len = t.file_len() - desc;
    writeln!(out, "DESC block found at offset {desc} ({desc:x})")?;
    writeln!(out, "  DESC block size is {desc_len} bytes")?;
    let mut at = desc + 10;
    for e in t.desc_entries() {
        writeln!(
            out,
            "  DESC entry: block type {} at offset {at} (0x{at:x})",
            e.entry_type()
        )?;
        writeln!(out, "    {} byte entry:", e.encoded_len())?;
        dump_entry(&mut out, e)?;
        at += e.encoded_len() as u64;
    }
    writeln!(out, "  DESC pointer offset {desc_len}")?;
    writeln!(out, "  points to DESC at offset {desc}")?;
    writeln!(out, "  actual DESC section starts at {desc}")?;
    Ok(ExitCode::SUCCESS)
}

fn dump_entry(out: &mut dyn Write, e: &DescEntry) -> std::io::Result<()> {
    let (v, alg) = match e.algorithm() {
        Some(jigsmith_checksum::Algorithm::Sha256) => ("v2", "SHA256"),
        _ => ("v1", "MD5"),
    };
    match e {
        DescEntry::Unmatched { len } => writeln!(out, "      Template data, {len} bytes of data"),
        DescEntry::File {
            len,
            rsync64,
            digest,
            written,
        } => {
            let what = if *written {
                "Written file"
            } else {
                "File match"
            };
            writeln!(out, "      {what} block {v} using {alg}")?;
            writeln!(out, "      length {len} bytes")?;
            if let Some(r) = rsync64 {
                let raw = r.value().to_le_bytes();
                let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(
                    out,
                    "      file rsyncsum: {hex} ({})",
                    jigdo_base64_encode(&raw)
                )?;
            }
            writeln!(
                out,
                "      file {}: {} ({digest})",
                alg.to_lowercase(),
                digest.to_hex()
            )
        }
        DescEntry::ImageInfo {
            len,
            digest,
            rsync_block_len,
        } => {
            writeln!(out, "      Image info block {v} using {alg}")?;
            writeln!(out, "      Original image length {len} bytes")?;
            writeln!(out, "      Image {alg}: {} ({digest})", digest.to_hex())?;
            if let Some(n) = rsync_block_len {
                writeln!(out, "      Rsync block length {n} bytes")?;
            }
            Ok(())
        }
    }
}
