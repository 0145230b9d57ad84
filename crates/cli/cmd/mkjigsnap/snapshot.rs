//! Making the snapshot tree: links (or copies) of every referenced file,
//! checked first; then the removal of files no `.jigdo` needs any more.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use jigsmith_checksum::{Algorithm, MultiHasher};
use rayon::prelude::*;

use super::{concat, read_maybe_gz, Config, Die, Refs, Sums};
use crate::exit::strerror;
use crate::output::AtomicFile;

/// Linux errnos after which a file is copied rather than linked: another
/// file system, `fs.protected_hardlinks`, too many links.
const EPERM: i32 = 1;
const EXDEV: i32 = 18;
const EMLINK: i32 = 31;

/// What one candidate file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Missing,
    BadSum,
    Good,
}

/// Per mirror: the candidate at the same path, then the one of the same
/// name at the mirror's top (mkjigsnap's fallback), each with its verdict
/// once looked at (candidates after a good one are not).
struct Plan {
    existed: bool,
    candidates: Vec<[(OsString, Option<Verdict>); 2]>,
    /// `-c` on a file already in the snapshot.
    existing: Option<Verdict>,
}

fn disp(s: &OsStr) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(s.as_bytes())
}

pub(super) fn run(config: &Config, refs: &Refs, out: &mut impl Write) -> Result<(), Die> {
    let dir = &config.dirname;
    if !Path::new(dir).is_dir() {
        writeln!(out, "{} does not exist", disp(dir))?;
        if config.dry_run() {
            return Err(Die("DRYRUN: not making it, so aborting".into()));
        }
        mkdirs(config, dir, out)?;
    }
    let ignored = match &config.args.ignore_file {
        Some(path) => parse_ignore_file(path, out)?,
        None => HashSet::new(),
    };
    let unique = refs.files.len();
    writeln!(
        out,
        "Trying to snapshot-link {unique} files into {}",
        disp(dir)
    )?;
    if config.check() {
        writeln!(
            out,
            "  (and checksumming every file, so this may take a while)"
        )?;
    }
    generate(config, refs, &ignored, out)
}

fn mkdirs(config: &Config, input: &OsStr, out: &mut impl Write) -> Result<(), Die> {
    if Path::new(input).is_dir() {
        return Ok(());
    }
    if config.verbose() {
        writeln!(out, "mkdirs({})", disp(input))?;
    }
    if config.dry_run() {
        writeln!(out, "DRYRUN: not making directory tree {}", disp(input))?;
    } else {
        // as mkjigsnap: a directory that cannot be made shows up as failed links
        let _ = std::fs::create_dir_all(input);
    }
    Ok(())
}

fn parse_ignore_file(path: &Path, out: &mut impl Write) -> Result<HashSet<Vec<u8>>, Die> {
    let Ok(text) = std::fs::read(path) else {
        return Ok(HashSet::new());
    };
    let mut set = HashSet::new();
    let mut n = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        set.insert(line.strip_suffix(b"\n").unwrap_or(line).to_vec());
        n += 1;
    }
    writeln!(
        out,
        "parse_ignore_file: loaded {n} entries from file {}",
        path.display()
    )?;
    Ok(set)
}

/// `file` with `.` and empty components dropped: how snapshot paths are compared.
fn normal(file: &[u8]) -> PathBuf {
    Path::new(OsStr::from_bytes(file))
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

fn dirname_of(file: &[u8]) -> &[u8] {
    match file.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(at) => file.get(..at).unwrap_or_default(),
        None => b".",
    }
}

fn basename_of(file: &[u8]) -> &[u8] {
    match file.iter().rposition(|&b| b == b'/') {
        Some(at) => file.get(at + 1..).unwrap_or_default(),
        None => file,
    }
}

/// mkjigsnap follows one level of symlink at a mirror path (a hard link to
/// a symlink would be useless in a snapshot).
fn resolve(path: OsString) -> OsString {
    let p = Path::new(&path);
    match std::fs::read_link(p) {
        Ok(target) if target.is_absolute() => target.into_os_string(),
        Ok(target) => concat(
            OsStr::from_bytes(dirname_of(path.as_bytes())),
            target.as_os_str().as_bytes(),
        ),
        Err(_) => path,
    }
}

