//! A plain (no JTE) `mkisofs` built on the CLI's argument parser, for interop tests and timing:
//! `cargo run --release -p jigsmith-iso --example mkisofs -- -o out.iso -r -J tree/`
#![allow(missing_docs)]

#[path = "../../cli/mkisofs_args.rs"]
#[allow(dead_code)]
mod mkisofs_args;

use std::io::BufWriter;

use jigsmith_iso::{CountingSink, IsoWriter, PlainSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = mkisofs_args::parse_mkisofs_args(std::env::args_os().skip(1))?;
    args.read_lists()?;
    let mut writer = IsoWriter::new(args.options.clone());
    for spec in &args.pathspecs {
        writer.add(spec.clone());
    }
    let image = writer.plan()?;
    let report = match args.output.as_deref() {
        Some(p) if p != std::path::Path::new("/dev/null") && p != std::path::Path::new("-") => {
            let mut sink =
                PlainSink::new(BufWriter::with_capacity(1 << 20, std::fs::File::create(p)?));
            let r = image.write(&mut sink)?;
            sink.finish()?;
            r
        }
        _ => image.write(&mut CountingSink::default())?,
    };
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if !args.quiet {
        eprintln!(
            "{} bytes, {} files, {} bytes of file data",
            report.image_size, report.files, report.file_bytes
        );
    }
    Ok(())
}
