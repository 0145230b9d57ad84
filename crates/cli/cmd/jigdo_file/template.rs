//! `make-template` and `scan`.
//!
//! The template is made by `make_template::make` (jigsmith's scanner, ISO
//! aware, with the persistent checksum cache for `--cache`); the `.jigdo`
//! is written here in jigdo-file's layout (see `jigdo_text`): a `[Servers]`
//! line per label in the order the labels were first used, `[Parts]`
//! sorted by value. A name's part before `//` becomes a label (`--label
//! L=/path` names it, else `A`, `B`, … in image order) served from
//! `file:/path/` unless `--uri L=URI` says otherwise. `-0` is taken as `-1`
//! (jigsmith always compresses).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_format::{quote_value, Compression};
use jigsmith_sumcache::{SumCache, Want};

use super::args::{try_help, Options, Report};
use super::jigdo_text::{render, Base, New};
use super::report::Reporter;
use super::walk::{walk, InputFile};
use crate::cmd::make_template::{make, TemplateJob};
use crate::output::AtomicFile;

pub fn make_template(o: &Options, rep: &Reporter) -> anyhow::Result<u8> {
    let (Some(image), Some(jigdo), Some(template)) = (&o.image, &o.jigdo, &o.template) else {
        eprintln!(
            "{} make-template: Not all of --image, --jigdo, --template specified.\n\
             (Attempt to deduce missing names failed.)",
            rep.bin
        );
        return Ok(try_help(&rep.bin));
    };
    if jigdo == "-" || template == "-" {
        rep.error(&format!(
            "{}: make-template writes the .jigdo and .template to files only, \
             not to standard output",
            rep.bin
        ));
        return Ok(3);
    }
    // both complaints, as jigdo-file gives them
    let mut exists = false;
    for out in [jigdo, template] {
        if !o.force && Path::new(out).exists() {
            rep.exists(out);
            exists = true;
        }
    }
    if exists {
        return Ok(3);
    }
    let files = walk(&o.files, &o.files_from, rep)?;
    // read before anything is written: it may be the .jigdo being replaced
    let base = match &o.merge {
        None => Base::parse(""),
        Some(m) => {
            let mut text = String::new();
            let read = if m == "-" {
                std::io::stdin().lock().read_to_string(&mut text)
            } else {
                std::fs::File::open(m).and_then(|mut f| f.read_to_string(&mut text))
            };
            if let Err(e) = read {
                return Ok(rep.cannot_open(m, &e));
            }
            Base::parse(&text)
        }
    };
    if o.files.is_empty() && o.files_from.is_empty() {
        rep.info(
            "Warning - no files specified. The template will contain the complete image contents!",
        );
    }
    // `-i -`: the image follows the names (-T -) on stdin; the scanner
    // wants a file, so it is spooled next to the template first
    let spooled = if image == "-" {
        let dir = match Path::new(template).parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut f = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        std::io::copy(&mut std::io::stdin().lock(), f.as_file_mut())
            .context("reading the image from standard input")?;
        Some(f)
    } else {
        if let Err(e) = std::fs::File::open(image) {
            return Ok(rep.cannot_open(image, &e));
        }
        None
    };

    // jigdo-file's .jigdo is written below
    let job = TemplateJob {
        image: spooled
            .as_ref()
            .map_or_else(|| PathBuf::from(image), |f| f.path().to_path_buf()),
        jigdo: None,
        template: PathBuf::from(template),
        checksum_lists: Vec::new(),
        // of files with the same contents jigdo-file names the last one
        // given; the scanner takes the first
        files: files.iter().rev().map(|f| f.path.clone()).collect(),
        maps: Vec::new(),
        servers: Vec::new(),
        algorithm: o.algorithm,
        compression: if o.bzip2 {
            Compression::Bzip2
        } else {
            Compression::Zlib
        },
        level: o.level.clamp(1, 9),
        min_size: o.min_length,
        cache: usable_cache(o, rep),
        // jigdo-file's .jigdo has no image checksum comments
        image_checksums: Vec::new(),
        iso_aware: true,
        quiet: true,
    };
    let made = match make(&job) {
        Ok(m) => m,
        Err(e) => {
            rep.error(&format!("{} make-template: {e:#}", rep.bin));
            return Ok(3);
        }
    };

    let by_path: HashMap<String, &InputFile> = files
        .iter()
        .map(|f| (f.path.display().to_string(), f))
        .collect();
    let mut labels = Labels::new(o, &base.servers);
    let mut parts: Vec<(Digest, String)> = Vec::new();
    let stdout = std::io::stdout();
    let mut grep = stdout.lock();
    for (m, name) in made.report.matches.iter().zip(&made.names) {
        let Some(f) = by_path.get(name) else {
            continue;
        };
        let label_path = f.label_path.as_deref().unwrap_or("");
        let label = labels.label_for(label_path);
        if o.report == Report::Grep {
            writeln!(grep, "{} {label_path}{}", m.offset, f.name)?;
        } else {
            rep.info(&format!("Match of `{}' at offset {}", f.name, m.offset));
        }
        if let Some(cmd) = &o.match_exec {
            match_exec(rep, cmd, &label, label_path, f, &m.digest);
        }
        if !parts.iter().any(|(d, _)| *d == m.digest) {
            parts.push((m.digest, format!("{label}:{}", f.name)));
        }
    }
    grep.flush()?;
    rep.default_only(&format!(
        "Finished - image size is {} bytes.",
        made.report.image_len
    ));

    let t = &made.report.template;
    let template_sum = if o.algorithm == Algorithm::Sha256 {
        ("Template-SHA256Sum", t.template_sha256.to_base64())
    } else {
        ("Template-MD5Sum", t.template_md5.to_base64())
    };
    let new = New {
        jigdo: vec![
            if o.algorithm == Algorithm::Sha256 {
                "Version=2.0"
            } else {
                "Version=1.2"
            }
            .to_string(),
            concat!(
                "Generator=jigsmith/",
                env!("CARGO_PKG_VERSION"),
                " (jigdo-file/0.8.0)"
            )
            .to_string(),
        ],
        image: o.image_section.then(|| {
            vec![
                format!("Filename={}", quote_value(&leaf(image))),
                format!("Template={}", quote_value(&leaf(template))),
                format!("{}={}", template_sum.0, template_sum.1),
            ]
        }),
        template_sum,
        servers: o.servers_section.then(|| labels.used.clone()),
        parts: parts
            .iter()
            .map(|(d, location)| (d.to_base64(), quote_value(location)))
            .collect(),
    };
    let text = render(base, &new);
    let mut out = AtomicFile::create(Path::new(jigdo))?;
    out.file()
        .write_all(text.as_bytes())
        .with_context(|| format!("writing {jigdo}"))?;
    out.commit()?;
    Ok(0)
}

