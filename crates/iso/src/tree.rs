//! The file tree of the image, built from source paths (roots, graft points) with excludes, hides and
//! sort weights applied (issue #3).

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::glob::{self, PatternSet};
use crate::options::{IsoOptions, RockRidge};

/// A source to put into the image: a directory whose contents are merged into the target directory,
/// or a file placed at the target path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSpec {
    /// Path inside the image (`dst` of `dst=src`); `None` = the root for directories, `/<basename>`
    /// for files.
    pub target: Option<String>,
    /// The source path on disk.
    pub source: PathBuf,
}

impl PathSpec {
    /// A plain source root (mkisofs without `-graft-points`, or an argument without `=`).
    pub fn new(source: impl Into<PathBuf>) -> Self {
        Self {
            target: None,
            source: source.into(),
        }
    }

    /// A graft point: `source` goes to `target` inside the image.
    pub fn graft(target: impl Into<String>, source: impl Into<PathBuf>) -> Self {
        Self {
            target: Some(target.into()),
            source: source.into(),
        }
    }

    /// Parses a `-graft-points` argument `dst=src`, where `\=` is a literal `=` and `\\` a literal `\`
    /// in both parts. Without an unescaped `=` the whole (unescaped) argument is a plain source.
    pub fn parse_graft_point(arg: &OsStr) -> Self {
        let bytes = arg.as_bytes();
        let mut dst = Vec::new();
        let mut cur = Vec::new();
        let mut split = false;
        let mut it = bytes.iter().copied().peekable();
        while let Some(c) = it.next() {
            match c {
                b'\\' if matches!(it.peek(), Some(b'=' | b'\\')) => {
                    if let Some(n) = it.next() {
                        cur.push(n);
                    }
                }
                b'=' if !split => {
                    dst = std::mem::take(&mut cur);
                    split = true;
                }
                _ => cur.push(c),
            }
        }
        let source = PathBuf::from(OsString::from_vec(cur));
        if split {
            Self {
                target: Some(String::from_utf8_lossy(&dst).into_owned()),
                source,
            }
        } else {
            Self {
                target: None,
                source,
            }
        }
    }
}

pub(crate) type NodeId = usize;
pub(crate) const ROOT: NodeId = 0;

/// POSIX attributes recorded in Rock Ridge PX/TF entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub atime: i64,
    pub ctime: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir {
        children: Vec<NodeId>,
    },
    File {
        source: PathBuf,
        size: u64,
        inode: Option<(u64, u64)>,
    },
    Symlink {
        target: Vec<u8>,
    },
    /// The El Torito boot catalog (contents are generated).
    BootCatalog,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The original name (Rock Ridge NM); empty for the root.
    pub name: Vec<u8>,
    pub parent: NodeId,
    pub kind: Kind,
    pub meta: Meta,
    pub hide_iso: bool,
    pub hide_joliet: bool,
    pub weight: i32,
}

impl Node {
    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir { .. })
    }
    pub(crate) fn children(&self) -> &[NodeId] {
        match &self.kind {
            Kind::Dir { children } => children,
            _ => &[],
        }
    }
}

/// The merged tree of all sources.
#[derive(Debug)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    index: HashMap<(NodeId, Vec<u8>), NodeId>,
    /// Where each node came from (for conflict errors); synthetic nodes have none.
    origin: Vec<Option<PathBuf>>,
    /// Things left out, as messages (sockets, devices, symlinks without Rock Ridge, loops).
    pub warnings: Vec<String>,
}

struct Ctx<'a> {
    opts: &'a IsoOptions,
    exclude: PatternSet,
    hide: PatternSet,
    hide_joliet: PatternSet,
    now: i64,
    walked_dirs: HashSet<(u64, u64)>,
}

