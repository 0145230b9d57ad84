//! Loading a .jigdo/.template/checksum-list set and running one image job
//! (build, byte range, size or missing list) on it.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use jigsmith_assemble::{Assembler, LocalSources, Progress};
use jigsmith_checksum::{Algorithm, Digest};
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
    read_jigdo_nested(path, 0)
}

fn read_jigdo_nested(path: &Path, depth: usize) -> anyhow::Result<Jigdo> {
    if depth > 16 {
        bail!(
            "{}: [Include] nested more than 16 levels (a loop?)",
            path.display()
        );
    }
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut jigdo = Jigdo::from_reader(BufReader::new(f))
        .with_context(|| format!("reading .jigdo file {}", path.display()))?;
    let includes = std::mem::take(&mut jigdo.includes);
    let base = path.parent().unwrap_or(Path::new("."));
    for target in includes {
        if target.contains("://") {
            bail!(
                "{}: [Include {target}] is a URL; only local includes are supported",
                path.display()
            );
        }
        let decoded = target.replace("%20", " ").replace("%5D", "]");
        let included = read_jigdo_nested(&base.join(decoded), depth + 1)
            .with_context(|| format!("included from {}", path.display()))?;
        jigdo.merge(included);
    }
    Ok(jigdo)
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

/// Checks the template against the .jigdo's Template-MD5Sum/SHA256Sum, so a
/// template of another image is caught before any work.
fn check_template_sum(path: &Path, jigdo: &Jigdo) -> anyhow::Result<()> {
    let Some(image) = &jigdo.image else {
        return Ok(());
    };
    let want: Vec<Digest> = [image.template_md5, image.template_sha256]
        .into_iter()
        .flatten()
        .collect();
    if want.is_empty() {
        return Ok(());
    }
    let f = File::open(path).with_context(|| format!("opening template {}", path.display()))?;
    let algorithms: Vec<Algorithm> = want.iter().map(Digest::algorithm).collect();
    let mut h = jigsmith_checksum::MultiHasher::new(&algorithms);
    std::io::copy(&mut BufReader::with_capacity(1 << 20, f), &mut h)
        .with_context(|| format!("reading template {}", path.display()))?;
    for (got, want) in h.finalize().into_iter().zip(want) {
        if got != want {
            bail!(
                "template {} does not belong to this .jigdo: its {} is {}, the .jigdo says {}",
                path.display(),
                want.algorithm().jigdo_name(),
                got,
                want
            );
        }
    }
    Ok(())
}

/// Loads everything and returns the assembler.
pub fn load(inputs: &Inputs) -> anyhow::Result<Assembler> {
    let jigdo = inputs.jigdo.as_deref().map(read_jigdo).transpose()?;
    let template_path = template_path(inputs, jigdo.as_ref())?;
    if let Some(j) = &jigdo {
        check_template_sum(&template_path, j)?;
    }
    let template = read_template(&template_path)?;
    let mut sources = LocalSources::new();
    if let Some(j) = &jigdo {
        sources.add_jigdo(j, &inputs.maps);
    }
    for list in &inputs.lists {
        let parsed = read_checksum_list(list)?;
        sources.add_checksum_list(&parsed);
    }
    Ok(Assembler::new(
        Arc::new(template),
        template_path,
        Arc::new(sources),
    ))
}

pub fn read_template(path: &Path) -> anyhow::Result<Template> {
    let mut f = BufReader::new(
        File::open(path).with_context(|| format!("opening template {}", path.display()))?,
    );
    Template::read(&mut f).with_context(|| format!("reading template {}", path.display()))
}

/// Runs a job; `progress` receives build progress.
pub fn run(inputs: &Inputs, job: Job, progress: &dyn Progress) -> anyhow::Result<ExitCode> {
    if let Job::Size = job {
        let jigdo = match (&inputs.template, &inputs.jigdo) {
            (None, Some(j)) => Some(read_jigdo(j)?),
            _ => None,
        };
        let path = template_path(inputs, jigdo.as_ref())?;
        println!("{}", read_template(&path)?.image_len());
        return Ok(ExitCode::SUCCESS);
    }
    let asm = load(inputs)?;
    match job {
        Job::Size => Ok(ExitCode::SUCCESS),
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
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("jigsmith: {} file(s) missing", missing.len());
                Ok(ExitCode::from(VERIFY_FAILED))
            }
        }
        Job::Build {
            output: out,
            range,
            verify,
        } => {
            let asm = asm.verify(verify);
            let image_len = asm.template().image_len();
            output::write_to(out.as_deref(), |w| {
                match range {
                    Some((start, end)) => {
                        let end = end.unwrap_or(image_len.saturating_sub(1));
                        asm.write_range(start, end, w)?;
                    }
                    None => {
                        asm.write_image(w, progress)?;
                    }
                }
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
