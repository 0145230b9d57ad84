//! Loading a published image: a `.jigdo` file (its local `[Include]`s
//! followed) and the template beside it, checked against each other once.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jigsmith_checksum::{Algorithm, Digest, MultiHasher};
use jigsmith_format::{Jigdo, Template};

use crate::{Error, Result};

/// How deep `[Include]`s may nest before it is taken for a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads a `.jigdo` file (gzipped or not) and, recursively, the local
/// files it `[Include]`s.
///
/// # Errors
/// [`Error::Io`], [`Error::Jigdo`] for a malformed file, [`Error::Include`]
/// for a URL include (only local ones are followed here) or nesting past 16
/// levels.
///
/// # Security
/// Sizes are bounded by the parser (a gzip bomb is cut off), and include
/// nesting is bounded.
pub fn read_jigdo(path: &Path) -> Result<Jigdo> {
    read_nested(path, &mut Vec::new())
}

/// `stack`: the files being read, outermost first, to name a loop.
fn read_nested(path: &Path, stack: &mut Vec<PathBuf>) -> Result<Jigdo> {
    let identity = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(at) = stack.iter().position(|p| *p == identity) {
        let mut chain: Vec<PathBuf> = stack.get(at..).unwrap_or_default().to_vec();
        chain.push(identity);
        return Err(Error::IncludeLoop { chain });
    }
    let f = File::open(path).map_err(|source| Error::Io {
        action: "opening",
        path: path.to_path_buf(),
        source,
    })?;
    let mut jigdo = Jigdo::from_reader(BufReader::new(f)).map_err(|source| Error::Jigdo {
        path: path.to_path_buf(),
        source,
    })?;
    let includes = std::mem::take(&mut jigdo.includes);
    let base = path.parent().unwrap_or(Path::new("."));
    stack.push(identity);
    for target in includes {
        let refuse = |why| Error::Include {
            path: path.to_path_buf(),
            target: target.clone(),
            why,
        };
        if target.contains("://") {
            return Err(refuse("a URL; only local includes are followed"));
        }
        if stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(refuse("nested more than 16 levels"));
        }
        let decoded = target.replace("%20", " ").replace("%5D", "]");
        jigdo.merge(read_nested(&base.join(decoded), stack)?);
    }
    stack.pop();
    Ok(jigdo)
}

/// The template of `jigdo` as published next to it: the last path segment
/// of its `Template=` value, in the `.jigdo` file's directory (how mirrors
/// lay them out, and all a server may trust of a URL).
///
/// # Errors
/// [`Error::NoTemplate`] when the `.jigdo` names none (or only a directory).
pub fn template_beside(jigdo_path: &Path, jigdo: &Jigdo) -> Result<PathBuf> {
    let named = jigdo.image.as_ref().map_or("", |i| i.template.as_str());
    let base = named.rsplit(['/', '\\']).next().unwrap_or_default();
    if base.is_empty() || base == "." || base == ".." {
        return Err(Error::NoTemplate {
            path: jigdo_path.to_path_buf(),
        });
    }
    Ok(jigdo_path.parent().unwrap_or(Path::new(".")).join(base))
}

/// A `.jigdo` file with its template read and checked against it.
#[derive(Debug, Clone)]
pub struct JigdoImage {
    /// The `.jigdo` file.
    pub jigdo_path: PathBuf,
    /// Its contents, includes merged.
    pub jigdo: Jigdo,
    /// The template file.
    pub template_path: PathBuf,
    /// The parsed template.
    pub template: Arc<Template>,
}

impl JigdoImage {
    /// Loads `jigdo_path` and its template: `template`, or else the one
    /// [beside it](template_beside). The template is hashed once and
    /// compared with the `.jigdo`'s `Template-MD5Sum`/`Template-SHA256Sum`.
    ///
    /// # Errors
    /// As [`read_jigdo`] and [`template_beside`]; [`Error::TemplateMismatch`]
    /// when the template belongs to another image; [`Error::Template`] when
    /// it is malformed; [`Error::Io`].
    pub fn load(jigdo_path: &Path, template: Option<&Path>) -> Result<JigdoImage> {
        let jigdo = read_jigdo(jigdo_path)?;
        let template_path = match template {
            Some(t) => t.to_path_buf(),
            None => template_beside(jigdo_path, &jigdo)?,
        };
        check_template_sum(&template_path, &jigdo)?;
        let template = read_template(&template_path)?;
        Ok(JigdoImage {
            jigdo_path: jigdo_path.to_path_buf(),
            jigdo,
            template_path,
            template: Arc::new(template),
        })
    }

