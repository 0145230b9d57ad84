//! `jigsmith get`: download an image from a `.jigdo` (the jigdo-lite and
//! jigit job): local seeds first, then many parts at once from HTTP(S)
//! mirrors, each verified before it counts, written in place into
//! `NAME.part` with a journal beside it so a rerun after a crash fetches
//! only what is missing; the image checked and renamed at the end.

mod config;
mod hasher;
mod input;
mod journal;
mod remote;
mod report;
pub mod seed;

pub use remote::{default_cache, with_mirrors};

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Parser};
use jigsmith_assemble::{LocalSources, Location, PartSource};
use jigsmith_checksum::{Digest, Hasher};
use jigsmith_format::{ItemKind, Template, UnmatchedReader};
use jigsmith_net::{ClientConfig, Fetcher, FileAt, Mirrors, Task};
use rayon::prelude::*;

use super::image_job::parse_map;
use crate::exit::VERIFY_FAILED;
use hasher::ImageHasher;
use input::Loaded;
use journal::Journal;
use report::Report;

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The .jigdo file: an http(s) URL or a local path, plain or gzipped.
    jigdo: String,
    /// Output file, or a directory to put it in (default: the current
    /// directory, named by the .jigdo's Filename=).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// A mirror for a [Parts] label, tried before the .jigdo's [Servers]:
    /// LABEL=URL, e.g. Debian=http://deb.debian.org/debian/ (repeatable).
    #[arg(long, value_name = "LABEL=URL", value_parser = parse_mirror)]
    mirror: Vec<(String, String)>,
    /// Local files to reuse: a directory (walked) or an ISO image, e.g. an
    /// older release's (repeatable).
    #[arg(long, value_name = "PATH")]
    seed: Vec<PathBuf>,
    /// Where a label's files are on local disk: LABEL=DIR (repeatable).
    #[arg(short, long, value_name = "LABEL=DIR", value_parser = parse_map)]
    map: Vec<(String, PathBuf)>,
    /// Downloads at once (default 16, or `jobs` of the config file).
    #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    /// Trust this CA certificate (PEM) too, for https mirrors.
    #[arg(long, value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
    /// Don't read the apt cache (/var/cache/apt/archives) as a seed.
    #[arg(long)]
    no_apt_cache: bool,
    /// Fetch every part that can be fetched even when some cannot.
    #[arg(long)]
    keep_going: bool,
    /// Write the names of parts that could not be fetched into FILE.
    #[arg(long, value_name = "FILE")]
    missing: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Progress and the result as JSON objects, one a line, on stdout.
    #[arg(long)]
    json: bool,
    /// One request at a time per connection (for servers or proxies that
    /// mishandle HTTP/1.1 pipelining).
    #[arg(long)]
    no_pipelining: bool,
    /// Seconds without data before a mirror is given up on.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

pub fn parse_mirror(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((label, url)) if !label.is_empty() && !url.is_empty() => {
            let mut url = url.to_string();
            if !url.ends_with('/') {
                url.push('/');
            }
            Ok((label.to_string(), url))
        }
        _ => Err(format!(
            "expected LABEL=URL, e.g. Debian=http://deb.debian.org/debian/, got {s:?}"
        )),
    }
}

/// jigdo-lite's command line, for scripts that call it: nothing is asked
/// (`--noask` is accepted and implied), `--scan DIR` seeds, and the
/// mirrors of `~/.jigdo-lite` (`debianMirror`, `nonusMirror`) are used.
#[derive(Debug, Parser)]
#[command(name = "jigdo-lite", version)]
pub struct JigdoLiteArgs {
    /// Accepted for compatibility: jigsmith never asks.
    #[arg(long)]
    noask: bool,
    /// A directory or ISO image with files to reuse (repeatable).
    #[arg(long, value_name = "DIR")]
    scan: Vec<PathBuf>,
    /// The .jigdo files (URLs or paths), fetched one after the other.
    #[arg(required = true)]
    jigdo: Vec<String>,
}