fn leaf(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

/// Label names and their `[Servers]` values, in the order first used.
struct Labels {
    /// `--label L=/path`, path without trailing slashes.
    given: Vec<(String, String)>,
    /// `--uri L=URI`.
    uris: HashMap<String, String>,
    /// `[Servers]` entries of the `--merge` file.
    existing: Vec<(String, String)>,
    /// label path → label.
    by_path: HashMap<String, String>,
    used: Vec<(String, String)>,
    next_auto: usize,
}

impl Labels {
    fn new(o: &Options, existing: &[(String, String)]) -> Labels {
        let split = |v: &String| {
            v.split_once('=')
                .map(|(l, r)| (l.to_string(), r.to_string()))
        };
        Labels {
            given: o
                .labels
                .iter()
                .filter_map(split)
                .map(|(l, p)| (l, p.trim_end_matches('/').to_string()))
                .collect(),
            uris: o.uris.iter().filter_map(split).collect(),
            existing: existing.to_vec(),
            by_path: HashMap::new(),
            used: Vec::new(),
            next_auto: 0,
        }
    }

    fn label_for(&mut self, label_path: &str) -> String {
        if let Some(l) = self.by_path.get(label_path) {
            return l.clone();
        }
        let trimmed = label_path.trim_end_matches('/');
        let named = (!label_path.is_empty())
            .then(|| self.given.iter().find(|(_, p)| p == trimmed))
            .flatten()
            .map(|(l, _)| l.clone());
        // --uri only counts for a label named with --label (jigdo-file(1))
        let uri = named.as_ref().and_then(|l| self.uris.get(l)).cloned();
        // an auto label: the merge file's label for the same file: URI, if any
        let file_uri = Self::file_uri(label_path);
        let reused = self
            .existing
            .iter()
            .find(|(_, v)| *v == file_uri)
            .map(|(l, _)| l.clone());
        let label = named.or(reused).unwrap_or_else(|| loop {
            let n = self.next_auto;
            self.next_auto += 1;
            let letter = char::from(b'A' + (n % 26) as u8);
            let candidate = if n < 26 {
                letter.to_string()
            } else {
                format!("{letter}{}", n / 26)
            };
            let taken = self.given.iter().any(|(l, _)| *l == candidate)
                || self.existing.iter().any(|(l, _)| *l == candidate)
                || self.used.iter().any(|(l, _)| *l == candidate);
            if !taken {
                break candidate;
            }
        });
        let uri = uri.unwrap_or(file_uri);
        self.by_path.insert(label_path.to_string(), label.clone());
        self.used.push((label.clone(), uri));
        label
    }
}

impl Labels {
    /// The `[Servers]` value of a label path: `file:PATH/`, quoted as needed.
    fn file_uri(label_path: &str) -> String {
        if label_path.is_empty() {
            return "file:".to_string();
        }
        let mut u = format!("file:{label_path}");
        if !u.ends_with('/') {
            u.push('/');
        }
        quote_value(&u)
    }
}

/// `--match-exec`: the command in a shell, with jigdo-file's variables.
fn match_exec(rep: &Reporter, cmd: &str, label: &str, label_path: &str, f: &InputFile, d: &Digest) {
    let (dir, leaf) = match f.name.rfind('/') {
        Some(i) => (
            f.name.get(..=i).unwrap_or_default(),
            f.name.get(i + 1..).unwrap_or_default(),
        ),
        None => ("", f.name.as_str()),
    };
    let sum = d.to_base64();
    let (md5, sha256) = if d.algorithm() == Algorithm::Sha256 {
        (String::new(), sum)
    } else {
        (sum, String::new())
    };
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("LABEL", label)
        .env("LABELPATH", label_path)
        .env("MATCHPATH", dir)
        .env("LEAF", leaf)
        .env("MD5SUM", md5)
        .env("SHA256SUM", sha256)
        .env("FILE", format!("{label_path}{}", f.name))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        rep.error("Command supplied with --match-exec failed");
    }
}

