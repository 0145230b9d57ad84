//! `md5sum` / `sha256sum`: like md5sum(1), but in jigdo's Base64 (or
//! `--hex`), names shown from after their `//`, on stdout at every
//! `--report` level.

use std::fs::File;
use std::io::{Read, Write};

use anyhow::Context;
use jigsmith_checksum::{Algorithm, Digest, Hasher};

use super::args::Options;
use super::report::{print_line, strerror, Reporter};
use super::walk::{walk, InputFile};

pub fn run(o: &Options, rep: &Reporter, algorithm: Algorithm) -> anyhow::Result<u8> {
    let files = walk(&o.files, &o.files_from, rep)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // --cache: known files are not read again (keyed by path, size, mtime)
    let cached = super::template::cached_sums(o, rep, &files, algorithm)?;
    for (f, known) in files.iter().zip(cached) {
        let got = match known {
            Some(d) => Ok(d),
            None => digest_of(f, algorithm),
        };
        match got {
            Ok(d) => {
                let sum = if o.hex { d.to_hex() } else { d.to_base64() };
                print_line(&mut out, &format!("{sum}  {}", f.name))?;
            }
            Err(e) => rep.error(&format!(
                "Error while reading `{}' - file will be ignored ({})",
                f.path.display(),
                strerror(&e)
            )),
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(0)
}

/// The whole file's digest.
pub fn digest_of(f: &InputFile, algorithm: Algorithm) -> std::io::Result<Digest> {
    let mut file = File::open(&f.path)?;
    let mut h = Hasher::new(algorithm);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
}
