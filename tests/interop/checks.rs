//! Rebuilding an image with jigsmith (native `make-image` and the `jigit-mkimage`
//! personality) and comparing the result with the original ISO.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture::{p, Iso, LABEL};
use crate::support::{
    assert_same_bytes, assert_same_file, describe, jigsmith, read, slice_of, temp_dir, tool, Run,
};
use crate::tree::Tree;

/// What to rebuild from, and the image it must equal.
#[derive(Clone)]
pub struct Rebuild {
    pub jigdo: Option<PathBuf>,
    pub template: PathBuf,
    /// `LABEL=DIR` for `--map` / `-m`.
    pub maps: Vec<String>,
    /// Checksum lists for `--checksum-list` / `-f` / `-F`.
    pub lists: Vec<PathBuf>,
    pub sha256: bool,
    pub expected: PathBuf,
}

impl Rebuild {
    /// The fixture's .jigdo and .template, `Deb` mapped to the tree root.
    pub fn of(iso: &Iso, tree: &Tree) -> Self {
        Rebuild {
            jigdo: Some(iso.jigdo.clone()),
            template: iso.template.clone(),
            maps: vec![format!("{LABEL}={}", p(&tree.root))],
            lists: Vec::new(),
            sha256: iso.sha256,
            expected: iso.iso.clone(),
        }
    }

    /// A `.jigdo` (MD5) and its template, `map` (`LABEL=DIR`) its one map.
    pub fn jigdo_map(jigdo: PathBuf, template: PathBuf, map: String, expected: PathBuf) -> Self {
        Rebuild {
            jigdo: Some(jigdo),
            template,
            maps: vec![map],
            lists: Vec::new(),
            sha256: false,
            expected,
        }
    }

    /// The same, with another .jigdo (compressed, rewritten, ...).
    pub fn with_jigdo(&self, jigdo: &Path) -> Self {
        Rebuild {
            jigdo: Some(jigdo.to_owned()),
            ..self.clone()
        }
    }

    /// Only the template and a checksum list: no .jigdo, no maps.
    pub fn from_list(iso: &Iso) -> Self {
        Rebuild {
            jigdo: None,
            template: iso.template.clone(),
            maps: Vec::new(),
            lists: vec![iso.list.clone()],
            sha256: iso.sha256,
            expected: iso.iso.clone(),
        }
    }

    /// `jigsmith make-image [--jigdo J] --template T [--map ..] [--checksum-list ..]`
    pub fn native(&self) -> Command {
        let mut cmd = jigsmith(["make-image"]);
        if let Some(jigdo) = &self.jigdo {
            cmd.arg("--jigdo").arg(jigdo);
        }
        cmd.arg("--template").arg(&self.template);
        for map in &self.maps {
            cmd.arg("--map").arg(map);
        }
        for list in &self.lists {
            cmd.arg("--checksum-list").arg(list);
        }
        cmd
    }

    /// `jigsmith jigit-mkimage [-j J] -t T [-m ..] [-f|-F ..]`
    pub fn jigit(&self) -> Command {
        let mut cmd = jigsmith(["jigit-mkimage"]);
        self.jigit_args(&mut cmd);
        cmd
    }

    /// The jigit-mkimage arguments, on any program (a symlink, the real tool).
    pub fn jigit_args(&self, cmd: &mut Command) {
        if let Some(jigdo) = &self.jigdo {
            cmd.arg("-j").arg(jigdo);
        }
        cmd.arg("-t").arg(&self.template);
        for map in &self.maps {
            cmd.arg("-m").arg(map);
        }
        for list in &self.lists {
            cmd.arg(if self.sha256 { "-F" } else { "-f" }).arg(list);
        }
    }

    /// The real jigit-mkimage (not jigsmith's personality), to a file.
    pub fn assert_real_jigit_rebuilds(&self) {
        let mut jigit = tool("jigit-mkimage", [] as [&str; 0]);
        self.jigit_args(&mut jigit);
        self.assert_to_file(jigit, "-o");
    }

    /// Native and personality, each to a file and to a stdout pipe.
    pub fn assert_rebuilds(&self) {
        self.assert_to_file(self.native(), "-o");
        self.assert_to_stdout(self.native());
        self.assert_to_file(self.jigit(), "-o");
        self.assert_to_stdout(self.jigit());
    }

    /// [`Rebuild::assert_rebuilds`], then the [`interesting_ranges`] of an image of a
    /// `tricky_tree` (around its `victim.bin` and `sub/unlisted.bin`).
    pub fn assert_rebuilds_with_ranges(&self, tree: &Tree) {
        self.assert_rebuilds();
        self.assert_ranges(&interesting_ranges(
            &self.expected,
            tree,
            "victim.bin",
            Some("sub/unlisted.bin"),
        ));
    }