pub fn run_jigdo_lite(a: JigdoLiteArgs) -> anyhow::Result<ExitCode> {
    let mirror = jigdo_lite_mirrors();
    let mut code = ExitCode::SUCCESS;
    for jigdo in a.jigdo {
        let r = run(GetArgs {
            jigdo,
            output: None,
            mirror: mirror.clone(),
            seed: a.scan.clone(),
            map: Vec::new(),
            jobs: None,
            ca_cert: Vec::new(),
            no_apt_cache: false,
            keep_going: false,
            missing: None,
            quiet: false,
            json: false,
            no_pipelining: false,
            timeout: 30,
        })?;
        if r != ExitCode::SUCCESS {
            code = r;
        }
    }
    Ok(code)
}

/// `debianMirror` and `nonusMirror` from `~/.jigdo-lite`, as `--mirror`s.
fn jigdo_lite_mirrors() -> Vec<(String, String)> {
    let Some(home) = std::env::var_os("HOME") else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(Path::new(&home).join(".jigdo-lite")).unwrap_or_default();
    jigdo_lite_config(&text)
}

fn jigdo_lite_config(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let label = match key.trim() {
            "debianMirror" => "Debian",
            "nonusMirror" => "Non-US",
            _ => continue,
        };
        let value = value.trim().trim_matches(['\'', '"']);
        if let Ok(m) = parse_mirror(&format!("{label}={value}")) {
            out.push(m);
        }
    }
    out
}

/// How often verified parts are made durable in the journal.
const JOURNAL_EVERY: Duration = Duration::from_secs(1);

/// One file item of the image still to be put in place.
#[derive(Debug, Clone, Copy)]
struct Need {
    index: usize,
    offset: u64,
    len: u64,
    digest: Digest,
}

pub fn run(mut a: GetArgs) -> anyhow::Result<ExitCode> {
    // the config file fills in what the flags leave open
    let conf = config::load()?;
    a.jobs = a.jobs.or(conf.jobs);
    a.mirror.extend(conf.mirrors);
    a.seed.extend(conf.seeds);
    let config = ClientConfig {
        read_timeout: Duration::from_secs(a.timeout.max(1)),
        connect_timeout: Duration::from_secs(a.timeout.clamp(1, 15)),
        ca_certs: a.ca_cert.clone(),
        pipeline: !a.no_pipelining,
        ..ClientConfig::default()
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    let fetcher = Arc::new(Fetcher::new(config, threads).context("starting the HTTP client")?);
    let report = Report::new(a.quiet, a.json);

    let loaded = input::load(&fetcher, &a.jigdo, a.output.as_deref())?;
    let template = loaded.template.clone();
    let out = loaded.output.clone();
    let partial = sibling(&out, ".part");
    let journal_path = sibling(&out, ".part.journal");
    let image = Arc::new(
        File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&partial)
            .with_context(|| format!("opening {}", partial.display()))?,
    );
    image
        .set_len(template.image_len())
        .with_context(|| format!("sizing {}", partial.display()))?;
    let mut journal = Journal::open(&journal_path, &template)?;
    report.start(&out, &template, journal.done.len());

    let mut missing = Vec::new();
    for round in 0..2 {
        if !journal.template_done {
            write_template_data(&loaded.template_path, &template, &image)?;
            journal.mark_template();
            journal.flush(&image)?;
        }
        let hasher = ImageHasher::start(image.clone(), template.clone(), |i| {
            journal.done.contains(&i)
                || matches!(
                    template.items().get(i).map(|it| it.kind),
                    Some(ItemKind::Unmatched { .. })
                )
        });
        let need = needed(&template, &journal);
        report.set_done_bytes(template.image_len() - need.iter().map(|n| n.len).sum::<u64>());
        let local = local_sources(&a, &loaded, &need, &report);
        copy_local(
            &need,
            &local,
            &image,
            &template,
            &mut journal,
            &report,
            &hasher,
        )?;
        journal.flush(&image)?;
        let need = needed(&template, &journal);
        missing = fetch(
            &a,
            &fetcher,
            &loaded,
            &need,
            (&image, &template),
            &mut journal,
            &report,
            &hasher,
        )?;
        journal.flush(&image)?;
        if !missing.is_empty() {
            break;
        }
        report.verifying();
        let actual = match hasher.finish()? {
            Some(d) => d,
            None => hash_file(&image, template.image_digest())?,
        };
        if actual == template.image_digest() {
            image.sync_all().context("syncing the image")?;
            std::fs::rename(&partial, &out)
                .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
            // the rename itself made durable (best effort: not every system can sync a directory)
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
            journal.remove();
            loaded.cleanup();
            report.finish(&out, true, 0);
            return Ok(ExitCode::SUCCESS);
        }
        if round == 1 {
            break;
        }
        // a damaged piece (bad disk, a crash the journal did not see): check
        // every part and the template data again, refetch what is wrong
        report.warn(&format!(
            "{}: image checksum is {}, expected {}; checking every piece",
            partial.display(),
            actual.to_hex(),
            template.image_digest().to_hex()
        ));
        let bad = damaged_parts(&partial, &template, &journal);
        journal.rewrite(&template, |i| !bad.contains(&i), false)?;
    }
    if !missing.is_empty() {
        // Parts fail in whatever order the downloads end: list them sorted.
        missing.sort();
        if let Some(list) = &a.missing {
            let text: String = missing.iter().map(|m| format!("{m}\n")).collect();
            std::fs::write(list, text).with_context(|| format!("writing {}", list.display()))?;
        }
        report.finish(&out, false, missing.len());
        eprintln!(
            "jigsmith: {} part(s) could not be fetched; {} and its journal are kept: run again to resume",
            missing.len(),
            partial.display()
        );
        return Ok(ExitCode::from(VERIFY_FAILED));
    }
    report.finish(&out, false, 0);
    bail!(
        "{}: the image checksum does not match although every part was verified (the template is wrong?)",
        partial.display()
    )
}

