//! What `stat` shows for a node, and how long the kernel may believe it.

use std::time::Duration;

use fuser::{FileAttr, FileType, INodeNo};

use crate::inodes::Node;

/// How long the kernel may cache a file's attributes. An inode's bytes never
/// change (a changed image gets a new inode), so this can be long.
pub(crate) const FILE_TTL: Duration = Duration::from_secs(60);
/// How long the kernel may cache a directory's attributes and the
/// name → inode entries in it; a rescan also invalidates what changed.
pub(crate) const DIR_TTL: Duration = Duration::from_secs(1);
/// `st_blksize`: the preferred read size (`cp` and `dd`-like tools use it),
/// the largest read the kernel sends at once.
pub(crate) const BLOCK_SIZE: u32 = 1 << 20;

/// Who owns every file of the mount: the user who mounted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl Owner {
    /// The process's own user and group (read from `/proc/self`, which
    /// belongs to them), or root where that cannot be read.
    pub(crate) fn of_process() -> Owner {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").map_or(Owner { uid: 0, gid: 0 }, |m| Owner {
            uid: m.uid(),
            gid: m.gid(),
        })
    }
}

/// The attributes of inode `ino`: read-only files (0444) and directories
/// (0555), an image's size and the template's date.
pub(crate) fn attr(ino: u64, node: &Node, owner: Owner) -> FileAttr {
    let modified = node.modified();
    let (kind, perm, nlink) = match node {
        Node::Dir { subdirs, .. } => (FileType::Directory, 0o555, 2 + subdirs),
        _ => (FileType::RegularFile, 0o444, 1),
    };
    let size = node.len();
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: modified,
        mtime: modified,
        ctime: modified,
        crtime: modified,
        kind,
        perm,
        nlink,
        uid: owner.uid,
        gid: owner.gid,
        rdev: 0,
        blksize: BLOCK_SIZE,
        flags: 0,
    }
}

/// How long the kernel may cache `node`'s attributes and entry.
pub(crate) fn ttl(node: &Node) -> Duration {
    if node.is_dir() {
        DIR_TTL
    } else {
        FILE_TTL
    }
}

/// A directory's entry type for `readdir`.
pub(crate) fn kind(node: &Node) -> FileType {
    if node.is_dir() {
        FileType::Directory
    } else {
        FileType::RegularFile
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::inodes::{Inodes, ROOT};
    use crate::testdata::{hello_tree, scan};

    #[test]
    fn images_are_read_only_files_of_the_image_size_dated_by_the_template() {
        let root = hello_tree(&[""]);
        let (_, catalog) = scan(root.path());
        let t = Inodes::build(&catalog, None, SystemTime::now());
        let owner = Owner {
            uid: 1000,
            gid: 100,
        };
        let ino = t.child(ROOT, "hello.iso").unwrap();
        let a = attr(ino, t.get(ino).unwrap(), owner);
        let template = std::fs::metadata(root.path().join("hello.template")).unwrap();
        assert_eq!(a.ino, INodeNo(ino));
        assert_eq!(a.size, 401_408);
        assert_eq!(a.blocks, 401_408 / 512);
        assert_eq!((a.kind, a.perm, a.nlink), (FileType::RegularFile, 0o444, 1));
        assert_eq!(a.mtime, template.modified().unwrap());
        assert_eq!((a.uid, a.gid), (1000, 100));
        assert_eq!(ttl(t.get(ino).unwrap()), FILE_TTL);

        let d = attr(ROOT, t.get(ROOT).unwrap(), owner);
        assert_eq!((d.kind, d.perm, d.size), (FileType::Directory, 0o555, 0));
        assert_eq!(d.nlink, 2, "no subdirectories");
        assert_eq!(
            d.mtime, a.mtime,
            "a directory is as new as its newest image"
        );
        assert_eq!(ttl(t.get(ROOT).unwrap()), DIR_TTL);
        assert_eq!(kind(t.get(ROOT).unwrap()), FileType::Directory);
    }

    #[test]
    fn the_process_owner_is_known() {
        let me = Owner::of_process();
        use std::os::unix::fs::MetadataExt;
        let proc_self = std::fs::metadata("/proc/self").unwrap();
        assert_eq!(me.uid, proc_self.uid());
    }
}
