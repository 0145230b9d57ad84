//! `make-image` and `verify`.
//!
//! make-image works as jigdo-file's does, because jigdo-lite depends on it:
//! when every file is there, the image is built in one go (by
//! `jigsmith_assemble::Assembler`, every file and the image checked); when
//! some are missing, the files found are copied into `IMAGE.tmp` (the partial
//! image followed by a DESC table whose written files have types 7/10, so
//! jigdo-file can continue it too) and exit code 1 asks for more files; the
//! run that supplies the last ones checks the whole image and renames it.
//! A file that is found (its checksum from `--cache`) but does not match
//! when copied (the default `--check-files`) is copied in and left needed in
//! `IMAGE.tmp`, exit 2, as jigdo-file (jigdo-lite goes on, it stops at 3).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use jigsmith_assemble::{Assembler, LocalSources, Location};
use jigsmith_checksum::{Algorithm, Digest, Hasher};
use jigsmith_format::{encode_desc_table, read_desc_table, DescEntry, Template, UnmatchedReader};

use super::args::{try_help, Options};
use super::listing::read_entries;
use super::report::{strerror, Reporter};
use super::sums::digests;
use super::walk::walk;
use crate::output::{self, AtomicFile};

const BUF: usize = 1 << 20;

pub fn make_image(o: &Options, rep: &Reporter) -> anyhow::Result<u8> {
    let (Some(image), Some(template_name)) = (&o.image, &o.template) else {
        eprintln!(
            "{} make-image: Not both --image and --template specified.\n\
             (Attempt to deduce missing names failed.)",
            rep.bin
        );
        return Ok(try_help(&rep.bin));
    };
    let to_stdout = image == "-";
    if !to_stdout && Path::new(image).exists() && !o.force {
        rep.exists(image);
        return Ok(3);
    }
    let files = walk(&o.files, &o.files_from, rep)?;
    let mut tf = match File::open(template_name) {
        Ok(f) => f,
        Err(e) => return Ok(rep.cannot_open(template_name, &e)),
    };
    let template = match Template::read(&mut tf) {
        Ok(t) => Arc::new(t),
        Err(_) => {
            rep.error(&format!(
                "{} make-image: Invalid template data - corrupted file?",
                rep.bin
            ));
            return Ok(3);
        }
    };
    let tmp = PathBuf::from(format!("{image}.tmp"));
    let mut entries = template.desc_entries().to_vec();
    let mut resume = false;
    if !to_stdout && tmp.exists() {
        match tmp_entries(&tmp, template.desc_entries()) {
            Ok(e) => {
                entries = e;
                resume = true;
            }
            Err(why) if o.force => {
                rep.info(&format!(
                    "Ignoring existing temporary file `{}' - {why}",
                    tmp.display()
                ));
            }
            Err(why) => {
                rep.error(&format!(
                    "Will not reuse existing temporary file `{}' - {why}\n\
                     Delete/rename the file or use --force",
                    tmp.display()
                ));
                return Ok(3);
            }
        }
    }

    // the files still needed, and which input files are them
    let needed: Vec<(Digest, u64)> = entries
        .iter()
        .filter_map(|e| match e {
            DescEntry::File {
                digest,
                len,
                written: false,
                ..
            } => Some((*digest, *len)),
            _ => None,
        })
        .collect();
    let wanted: HashSet<(Digest, u64)> = needed.iter().copied().collect();
    let lens: HashSet<u64> = needed.iter().map(|(_, l)| *l).collect();
    let mut found: HashMap<Digest, PathBuf> = HashMap::new();
    // only files of a needed size are hashed, through --cache if given
    let sized: Vec<_> = files
        .into_iter()
        .filter(|f| lens.contains(&f.size))
        .collect();
    for (f, d) in digests(o, rep, &sized, template.algorithm())? {
        if wanted.contains(&(d, f.size)) {
            found.entry(d).or_insert_with(|| f.path.clone());
        }
    }
    let found_count = needed.iter().filter(|(d, _)| found.contains_key(d)).count();
    rep.info(&format!(
        "Found {found_count} of the {} files required by the template",
        needed.len()
    ));
    let complete = found_count == needed.len();

    if resume {
        return continue_tmp(o, rep, image, &tmp, &template, entries, &found);
    }
    if complete {
        let mut sources = LocalSources::new();
        for (d, p) in &found {
            sources.add(*d, Location::file(p));
        }
        let asm = Assembler::new(template.clone(), template_name, Arc::new(sources))
            .verify(o.check_files);
        let out = (!to_stdout).then(|| Path::new(image));
        if let Err(e) = output::write_to(out, |w| Ok(asm.write_image(w, &())?)) {
            // a file that is not what its (cached) checksum said: jigdo-file
            // copies it in but leaves its part needed, in a .tmp, exit 2
            if let Some(jigsmith_assemble::Error::ChecksumMismatch { path, .. }) =
                e.downcast_ref::<jigsmith_assemble::Error>()
            {
                if to_stdout {
                    rep.error(&mismatch(path));
                } else {
                    create_tmp(o, rep, &tmp, template_name, &template, entries, &found)
                        .with_context(|| format!("writing {}", tmp.display()))?;
                }
                return Ok(2);
            }
            rep.error(&format!("{} make-image: {e:#}", rep.bin));
            return Ok(3);
        }
        rep.info(&format!("Successfully created `{image}'"));
        return Ok(0);
    }
    if to_stdout {
        rep.info("Cannot create image because of missing files");
        return Ok(3);
    }
    if found_count == 0 {
        rep.info("Will not create image or temporary file - try again with different input files");
        return Ok(1);
    }
    let bad = create_tmp(o, rep, &tmp, template_name, &template, entries, &found)
        .with_context(|| format!("writing {}", tmp.display()))?;
    if bad > 0 {
        // as jigdo-file: no "repeat command" when a file did not match
        return Ok(2);
    }
    rep.info(&format!(
        "Copied input files to temporary file `{}' - repeat command and supply more files to continue",
        tmp.display()
    ));
    Ok(1)
}

