//! Naming matched files in `.jigdo` [Parts] the way `-jigdo-map` does.

use std::path::{Component, Path, PathBuf};

/// The `.jigdo` location of a candidate file: `Label:rest/of/path`.
///
/// Each map is `(label, dir)`, like `-jigdo-map Label=/dir/` or jigdo-file's
/// `--label Label=/dir`. A map applies when `dir` is a prefix of `path` in
/// whole components (`/srv/mirror` covers `/srv/mirror/pool/x.deb` but not
/// `/srv/mirror2/x.deb`); the path below it, joined with `/`, follows
/// `label:`. When several maps apply, the one with the longest `dir` wins
/// (then the first given). No file system access happens: relative paths
/// only match relative dirs.
///
/// `None` if no map applies, if nothing is left below the dir, or if the
/// rest is not UTF-8 or climbs out of the dir with `..`.
///
/// ```
/// use std::path::{Path, PathBuf};
/// use jigsmith_scan::location_for;
///
/// let maps = [("Debian".to_string(), PathBuf::from("/srv/mirror/"))];
/// assert_eq!(
///     location_for(Path::new("/srv/mirror/pool/main/x.deb"), &maps).as_deref(),
///     Some("Debian:pool/main/x.deb"),
/// );
/// assert_eq!(location_for(Path::new("/srv/mirror2/x.deb"), &maps), None);
/// ```
pub fn location_for(path: &Path, maps: &[(String, PathBuf)]) -> Option<String> {
    let (label, rest) = maps
        .iter()
        .filter_map(|(label, dir)| {
            let rest = path.strip_prefix(dir).ok()?;
            Some((dir.components().count(), label, rest))
        })
        // max_by_key keeps the last of equal keys; reversing keeps the first
        .rev()
        .max_by_key(|(depth, _, _)| *depth)
        .map(|(_, label, rest)| (label, rest))?;
    let mut parts = Vec::new();
    for c in rest.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("{label}:{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(m: &[(&str, &str)]) -> Vec<(String, PathBuf)> {
        m.iter()
            .map(|(l, d)| (l.to_string(), PathBuf::from(d)))
            .collect()
    }

    #[test]
    fn whole_components_only() {
        let m = maps(&[("Debian", "/srv/mirror")]);
        let loc = |p: &str| location_for(Path::new(p), &m);
        assert_eq!(
            loc("/srv/mirror/pool/x.deb").as_deref(),
            Some("Debian:pool/x.deb")
        );
        assert_eq!(
            loc("/srv//mirror/./pool/x.deb").as_deref(),
            Some("Debian:pool/x.deb")
        );
        assert_eq!(loc("/srv/mirror2/pool/x.deb"), None);
        assert_eq!(loc("/srv/mirror"), None);
        assert_eq!(loc("/srv/mirror/pool/../../etc/passwd"), None);
        assert_eq!(loc("srv/mirror/pool/x.deb"), None);
    }

    #[test]
    fn longest_dir_wins_then_first() {
        let m = maps(&[
            ("Debian", "/srv/mirror/"),
            ("Security", "/srv/mirror/security"),
            ("Other", "/srv/mirror"),
        ]);
        let loc = |p: &str| location_for(Path::new(p), &m);
        assert_eq!(
            loc("/srv/mirror/security/pool/y.deb").as_deref(),
            Some("Security:pool/y.deb")
        );
        assert_eq!(
            loc("/srv/mirror/pool/x.deb").as_deref(),
            Some("Debian:pool/x.deb")
        );
        assert_eq!(location_for(Path::new("/x"), &[]), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_rest_has_no_location() {
        use std::os::unix::ffi::OsStrExt;
        let m = maps(&[("Debian", "/m")]);
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/m/\xff.deb"));
        assert_eq!(location_for(p, &m), None);
    }
}
