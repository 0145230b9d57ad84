//! The `mkjigsnap` personality (jigit 1.22's `/usr/sbin/mkjigsnap`): from
//! a set of `.jigdo` files, a snapshot tree of hard links to every file
//! they reference under a keyword (`Debian:pool/…`), so old images stay
//! rebuildable after the mirror moved on. Same options, same output lines,
//! same exit status (255 when it gives up, 0 otherwise, even with files
//! missing: the counts and the fail log say so).
//!
//! Where it differs, on purpose:
//! - a file's checksum is checked against the `.jigdo` *before* it is linked
//!   into the snapshot (mkjigsnap links anything of the right name and only
//!   with `-c` checks afterwards, leaving a bad link in place). A file with
//!   the wrong checksum is reported (`Checksum failure: …`), counted as
//!   failed, listed in the fail log, and not linked; another mirror's copy
//!   of it is tried first. `-c` also re-checks files already in the snapshot.
//! - across file systems (EXDEV), or where the kernel refuses the link
//!   (EPERM under `fs.protected_hardlinks`, EMLINK), the file is copied
//!   (atomically: a temporary file renamed into place) rather than missing.
//! - names are compared as paths when stale snapshot files are removed, so
//!   `a//b` in a `.jigdo` does not get the file it named deleted.
//! - the snapshot files of all `.jigdo`s are checked on every core.

mod date;
mod snapshot;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::exit::strerror;

/// mkjigsnap personality: make a snapshot tree of the files a set of
/// .jigdo files reference.
#[derive(Debug, Parser)]
#[command(name = "mkjigsnap", version)]
pub struct MkjigsnapArgs {
    /// With -f, also write which .jigdo files need each missing file into FILE.
    #[arg(short = 'b', value_name = "FILE")]
    backref_file: Option<PathBuf>,
    /// Check the checksum of every file already in the snapshot too.
    #[arg(short = 'c', action = clap::ArgAction::Count)]
    check_checksums: u8,
    /// Write the checksum of every referenced file into FILE.
    #[arg(short = 'C', value_name = "FILE")]
    checksum_out: Option<PathBuf>,
    /// The snapshot directory (single-jigdo mode: relative to -o).
    #[arg(short = 'd', value_name = "DIR")]
    dirname: Option<OsString>,
    /// List the files that are missing from the mirror into FILE.
    #[arg(short = 'f', value_name = "FILE")]
    failed_file: Option<PathBuf>,
    /// Files listed in FILE are expected to be missing: not reported.
    #[arg(short = 'i', value_name = "FILE")]
    ignore_file: Option<PathBuf>,
    /// A file listing .jigdo files, one a line.
    #[arg(short = 'J', value_name = "FILE")]
    jigdo_list: Vec<PathBuf>,
    /// A .jigdo file (gzipped or plain); repeatable.
    #[arg(short = 'j', value_name = "FILE")]
    jigdos: Vec<OsString>,
    /// A [Parts] label to snapshot (e.g. Debian); repeatable.
    #[arg(short = 'k', value_name = "KEYWORD")]
    keywords: Vec<String>,
    /// A mirror holding the files; repeatable, tried in order.
    #[arg(short = 'm', value_name = "DIR")]
    mirrors: Vec<OsString>,
    /// Dry run: say what would be done, change nothing.
    #[arg(short = 'N', action = clap::ArgAction::Count)]
    dry_run: u8,
    /// Single-jigdo mode: the CD name for the jigit .conf.
    #[arg(short = 'n', value_name = "NAME")]
    cd_name: Option<String>,
    /// Single-jigdo mode: where the .jigdo, .template, .conf and snapshot go.
    #[arg(short = 'o', value_name = "DIR")]
    outdir: Option<OsString>,
    /// Temporary directory (accepted and unused, as by mkjigsnap).
    #[arg(short = 'T', value_name = "DIR")]
    tempdir: Option<PathBuf>,
    /// Single-jigdo mode: the template file.
    #[arg(short = 't', value_name = "FILE")]
    template: Option<PathBuf>,
    /// Say every step.
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,
}

