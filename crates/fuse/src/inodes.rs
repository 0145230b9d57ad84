//! The inode table: one number for every directory and file of a catalog
//! snapshot, stable across rescans for whatever did not change.
//!
//! The kernel caches inodes, their attributes and (with `FOPEN_KEEP_CACHE`)
//! their pages, so an inode number must never come to mean other bytes. A
//! rescan therefore keeps the number of a path only when its node is the
//! same (the catalog reuses the very `Arc<Published>` of an unchanged
//! image); anything new or changed gets a number never handed out before.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jigsmith_catalog::{Catalog, Entry, Published};

/// The root directory's inode (FUSE's `FUSE_ROOT_ID`).
pub(crate) const ROOT: u64 = 1;

/// What an inode is.
#[derive(Clone)]
pub(crate) enum Node {
    /// A directory of the catalog.
    Dir {
        /// The parent's inode (the root is its own parent).
        parent: u64,
        /// Children by name, sorted (readdir offsets index into this order).
        children: BTreeMap<String, u64>,
        /// How many of them are directories (for `st_nlink`).
        subdirs: u32,
        /// The newest image date in it (the mount time when it has none).
        modified: SystemTime,
    },
    /// An image built on the fly.
    Image(Arc<Published>),
    /// A `.jigdo` or template, served from disk as it is.
    Disk {
        /// The file on disk.
        path: PathBuf,
        /// Its size when the table was built.
        len: u64,
        /// Its modification time then.
        modified: SystemTime,
        /// The image it belongs to (keeps the node's identity across rescans).
        owner: Arc<Published>,
    },
    /// A checksum file (`MD5SUMS`, ...), made from the catalog.
    Text {
        /// Its content.
        bytes: Arc<[u8]>,
        /// The newest image date of its directory.
        modified: SystemTime,
    },
}

impl Node {
    /// The file's size in bytes (0 for directories).
    pub(crate) fn len(&self) -> u64 {
        match self {
            Node::Dir { .. } => 0,
            Node::Image(p) => p.len(),
            Node::Disk { len, .. } => *len,
            Node::Text { bytes, .. } => bytes.len() as u64,
        }
    }

