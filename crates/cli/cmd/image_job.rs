//! Loading a .jigdo/.template/checksum-list set and running one image job
//! (build, byte range, size or missing list) on it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use jigsmith_assemble::{Assembler, JigdoImage, LocalSources, Progress};
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
