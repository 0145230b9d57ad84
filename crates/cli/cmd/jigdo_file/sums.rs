//! `md5sum` / `sha256sum`: like md5sum(1), but in jigdo's Base64 (or
//! `--hex`), names shown from after their `//`, on stdout at every
//! `--report` level.

use std::fs::File;
use std::io::Write;

use anyhow::Context;
use jigsmith_checksum::{Algorithm, Digest, Hasher};

use super::args::Options;
use super::report::{print_line, strerror, Reporter};
use super::walk::{walk, InputFile};

pub fn run(o: &Options, rep: &Reporter, algorithm: Algorithm) -> anyhow::Result<u8> {
    let files = walk(&o.files, &o.files_from, rep)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (f, d) in digests(o, rep, &files, algorithm)? {
        let sum = if o.hex { d.to_hex() } else { d.to_base64() };
        print_line(&mut out, &format!("{sum}  {}", f.name))?;
    }
    out.flush().context("writing to standard output")?;
    Ok(0)
}

/// Each file's digest, in order, as it is known: from `--cache` (keyed by
/// path, size, mtime) or else by reading the file. A file that cannot be
/// read is reported, as jigdo-file does, and left out.
pub fn digests<'a>(
    o: &Options,
    rep: &'a Reporter,
    files: &'a [InputFile],
    algorithm: Algorithm,
) -> anyhow::Result<impl Iterator<Item = (&'a InputFile, Digest)> + 'a> {
    let cached = super::template::cached_sums(o, rep, files, algorithm)?;
    Ok(files.iter().zip(cached).filter_map(move |(f, known)| {
        match known.map_or_else(|| digest_of(f, algorithm), Ok) {
            Ok(d) => Some((f, d)),
            Err(e) => {
                rep.error(&format!(
                    "Error while reading `{}' - file will be ignored ({})",
                    f.path.display(),
                    strerror(&e)
                ));
                None
            }
        }
    }))
}

/// The whole file's digest.
fn digest_of(f: &InputFile, algorithm: Algorithm) -> std::io::Result<Digest> {
    let mut h = Hasher::new(algorithm);
    std::io::copy(&mut File::open(&f.path)?, &mut h)?;
    Ok(h.finalize())
}