/// `jigsmith mkjigsnap ARGS…`: the options are mkjigsnap's, parsed by the personality.
#[derive(Debug, clap::Args)]
pub struct MkjigsnapRawArgs {
    /// mkjigsnap options (-d DIR -k KEYWORD -m MIRROR -j X.jigdo / -J LIST …).
    #[arg(allow_hyphen_values = true, trailing_var_arg = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// mkjigsnap's status when it gives up (Perl's `die`).
const DIE: u8 = 255;

/// Why mkjigsnap gives up: the message it prints.
#[derive(Debug)]
pub(crate) struct Die(pub String);

impl From<std::io::Error> for Die {
    fn from(e: std::io::Error) -> Die {
        Die(format!("writing output: {}", strerror(&e)))
    }
}

pub fn run_raw(a: MkjigsnapRawArgs) -> anyhow::Result<ExitCode> {
    let argv = std::iter::once(OsString::from("mkjigsnap")).chain(a.args);
    Ok(main(argv.collect()))
}

/// Runs the personality on a whole argv (argv[0] first).
pub fn main(argv: Vec<OsString>) -> ExitCode {
    let args = match MkjigsnapArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            eprintln!("Error in command line arguments, bailing out");
            return ExitCode::from(DIE);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = run(&args, &mut out);
    let flushed = out.flush();
    match result {
        Ok(()) if flushed.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(DIE),
        Err(Die(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(DIE)
        }
    }
}

/// The checksums the `.jigdo`s give a file, in jigdo base64.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sums {
    pub md5: Option<String>,
    pub sha256: Option<String>,
}

/// What the `.jigdo`s reference: relative path (bytes) → checksums.
pub(crate) struct Refs {
    pub files: BTreeMap<Vec<u8>, Sums>,
    pub backref: BTreeMap<Vec<u8>, String>,
    pub unsorted: u64,
    /// `.jigdo` files that could not be read whole: the files they name are
    /// unknown, so none may be removed as redundant.
    pub unread: u64,
}

/// Validated options.
pub(crate) struct Config<'a> {
    pub args: &'a MkjigsnapArgs,
    /// The snapshot directory, as mkjigsnap spells it (`-o`/`-d` in single mode).
    pub dirname: OsString,
    pub single: bool,
    pub num_jigdos: u64,
}

impl Config<'_> {
    pub fn verbose(&self) -> bool {
        self.args.verbose > 0
    }
    pub fn dry_run(&self) -> bool {
        self.args.dry_run > 0
    }
    pub fn check(&self) -> bool {
        self.args.check_checksums > 0
    }
}

fn run(a: &MkjigsnapArgs, out: &mut impl Write) -> Result<(), Die> {
    let start = date::now();
    let config = validate(a)?;
    let jigdos = jigdo_paths(&config, out)?;
    let jlist_done = date::now();
    writeln!(out, "Working on {} jigdo file(s)", config.num_jigdos)?;
    writeln!(out, "Reading / parsing jigdo file(s)")?;
    let refs = parse_jigdos(&config, &jigdos, out)?;
    let parse_done = date::now();
    let unique = refs.files.len();
    writeln!(
        out,
        "  found {} total, {unique} unique file refs in {} jigdo files",
        refs.unsorted, config.num_jigdos
    )?;
    if let Some(path) = &a.checksum_out {
        write_checksums(path, &refs)?;
    }
    if unique < 5 {
        return Err(Die(format!(
            "Only {unique} for the snapshot? Something is wrong; abort!"
        )));
    }
    snapshot::run(&config, &refs, out)?;
    let snap_done = date::now();
    writeln!(out, "{start}: startup")?;
    writeln!(out, "{jlist_done}: found {} jigdo files", config.num_jigdos)?;
    writeln!(
        out,
        "{parse_done}: found {} files referenced in those jigdo files, {unique} unique",
        refs.unsorted
    )?;
    writeln!(out, "{snap_done}: snapshot done")?;
    if config.single {
        snapshot::single_outputs(&config, &jigdos, out)?;
    }
    Ok(())
}

