//! Loading a .jigdo/.template/checksum-list set and running one image job
//! (build, byte range, size or missing list) on it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use jigsmith_assemble::{Assembler, BuildReport, JigdoImage, LocalSources, Missing, Progress};
use jigsmith_format::{Jigdo, Template};

use crate::exit::VERIFY_FAILED;
use crate::files::read_checksum_list;
use crate::output;

/// Where the inputs are.
#[derive(Debug, Default)]
pub struct Inputs {
    pub jigdo: Option<PathBuf>,
    pub template: Option<PathBuf>,
    /// `Label=DIR` maps for [Parts] entries.
    pub maps: Vec<(String, PathBuf)>,
    /// Checksum lists (`-md5-list` format or md5sum output).
    pub lists: Vec<PathBuf>,
    /// `LABEL=URL` HTTP(S) mirrors for parts no local source has.
    pub mirrors: Vec<(String, String)>,
    /// Where parts fetched from mirrors are kept.
    pub cache: Option<PathBuf>,
}

/// What to do with them.
#[derive(Debug)]
pub enum Job {
    /// The whole image, or bytes `start..=end` of it.
    Build {
        output: Option<PathBuf>,
        range: Option<(u64, Option<u64>)>,
        verify: bool,
    },
    /// Print the image size.
    Size,
    /// List missing files into a file (or stdout) and build nothing.
    Missing { list: Option<PathBuf> },
}

pub fn parse_map(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((label, dir)) if !label.is_empty() && !dir.is_empty() => {
            Ok((label.to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!(
            "expected LABEL=DIR, e.g. Debian=/srv/mirror/debian, got {s:?}"
        )),
    }
}

/// Reads a .jigdo file (gzipped or not) and, recursively, the local files it
/// `[Include]`s.
pub fn read_jigdo(path: &Path) -> anyhow::Result<Jigdo> {
    jigsmith_assemble::read_jigdo(path).with_context(|| format!("reading {}", path.display()))
}

/// The template file: given, or named by the .jigdo relative to it.
fn template_path(inputs: &Inputs, jigdo: Option<&Jigdo>) -> anyhow::Result<PathBuf> {
    if let Some(t) = &inputs.template {
        return Ok(t.clone());
    }
    let named = jigdo
        .and_then(|j| j.image.as_ref())
        .map(|i| i.template.clone())
        .filter(|t| !t.is_empty());
    match (named, &inputs.jigdo) {
        (Some(t), Some(j)) => {
            let dir = j.parent().unwrap_or(Path::new("."));
            if !t.contains("://") {
                return Ok(dir.join(t));
            }
            // a URL: the template is usually downloaded next to the .jigdo
            let base = t.rsplit('/').next().unwrap_or_default();
            let local = dir.join(base);
            if !base.is_empty() && local.is_file() {
                return Ok(local);
            }
            bail!(
                "the .jigdo names template {t:?}, which is not here ({}): pass --template",
                local.display()
            )
        }
        _ => bail!("no template given (--template / -t)"),
    }
}

/// Loads everything and returns the assembler.
pub fn load(inputs: &Inputs) -> anyhow::Result<Assembler> {
    let (jigdo, template_path, template) = match &inputs.jigdo {
        Some(path) => {
            let jigdo = read_jigdo(path)?;
            let template_path = template_path(inputs, Some(&jigdo))?;
            let loaded = JigdoImage::load(path, Some(&template_path))?;
            (Some(loaded.jigdo), template_path, loaded.template)
        }
        None => {
            let template_path = template_path(inputs, None)?;
            let template = Arc::new(read_template(&template_path)?);
            (None, template_path, template)
        }
    };
    let mut sources = LocalSources::new();
    if let Some(j) = &jigdo {
        sources.add_jigdo(j, &inputs.maps);
    }
    for list in &inputs.lists {
        let parsed = read_checksum_list(list)?;
        sources.add_checksum_list(&parsed);
    }
    let sources: Arc<dyn jigsmith_assemble::PartSource> = match &jigdo {
        Some(j) if !inputs.mirrors.is_empty() => super::get::with_mirrors(
            sources,
            j,
            &template,
            &inputs.mirrors,
            inputs.cache.as_deref(),
        )?,
        _ => Arc::new(sources),
    };
    Ok(Assembler::new(template, template_path, sources))
}

pub fn read_template(path: &Path) -> anyhow::Result<Template> {
    Ok(jigsmith_assemble::read_template(path)?)
}

/// How a job ended: the exit code, and for a finished build the one line
/// that says what was written and checked (the caller prints it once its
/// progress bar is gone, unless told to be quiet).
pub struct Done {
    pub code: ExitCode,
    pub summary: Option<String>,
}

impl From<ExitCode> for Done {
    fn from(code: ExitCode) -> Done {
        Done {
            code,
            summary: None,
        }
    }
}

/// Runs a job; `progress` receives build progress.
pub fn run(inputs: &Inputs, job: Job, progress: &dyn Progress) -> anyhow::Result<Done> {
    if let Job::Size = job {
        let jigdo = match (&inputs.template, &inputs.jigdo) {
            (None, Some(j)) => Some(read_jigdo(j)?),
            _ => None,
        };
        let path = template_path(inputs, jigdo.as_ref())?;
        println!("{}", read_template(&path)?.image_len());
        return Ok(ExitCode::SUCCESS.into());
    }
    let asm = load(inputs)?;
    match job {
        Job::Size => Ok(ExitCode::SUCCESS.into()),
        Job::Missing { list } => {
            let missing = asm.missing();
            output::write_to(list.as_deref(), |w| {
                for m in &missing {
                    let name = m.names.first().map(String::as_str).unwrap_or("");
                    writeln!(w, "{name}")?;
                }
                Ok(())
            })?;
            if missing.is_empty() {
                Ok(ExitCode::SUCCESS.into())
            } else {
                eprintln!("jigsmith: {} file(s) missing", missing.len());
                eprint!("{}", map_hints(&missing, &inputs.maps));
                Ok(ExitCode::from(VERIFY_FAILED).into())
            }
        }
        Job::Build {
            output: out,
            range,
            verify,
        } => {
            // Without remote mirrors, a file that is not there at all is
            // known before anything is written: say which, all of them.
            if range.is_none() && inputs.mirrors.is_empty() {
                let missing = asm.missing();
                if !missing.is_empty() {
                    eprint!("{}", missing_report(&missing, &inputs.maps));
                    return Ok(ExitCode::from(VERIFY_FAILED).into());
                }
            }
            let asm = asm.verify(verify);
            let image_len = asm.template().image_len();
            let started = Instant::now();
            let report = output::write_to(out.as_deref(), |w| {
                Ok(match range {
                    Some((start, end)) => {
                        let end = end.unwrap_or(image_len.saturating_sub(1));
                        asm.write_range(start, end, w)?;
                        None
                    }
                    None => Some(asm.write_image(w, progress)?),
                })
            })?;
            let summary = report.map(|r| build_summary(&r, out.as_deref(), started.elapsed()));
            Ok(Done {
                code: ExitCode::SUCCESS,
                summary,
            })
        }
    }
}

/// `wrote X.iso: 3.7 GiB (3981312000 bytes) in 12.3 s (302 MB/s); 2144 files and the image MD5 checked`.
fn build_summary(r: &BuildReport, out: Option<&Path>, took: Duration) -> String {
    let name = match out {
        Some(p) if !output::is_stdout(Some(p)) => p.display().to_string(),
        _ => "standard output".into(),
    };
    let secs = took.as_secs_f64().max(1e-3);
    let checked = match &r.image_digest {
        Some(d) => format!(
            "{} files and the image {} checked",
            r.files,
            d.algorithm().jigdo_name()
        ),
        None => format!("{} files, nothing checked (--no-verify)", r.files),
    };
    format!(
        "jigsmith: wrote {name}: {} ({} bytes) in {secs:.1} s ({:.0} MB/s); {checked}",
        human(r.image_len),
        r.image_len,
        r.image_len as f64 / secs / 1e6
    )
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n => format!("{:.1} KiB", n as f64 / 1024.0),
    }
}