impl Tree {
    /// Builds the tree from the path specs in order; later sources merge into earlier directories.
    pub(crate) fn build(specs: &[PathSpec], opts: &IsoOptions, now: i64) -> Result<Tree> {
        let mut ctx = Ctx {
            opts,
            exclude: PatternSet::new(&opts.exclude),
            hide: PatternSet::new(&opts.hide),
            hide_joliet: PatternSet::new(&opts.hide_joliet),
            now,
            walked_dirs: HashSet::new(),
        };
        let mut tree = Tree {
            nodes: vec![Node {
                name: Vec::new(),
                parent: ROOT,
                kind: Kind::Dir {
                    children: Vec::new(),
                },
                meta: synthetic_dir_meta(&ctx),
                hide_iso: false,
                hide_joliet: false,
                weight: 0,
            }],
            index: HashMap::new(),
            origin: vec![None],
            warnings: Vec::new(),
        };
        for spec in specs {
            tree.add_spec(spec, &mut ctx)?;
        }
        Ok(tree)
    }

    fn add_spec(&mut self, spec: &PathSpec, ctx: &mut Ctx<'_>) -> Result<()> {
        let source = std::path::absolute(&spec.source).map_err(|source| Error::Metadata {
            path: spec.source.clone(),
            source,
        })?;
        let md = fs::metadata(&source).map_err(|e| Error::Metadata {
            path: source.clone(),
            source: e,
        })?;
        let target = spec.target.as_deref().unwrap_or("/");
        let mut comps: Vec<Vec<u8>> = target
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(|c| c.as_bytes().to_vec())
            .collect();
        if md.is_dir() {
            let last = Some((node_meta(&md, ctx), source.as_path()));
            let in_the_way = || graft_blocked(target);
            let dir = self.ensure_dirs(&comps, last, synthetic_dir_meta(ctx), in_the_way)?;
            self.walk(&source, dir, ctx)?;
        } else {
            if spec.target.is_none() || target.ends_with('/') || comps.is_empty() {
                let base = source
                    .file_name()
                    .map(|n| n.as_bytes().to_vec())
                    .unwrap_or_default();
                comps.push(base);
            }
            let (name, parents) = match comps.split_last() {
                Some((n, p)) => (n.clone(), p.to_vec()),
                None => {
                    return Err(Error::BadGraftPoint {
                        image_path: target.into(),
                        reason: "no file name",
                    })
                }
            };
            let in_the_way = || graft_blocked(target);
            let parent = self.ensure_dirs(&parents, None, synthetic_dir_meta(ctx), in_the_way)?;
            self.add_entry(parent, name, &source, md, ctx)?;
        }
        Ok(())
    }

    /// Finds or creates the directories `comps` below the root. New directories get `fresh`,
    /// except that the last one takes `last` (its attributes and source) when given; the
    /// root takes `last` too when `comps` is empty and no source gave it attributes yet.
    /// A non-directory in the way is the error `in_the_way` makes.
    fn ensure_dirs(
        &mut self,
        comps: &[Vec<u8>],
        last: Option<(Meta, &Path)>,
        fresh: Meta,
        in_the_way: impl Fn() -> Error,
    ) -> Result<NodeId> {
        let mut cur = ROOT;
        for (i, comp) in comps.iter().enumerate() {
            let is_last = i + 1 == comps.len();
            cur = match self.index.get(&(cur, comp.clone())) {
                Some(&id) if self.nodes.get(id).is_some_and(Node::is_dir) => id,
                Some(_) => return Err(in_the_way()),
                None => {
                    let (meta, origin) = match last {
                        Some((meta, source)) if is_last => (meta, Some(source.to_path_buf())),
                        _ => (fresh, None),
                    };
                    let dir = Kind::Dir {
                        children: Vec::new(),
                    };
                    self.push(cur, comp.clone(), dir, meta, origin)
                }
            };
        }
        if comps.is_empty() {
            // The first source directory merged into the root gives the root its attributes.
            if let (Some((meta, source)), Some(None)) = (last, self.origin.get(ROOT)) {
                if let Some(root) = self.nodes.get_mut(ROOT) {
                    root.meta = meta;
                }
                if let Some(o) = self.origin.get_mut(ROOT) {
                    *o = Some(source.to_path_buf());
                }
            }
        }
        Ok(cur)
    }