/// mkjigsnap's checks, in its order and words.
fn validate(a: &MkjigsnapArgs) -> Result<Config<'_>, Die> {
    let die = |m: &str| Err(Die(m.to_string()));
    let Some(dirname) = &a.dirname else {
        return die("You must specify the snapshot directory name!");
    };
    if a.keywords.is_empty() {
        return die("You must specify the keywords to match!");
    }
    if a.mirrors.is_empty() {
        return die("You must specify the location(s) of the mirror(s)!");
    }
    let mut num_jigdos = a.jigdos.len() as u64;
    for list in &a.jigdo_list {
        // mkjigsnap counts the words of the list (`wc -w`), not its lines
        match std::fs::read(list) {
            Ok(text) => {
                num_jigdos += text
                    .split(u8::is_ascii_whitespace)
                    .filter(|w| !w.is_empty())
                    .count() as u64
            }
            Err(e) => eprintln!("mkjigsnap: {}: {}", list.display(), strerror(&e)),
        }
    }
    if num_jigdos == 0 {
        return die("No jigdo file(s) specified!");
    }
    let single = a.cd_name.is_some();
    let mut dir = dirname.clone();
    if single {
        let Some(outdir) = &a.outdir else {
            return die("You must specify where to set up the snapshot!");
        };
        if a.template.is_none() {
            return die("You must specify the template file!");
        }
        if num_jigdos != 1 {
            return Err(Die(format!(
                "More than one jigdo file specified ({num_jigdos}) in single-jigdo mode!"
            )));
        }
        dir = concat(outdir, dirname.as_bytes());
    } else {
        if a.outdir.is_some() {
            return die("Output dir is meaningless for multi-jigdo mode!");
        }
        if a.template.is_some() {
            return die("Template file name is meaningless for multi-jigdo mode!");
        }
    }
    Ok(Config {
        args: a,
        dirname: dir,
        single,
        num_jigdos,
    })
}

/// `a` + `/` + `b`, as mkjigsnap joins paths (a string concatenation).
pub(crate) fn concat(a: &OsStr, b: &[u8]) -> OsString {
    let mut v = a.as_bytes().to_vec();
    v.push(b'/');
    v.extend_from_slice(b);
    OsStr::from_bytes(&v).to_owned()
}

/// The `-j` files and the lines of each `-J` list.
fn jigdo_paths(config: &Config, out: &mut impl Write) -> Result<Vec<OsString>, Die> {
    let mut jigdos = config.args.jigdos.clone();
    for list in &config.args.jigdo_list {
        if config.verbose() {
            writeln!(out, "Checking for jigdos in {}", list.display())?;
        }
        let text = std::fs::read(list).map_err(|e| {
            Die(format!(
                "Can't open file {}: {}",
                list.display(),
                strerror(&e)
            ))
        })?;
        for line in text.split(|&b| b == b'\n') {
            if line.len() > 1 {
                jigdos.push(OsStr::from_bytes(line).to_owned());
            }
        }
    }
    Ok(jigdos)
}

/// A `.jigdo`'s bytes, gunzipped if gzipped (`zcat -f`); unreadable files
/// are reported on stderr and contribute nothing, as with mkjigsnap. A
/// gzip stream that breaks off is unreadable too: its first lines alone
/// would pass for a smaller `.jigdo`.
pub(crate) fn read_maybe_gz(path: &OsStr) -> Option<Vec<u8>> {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!(
                "mkjigsnap: {}: {}",
                PathBuf::from(path).display(),
                strerror(&e)
            );
            return None;
        }
    };
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Some(raw);
    }
    let mut text = Vec::new();
    match flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut text) {
        Ok(_) => Some(text),
        Err(e) => {
            eprintln!(
                "mkjigsnap: {}: {}",
                PathBuf::from(path).display(),
                strerror(&e)
            );
            None
        }
    }
}