/// Every missing file by its `.jigdo` name, then which `--map` would find them.
fn missing_report(missing: &[Missing], maps: &[(String, PathBuf)]) -> String {
    let bytes: u64 = missing.iter().map(|m| m.len).sum();
    let mut text = format!(
        "jigsmith: {} file(s) of the image are missing ({}), nothing was written:\n",
        missing.len(),
        human(bytes)
    );
    for m in missing {
        let name = m
            .jigdo_names
            .first()
            .or(m.names.first())
            .map_or("", String::as_str);
        text.push_str(&format!("  {name} ({} bytes)\n", m.len));
    }
    text + &map_hints(missing, maps)
}

/// For each `.jigdo` label of missing files: the `--map` that would find
/// them, or the one given that does not hold them.
fn map_hints(missing: &[Missing], maps: &[(String, PathBuf)]) -> String {
    let mut by_label: std::collections::BTreeMap<&str, (usize, &str)> = Default::default();
    for m in missing {
        if let Some((label, path)) = m.jigdo_names.first().and_then(|n| n.split_once(':')) {
            by_label.entry(label).or_insert((0, path)).0 += 1;
        }
    }
    let mut text = String::new();
    for (label, (count, example)) in by_label {
        let given: Vec<String> = maps
            .iter()
            .filter(|(l, _)| l == label)
            .map(|(_, d)| d.display().to_string())
            .collect();
        if given.is_empty() {
            text.push_str(&format!(
                "jigsmith: {count} of them are under label {label}: pass --map {label}=DIR, \
                 DIR being where {example} is found relative to (e.g. a mirror's root)\n"
            ));
        } else {
            text.push_str(&format!(
                "jigsmith: {count} of them are under label {label}, not found in --map {label}={} \
                 (looked for e.g. {example} there)\n",
                given.join(", ")
            ));
        }
    }
    text
}