/// Whether the file at `path` has the checksums the `.jigdo`s give.
fn check_file(path: &OsStr, sums: &Sums) -> Verdict {
    let Ok(mut f) = File::open(path) else {
        return Verdict::Missing;
    };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Verdict::Missing;
    }
    let wanted: Vec<(Algorithm, &String)> = [
        (Algorithm::Md5, sums.md5.as_ref()),
        (Algorithm::Sha256, sums.sha256.as_ref()),
    ]
    .into_iter()
    .filter_map(|(a, s)| Some((a, s?)))
    .collect();
    let algorithms: Vec<Algorithm> = wanted.iter().map(|(a, _)| *a).collect();
    let mut h = MultiHasher::new(&algorithms);
    if std::io::copy(&mut f, &mut h).is_err() {
        return Verdict::Missing;
    }
    let good = h
        .finalize()
        .iter()
        .zip(&wanted)
        .all(|(d, (_, want))| d.to_base64() == **want);
    if good {
        Verdict::Good
    } else {
        Verdict::BadSum
    }
}

/// Looks at every file's candidates (hashing them) on all cores.
fn plan(config: &Config, files: &[(&Vec<u8>, &Sums)]) -> Vec<Plan> {
    files
        .par_iter()
        .map(|(file, sums)| {
            let outfile = concat(&config.dirname, file);
            let existed = Path::new(&outfile).exists();
            let mut found = false;
            let candidates = config
                .args
                .mirrors
                .iter()
                .map(|m| {
                    let mut pair = [
                        (resolve(concat(m, file)), None),
                        (resolve(concat(m, basename_of(file))), None),
                    ];
                    for (path, verdict) in &mut pair {
                        if !existed && !found && !config.dry_run() {
                            let v = check_file(path, sums);
                            found = v == Verdict::Good;
                            *verdict = Some(v);
                        }
                    }
                    pair
                })
                .collect();
            let existing = (existed && config.check()).then(|| check_file(&outfile, sums));
            Plan {
                existed,
                candidates,
                existing,
            }
        })
        .collect()
}

/// A hard link, or a copy where the kernel will not link.
fn link_or_copy(from: &OsStr, to: &OsStr) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Err(e) if matches!(e.raw_os_error(), Some(EXDEV | EPERM | EMLINK)) => {
            let to = Path::new(to);
            let dir = to.parent().unwrap_or(Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)?;
            std::fs::copy(from, tmp.path())?;
            tmp.persist_noclobber(to).map_err(|e| e.error)?;
            Ok(())
        }
        other => other,
    }
}