/// `PATH` + `suffix`, e.g. `debian.iso.part`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn needed(template: &Template, journal: &Journal) -> Vec<Need> {
    template
        .items()
        .iter()
        .enumerate()
        .filter(|(i, _)| !journal.done.contains(i))
        .filter_map(|(index, item)| match item.kind {
            ItemKind::File { digest, .. } => Some(Need {
                index,
                offset: item.offset,
                len: item.len,
                digest,
            }),
            ItemKind::Unmatched { .. } => None,
        })
        .collect()
}

/// Writes every unmatched byte of the template at its place in the image.
fn write_template_data(
    template_path: &Path,
    template: &Template,
    image: &File,
) -> anyhow::Result<()> {
    let f = File::open(template_path)
        .with_context(|| format!("opening {}", template_path.display()))?;
    let mut r = UnmatchedReader::new(BufReader::new(f), template.shared_parts(), 0);
    let mut buf = vec![0u8; 1 << 20];
    for item in template.items() {
        let ItemKind::Unmatched { .. } = item.kind else {
            continue;
        };
        let mut done = 0u64;
        while done < item.len {
            let n = usize::try_from(item.len - done)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let chunk = buf.get_mut(..n).unwrap_or(&mut []);
            r.read_exact(chunk)
                .with_context(|| format!("reading {}", template_path.display()))?;
            write_at(image, item.offset + done, chunk)?;
            done += n as u64;
        }
    }
    Ok(())
}

fn write_at(f: &File, at: u64, data: &[u8]) -> anyhow::Result<()> {
    jigsmith_net::PartWriter::write_at(
        &FileAt {
            file: Arc::new(f.try_clone()?),
            base: 0,
        },
        at,
        data,
    )
    .context("writing the partial image")
}