/// The DESC table of an existing `.tmp`, if it belongs to the template
/// whose DESC table is `template` (image info last).
pub(super) fn tmp_entries(
    tmp: &Path,
    template: &[DescEntry],
) -> Result<Vec<DescEntry>, &'static str> {
    let mut f =
        File::open(tmp).map_err(|_| "it was not created by jigdo-file, or is corrupted.")?;
    let (entries, start) = read_desc_table(&mut f)
        .map_err(|_| "it was not created by jigdo-file, or is corrupted.")?;
    let unwritten = |e: &DescEntry| match *e {
        DescEntry::File {
            len,
            rsync64,
            digest,
            ..
        } => DescEntry::File {
            len,
            rsync64,
            digest,
            written: false,
        },
        other => other,
    };
    let same = entries.len() == template.len()
        && entries
            .iter()
            .zip(template)
            .all(|(a, b)| unwritten(a) == unwritten(b));
    let image_len = match template.last() {
        Some(DescEntry::ImageInfo { len, .. }) => Some(*len),
        _ => None,
    };
    if !same || Some(start) != image_len {
        return Err("it corresponds to a different image/template.");
    }
    Ok(entries)
}

/// What [`copy_checked`] made of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copied {
    /// Its bytes are in (and matched, when checked).
    Done,
    /// Copied in, but its checksum is not its part's: left needed (exit 2).
    Mismatch,
    /// It could not be opened or read to its length (gone, shortened since
    /// it was hashed): left needed like a file not supplied, the other
    /// files' work kept.
    Unreadable,
}

/// Copies `path` into `out` at its current position, checking it against
/// `want` when asked; an error line for a file that does not match or
/// cannot be read. Only errors writing the output end the copy.
fn copy_checked(
    rep: &Reporter,
    path: &Path,
    len: u64,
    want: &Digest,
    check: bool,
    mut write: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> anyhow::Result<Copied> {
    let unreadable = |e: std::io::Error| {
        rep.error(&format!(
            "Error while reading `{}' - file will be ignored ({})",
            path.display(),
            strerror(&e)
        ));
        Ok(Copied::Unreadable)
    };
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(e),
    };
    let mut h = Hasher::new(want.algorithm());
    let mut buf = vec![0u8; BUF];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(BUF).min(BUF);
        let chunk = buf.get_mut(..n).unwrap_or_default();
        if let Err(e) = f.read_exact(chunk) {
            return unreadable(e);
        }
        if check {
            h.update(chunk);
        }
        write(chunk)?;
        left -= n as u64;
    }
    if check && h.finalize() != *want {
        rep.error(&mismatch(path));
        return Ok(Copied::Mismatch);
    }
    Ok(Copied::Done)
}