fn generate(
    config: &Config,
    refs: &Refs,
    ignored: &HashSet<Vec<u8>>,
    out: &mut impl Write,
) -> Result<(), Die> {
    let files: Vec<(&Vec<u8>, &Sums)> = refs.files.iter().collect();
    let plans = plan(config, &files);
    let unique = files.len();
    let verbose = config.verbose();
    let (mut done, mut failed, mut ignored_n, mut ck_failed) = (0u64, 0u64, 0u64, 0u64);
    let mut failed_files: Vec<&[u8]> = Vec::new();
    let mut keep: BTreeSet<PathBuf> = BTreeSet::new();
    for ((file, _), plan) in files.iter().zip(&plans) {
        let name = String::from_utf8_lossy(file);
        let outfile = concat(&config.dirname, file);
        keep.insert(normal(file));
        if verbose {
            writeln!(out, "file_list hash updated for {}", disp(&outfile))?;
        }
        if !plan.existed {
            mkdirs(config, &concat(&config.dirname, dirname_of(file)), out)?;
            let mut linked = false;
            let mut bad_sum = false;
            // why a good file could not be linked or copied in (disk full,
            // no permission), for the failure line
            let mut link_err = None;
            'mirrors: for pair in &plan.candidates {
                if verbose {
                    writeln!(out, "look for {name}:")?;
                }
                for (i, (infile, verdict)) in pair.iter().enumerate() {
                    if config.dry_run() {
                        writeln!(
                            out,
                            "DRYRUN: not linking {} to {}",
                            disp(infile),
                            disp(&outfile)
                        )?;
                        linked = true;
                        break 'mirrors;
                    }
                    if verbose {
                        let how = if i == 0 { "  try" } else { "  fallback: try" };
                        writeln!(out, "{how} {}", disp(infile))?;
                    }
                    match verdict {
                        Some(Verdict::Good) => match link_or_copy(infile, &outfile) {
                            Ok(()) => {
                                linked = true;
                                break 'mirrors;
                            }
                            Err(e) => link_err = Some(e),
                        },
                        Some(Verdict::BadSum) => bad_sum = true,
                        Some(Verdict::Missing) | None => {}
                    }
                }
            }
            if !linked {
                if bad_sum {
                    writeln!(out, "\nChecksum failure: {name}")?;
                    ck_failed += 1;
                    failed += 1;
                    failed_files.push(file);
                } else if ignored.contains(file.as_slice()) {
                    ignored_n += 1;
                } else {
                    match (&link_err, &config.args.failed_file) {
                        (Some(e), _) => writeln!(
                            out,
                            "\nFailed to create link {}: {}",
                            disp(&outfile),
                            strerror(e)
                        )?,
                        (None, None) => {
                            writeln!(out, "\nFailed to create link {}", disp(&outfile))?;
                        }
                        (None, Some(_)) => {}
                    }
                    failed += 1;
                    failed_files.push(file);
                }
            } else if ignored.contains(file.as_slice()) {
                writeln!(out, "\n{name} marked as failed, but we found it anyway!")?;
            }
        }
        match plan.existing {
            Some(Verdict::BadSum) => {
                writeln!(out, "\nChecksum failure: {name}")?;
                ck_failed += 1;
            }
            Some(Verdict::Missing) => writeln!(out, "\nFailed to jigsum {name}")?,
            Some(Verdict::Good) | None => {}
        }
        done += 1;
        if done % 10_000 == 0 || (config.check() && done % 100 == 0) {
            writeln!(
                out,
                "{done} done, ignored {ignored_n}, failed {failed} ck_failed {ck_failed} out of {unique}"
            )?;
        }
    }
    writeln!(
        out,
        "  Finished: {done}/{unique}, {failed} failed, {ck_failed} ck_failed, ignored {ignored_n}\n"
    )?;
    if let (Some(path), true) = (&config.args.failed_file, failed > 0) {
        writeln!(out, "Writing list of failed files to {}", path.display())?;
        let mut log = Vec::new();
        let mut back = Vec::new();
        for f in &failed_files {
            log.extend_from_slice(f);
            log.push(b'\n');
            back.extend_from_slice(f);
            back.extend_from_slice(b":\n");
            back.extend_from_slice(refs.backref.get(*f).map_or("", String::as_str).as_bytes());
        }
        let cannot = |p: &Path, e: std::io::Error| {
            Die(format!("Failed to open {}: {}", p.display(), strerror(&e)))
        };
        write_atomic(path, log.as_slice()).map_err(|e| cannot(path, e))?;
        if let Some(b) = &config.args.backref_file {
            write_atomic(b, back.as_slice()).map_err(|e| cannot(b, e))?;
        }
    }
    if refs.unread > 0 {
        // what an unread .jigdo names is not known: removing "redundant"
        // files now could delete its parts from the snapshot
        writeln!(
            out,
            "Not removing redundant files: {} jigdo file(s) could not be read",
            refs.unread
        )?;
        return Ok(());
    }
    writeln!(out, "Scanning for now-redundant files")?;
    let mut deleted = 0u64;
    delete_redundant(
        config,
        Path::new(&config.dirname),
        PathBuf::new(),
        &keep,
        &mut deleted,
        out,
    )?;
    writeln!(out, "  Finished: {deleted} old files removed")?;
    Ok(())
}

/// Removes the files under the snapshot that no `.jigdo` references.
fn delete_redundant(
    config: &Config,
    dir: &Path,
    rel: PathBuf,
    keep: &BTreeSet<PathBuf>,
    deleted: &mut u64,
    out: &mut impl Write,
) -> Result<(), Die> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let rel = rel.join(entry.file_name());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            delete_redundant(config, &path, rel, keep, deleted, out)?;
            continue;
        }
        // as Perl's -f: a regular file, or a symlink to one
        if !path.metadata().is_ok_and(|m| m.is_file()) || keep.contains(&rel) {
            continue;
        }
        let shown = concat(&config.dirname, rel.as_os_str().as_bytes());
        if config.verbose() {
            writeln!(out, "delete_redundant({})", disp(&shown))?;
        }
        if config.dry_run() {
            writeln!(out, "DRYRUN: not deleting {}", disp(&shown))?;
        } else {
            let _ = std::fs::remove_file(&path);
        }
        *deleted += 1;
        if *deleted % 1000 == 0 {
            writeln!(out, "{deleted}")?;
        }
    }
    Ok(())
}

/// Writes what `data` reads to `path` through [`AtomicFile`], so it appears
/// whole or not at all, with the usual 0666 & ~umask mode (not a temporary
/// file's 0600); the I/O error is kept for mkjigsnap's messages.
pub(super) fn write_atomic(path: &Path, mut data: impl Read) -> std::io::Result<()> {
    let as_io = |e: anyhow::Error| match e.downcast::<std::io::Error>() {
        Ok(io) => io,
        Err(e) => std::io::Error::other(format!("{e:#}")),
    };
    let mut out = AtomicFile::create(path).map_err(as_io)?;
    std::io::copy(&mut data, out.file())?;
    out.commit().map_err(as_io)
}