    fn push(
        &mut self,
        parent: NodeId,
        name: Vec<u8>,
        kind: Kind,
        meta: Meta,
        origin: Option<PathBuf>,
    ) -> NodeId {
        let id = self.nodes.len();
        self.index.insert((parent, name.clone()), id);
        self.nodes.push(Node {
            name,
            parent,
            kind,
            meta,
            hide_iso: false,
            hide_joliet: false,
            weight: 0,
        });
        self.origin.push(origin);
        if let Some(Node {
            kind: Kind::Dir { children },
            ..
        }) = self.nodes.get_mut(parent)
        {
            children.push(id);
        }
        id
    }

    fn walk(&mut self, dir: &Path, dst: NodeId, ctx: &mut Ctx<'_>) -> Result<()> {
        let mut stack = vec![(dir.to_path_buf(), dst)];
        while let Some((src, dst)) = stack.pop() {
            let rd = fs::read_dir(&src).map_err(|source| Error::ReadDir {
                path: src.clone(),
                source,
            })?;
            let mut names = Vec::new();
            for e in rd {
                let e = e.map_err(|source| Error::ReadDir {
                    path: src.clone(),
                    source,
                })?;
                names.push(e.file_name());
            }
            // read_dir order depends on the file system; sorting makes images reproducible
            names.sort();
            let mut subdirs = Vec::new();
            for name in names {
                let path = src.join(&name);
                if !ctx.exclude.is_empty()
                    && ctx
                        .exclude
                        .matches_any(&[name.as_bytes(), path.as_os_str().as_bytes()])
                {
                    continue;
                }
                let md = if ctx.opts.follow_links {
                    fs::metadata(&path).or_else(|_| fs::symlink_metadata(&path))
                } else {
                    fs::symlink_metadata(&path)
                }
                .map_err(|source| Error::Metadata {
                    path: path.clone(),
                    source,
                })?;
                if let Some(id) = self.add_entry(dst, name.as_bytes().to_vec(), &path, md, ctx)? {
                    subdirs.push((path, id));
                }
            }
            // reversed so that the stack walks directories in name order
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    /// Adds one source object below `parent`. Returns the directory node to walk, if any.
    fn add_entry(
        &mut self,
        parent: NodeId,
        name: Vec<u8>,
        path: &Path,
        md: Metadata,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<NodeId>> {
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            if ctx.opts.follow_links && !ctx.walked_dirs.insert((md.dev(), md.ino())) {
                self.warnings
                    .push(format!("{}: directory loop, left out", path.display()));
                return Ok(None);
            }
            Kind::Dir {
                children: Vec::new(),
            }
        } else if ft.is_file() {
            Kind::File {
                source: path.to_path_buf(),
                size: md.len(),
                inode: Some((md.dev(), md.ino())),
            }
        } else if ft.is_symlink() {
            if ctx.opts.rock_ridge == RockRidge::Off {
                self.warnings.push(format!(
                    "{}: symbolic link needs Rock Ridge, left out",
                    path.display()
                ));
                return Ok(None);
            }
            let target = fs::read_link(path).map_err(|source| Error::Metadata {
                path: path.to_path_buf(),
                source,
            })?;
            Kind::Symlink {
                target: target.into_os_string().into_vec(),
            }
        } else {
            self.warnings
                .push(format!("{}: special file, left out", path.display()));
            return Ok(None);
        };
        let is_dir = matches!(kind, Kind::Dir { .. });
        if let Some(&existing) = self.index.get(&(parent, name.clone())) {
            let existing_is_dir = self.nodes.get(existing).is_some_and(Node::is_dir);
            if is_dir && existing_is_dir {
                return Ok(Some(existing));
            }
            return Err(self.conflict(existing, self.image_path(existing), path.to_path_buf()));
        }
        let meta = node_meta(&md, ctx);
        let id = self.push(parent, name, kind, meta, Some(path.to_path_buf()));
        let image_path = self.image_path(id);
        let leaf = self
            .nodes
            .get(id)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let cands: [&[u8]; 3] = [&leaf, path.as_os_str().as_bytes(), image_path.as_bytes()];
        let hide_iso = !ctx.hide.is_empty() && ctx.hide.matches_any(&cands);
        let hide_joliet = !ctx.hide_joliet.is_empty() && ctx.hide_joliet.matches_any(&cands);
        let weight = ctx
            .opts
            .sort_weights
            .iter()
            .find(|(g, _)| glob::matches(g.as_bytes(), path.as_os_str().as_bytes()))
            .map_or(0, |(_, w)| *w);
        if let Some(n) = self.nodes.get_mut(id) {
            n.hide_iso = hide_iso;
            n.hide_joliet = hide_joliet;
            n.weight = weight;
        }
        Ok(is_dir.then_some(id))
    }

    /// Inserts the boot catalog at `path` (creating directories).
    pub(crate) fn add_boot_catalog(
        &mut self,
        path: &str,
        now: i64,
        hidden: bool,
    ) -> Result<NodeId> {
        let comps: Vec<Vec<u8>> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(|c| c.as_bytes().to_vec())
            .collect();
        let Some((name, parents)) = comps.split_last() else {
            return Err(Error::BadGraftPoint {
                image_path: path.into(),
                reason: "no file name",
            });
        };
        let fresh = Meta {
            mode: 0o40555,
            uid: 0,
            gid: 0,
            mtime: now,
            atime: now,
            ctime: now,
        };
        let in_the_way = || Error::BootFileMissing {
            image_path: path.into(),
        };
        let cur = self.ensure_dirs(parents, None, fresh, in_the_way)?;
        if let Some(&existing) = self.index.get(&(cur, name.clone())) {
            return Err(self.conflict(existing, path.into(), "(boot catalog)".into()));
        }
        let meta = Meta {
            mode: 0o100444,
            uid: 0,
            gid: 0,
            mtime: now,
            atime: now,
            ctime: now,
        };
        let id = self.push(cur, name.clone(), Kind::BootCatalog, meta, None);
        if let Some(n) = self.nodes.get_mut(id) {
            n.hide_iso = hidden;
            n.hide_joliet = hidden;
        }
        Ok(id)
    }

    /// `existing` is already at `image_path`, where `second` wants to go.
    fn conflict(&self, existing: NodeId, image_path: String, second: PathBuf) -> Error {
        let first = self.origin.get(existing).cloned().flatten();
        Error::Conflict {
            image_path,
            first: first.unwrap_or_default(),
            second,
        }
    }

    /// Looks a node up by its path inside the image (original names).
    pub(crate) fn lookup(&self, path: &str) -> Option<NodeId> {
        let mut cur = ROOT;
        for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            cur = *self.index.get(&(cur, comp.as_bytes().to_vec()))?;
        }
        Some(cur)
    }

    /// `/`-separated path of a node inside the image (lossy UTF-8).
    pub(crate) fn image_path(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut cur = id;
        while cur != ROOT {
            let Some(n) = self.nodes.get(cur) else { break };
            parts.push(String::from_utf8_lossy(&n.name).into_owned());
            cur = n.parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }
}

fn graft_blocked(target: &str) -> Error {
    Error::BadGraftPoint {
        image_path: target.into(),
        reason: "a file is in the way of a directory",
    }
}

fn synthetic_dir_meta(ctx: &Ctx<'_>) -> Meta {
    let t = ctx
        .opts
        .all_file_dates
        .or(ctx.opts.source_date_epoch)
        .unwrap_or(ctx.now);
    let mode = if ctx.opts.rock_ridge == RockRidge::Rationalized {
        0o40555
    } else {
        0o40755
    };
    Meta {
        mode,
        uid: 0,
        gid: 0,
        mtime: t,
        atime: t,
        ctime: t,
    }
}

fn node_meta(md: &Metadata, ctx: &Ctx<'_>) -> Meta {
    let mut m = Meta {
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
        mtime: md.mtime(),
        atime: md.atime(),
        ctime: md.ctime(),
    };
    if let Some(t) = ctx.opts.all_file_dates {
        m.mtime = t;
        m.atime = t;
        m.ctime = t;
    } else if ctx.opts.source_date_epoch.is_some() {
        // xorriso's SOURCE_DATE_EPOCH default "--set_all_file_dates set_to_mtime"
        m.atime = m.mtime;
        m.ctime = m.mtime;
    }
    if ctx.opts.rock_ridge == RockRidge::Rationalized {
        m = rationalize(m);
    }
    m
}

/// mkisofs/xorriso `-r`: uid/gid 0, r for all, no w, x for all if any x (directories always), no s/t.
pub(crate) fn rationalize(mut m: Meta) -> Meta {
    const S_IFMT: u32 = 0o170000;
    const S_IFDIR: u32 = 0o040000;
    let ty = m.mode & S_IFMT;
    let mut perm = m.mode & 0o777 | 0o444;
    perm &= !0o222;
    if perm & 0o111 != 0 || ty == S_IFDIR {
        perm |= 0o111;
    }
    m.mode = ty | perm;
    m.uid = 0;
    m.gid = 0;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 1000,
            gid: 100,
            mtime: 1,
            atime: 2,
            ctime: 3,
        }
    }