/// jigdo-file's line for a file whose bytes are not its part's.
fn mismatch(path: &Path) -> String {
    format!(
        "Error: `{}' does not match checksum in template data",
        path.display()
    )
}

/// Writes a new `.tmp`: template data, the files found, zeros for the rest,
/// then the DESC table with the written files marked. It appears complete
/// or not at all. Returns how many files did not match their checksum
/// (copied, but left needed).
fn create_tmp(
    o: &Options,
    rep: &Reporter,
    tmp: &Path,
    template_name: &str,
    template: &Template,
    mut entries: Vec<DescEntry>,
    found: &HashMap<Digest, PathBuf>,
) -> anyhow::Result<usize> {
    let mut out = AtomicFile::create(tmp)?;
    let mut bad = 0;
    let source = File::open(template_name).with_context(|| format!("opening {template_name}"))?;
    let mut data = UnmatchedReader::new(source, template.shared_parts(), 0);
    {
        let mut w = BufWriter::with_capacity(BUF, out.file());
        let mut pos = 0u64;
        let mut buf = vec![0u8; BUF];
        for e in entries.iter_mut() {
            match e {
                DescEntry::Unmatched { len } => {
                    let mut left = *len;
                    while left > 0 {
                        let n = usize::try_from(left).unwrap_or(BUF).min(BUF);
                        let chunk = buf.get_mut(..n).unwrap_or_default();
                        data.read_exact(chunk)
                            .with_context(|| format!("reading {template_name}"))?;
                        w.write_all(chunk)?;
                        left -= n as u64;
                    }
                    pos += *len;
                }
                DescEntry::File {
                    len,
                    digest,
                    written,
                    ..
                } => {
                    pos += *len;
                    if let Some(p) = found.get(digest) {
                        match copy_checked(rep, p, *len, digest, o.check_files, |c| w.write_all(c))?
                        {
                            Copied::Done => {
                                *written = true;
                                continue;
                            }
                            Copied::Mismatch => bad += 1,
                            Copied::Unreadable => {}
                        }
                    }
                    // unwritten files stay zero (a hole)
                    w.seek(SeekFrom::Start(pos))?;
                }
                DescEntry::ImageInfo { .. } => {}
            }
        }
        w.flush()?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.set_len(pos)?;
        f.seek(SeekFrom::Start(pos))?;
        f.write_all(&encode_desc_table(&entries)?)?;
    }
    out.commit()?;
    Ok(bad)
}

/// Adds the files found to an existing `.tmp`; once every file is in, checks
/// the image against the template's checksum and renames it.
fn continue_tmp(
    o: &Options,
    rep: &Reporter,
    image: &str,
    tmp: &Path,
    template: &Template,
    mut entries: Vec<DescEntry>,
    found: &HashMap<Digest, PathBuf>,
) -> anyhow::Result<u8> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(tmp)
        .with_context(|| format!("opening {}", tmp.display()))?;
    // parts no input file is for (jigdo-file's `missing')
    let mut missing = entries.iter().any(|e| {
        matches!(e, DescEntry::File { written: false, digest, .. } if !found.contains_key(digest))
    });
    let mut bad = false;
    let mut pos = 0u64;
    for e in entries.iter_mut() {
        if let DescEntry::File {
            len,
            digest,
            written,
            ..
        } = e
        {
            if let (false, Some(p)) = (*written, found.get(digest)) {
                let mut at = pos;
                let copied = copy_checked(rep, p, *len, digest, o.check_files, |c| {
                    f.write_all_at(c, at)?;
                    at += c.len() as u64;
                    Ok(())
                })?;
                *written = copied == Copied::Done;
                bad |= copied == Copied::Mismatch;
                missing |= copied == Copied::Unreadable;
            }
        }
        if !matches!(e, DescEntry::ImageInfo { .. }) {
            pos += e.len();
        }
    }
    // the data first, then the table that says it is there
    f.sync_data()
        .with_context(|| format!("writing {}", tmp.display()))?;
    let all = entries
        .iter()
        .all(|e| !matches!(e, DescEntry::File { written: false, .. }));
    if !all {
        f.write_all_at(&encode_desc_table(&entries)?, template.image_len())
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_data()?;
        // as jigdo-file: "repeat command" if parts are missing, exit 2 if
        // a file did not match
        if missing {
            rep.info(&format!(
                "Copied input files to temporary file `{}' - repeat command and supply more files to continue",
                tmp.display()
            ));
        }
        return Ok(if bad { 2 } else { 1 });
    }
    let got = hash_prefix(&f, template.image_len(), template.algorithm())
        .with_context(|| format!("reading {}", tmp.display()))?;
    if got != template.image_digest() {
        f.write_all_at(&encode_desc_table(&entries)?, template.image_len())?;
        rep.error(&mismatch(tmp));
        return Ok(3);
    }
    f.set_len(template.image_len())
        .with_context(|| format!("Could not truncate `{}'", tmp.display()))?;
    f.sync_all()?;
    if let Err(e) = std::fs::rename(tmp, image) {
        rep.error(&format!(
            "Could not move finished image from `{}' to `{image}' ({})",
            tmp.display(),
            strerror(&e)
        ));
        return Ok(3);
    }
    rep.info(&format!("Successfully created `{image}'"));
    Ok(0)
}

