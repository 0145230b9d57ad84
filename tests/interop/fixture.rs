//! Images made by the old tools: an ISO with its .jigdo and .template, and the
//! checksum list JTE matched against.

use std::path::{Path, PathBuf};

use crate::support::{temp_dir, tool, write, Run};
use crate::tree::Tree;

/// The label every fixture maps the tree root to (`Deb:relative/path`).
pub const LABEL: &str = "Deb";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maker {
    Xorriso,
    Genisoimage,
}

/// How to run JTE (`-jigdo-*` options of `xorriso -as mkisofs` / `genisoimage`).
#[derive(Clone, Copy, Debug)]
pub struct Jte {
    pub maker: Maker,
    /// `-jigdo-checksum-algorithm sha256` (template format 2.0); xorriso only.
    pub sha256: bool,
    /// `-jigdo-template-compress bzip2`.
    pub bzip2: bool,
    /// `-jigdo-min-file-size`; genisoimage refuses less than 1024.
    pub min_size: u64,
}

impl Jte {
    pub fn xorriso() -> Self {
        Jte {
            maker: Maker::Xorriso,
            sha256: false,
            bzip2: false,
            min_size: 1024,
        }
    }

    pub fn genisoimage() -> Self {
        Jte {
            maker: Maker::Genisoimage,
            ..Jte::xorriso()
        }
    }

    pub fn sha256(self) -> Self {
        Jte {
            sha256: true,
            ..self
        }
    }

    pub fn bzip2(self) -> Self {
        Jte {
            bzip2: true,
            ..self
        }
    }

    pub fn min_size(self, min_size: u64) -> Self {
        Jte { min_size, ..self }
    }

    /// Writes the checksum list with `jigdo-gen-checksum-list`, then the ISO, .jigdo and
    /// .template into a fresh directory outside the tree.
    pub fn build(&self, tree: &Tree) -> Iso {
        let dir = temp_dir();
        let out = |name: &str| dir.path().join(name);
        let (iso, jigdo, template, list) = (
            out("image.iso"),
            out("image.jigdo"),
            out("image.template"),
            out("checksums.list"),
        );
        write(&list, checksum_list(&tree.listed_paths(), self.sha256));

        let mut args: Vec<String> = Vec::new();
        let mut arg = |a: &str| args.push(a.to_owned());
        match self.maker {
            Maker::Xorriso => ["-as", "mkisofs"].iter().for_each(|a| arg(a)),
            Maker::Genisoimage => {}
        }
        for a in ["-quiet", "-r", "-V", "INTEROP", "-o"] {
            arg(a);
        }
        arg(&p(&iso));
        arg("-jigdo-jigdo");
        arg(&p(&jigdo));
        arg("-jigdo-template");
        arg(&p(&template));
        if self.sha256 {
            assert_eq!(
                self.maker,
                Maker::Xorriso,
                "genisoimage 1.1.11 has no sha256 JTE"
            );
            for a in ["-jigdo-checksum-algorithm", "sha256", "-checksum-list"] {
                arg(a);
            }
        } else {
            arg("-md5-list");
        }
        arg(&p(&list));
        arg("-jigdo-map");
        arg(&format!("{LABEL}={}/", p(&tree.root)));
        arg("-jigdo-min-file-size");
        arg(&self.min_size.to_string());
        if self.bzip2 {
            arg("-jigdo-template-compress");
            arg("bzip2");
        }
        arg(&p(&tree.root));
        let program = match self.maker {
            Maker::Xorriso => "xorriso",
            Maker::Genisoimage => "genisoimage",
        };
        tool(program, &args).ok();
        Iso {
            dir,
            iso,
            jigdo,
            template,
            list,
            sha256: self.sha256,
        }
    }
}

/// An ISO image and the jigdo files describing it; removed when dropped.
pub struct Iso {
    pub dir: tempfile::TempDir,
    pub iso: PathBuf,
    pub jigdo: PathBuf,
    pub template: PathBuf,
    /// The checksum list (jigdo-gen-checksum-list format) used to make the image.
    pub list: PathBuf,
    pub sha256: bool,
}

impl Iso {
    /// A path for a new file next to the image.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The .jigdo as text.
    pub fn jigdo_text(&self) -> String {
        String::from_utf8(crate::support::read(&self.jigdo))
            .unwrap_or_else(|e| panic!("jigdo is not UTF-8: {e}"))
    }

    /// Writes a new .jigdo next to the image and returns its path.
    pub fn write_jigdo(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        write(&path, text);
        path
    }
}

/// `jigdo-gen-checksum-list [-c sha256] FILE...`. Files are passed one by one: the
/// script's directory walk splits names at whitespace.
pub fn checksum_list(paths: &[PathBuf], sha256: bool) -> Vec<u8> {
    let mut cmd = tool("jigdo-gen-checksum-list", [] as [&str; 0]);
    if sha256 {
        cmd.args(["-c", "sha256"]);
    }
    cmd.args(paths);
    cmd.ok().stdout
}

/// `jigdo-file make-template` on an existing image: quoted names, template version 1.2,
/// files matched by content.
pub fn jigdo_file_template(iso: &Path, tree: &Tree, sha256: bool, bzip2: bool) -> Iso {
    let dir = temp_dir();
    let jigdo = dir.path().join("jf.jigdo");
    let template = dir.path().join("jf.template");
    let mut cmd = tool("jigdo-file", ["make-template", "-f", "-r", "quiet"]);
    cmd.arg("-i")
        .arg(iso)
        .arg("-j")
        .arg(&jigdo)
        .arg("-t")
        .arg(&template);
    cmd.arg("--label").arg(format!("{LABEL}={}", p(&tree.root)));
    if sha256 {
        cmd.args(["-C", "sha256"]);
    }
    if bzip2 {
        cmd.arg("--bzip2");
    }
    // `dir//` makes jigdo-file name parts relative to `dir`
    cmd.arg(format!("{}//", p(&tree.root)));
    cmd.ok();
    let list = dir.path().join("checksums.list");
    write(&list, checksum_list(&tree.listed_paths(), sha256));
    Iso {
        dir,
        iso: iso.to_owned(),
        jigdo,
        template,
        list,
        sha256,
    }
}

/// A path as a `String` (the fixtures only make UTF-8 paths).
pub fn p(path: &Path) -> String {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
        .to_owned()
}
