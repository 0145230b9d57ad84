use jigsmith_checksum::Algorithm;
use jigsmith_format::Compression;
use regex::Regex;

use crate::Error;

/// One `-jigdo-map To=From` rule: a checksum-list path starting with `from`
/// is named `to:rest` in the `.jigdo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMap {
    /// The label (`Debian`).
    pub to: String,
    /// The path prefix it replaces (`/srv/mirror/debian/`).
    pub from: String,
}

/// How to export: libjte's `-jigdo-*` options.
#[derive(Debug, Clone)]
pub struct JteConfig {
    /// File and template algorithm: MD5 (format 1.1) or SHA-256 (2.0).
    pub algorithm: Algorithm,
    /// Template data compression.
    pub compression: Compression,
    /// Files smaller than this stay in the template (`-jigdo-min-file-size`, 1024).
    pub min_file_size: u64,
    /// `-jigdo-exclude`: files whose source path matches stay in the template.
    pub exclude: Vec<Regex>,
    /// `-jigdo-force-checksum`: files whose path matches must match the list.
    pub force: Vec<Regex>,
    /// `-jigdo-map` rules, first match wins.
    pub maps: Vec<PathMap>,
    /// Image checksums for the `# Image Hex ...` comments (`-checksum_algorithm_iso`).
    pub image_algorithms: Vec<Algorithm>,
    /// Template checksums for the `# Template Hex ...` comments (`-checksum_algorithm_template`).
    pub template_algorithms: Vec<Algorithm>,
    /// `[Image] Filename`.
    pub image_name: String,
    /// `[Image] Template`.
    pub template_name: String,
}

impl JteConfig {
    /// libjte's defaults: minimum size 1024, every image checksum, MD5+SHA-256 for the template.
    pub fn new(algorithm: Algorithm, compression: Compression) -> Self {
        JteConfig {
            algorithm,
            compression,
            min_file_size: 1024,
            exclude: Vec::new(),
            force: Vec::new(),
            maps: Vec::new(),
            image_algorithms: Algorithm::ALL.to_vec(),
            template_algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
            image_name: "image.iso".into(),
            template_name: "image.template".into(),
        }
    }

    /// Compiles `-jigdo-exclude`/`-jigdo-force-checksum` patterns (searched
    /// anywhere in the source path, as libjte's `regexec` does).
    ///
    /// # Errors
    /// [`Error::BadPattern`].
    pub fn patterns(patterns: &[String]) -> Result<Vec<Regex>, Error> {
        patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|source| Error::BadPattern {
                    pattern: p.clone(),
                    source,
                })
            })
            .collect()
    }

    /// The `.jigdo` name of a checksum-list path.
    pub fn part_name(&self, list_path: &str) -> String {
        for m in &self.maps {
            if let Some(rest) = list_path.strip_prefix(&m.from) {
                return format!("{}:{}", m.to, rest.trim_start_matches('/'));
            }
        }
        list_path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_list_paths_to_labels() {
        let mut c = JteConfig::new(Algorithm::Md5, Compression::Zlib);
        c.maps.push(PathMap {
            to: "Debian".into(),
            from: "/srv/mirror/".into(),
        });
        assert_eq!(
            c.part_name("/srv/mirror/pool/a b.deb"),
            "Debian:pool/a b.deb"
        );
        assert_eq!(c.part_name("/elsewhere/x"), "/elsewhere/x");
        assert!(JteConfig::patterns(&["(".into()]).is_err());
    }
}