/// Local places for the needed parts: `--map`, local `[Servers]` of a
/// local .jigdo, and seeds (verified while scanned).
fn local_sources(a: &GetArgs, loaded: &Loaded, need: &[Need], report: &Report) -> LocalSources {
    let mut local = LocalSources::new();
    if need.is_empty() {
        return local;
    }
    if loaded.remote {
        // a remote .jigdo's file: servers must not reach into this machine
        let mut j = loaded.jigdo.clone();
        j.servers.clear();
        local.add_jigdo(&j, &a.map);
    } else {
        local.add_jigdo(&loaded.jigdo, &a.map);
    }
    let mut seeds = a.seed.clone();
    let apt = Path::new("/var/cache/apt/archives");
    // only when readable: an unreadable apt cache is not worth a warning
    if !a.no_apt_cache && std::fs::read_dir(apt).is_ok() {
        seeds.push(apt.to_path_buf());
    }
    if !seeds.is_empty() {
        let wanted: Vec<(Digest, u64)> = need.iter().map(|n| (n.digest, n.len)).collect();
        let found = seed::scan(&seeds, &wanted);
        for w in &found.warnings {
            report.warn(w);
        }
        for (d, locs) in found.found {
            for l in locs {
                local.add(d, l);
            }
        }
    }
    local
}

/// Copies parts from local candidates into the image, hashing as they
/// are copied: a candidate counts only when its bytes match.
fn copy_local(
    need: &[Need],
    local: &LocalSources,
    image: &Arc<File>,
    template: &Template,
    journal: &mut Journal,
    report: &Report,
    hasher: &ImageHasher,
) -> anyhow::Result<()> {
    if local.is_empty() {
        return Ok(());
    }
    let copied: Vec<usize> = need
        .par_iter()
        .filter_map(|n| {
            let ok = local
                .candidates(&n.digest)
                .into_iter()
                .any(|loc| copy_verified(&loc, n, image).unwrap_or(false));
            ok.then(|| {
                report.local(n.len);
                n.index
            })
        })
        .collect();
    for i in copied {
        journal.mark(i, template);
        hasher.ready(i);
    }
    Ok(())
}

fn copy_verified(loc: &Location, n: &Need, image: &File) -> anyhow::Result<bool> {
    let meta = std::fs::metadata(&loc.path)?;
    let fits = match loc.extent {
        None => meta.len() == n.len,
        Some(o) => o.checked_add(n.len).is_some_and(|e| e <= meta.len()),
    };
    if !fits || !meta.is_file() {
        return Ok(false);
    }
    let mut f = File::open(&loc.path)?;
    f.seek(SeekFrom::Start(loc.offset()))?;
    let mut r = f.take(n.len);
    let mut h = Hasher::new(n.digest.algorithm());
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        let Some(chunk) = buf.get(..k).filter(|c| !c.is_empty()) else {
            break;
        };
        h.update(chunk);
        write_at(image, n.offset + done, chunk)?;
        done += k as u64;
    }
    Ok(done == n.len && h.finalize() == n.digest)
}

/// Downloads the needed parts into the image; returns the names of those
/// no mirror delivered.
#[allow(clippy::too_many_arguments)]
fn fetch(
    a: &GetArgs,
    fetcher: &Fetcher,
    loaded: &Loaded,
    need: &[Need],
    (image, template): (&Arc<File>, &Template),
    journal: &mut Journal,
    report: &Report,
    hasher: &ImageHasher,
) -> anyhow::Result<Vec<String>> {
    if need.is_empty() {
        return Ok(Vec::new());
    }
    let mirrors = Mirrors::from_jigdo(&loaded.jigdo, &a.mirror, loaded.remote)?;
    for r in mirrors.refused() {
        report.warn(&format!("[Servers] {r} left out"));
    }
    let mut locations: HashMap<Digest, Vec<String>> = HashMap::new();
    for p in &loaded.jigdo.parts {
        locations.entry(p.digest).or_default().extend(p.locations());
    }
    let mut missing = Vec::new();
    let mut tasks = Vec::new();
    let mut meta = Vec::new();
    for n in need {
        let names = locations.get(&n.digest).cloned().unwrap_or_default();
        let mut urls = Vec::new();
        for l in &names {
            match mirrors.urls(l) {
                Ok(u) => urls.extend(u),
                Err(e) => report.warn(&e.to_string()),
            }
        }
        if urls.is_empty() {
            missing.push(describe(n, &names));
            continue;
        }
        spread(&mut urls, &mirrors, tasks.len());
        tasks.push(Task {
            digest: n.digest,
            len: n.len,
            urls,
            writer: Arc::new(FileAt {
                file: image.clone(),
                base: n.offset,
            }),
        });
        meta.push((*n, names));
    }
    if !missing.is_empty() && !a.keep_going {
        return Ok(missing);
    }
    let mut last_flush = Instant::now();
    let mut flush_err = None;
    fetcher.fetch_many(
        tasks,
        usize::from(a.jobs.unwrap_or(16)),
        report.fetch_progress(),
        |i, r| {
            let Some((n, names)) = meta.get(i) else {
                return true;
            };
            match r {
                Ok(f) => {
                    report.fetched(&f.mirror, n.len);
                    for why in &f.failures {
                        report.note(why);
                    }
                    journal.mark(n.index, template);
                    hasher.ready(n.index);
                }
                Err(e) => {
                    report.warn(&format!("{}: {e}", describe(n, names)));
                    missing.push(describe(n, names));
                }
            }
            if last_flush.elapsed() >= JOURNAL_EVERY && journal.has_pending() {
                if let Err(e) = journal.flush(image) {
                    flush_err = Some(e);
                    return false;
                }
                last_flush = Instant::now();
            }
            a.keep_going || missing.is_empty()
        },
    );
    if let Some(e) = flush_err {
        return Err(e);
    }
    Ok(missing)
}