    /// When the content last changed: the template's date for an image.
    pub(crate) fn modified(&self) -> SystemTime {
        match self {
            Node::Dir { modified, .. }
            | Node::Disk { modified, .. }
            | Node::Text { modified, .. } => *modified,
            Node::Image(p) => p.modified,
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        matches!(self, Node::Dir { .. })
    }

    /// Whether `other` stands for the same bytes, so it may keep the inode.
    fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Dir { .. }, Node::Dir { .. }) => true,
            (Node::Image(a), Node::Image(b)) => Arc::ptr_eq(a, b),
            (
                Node::Disk {
                    path: pa,
                    len: la,
                    modified: ma,
                    owner: oa,
                },
                Node::Disk {
                    path: pb,
                    len: lb,
                    modified: mb,
                    owner: ob,
                },
            ) => pa == pb && la == lb && ma == mb && Arc::ptr_eq(oa, ob),
            (Node::Text { bytes: a, .. }, Node::Text { bytes: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// Every inode of one catalog snapshot.
pub(crate) struct Inodes {
    nodes: HashMap<u64, Node>,
    by_path: HashMap<String, u64>,
    /// The next number never handed out.
    next: u64,
}

impl Inodes {
    /// The table of `catalog`, keeping `previous`'s numbers for unchanged
    /// nodes; `now` dates directories without images.
    pub(crate) fn build(catalog: &Catalog, previous: Option<&Inodes>, now: SystemTime) -> Inodes {
        let mut table = Inodes {
            nodes: HashMap::new(),
            by_path: HashMap::new(),
            next: previous.map_or(ROOT + 1, |p| p.next),
        };
        // parents come before children, so a directory's number is known
        // (assigned as a child) before its own entries are added
        for dir in catalog.dirs() {
            let rel = dir.path.clone();
            let modified = dir
                .images()
                .map(|p| p.modified)
                .max()
                .unwrap_or(now)
                .max(UNIX_EPOCH);
            let mut children = BTreeMap::new();
            let mut subdirs = 0u32;
            for (name, entry) in &dir.entries {
                let path = join(&rel, name);
                let node = match entry {
                    Entry::Dir(_) => Node::Dir {
                        parent: 0, // set when the directory itself is added
                        children: BTreeMap::new(),
                        subdirs: 0,
                        modified,
                    },
                    Entry::Image(p) => Node::Image(Arc::clone(p)),
                    Entry::Jigdo(p) => disk(p, p.loaded.jigdo_path.clone()),
                    Entry::Template(p) => disk(p, p.loaded.template_path.clone()),
                    Entry::Sums(algorithm) => Node::Text {
                        bytes: Arc::from(dir.sums(*algorithm).into_bytes()),
                        modified,
                    },
                };
                let ino = table.number(previous, &path, &node);
                if node.is_dir() {
                    subdirs = subdirs.saturating_add(1);
                } else {
                    table.nodes.insert(ino, node);
                }
                children.insert(name.clone(), ino);
            }
            let ino = if rel.is_empty() {
                ROOT
            } else {
                table.by_path.get(&rel).copied().unwrap_or(ROOT)
            };
            let parent = match rel.rsplit_once('/') {
                Some((up, _)) => table.by_path.get(up).copied().unwrap_or(ROOT),
                None => ROOT,
            };
            table.by_path.insert(rel, ino);
            table.nodes.insert(
                ino,
                Node::Dir {
                    parent,
                    children,
                    subdirs,
                    modified,
                },
            );
        }
        table.nodes.entry(ROOT).or_insert_with(|| Node::Dir {
            parent: ROOT,
            children: BTreeMap::new(),
            subdirs: 0,
            modified: now,
        });
        table
    }

    /// The inode for `path`: the previous one if its node is the same,
    /// otherwise a fresh number.
    fn number(&mut self, previous: Option<&Inodes>, path: &str, node: &Node) -> u64 {
        let kept = previous.and_then(|p| {
            let ino = *p.by_path.get(path)?;
            p.nodes.get(&ino).filter(|old| old.same(node)).map(|_| ino)
        });
        let ino = kept.unwrap_or_else(|| {
            let ino = self.next;
            self.next += 1;
            ino
        });
        self.by_path.insert(path.to_string(), ino);
        ino
    }

    /// The node of `ino`, if it is in this snapshot.
    pub(crate) fn get(&self, ino: u64) -> Option<&Node> {
        self.nodes.get(&ino)
    }

    /// The inode of `name` in the directory `parent`.
    pub(crate) fn child(&self, parent: u64, name: &str) -> Option<u64> {
        match self.nodes.get(&parent)? {
            Node::Dir { children, .. } => children.get(name).copied(),
            _ => None,
        }
    }

    /// How many inodes there are.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The `(parent, name)` of every entry of `self` that `newer` no longer
    /// has under the same inode: what the kernel must forget after a rescan.
    pub(crate) fn changed_in(&self, newer: &Inodes) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for (&dir, node) in &self.nodes {
            let Node::Dir { children, .. } = node else {
                continue;
            };
            for (name, &ino) in children {
                if newer.child(dir, name) != Some(ino) {
                    out.push((dir, name.clone()));
                }
            }
        }
        out.sort();
        out
    }
}

fn disk(owner: &Arc<Published>, path: PathBuf) -> Node {
    let meta = std::fs::metadata(&path).ok();
    Node::Disk {
        len: meta.as_ref().map_or(0, std::fs::Metadata::len),
        modified: meta
            .and_then(|m| m.modified().ok())
            .unwrap_or(owner.modified),
        path,
        owner: Arc::clone(owner),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{hello_tree, scan};

    #[test]
    fn every_catalog_name_has_an_inode_under_its_directory() {
        let root = hello_tree(&["", "release/12"]);
        let (_, catalog) = scan(root.path());
        let t = Inodes::build(&catalog, None, SystemTime::now());
        assert!(matches!(t.get(ROOT), Some(Node::Dir { parent: ROOT, .. })));
        let iso = t.child(ROOT, "hello.iso").unwrap();
        assert!(matches!(t.get(iso), Some(Node::Image(p)) if p.name == "hello.iso"));
        let release = t.child(ROOT, "release").unwrap();
        let twelve = t.child(release, "12").unwrap();
        match t.get(twelve) {
            Some(Node::Dir { parent, .. }) => assert_eq!(*parent, release),
            _ => panic!("release/12 is not a directory"),
        }
        let deep = t.child(twelve, "hello.iso").unwrap();
        assert_ne!(deep, iso);
        for name in ["hello.jigdo", "hello.template", "MD5SUMS"] {
            assert!(t.child(twelve, name).is_some(), "{name}");
        }
        let jigdo = t.get(t.child(ROOT, "hello.jigdo").unwrap()).unwrap();
        let on_disk = std::fs::metadata(root.path().join("hello.jigdo")).unwrap();
        assert_eq!(jigdo.len(), on_disk.len());
        let sums = t.get(t.child(ROOT, "MD5SUMS").unwrap()).unwrap();
        match sums {
            Node::Text { bytes, .. } => assert_eq!(
                std::str::from_utf8(bytes).unwrap(),
                "b0b5d84a18314aff787b92cab46df168  hello.iso\n"
            ),
            _ => panic!("MD5SUMS is not text"),
        }
        assert!(t.child(iso, "x").is_none(), "a file has no children");
        // 2 dirs besides the root, 2 x (image, jigdo, template, 3 sums)
        assert_eq!(t.len(), 3 + 2 * 6);
    }

    #[test]
    fn rescan_keeps_unchanged_numbers_and_never_reuses_one() {
        let root = hello_tree(&["", "release/12"]);
        let (shared, first) = scan(root.path());
        let a = Inodes::build(&first, None, SystemTime::now());
        let second = Catalog::scan(&shared, Some(&first));
        let b = Inodes::build(&second, Some(&a), SystemTime::now());
        for name in ["hello.iso", "hello.jigdo", "release", "MD5SUMS"] {
            assert_eq!(a.child(ROOT, name), b.child(ROOT, name), "{name}");
        }
        assert!(a.changed_in(&b).is_empty());

        // a changed template makes a new image: new numbers for it and its files
        let template = root.path().join("release/12/hello.template");
        let bytes = std::fs::read(&template).unwrap();
        std::fs::write(&template, &bytes).unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&template)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let third = Catalog::scan(&shared, Some(&second));
        let c = Inodes::build(&third, Some(&b), SystemTime::now());
        let dir = |t: &Inodes| t.child(t.child(ROOT, "release").unwrap(), "12").unwrap();
        assert_eq!(dir(&b), dir(&c));
        let old_iso = b.child(dir(&b), "hello.iso").unwrap();
        let new_iso = c.child(dir(&c), "hello.iso").unwrap();
        assert!(new_iso > old_iso, "fresh number, never a reused one");
        assert_eq!(b.child(ROOT, "hello.iso"), c.child(ROOT, "hello.iso"));
        let changed = b.changed_in(&c);
        assert!(changed.contains(&(dir(&b), "hello.iso".to_string())));
        assert!(changed.contains(&(dir(&b), "hello.template".to_string())));
        assert!(!changed.iter().any(|(d, _)| *d == ROOT));

        // a removed image disappears from its directory
        std::fs::remove_file(root.path().join("release/12/hello.jigdo")).unwrap();
        let fourth = Catalog::scan(&shared, Some(&third));
        let d = Inodes::build(&fourth, Some(&c), SystemTime::now());
        assert!(d.child(ROOT, "release").is_none());
        assert!(d.get(new_iso).is_none());
        assert!(c.changed_in(&d).contains(&(ROOT, "release".to_string())));
    }

    #[test]
    fn an_empty_catalog_still_has_a_root() {
        let root = tempfile::tempdir().unwrap();
        let (_, catalog) = scan(root.path());
        let t = Inodes::build(&catalog, None, UNIX_EPOCH);
        assert!(t.get(ROOT).is_some_and(Node::is_dir));
        assert_eq!(t.len(), 1);
    }
}