    /// The image's file name from `[Image] Filename=`, if it is a plain name
    /// (no directory part, no `..`, no control characters).
    pub fn image_name(&self) -> Option<&str> {
        image_name(&self.jigdo)
    }
}

/// The image's file name from `[Image] Filename=` of `jigdo`, if it is a
/// plain name (no directory part, no `..`, no control characters).
///
/// # Security
/// The value comes from the `.jigdo`, maybe from the network: anything
/// that could name a path outside the output directory is refused.
pub fn image_name(jigdo: &Jigdo) -> Option<&str> {
    let name = jigdo.image.as_ref()?.filename.as_str();
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    plain.then_some(name)
}

/// Parses a template file.
///
/// # Errors
/// [`Error::Io`], [`Error::Template`].
pub fn read_template(path: &Path) -> Result<Template> {
    let f = File::open(path).map_err(|source| Error::Io {
        action: "opening",
        path: path.to_path_buf(),
        source,
    })?;
    Template::read(&mut BufReader::new(f)).map_err(|source| Error::Template {
        path: path.to_path_buf(),
        source,
    })
}

/// Checks the template at `path` against the `.jigdo`'s checksums of it
/// (`Template-MD5Sum`, `Template-SHA256Sum`), so a template of another
/// image (or a damaged download) is caught before any work.
///
/// # Errors
/// [`Error::TemplateMismatch`], [`Error::Io`].
pub fn check_template_sum(path: &Path, jigdo: &Jigdo) -> Result<()> {
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
    let io_err = |action| {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let f = File::open(path).map_err(io_err("opening"))?;
    let algorithms: Vec<Algorithm> = want.iter().map(Digest::algorithm).collect();
    let mut h = MultiHasher::new(&algorithms);
    std::io::copy(&mut BufReader::with_capacity(1 << 20, f), &mut h).map_err(io_err("reading"))?;
    for (actual, expected) in h.finalize().into_iter().zip(want) {
        if actual != expected {
            return Err(Error::TemplateMismatch {
                path: path.to_path_buf(),
                algorithm: expected.algorithm(),
                expected,
                actual,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_format::ImageSection;

    fn named(template: &str) -> Jigdo {
        Jigdo {
            image: Some(ImageSection {
                template: template.into(),
                ..ImageSection::default()
            }),
            ..Jigdo::default()
        }
    }

    #[test]
    fn template_is_looked_for_beside_the_jigdo_only() {
        let j = Path::new("/srv/cd/x.jigdo");
        for t in [
            "x.template",
            "http://cdimage.debian.org/a/x.template",
            "../../etc/x.template",
            "sub\\x.template",
        ] {
            assert_eq!(
                template_beside(j, &named(t)).unwrap(),
                Path::new("/srv/cd/x.template")
            );
        }
        for t in ["", "http://host/dir/", "a/..", "."] {
            assert!(matches!(
                template_beside(j, &named(t)),
                Err(Error::NoTemplate { .. })
            ));
        }
    }

    #[test]
    fn include_loops_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jigdo");
        std::fs::write(&p, "[Jigdo]\nVersion=1.1\n[Include a.jigdo]\n").unwrap();
        let err = read_jigdo(&p).unwrap_err();
        assert!(
            matches!(&err, Error::IncludeLoop { chain } if chain.len() == 2),
            "{err}"
        );
        // a -> b -> c -> b: the loop is named once, file by file.
        std::fs::write(&p, "[Jigdo]\nVersion=1.1\n[Include b.jigdo]\n").unwrap();
        std::fs::write(
            dir.path().join("b.jigdo"),
            "[Jigdo]\nVersion=1.1\n[Include c.jigdo]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("c.jigdo"),
            "[Jigdo]\nVersion=1.1\n[Include b.jigdo]\n",
        )
        .unwrap();
        let text = read_jigdo(&p).unwrap_err().to_string();
        assert_eq!(text.matches("b.jigdo").count(), 2, "{text}");
        assert!(
            text.contains("c.jigdo includes") && !text.contains("a.jigdo"),
            "{text}"
        );
        // a long chain without a loop is still bounded.
        for i in 0..20 {
            let next = format!("[Jigdo]\nVersion=1.1\n[Include d{}.jigdo]\n", i + 1);
            std::fs::write(dir.path().join(format!("d{i}.jigdo")), next).unwrap();
        }
        let err = read_jigdo(&dir.path().join("d0.jigdo")).unwrap_err();
        assert!(err.to_string().contains("nested more than 16"), "{err}");
        std::fs::write(&p, "[Jigdo]\nVersion=1.1\n[Include http://x/y.jigdo]\n").unwrap();
        assert!(matches!(read_jigdo(&p), Err(Error::Include { .. })));
    }
}