/// Which kind of checksum a [Parts] line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Md5,
    Sha256,
}

/// mkjigsnap's match of a [Parts] line: `^(.{22})=KEYWORD:(.*)$` (MD5) or
/// `^(.{43})=KEYWORD:(.*)$` (SHA-256), the last keyword that matches
/// winning; one leading `/` is dropped from the path.
fn match_line<'l>(line: &'l [u8], keywords: &[String]) -> Option<(&'l [u8], &'l [u8], Kind)> {
    let mut found = None;
    for kw in keywords {
        for (n, kind) in [(22, Kind::Md5), (43, Kind::Sha256)] {
            let Some(rest) = line.get(n..).and_then(|r| r.strip_prefix(b"=")) else {
                continue;
            };
            let Some(rest) = rest
                .strip_prefix(kw.as_bytes())
                .and_then(|r| r.strip_prefix(b":"))
            else {
                continue;
            };
            let file = rest.strip_prefix(b"/").unwrap_or(rest);
            found = Some((line.get(..n).unwrap_or_default(), file, kind));
        }
    }
    found
}

fn parse_jigdos(config: &Config, jigdos: &[OsString], out: &mut impl Write) -> Result<Refs, Die> {
    let mut sorted: Vec<&OsString> = jigdos.iter().collect();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut refs = Refs {
        files: BTreeMap::new(),
        backref: BTreeMap::new(),
        unsorted: 0,
        unread: 0,
    };
    let want_backref = config.args.backref_file.is_some();
    for (parsed, injig) in sorted.into_iter().enumerate() {
        let Some(text) = read_maybe_gz(injig) else {
            refs.unread += 1;
            continue;
        };
        let name = String::from_utf8_lossy(injig.as_bytes()).into_owned();
        for line in text.split(|&b| b == b'\n') {
            let Some((sum, file, kind)) = match_line(line, &config.args.keywords) else {
                continue;
            };
            refs.unsorted += 1;
            let sum = String::from_utf8_lossy(sum).into_owned();
            let entry = refs.files.entry(file.to_vec()).or_default();
            let slot = match kind {
                Kind::Md5 => &mut entry.md5,
                Kind::Sha256 => &mut entry.sha256,
            };
            match slot {
                None => *slot = Some(sum),
                Some(old) if !old.contains(sum.as_str()) => {
                    writeln!(
                        out,
                        "  ERROR: {} referenced again with different checksum!",
                        String::from_utf8_lossy(file)
                    )?;
                    writeln!(out, "    (old {old} new {sum}")?;
                }
                Some(_) => {}
            }
            if want_backref {
                let b = refs.backref.entry(file.to_vec()).or_default();
                b.push(' ');
                b.push_str(&name);
                b.push('\n');
            }
            if refs.unsorted % 100_000 == 0 {
                writeln!(
                    out,
                    "  found {} total, {} unique file refs, {} / {} jigdo files ({name})",
                    refs.unsorted,
                    refs.files.len(),
                    parsed + 1,
                    config.num_jigdos
                )?;
            }
        }
    }
    Ok(refs)
}

