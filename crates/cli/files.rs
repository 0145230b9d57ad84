//! Input helpers the subcommands share: checksum lists, directory walks, names.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context;
use jigsmith_format::ChecksumList;

/// Reads a checksum list (jigdo-gen-checksum-list format or md5sum output).
pub fn read_checksum_list(path: &Path) -> anyhow::Result<ChecksumList> {
    let f =
        File::open(path).with_context(|| format!("opening checksum list {}", path.display()))?;
    ChecksumList::parse(BufReader::new(f))
        .with_context(|| format!("reading checksum list {}", path.display()))
}

/// Regular files under `p` (`p` itself if it is not a directory) with their
/// sizes, sorted by path so output does not depend on directory order.
pub fn regular_files(p: &Path) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    walk(p, &mut out).with_context(|| format!("listing {}", p.display()))?;
    Ok(out)
}

fn walk(p: &Path, out: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
    let m = std::fs::metadata(p)?;
    if !m.is_dir() {
        out.push((p.to_path_buf(), m.len()));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for e in entries {
        let m = std::fs::symlink_metadata(&e)?;
        if m.is_dir() {
            walk(&e, out)?;
        } else if m.is_file() {
            out.push((e, m.len()));
        }
    }
    Ok(())
}

/// The last component of `p`, for `[Image] Filename` / `Template`.
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
