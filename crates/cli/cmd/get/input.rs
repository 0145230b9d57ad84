//! The `.jigdo` (a URL or a local path, `[Include]`s followed) and its
//! template (beside a local .jigdo, else downloaded), checked against each
//! other; the output path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use jigsmith_assemble::{check_template_sum, image_name, read_template};
use jigsmith_format::{Jigdo, Template};
use jigsmith_net::{Fetcher, Url};

/// A remote .jigdo larger than this (compressed) is refused.
const MAX_JIGDO: u64 = 64 << 20;
/// Templates of the biggest images (Blu-ray) stay far below this.
const MAX_TEMPLATE: u64 = 16 << 30;
/// The image is made in place, sparse: a hostile template must not make
/// it claim a whole disk. The largest jigdo images (BD-XL) are 128 GB.
const MAX_IMAGE: u64 = 1 << 40;
/// How deep `[Include]`s may nest.
const MAX_INCLUDE_DEPTH: usize = 16;

pub struct Loaded {
    pub jigdo: Jigdo,
    /// Whether the .jigdo came from the network (its `file:` servers and
    /// local paths are then refused).
    pub remote: bool,
    pub template: Arc<Template>,
    pub template_path: PathBuf,
    /// A template downloaded next to the output, removed at the end.
    downloaded: Option<PathBuf>,
    /// The finished image's path.
    pub output: PathBuf,
}

impl Loaded {
    pub fn cleanup(&self) {
        if let Some(t) = &self.downloaded {
            let _ = std::fs::remove_file(t);
        }
    }
}

pub fn load(fetcher: &Fetcher, arg: &str, output: Option<&Path>) -> anyhow::Result<Loaded> {
    let url = Url::parse(arg)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let (jigdo, jigdo_path) = match &url {
        Some(u) => (remote_jigdo(fetcher, u, 0)?, PathBuf::from(u.path())),
        None => {
            let p = PathBuf::from(arg);
            (
                jigsmith_assemble::read_jigdo(&p).with_context(|| format!("reading {arg}"))?,
                p,
            )
        }
    };
    let Some(section) = &jigdo.image else {
        bail!("{arg}: no [Image] section");
    };
    let named = section.template.clone();
    let output = match output {
        Some(o) if !o.is_dir() => o.to_path_buf(),
        dir => {
            let Some(name) = image_name(&jigdo) else {
                bail!(
                    "{arg}: refusing Filename={:?} (not a plain file name); pass -o FILE",
                    section.filename
                );
            };
            dir.map_or_else(|| PathBuf::from(name), |d| d.join(name))
        }
    };
    if output.exists() {
        bail!("{} exists already", output.display());
    }

    // the template: beside a local .jigdo, else from the network
    let local_beside = match &url {
        None => jigsmith_assemble::template_beside(&jigdo_path, &jigdo)
            .ok()
            .filter(|p| p.is_file()),
        Some(_) => None,
    };
    let (template_path, downloaded) = match local_beside {
        Some(p) => (p, None),
        None => {
            let urls = template_urls(url.as_ref(), &named);
            if urls.is_empty() {
                bail!("template {named:?} is neither beside the .jigdo nor an http(s) URL");
            }
            let dest = super::sibling(&output, ".template");
            if check_template_sum(&dest, &jigdo).is_err() {
                let mut errors = Vec::new();
                for u in &urls {
                    match fetcher.download_file(u, &dest, MAX_TEMPLATE) {
                        Ok(_) if check_template_sum(&dest, &jigdo).is_ok() => {
                            errors.clear();
                            break;
                        }
                        Ok(_) => errors.push(format!("{u}: not the template this .jigdo names")),
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                if !errors.is_empty() {
                    bail!("downloading the template: {}", errors.join("; "));
                }
            }
            (dest.clone(), Some(dest))
        }
    };
    check_template_sum(&template_path, &jigdo)?;
    let template = Arc::new(read_template(&template_path)?);
    if template.image_len() > MAX_IMAGE {
        bail!(
            "{}: the template describes a {} byte image; refusing anything over {MAX_IMAGE} (a hostile template?)",
            template_path.display(),
            template.image_len()
        );
    }
    Ok(Loaded {
        jigdo,
        remote: url.is_some(),
        template,
        template_path,
        downloaded,
        output,
    })
}

/// Where the template may be: `Template=` resolved against the .jigdo's
/// URL (or as given, for a local .jigdo), then its last path segment
/// beside the .jigdo (as mirrors lay them out; libjte writes a local
/// absolute path there).
fn template_urls(jigdo_url: Option<&Url>, named: &str) -> Vec<Url> {
    let web = |u: &Url| matches!(u.scheme(), "http" | "https");
    let mut out = Vec::new();
    let direct = match jigdo_url {
        Some(j) => j.join(named).ok(),
        None => Url::parse(named).ok(),
    };
    out.extend(direct.filter(web));
    let base = named.rsplit(['/', '\\']).next().unwrap_or_default();
    if let Some(j) = jigdo_url {
        if !base.is_empty() && base != "." && base != ".." {
            if let Some(u) = j.join(base).ok().filter(web) {
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
    }
    out
}

/// Downloads and parses a .jigdo and the `[Include]`s it names, relative
/// to its URL.
fn remote_jigdo(fetcher: &Fetcher, url: &Url, depth: usize) -> anyhow::Result<Jigdo> {
    let bytes = fetcher
        .get_bytes(url, MAX_JIGDO)
        .with_context(|| format!("downloading {url}"))?;
    let mut jigdo = Jigdo::from_reader(&bytes[..]).with_context(|| format!("reading {url}"))?;
    for target in std::mem::take(&mut jigdo.includes) {
        if depth + 1 > MAX_INCLUDE_DEPTH {
            bail!("{url}: [Include]s nest more than {MAX_INCLUDE_DEPTH} levels (a loop?)");
        }
        let decoded = target.replace("%20", " ").replace("%5D", "]");
        let next = url
            .join(&decoded)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .with_context(|| format!("{url}: [Include {target}] is not an http(s) URL"))?;
        jigdo.merge(remote_jigdo(fetcher, &next, depth + 1)?);
    }
    Ok(jigdo)
}