/// `-C FILE`: `checksum  path` for every file and kind, sorted by path.
fn write_checksums(path: &std::path::Path, refs: &Refs) -> Result<(), Die> {
    let mut text = Vec::new();
    for (file, sums) in &refs.files {
        for sum in [&sums.md5, &sums.sha256].into_iter().flatten() {
            text.extend_from_slice(sum.as_bytes());
            text.extend_from_slice(b"  ");
            text.extend_from_slice(file);
            text.push(b'\n');
        }
    }
    snapshot::write_atomic(path, text.as_slice()).map_err(|e| {
        Die(format!(
            "Can't open {} for writing: {}",
            path.display(),
            strerror(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_lines_match_like_mkjigsnap() {
        let kw = vec!["Debian".to_string(), "Non-US".to_string()];
        let md5 = b"AAAAAAAAAAAAAAAAAAAAAA=Debian:/pool/main/a/a.deb";
        let (sum, file, kind) = match_line(md5, &kw).unwrap();
        assert_eq!(
            (sum.len(), file, kind),
            (22, &b"pool/main/a/a.deb"[..], Kind::Md5)
        );
        let sha = [&[b'B'; 43][..], b"=Non-US:x y.deb"].concat();
        let (_, file, kind) = match_line(&sha, &kw).unwrap();
        assert_eq!((file, kind), (&b"x y.deb"[..], Kind::Sha256));
        for no in [
            &b"Debian=http://deb.debian.org/debian/"[..],
            b"AAAAAAAAAAAAAAAAAAAAAA=Ubuntu:pool/a.deb",
            b"AAAAAAAAAAAAAAAAAAAAAA=Debian pool/a.deb",
            b"AAAAAAAAAAAAAAAAAAAAA=Debian:pool/a.deb",
        ] {
            assert!(
                match_line(no, &kw).is_none(),
                "{}",
                String::from_utf8_lossy(no)
            );
        }
    }

    #[test]
    fn a_broken_off_gzip_jigdo_is_unread_not_half_read() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"[Parts]\nAAAAAAAAAAAAAAAAAAAAAA=Debian:a.deb\n")
            .unwrap();
        let gz = gz.finish().unwrap();
        let whole = dir.path().join("whole.jigdo");
        let cut = dir.path().join("cut.jigdo");
        std::fs::write(&whole, &gz).unwrap();
        std::fs::write(&cut, &gz[..gz.len() - 6]).unwrap();
        assert!(read_maybe_gz(whole.as_os_str()).is_some());
        assert!(read_maybe_gz(cut.as_os_str()).is_none());
    }

    #[test]
    fn options_are_mkjigsnaps() {
        let a = MkjigsnapArgs::try_parse_from([
            "mkjigsnap",
            "-m",
            "/m1",
            "-m",
            "/m2",
            "-J",
            "list",
            "-j",
            "a.jigdo",
            "-k",
            "Debian",
            "-d",
            "/snap",
            "-f",
            "fail.log",
            "-i",
            "ignore",
            "-b",
            "back",
            "-c",
            "-C",
            "sums",
            "-N",
            "-v",
            "-T",
            "/tmp",
        ])
        .unwrap();
        assert_eq!(a.mirrors.len(), 2);
        assert_eq!((a.check_checksums, a.dry_run, a.verbose), (1, 1, 1));
        assert!(validate(&a).is_ok());
        let a = MkjigsnapArgs::try_parse_from(["mkjigsnap", "-k", "Debian", "-m", "/m"]).unwrap();
        assert_eq!(
            validate(&a).err().unwrap().0,
            "You must specify the snapshot directory name!"
        );
        // -o alone, then with single-jigdo mode's -n and -t
        let with_output_dir = |more: &[&str]| {
            let base = [
                "mkjigsnap",
                "-d",
                "s",
                "-k",
                "D",
                "-m",
                "/m",
                "-j",
                "x",
                "-o",
                "/o",
            ];
            MkjigsnapArgs::try_parse_from(base.iter().chain(more)).unwrap()
        };
        let a = with_output_dir(&[]);
        assert_eq!(
            validate(&a).err().unwrap().0,
            "Output dir is meaningless for multi-jigdo mode!"
        );
        let a = with_output_dir(&["-n", "cd", "-t", "x.template"]);
        let c = validate(&a).unwrap();
        assert!(c.single);
        assert_eq!(c.dirname, "/o/s");
    }
}
