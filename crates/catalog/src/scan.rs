//! Walking ROOT and loading what it publishes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jigsmith_assemble::{Image, JigdoImage, LocalSources, PartSource, SourceSet};
use jigsmith_checksum::{Algorithm, Digest};

use crate::published::Stamp;
use crate::{sums_name, Catalog, Entry, Published, Shared};

/// Deeper trees are not walked (a mirror's cdimage tree is 4–5 levels).
const MAX_DEPTH: usize = 32;

pub(crate) fn scan(shared: &Shared, previous: Option<&Catalog>) -> Catalog {
    let mut found = Vec::new();
    match &shared.only {
        Some(file) => found.push((String::new(), file.clone())),
        None => walk(&shared.root_dir, String::new(), 0, &mut found),
    }
    let mut catalog = Catalog::default();
    for (dir, jigdo_path) in found {
        let reused = previous
            .and_then(|p| p.by_jigdo.get(&jigdo_path))
            .filter(|p| p.unchanged())
            .cloned();
        let published = match reused {
            Some(p) => p,
            None => match load(shared, &dir, &jigdo_path) {
                Ok(p) => Arc::new(p),
                Err(why) => {
                    tracing::warn!(jigdo = %jigdo_path.display(), "not published: {why}");
                    continue;
                }
            },
        };
        if let Err(why) = catalog.insert(Arc::clone(&published)) {
            tracing::warn!(jigdo = %jigdo_path.display(), "not published: {why}");
            continue;
        }
        catalog.by_jigdo.insert(jigdo_path, published);
    }
    catalog.add_sums();
    catalog.dirs.entry(String::new()).or_default();
    catalog
}

/// Collects `(relative dir, path)` of every `.jigdo` file under `dir`.
/// Hidden names are skipped; symlinks are followed only to regular files
/// inside the root, never to directories (no loops, nothing outside ROOT).
fn walk(dir: &Path, rel: String, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    if depth > MAX_DEPTH {
        tracing::warn!(dir = %dir.display(), "not walked: more than {MAX_DEPTH} levels deep");
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "not walked: {e}");
            return;
        }
    };
    let mut names: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    names.sort();
    for (name, path) in names {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let sub = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            walk(&path, sub, depth + 1, out);
        } else if name.ends_with(".jigdo") && (meta.is_file() || meta.is_symlink()) {
            out.push((rel.clone(), path));
        }
    }
}

fn load(shared: &Shared, dir: &str, jigdo_path: &Path) -> Result<Published, String> {
    inside_root(shared, jigdo_path)?;
    let jigdo_stamp = Stamp::of(jigdo_path).ok_or("cannot read the .jigdo file")?;
    let loaded = JigdoImage::load(jigdo_path, None).map_err(|e| error_chain(&e))?;
    inside_root(shared, &loaded.template_path)?;
    let template_stamp = Stamp::of(&loaded.template_path).ok_or("cannot read the template")?;
    let digests = image_digests(&loaded)?;
    let name = match loaded.image_name() {
        Some(n) if n != "null" => n.to_string(),
        // xorriso writes `Filename=null` for `-o /dev/null`: name it after the .jigdo
        _ => {
            let stem = jigdo_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{stem}.iso")
        }
    };
    let mut local = LocalSources::new();
    local.add_jigdo(&loaded.jigdo, &shared.config.maps);
    let mut sources = SourceSet::new()
        .with(Arc::new(local))
        .with(Arc::clone(&shared.listed) as Arc<dyn PartSource>);
    if let Some(remote) = &shared.remote {
        if let Some(source) = remote.for_jigdo(&loaded.jigdo)? {
            sources.push(source);
        }
    }
    let image = Image::builder(
        Arc::clone(&loaded.template),
        loaded.template_path.clone(),
        Arc::new(sources),
    )
    .verdicts(Arc::clone(&shared.verdicts))
    .data_cache(Arc::clone(&shared.data))
    .open()
    .map_err(|e| error_chain(&e))?;
    let modified = image.modified().unwrap_or(std::time::UNIX_EPOCH);
    Ok(Published {
        name,
        dir: dir.to_string(),
        loaded,
        image: Arc::new(image),
        modified,
        digests,
        stamps: [jigdo_stamp, template_stamp],
    })
}

