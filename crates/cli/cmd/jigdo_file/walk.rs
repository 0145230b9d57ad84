//! The FILES arguments and `--files-from` lists as jigdo-file reads them:
//! directories walked depth-first in directory order (symlinks followed,
//! loops and files seen twice skipped), empty files left out, and a name's
//! part after its last `//` being what is labelled and printed.

use std::collections::HashSet;
use std::io::BufRead;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::report::{strerror, Reporter};

/// One input file.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The path to open.
    pub path: PathBuf,
    /// The name jigdo-file shows: the part after `//`, or the whole name.
    pub name: String,
    /// The part before `//` with its trailing `/` (e.g. `/mirror/`), if any.
    pub label_path: Option<String>,
    pub size: u64,
}

/// Walks `names` then the lines of each `files_from` list (up to an empty
/// line; `-` is standard input). Unreadable names are reported and skipped,
/// as jigdo-file does ("Skipping object ...").
pub fn walk(
    names: &[String],
    files_from: &[String],
    rep: &Reporter,
) -> anyhow::Result<Vec<InputFile>> {
    let mut w = Walker {
        rep,
        seen: HashSet::new(),
        out: Vec::new(),
    };
    for n in names {
        w.arg(n);
    }
    // an unreadable list is reported and skipped, as jigdo-file does
    for list in files_from {
        match read_list(list) {
            Ok(lines) => lines.iter().for_each(|n| w.arg(n)),
            Err(e) if list == "-" => rep.error(&format!(
                "Error reading filenames from standard input ({})",
                strerror(&e)
            )),
            Err(e) => rep.error(&format!(
                "Error reading filenames from `{list}' ({})",
                strerror(&e)
            )),
        }
    }
    Ok(w.out)
}

/// Names from a list, one a line, up to the first empty line (so that with
/// `-T - -i -` the image data can follow on the same stdin).
fn read_list(list: &str) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut read = |r: &mut dyn BufRead| -> std::io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if line.is_empty() {
                return Ok(());
            }
            names.push(String::from_utf8_lossy(&line).into_owned());
        }
    };
    if list == "-" {
        read(&mut std::io::stdin().lock())?;
    } else {
        read(&mut std::io::BufReader::new(std::fs::File::open(list)?))?;
    }
    Ok(names)
}

struct Walker<'a> {
    rep: &'a Reporter,
    /// (device, inode) of every file and directory taken, so a file named
    /// twice or a symlink loop is read once.
    seen: HashSet<(u64, u64)>,
    out: Vec<InputFile>,
}

impl Walker<'_> {
    fn arg(&mut self, arg: &str) {
        let split = arg
            .rfind("//")
            .and_then(|i| Some((arg.get(..=i)?, arg.get(i + 2..)?)));
        let (label_path, rest) = match split {
            Some((label_path, rest)) => (Some(label_path.to_string()), rest.to_string()),
            None => (None, arg.to_string()),
        };
        self.visit(arg, label_path.as_deref(), &rest);
    }

    fn visit(&mut self, shown: &str, label_path: Option<&str>, name: &str) {
        let path = PathBuf::from(match label_path {
            Some(l) => format!("{l}{name}"),
            None => name.to_string(),
        });
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                self.rep
                    .error(&format!("Skipping object `{shown}' ({})", strerror(&e)));
                return;
            }
        };
        if !self.seen.insert((meta.dev(), meta.ino())) {
            return;
        }
        if meta.is_dir() {
            let entries = match std::fs::read_dir(&path) {
                Ok(d) => d,
                Err(e) => {
                    self.rep.error(&format!(
                        "Error reading from directory `{shown}' ({})",
                        strerror(&e)
                    ));
                    return;
                }
            };
            for entry in entries.flatten() {
                let leaf = entry.file_name().to_string_lossy().into_owned();
                let child = if name.is_empty() || name.ends_with('/') {
                    format!("{name}{leaf}")
                } else {
                    format!("{name}/{leaf}")
                };
                let shown_child = match label_path {
                    Some(l) => format!("{l}{child}"),
                    None => child.clone(),
                };
                self.visit(&shown_child, label_path, &child);
            }
        } else if meta.is_file() && meta.len() > 0 {
            self.out.push(InputFile {
                path,
                name: name.to_string(),
                label_path: label_path.map(str::to_string),
                size: meta.len(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::Report;
    use super::*;

    #[test]
    fn double_slash_names_and_dedup() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        std::fs::create_dir_all(dir.path().join("pool/a")).unwrap();
        std::fs::write(dir.path().join("pool/a/x.deb"), b"x").unwrap();
        std::fs::write(dir.path().join("pool/empty"), b"").unwrap();
        let rep = Reporter {
            bin: "jigdo-file".into(),
            mode: Report::Quiet,
        };
        let files = walk(
            &[format!("{root}//pool"), format!("{root}/pool/a/x.deb")],
            &[],
            &rep,
        )
        .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "pool/a/x.deb");
        assert_eq!(files[0].path, dir.path().join("pool/a/x.deb"));
    }
}