fn hash_prefix(mut f: &File, len: u64, algorithm: Algorithm) -> std::io::Result<Digest> {
    let mut h = Hasher::new(algorithm);
    f.seek(SeekFrom::Start(0))?;
    if std::io::copy(&mut f.take(len), &mut h)? != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(h.finalize())
}

/// `verify`: the image's checksum against the template's, jigdo-file's lines.
pub fn verify(o: &Options, rep: &Reporter) -> anyhow::Result<u8> {
    let (Some(image), Some(template_name)) = (&o.image, &o.template) else {
        eprintln!(
            "{} verify: Not both --image and --template specified.\n\
             (Attempt to deduce missing names failed.)",
            rep.bin
        );
        return Ok(try_help(&rep.bin));
    };
    let img: Box<dyn Read> = if image == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match File::open(image) {
            Ok(f) => Box::new(f),
            Err(e) => return Ok(rep.cannot_open(image, &e)),
        }
    };
    // the template is read once: parsed whole when it is one, else (a
    // `.tmp`, a damaged file) only its DESC table, with jigdo-file's words
    let parsed = File::open(template_name)
        .ok()
        .and_then(|mut f| Template::read(&mut f).ok());
    let (len, digest) = match &parsed {
        Some(t) => (t.image_len(), t.image_digest()),
        None => match read_entries(template_name, rep)?.as_deref() {
            Some([.., DescEntry::ImageInfo { len, digest, .. }]) => (*len, *digest),
            _ => return Ok(3),
        },
    };
    const BAD: &str = "ERROR: Checksums do not match, image might be corrupted!";
    let name = if digest.algorithm() == Algorithm::Sha256 {
        "SHA256"
    } else {
        "MD5"
    };
    // Base64 even with --hex, as jigdo-file
    let show = |d: &Digest| d.to_base64();
    let good = |rep: &Reporter| {
        rep.info(&format!("OK: {name} Checksums match, image is good!"));
        if name == "MD5" {
            rep.info("WARNING: MD5 is not considered a secure hash!");
            rep.info("WARNING: It is recommended to verify your image in other ways too!");
        }
    };
    // A template and an image file: jigsmith verify's check (every file and
    // the template data too), reported in jigdo-file's words.
    if let (Some(t), false) = (parsed, image == "-") {
        drop(img);
        let report = jigsmith_assemble::check_image(
            Path::new(image),
            &t,
            Path::new(template_name),
            None,
            &(),
        )
        .with_context(|| format!("checking {image}"))?;
        let Some(sum) = report.sums.first().filter(|_| report.is_length_ok()) else {
            rep.error(BAD);
            return Ok(2);
        };
        rep.info(&format!("{name} from template: {}", show(&sum.expected)));
        rep.info(&format!("{name} from image:    {}", show(&sum.actual)));
        if !report.is_ok() {
            rep.error(BAD);
            return Ok(2);
        }
        good(rep);
        return Ok(0);
    }
    // one byte past the stated length is enough to know it is too long
    let mut h = Hasher::new(digest.algorithm());
    let total = std::io::copy(&mut img.take(len.saturating_add(1)), &mut h)
        .with_context(|| format!("reading {image}"))?;
    if total != len {
        rep.error(BAD);
        return Ok(2);
    }
    let got = h.finalize();
    rep.info(&format!("{name} from template: {}", show(&digest)));
    rep.info(&format!("{name} from image:    {}", show(&got)));
    if got != digest {
        rep.error(BAD);
        return Ok(2);
    }
    good(rep);
    Ok(0)
}