/// Spreads parts over the mirrors of the best tier (several `--mirror`s
/// for a label, or several `[Servers]` entries): the k-th part starts at
/// the k-th of them; the order after that stays as given.
fn spread(urls: &mut [jigsmith_net::PartUrl], mirrors: &Mirrors, k: usize) {
    let Some(first) = urls.first().map(|u| mirrors.tier(&u.mirror)) else {
        return;
    };
    let equals = urls
        .iter()
        .take_while(|u| mirrors.tier(&u.mirror) == first)
        .count();
    if equals > 1 {
        if let Some(head) = urls.get_mut(..equals) {
            head.rotate_left(k % equals);
        }
    }
}

fn describe(n: &Need, names: &[String]) -> String {
    names
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{}:{}", n.digest.algorithm().jigdo_name(), n.digest))
}

/// Hashes the whole image file with the algorithm of `like`.
fn hash_file(image: &File, like: Digest) -> anyhow::Result<Digest> {
    let mut f = image.try_clone()?;
    f.seek(SeekFrom::Start(0))?;
    let mut h = Hasher::new(like.algorithm());
    std::io::copy(&mut BufReader::with_capacity(4 << 20, f), &mut h)
        .context("reading the partial image")?;
    Ok(h.finalize())
}

/// File items recorded as done whose bytes in the image are wrong.
fn damaged_parts(partial: &Path, template: &Template, journal: &Journal) -> Vec<usize> {
    let items = template.items();
    journal
        .done
        .par_iter()
        .filter(|i| match items.get(**i) {
            Some(item) => match item.kind {
                ItemKind::File { digest, .. } => {
                    let at = Location::extent(partial, item.offset);
                    seed::hash(&at, item.len, digest.algorithm()).ok() != Some(digest)
                }
                ItemKind::Unmatched { .. } => true,
            },
            None => true,
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_parse() {
        assert_eq!(
            parse_mirror("Debian=http://h/d").unwrap(),
            ("Debian".into(), "http://h/d/".into())
        );
        assert!(parse_mirror("nope").is_err());
    }

    #[test]
    fn jigdo_lite_personality() {
        let a = JigdoLiteArgs::try_parse_from([
            "jigdo-lite",
            "--noask",
            "--scan",
            "/media/cdrom",
            "http://h/a.jigdo",
        ])
        .unwrap();
        assert_eq!((a.scan.len(), a.jigdo.len()), (1, 1));
        let conf = "jigdo=''\ndebianMirror='http://deb.example/debian/'\nnonusMirror=''\n";
        assert_eq!(
            jigdo_lite_config(conf),
            [(
                "Debian".to_string(),
                "http://deb.example/debian/".to_string()
            )]
        );
    }
}
