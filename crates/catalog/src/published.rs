use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use jigsmith_assemble::{Image, JigdoImage};
use jigsmith_checksum::{Algorithm, Digest};

/// One image of the catalog, with what its `.jigdo` says about it.
pub struct Published {
    /// The image's file name in its directory.
    pub name: String,
    /// Its directory, relative to the root (`""` for the root).
    pub dir: String,
    /// The `.jigdo` and template it is made of.
    pub loaded: JigdoImage,
    /// The bytes, built on demand.
    pub image: Arc<Image>,
    /// When the template was last modified: the image's date.
    pub modified: SystemTime,
    /// The image checksums known from the template and the `.jigdo`
    /// (`# Image Hex SHA512Sum ...` comments), one per algorithm.
    pub(crate) digests: Vec<Digest>,
    /// The `.jigdo` and template as loaded, to notice changes on rescan.
    pub(crate) stamps: [Stamp; 2],
}

/// A file's size and mtime when it was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    pub(crate) fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

impl Published {
    /// The image's length in bytes.
    pub fn len(&self) -> u64 {
        self.image.len()
    }

    /// Whether the image has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The image's checksum in `algorithm`, if the template or `.jigdo` states it.
    pub fn digest(&self, algorithm: Algorithm) -> Option<Digest> {
        self.digests
            .iter()
            .find(|d| d.algorithm() == algorithm)
            .copied()
    }

    /// Every image checksum known, MD5 first.
    pub fn digests(&self) -> &[Digest] {
        &self.digests
    }

    /// The strongest checksum the template itself guarantees (what a build
    /// checks): a strong validator for HTTP `ETag`.
    pub fn template_digest(&self) -> Digest {
        self.loaded.template.image_digest()
    }

    /// The `.jigdo` file's name.
    pub fn jigdo_name(&self) -> String {
        file_name(&self.loaded.jigdo_path)
    }

    /// The template file's name.
    pub fn template_name(&self) -> String {
        file_name(&self.loaded.template_path)
    }

    /// `[Image] ShortInfo`, if any.
    pub fn short_info(&self) -> Option<&str> {
        self.loaded.jigdo.image.as_ref()?.short_info.as_deref()
    }

    /// `[Image] Info`, if any.
    pub fn info(&self) -> Option<&str> {
        self.loaded.jigdo.image.as_ref()?.info.as_deref()
    }

    /// Whether the `.jigdo` and template on disk are still the ones loaded.
    pub(crate) fn unchanged(&self) -> bool {
        Stamp::of(&self.loaded.jigdo_path) == Some(self.stamps[0])
            && Stamp::of(&self.loaded.template_path) == Some(self.stamps[1])
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