    #[test]
    fn rationalize_modes() {
        assert_eq!(rationalize(meta(0o100600)).mode, 0o100444);
        assert_eq!(rationalize(meta(0o100700)).mode, 0o100555);
        assert_eq!(rationalize(meta(0o104755)).mode, 0o100555);
        assert_eq!(rationalize(meta(0o040700)).mode, 0o040555);
        assert_eq!(rationalize(meta(0o120777)).mode, 0o120555);
        assert_eq!(rationalize(meta(0o100600)).uid, 0);
    }

    #[test]
    fn graft_point_parsing() {
        assert_eq!(
            PathSpec::parse_graft_point(OsStr::new("a/b=/src")),
            PathSpec::graft("a/b", "/src")
        );
        assert_eq!(
            PathSpec::parse_graft_point(OsStr::new("a\\=b=/s=t")),
            PathSpec::graft("a=b", "/s=t")
        );
        assert_eq!(
            PathSpec::parse_graft_point(OsStr::new("/plain")),
            PathSpec::new("/plain")
        );
        assert_eq!(
            PathSpec::parse_graft_point(OsStr::new("x\\\\=y")),
            PathSpec::graft("x\\", "y")
        );
    }

    #[test]
    fn merges_roots_grafts_and_excludes() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        fs::create_dir_all(a.join("sub")).unwrap();
        fs::create_dir_all(b.join("sub")).unwrap();
        fs::write(a.join("sub/one"), b"1").unwrap();
        fs::write(b.join("sub/two"), b"22").unwrap();
        fs::write(b.join("skip.tmp"), b"").unwrap();
        fs::write(d.path().join("f"), b"f").unwrap();
        let opts = IsoOptions::builder().exclude("*.tmp").hide("two").build();
        let specs = [
            PathSpec::new(&a),
            PathSpec::new(&b),
            PathSpec::graft("/x/y/", d.path().join("f")),
            PathSpec::graft("/g", &a),
        ];
        let t = Tree::build(&specs, &opts, 0).unwrap();
        assert!(t.lookup("/sub/one").is_some());
        let two = t.lookup("/sub/two").unwrap();
        assert!(t.nodes[two].hide_iso && !t.nodes[two].hide_joliet);
        assert!(t.lookup("/skip.tmp").is_none());
        assert!(t.lookup("/x/y/f").is_some());
        assert!(t.lookup("/g/sub/one").is_some());
        assert_eq!(t.image_path(t.lookup("/g/sub/one").unwrap()), "/g/sub/one");

        let clash = [
            PathSpec::new(&a),
            PathSpec::graft("/sub/one", d.path().join("f")),
        ];
        assert!(matches!(
            Tree::build(&clash, &opts, 0),
            Err(Error::Conflict { .. })
        ));
        let missing = [PathSpec::new(d.path().join("nope"))];
        assert!(matches!(
            Tree::build(&missing, &opts, 0),
            Err(Error::Metadata { .. })
        ));
    }
}