/// Single-jigdo mode's outputs in `-o DIR`: `NAME.jigdo` (gzipped, its
/// `Template=` pointing at `NAME.template`), `NAME.template`, `NAME.conf`.
pub(super) fn single_outputs(
    config: &Config,
    jigdos: &[OsString],
    out: &mut impl Write,
) -> Result<(), Die> {
    let (Some(outdir), Some(name), Some(template)) = (
        &config.args.outdir,
        &config.args.cd_name,
        &config.args.template,
    ) else {
        return Ok(());
    };
    let outdir_shown = disp(outdir).into_owned();
    if config.dry_run() {
        writeln!(out, "DRYRUN: Not creating files in {outdir_shown}")?;
        return Ok(());
    }
    let jigdo = jigdos.first().cloned().unwrap_or_default();
    let unable = |why: String| {
        Die(format!(
            "Unable to open jigdo file {} for reading: {why}",
            disp(&jigdo)
        ))
    };
    if let Err(e) = std::fs::metadata(&jigdo) {
        return Err(unable(strerror(&e)));
    }
    // read_maybe_gz has said why on stderr
    let text = read_maybe_gz(&jigdo).ok_or_else(|| unable("it cannot be read whole".into()))?;
    let mut edited = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"Template=") {
            edited.extend_from_slice(format!("Template={name}.template").as_bytes());
            if line.ends_with(b"\n") {
                edited.push(b'\n');
            }
        } else {
            edited.extend_from_slice(line);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&edited)?;
    let gz = gz.finish()?;
    let dir = Path::new(outdir);
    let jigdo_out = dir.join(format!("{name}.jigdo"));
    write_atomic(&jigdo_out, gz.as_slice()).map_err(|e| {
        Die(format!(
            "Unable to open new jigdo file {} for writing: {}",
            jigdo_out.display(),
            strerror(&e)
        ))
    })?;
    let copy_failed = |e: std::io::Error| {
        Die(format!(
            "Failed to copy template file {}: {}",
            template.display(),
            strerror(&e)
        ))
    };
    // streamed, not read whole: a DVD's template is hundreds of MiB
    let data = File::open(template).map_err(copy_failed)?;
    write_atomic(&dir.join(format!("{name}.template")), data).map_err(copy_failed)?;
    // SNAPSHOT= carries the -o prefix too, as mkjigsnap writes it
    let conf = format!(
        "JIGDO={name}.jigdo\nTEMPLATE={name}.template\nSNAPSHOT=snapshot/{}\n",
        disp(&config.dirname)
    );
    let conf_path = dir.join(format!("{name}.conf"));
    write_atomic(&conf_path, conf.as_bytes()).map_err(|e| {
        Die(format!(
            "Failed to open conf file {} for writing: {}",
            conf_path.display(),
            strerror(&e)
        ))
    })?;
    writeln!(
        out,
        "Jigdo files, config and snapshot made in {outdir_shown}"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_like_perls_dirname_and_basename() {
        assert_eq!(dirname_of(b"pool/main/a.deb"), b"pool/main");
        assert_eq!(dirname_of(b"a.deb"), b".");
        assert_eq!(basename_of(b"pool/main/a.deb"), b"a.deb");
        assert_eq!(normal(b"pool//main/./a.deb"), Path::new("pool/main/a.deb"));
    }

    #[test]
    fn a_file_is_good_only_with_every_checksum_right() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        let md5 = jigsmith_checksum::Hasher::digest(Algorithm::Md5, b"hello\n").to_base64();
        let sha = jigsmith_checksum::Hasher::digest(Algorithm::Sha256, b"hello\n").to_base64();
        let sums = |md5: Option<&str>, sha: Option<&str>| Sums {
            md5: md5.map(String::from),
            sha256: sha.map(String::from),
        };
        let path = p.as_os_str();
        assert_eq!(check_file(path, &sums(Some(&md5), None)), Verdict::Good);
        assert_eq!(
            check_file(path, &sums(Some(&md5), Some(&sha))),
            Verdict::Good
        );
        assert_eq!(
            check_file(path, &sums(Some(&md5), Some(&md5))),
            Verdict::BadSum
        );
        assert_eq!(
            check_file(dir.path().join("gone").as_os_str(), &sums(Some(&md5), None)),
            Verdict::Missing
        );
    }

    #[test]
    fn links_are_made_and_never_replace_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"x").unwrap();
        link_or_copy(a.as_os_str(), b.as_os_str()).unwrap();
        assert!(link_or_copy(a.as_os_str(), b.as_os_str()).is_err());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&b).unwrap().nlink(), 2);
    }
}
