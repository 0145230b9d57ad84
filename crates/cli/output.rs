//! Where results go: a file written atomically, or stdout.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tempfile::NamedTempFile;

/// An output file that appears under its name only when complete: it is
/// written to a temporary file in the same directory and renamed by
/// [`AtomicFile::commit`]. Dropped without commit, nothing is left behind.
pub struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> anyhow::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".part");
        // the finished file gets the usual 0666 & ~umask, not a temp file's 0600
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> anyhow::Result<()> {
        self.temp
            .as_file()
            .sync_all()
            .with_context(|| format!("writing {}", self.target.display()))?;
        let target = self.target;
        self.temp
            .persist(&target)
            .map_err(|e| e.error)
            .with_context(|| format!("renaming the finished file to {}", target.display()))?;
        Ok(())
    }
}

/// `None` or `-` means stdout.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Runs `f` with a writer to `path` (atomically) or to stdout.
pub fn write_to<T>(
    path: Option<&Path>,
    f: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match path {
        Some(p) if !is_stdout(Some(p)) => {
            let mut out = AtomicFile::create(p)?;
            let value = {
                let mut w = BufWriter::with_capacity(1 << 20, out.file());
                let v = f(&mut w)?;
                w.flush()
                    .with_context(|| format!("writing {}", p.display()))?;
                v
            };
            out.commit()?;
            Ok(value)
        }
        _ => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let v = f(&mut w)?;
            w.flush().context("writing to standard output")?;
            Ok(v)
        }
    }
}

/// Writes `jigdo` to a new [`AtomicFile`] at `path`, left uncommitted so the
/// caller can make it appear together with the template (and image).
pub fn write_jigdo(path: &Path, jigdo: &jigsmith_format::Jigdo) -> anyhow::Result<AtomicFile> {
    let mut file = AtomicFile::create(path)?;
    {
        let mut w = BufWriter::new(file.file());
        jigdo
            .write(&mut w)
            .with_context(|| format!("writing {}", path.display()))?;
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(file)
}