    /// Runs `cmd <out_flag> OUT` into a fresh directory and compares OUT with the image.
    pub fn assert_to_file(&self, mut cmd: Command, out_flag: &str) {
        let dir = temp_dir();
        let out = dir.path().join("rebuilt.iso");
        cmd.arg(out_flag).arg(&out);
        cmd.ok();
        assert_same_file(&out, &self.expected, &describe(&cmd));
    }

    /// Runs `cmd` and compares what it wrote to stdout with the image.
    pub fn assert_to_stdout(&self, mut cmd: Command) {
        let out = cmd.ok();
        assert_same_bytes(&out.stdout, &read(&self.expected), &describe(&cmd));
    }

    /// Every range, by `make-image --range S-E` and by `jigit-mkimage -s S -e E`, to
    /// stdout, compared with the same inclusive slice of the image.
    pub fn assert_ranges(&self, ranges: &[Range]) {
        for r in ranges {
            let expected = slice_of(&self.expected, r.start, r.end);
            assert_eq!(
                expected.len() as u64,
                r.end - r.start + 1,
                "bad test range {r:?}"
            );

            let mut native = self.native();
            native.arg("--range").arg(format!("{}-{}", r.start, r.end));
            let out = native.ok();
            assert_same_bytes(
                &out.stdout,
                &expected,
                &format!("{} ({})", describe(&native), r.what),
            );

            let mut jigit = self.jigit();
            jigit
                .arg("-s")
                .arg(r.start.to_string())
                .arg("-e")
                .arg(r.end.to_string());
            let out = jigit.ok();
            assert_same_bytes(
                &out.stdout,
                &expected,
                &format!("{} ({})", describe(&jigit), r.what),
            );
        }
    }
}

/// An inclusive byte range of the image and why it is interesting.
#[derive(Clone, Debug)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub what: String,
}

fn range(start: u64, end: u64, what: &str) -> Range {
    Range {
        start,
        end,
        what: what.to_owned(),
    }
}

/// Offset of a file's data in the image. ISO 9660 writers start file data on a 2 KiB
/// sector, and the trees' random heads are unique, so the first sector whose head equals
/// the file's head is where it lies.
pub fn offset_in_image(image: &[u8], tree: &Tree, rel: &str) -> u64 {
    let data = read(&tree.path(rel));
    let head = data.get(..64).unwrap_or(&data);
    assert!(head.len() >= 32, "{rel} is too small to locate");
    (0..image.len())
        .step_by(2048)
        .find(|&at| image.get(at..at + head.len()) == Some(head))
        .unwrap_or_else(|| panic!("{rel} not found in the image")) as u64
}

/// Ranges that start at 0, lie inside unmatched data, inside a matched file, cross
/// entry boundaries, go to the last byte, are one byte long, and reach into template
/// data beyond the first compressed part.
pub fn interesting_ranges(
    iso: &Path,
    tree: &Tree,
    matched: &str,
    unlisted: Option<&str>,
) -> Vec<Range> {
    let image = read(iso);
    let len = image.len() as u64;
    let at = offset_in_image(&image, tree, matched);
    let size = tree.entry(matched).size;
    assert!(size >= 4096, "pick a matched file of at least 4 KiB");
    let mut ranges = vec![
        range(0, 0, "first byte"),
        range(0, 40_000, "from 0 through the volume descriptors"),
        range(16 * 2048 + 7, 17 * 2048 + 100, "inside unmatched metadata"),
        range(at + 100, at + size - 100, "inside a matched file"),
        range(
            at + size / 2,
            at + size / 2,
            "one byte inside a matched file",
        ),
        range(at, at + size - 1, "exactly one matched file"),
        range(
            at - 1,
            at + size,
            "one unmatched byte, a matched file, one padding byte",
        ),
        range(at - 5000, at + size + 5000, "crossing several boundaries"),
        range(
            at + size / 2,
            len - 1,
            "from inside a matched file to the end",
        ),
        range(len - 1, len - 1, "last byte"),
        range(len - 3000, len - 1, "the tail"),
        range(0, len - 1, "the whole image"),
    ];
    if let Some(unlisted) = unlisted {
        let u = offset_in_image(&image, tree, unlisted);
        let usize_ = tree.entry(unlisted).size;
        ranges.push(range(
            u + 1_200_000,
            u + 1_300_000,
            "template data past the first 1 MiB part",
        ));
        ranges.push(range(
            u - 10,
            u + usize_ + 10,
            "across all data parts of a big unmatched file",
        ));
    }
    assert!(
        ranges.iter().all(|r| r.start <= r.end && r.end < len),
        "bad test ranges {ranges:?}"
    );
    ranges
}