/// Refuses files that are, or link to, something outside the root.
fn inside_root(shared: &Shared, path: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if real.starts_with(&shared.root_dir) {
        Ok(())
    } else {
        Err(format!(
            "{} leads outside {}",
            path.display(),
            shared.root_dir.display()
        ))
    }
}

/// The template's image checksum, plus those the `.jigdo` states in
/// libjte's `# Image Hex <ALG>Sum` comments; a comment that contradicts the
/// template means the two do not belong together.
fn image_digests(loaded: &JigdoImage) -> Result<Vec<Digest>, String> {
    let from_template = loaded.template.image_digest();
    let mut digests = vec![from_template];
    let Some(section) = &loaded.jigdo.image else {
        return Ok(digests);
    };
    for algorithm in Algorithm::ALL {
        let key = format!("Image Hex {}Sum", algorithm.jigdo_name());
        let Some(hex) = section.comment_value(&key) else {
            continue;
        };
        let Ok(stated) = Digest::from_hex(algorithm, hex) else {
            return Err(format!("malformed comment '# {key} {hex}'"));
        };
        if algorithm == from_template.algorithm() {
            if stated != from_template {
                return Err(format!(
                    "the .jigdo says the image's {key} is {hex}, the template says {}",
                    from_template.to_hex()
                ));
            }
        } else {
            digests.push(stated);
        }
    }
    digests.sort_by_key(|d| d.algorithm());
    Ok(digests)
}

/// An error and its sources on one line, for log lines and error responses.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Catalog {
    /// Adds an image, its `.jigdo` and template to their directory.
    fn insert(&mut self, p: Arc<Published>) -> Result<(), String> {
        let names = [
            (p.name.clone(), Entry::Image(Arc::clone(&p))),
            (p.jigdo_name(), Entry::Jigdo(Arc::clone(&p))),
            (p.template_name(), Entry::Template(Arc::clone(&p))),
        ];
        let dir = self.dirs.get(&p.dir);
        for (name, entry) in &names {
            let taken = dir.and_then(|d| d.entries.get(name));
            let same_file = match (taken, entry) {
                (None, _) => true,
                // two .jigdo files may share one template
                (Some(Entry::Template(a)), Entry::Template(b)) => {
                    a.loaded.template_path == b.loaded.template_path
                }
                _ => false,
            };
            let reserved = Algorithm::ALL.iter().any(|a| sums_name(*a) == *name);
            if !same_file || reserved {
                return Err(format!(
                    "the name {name:?} is already taken in its directory"
                ));
            }
        }
        if names.first().map(|(n, _)| n) == names.get(1).map(|(n, _)| n) {
            return Err("the image would have the .jigdo file's name".into());
        }
        self.add_dir_chain(&p.dir);
        let dir = self.dirs.entry(p.dir.clone()).or_default();
        for (name, entry) in names {
            dir.entries.insert(name, entry);
        }
        Ok(())
    }

    /// Makes `rel` and its ancestors exist, each listed in its parent.
    fn add_dir_chain(&mut self, rel: &str) {
        let mut path = String::new();
        self.dirs.entry(String::new()).or_default();
        for segment in rel.split('/').filter(|s| !s.is_empty()) {
            let parent = path.clone();
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(segment);
            let child = self.dirs.entry(path.clone()).or_default();
            child.path = path.clone();
            if let Some(p) = self.dirs.get_mut(&parent) {
                p.entries
                    .insert(segment.to_string(), Entry::Dir(path.clone()));
            }
        }
    }

    fn add_sums(&mut self) {
        let mut sums: BTreeMap<String, Vec<Algorithm>> = BTreeMap::new();
        for (rel, dir) in &self.dirs {
            for algorithm in [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512] {
                if dir.images().any(|p| p.digest(algorithm).is_some()) {
                    sums.entry(rel.clone()).or_default().push(algorithm);
                }
            }
        }
        for (rel, algorithms) in sums {
            if let Some(dir) = self.dirs.get_mut(&rel) {
                for a in algorithms {
                    dir.entries.insert(sums_name(a), Entry::Sums(a));
                }
            }
        }
    }
}