/// `--cache FILE` if jigsmith can use it. A cache jigsmith cannot open (for
/// one, a Berkeley DB file the real jigdo-file left) is reported and the
/// run goes on without it, as jigdo-file goes on after "Error accessing
/// cache".
fn usable_cache(o: &Options, rep: &Reporter) -> Option<PathBuf> {
    let path = PathBuf::from(o.cache.as_ref()?);
    match SumCache::open(&path) {
        Ok(_) => Some(path),
        Err(e) => {
            rep.error(&format!("Error accessing cache: {e:#}"));
            None
        }
    }
}

/// `scan`: brings the `--cache` file up to date with the files given.
pub fn scan(o: &Options, rep: &Reporter) -> anyhow::Result<u8> {
    let Some(cache) = &o.cache else {
        eprintln!("{} scan: Please specify a --cache file.", rep.bin);
        return Ok(try_help(&rep.bin));
    };
    let files = walk(&o.files, &o.files_from, rep)?;
    let cache =
        SumCache::open(Path::new(cache)).with_context(|| format!("opening the cache {cache}"))?;
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let want = Want {
        md5: o.algorithm == Algorithm::Md5,
        sha256: o.algorithm == Algorithm::Sha256,
        blocks: true,
    };
    for (path, r) in paths.iter().zip(cache.refresh(&paths, want)?) {
        if let Err(e) = r {
            rep.error(&format!(
                "Error while reading `{}' - file will be ignored ({e})",
                path.display()
            ));
        }
    }
    Ok(0)
}

/// The checksums of `files` through the `--cache` file, for md5sum/sha256sum.
pub fn cached_sums(
    o: &Options,
    rep: &Reporter,
    files: &[InputFile],
    algorithm: Algorithm,
) -> anyhow::Result<Vec<Option<Digest>>> {
    let Some(cache) = usable_cache(o, rep).and_then(|p| SumCache::open(&p).ok()) else {
        return Ok(vec![None; files.len()]);
    };
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let want = Want {
        md5: algorithm == Algorithm::Md5,
        sha256: algorithm == Algorithm::Sha256,
        blocks: false,
    };
    Ok(cache
        .refresh(&paths, want)?
        .into_iter()
        .map(|r| r.ok().and_then(|(_, sums)| sums.digest(algorithm)))
        .collect())
}
