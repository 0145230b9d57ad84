//! The FUSE operations: a read-only view of the current catalog snapshot.
//!
//! Requests are answered by several session threads (fuser's multi-threaded
//! loop, each thread reading its own clone of the /dev/fuse descriptor), so
//! many readers, and the kernel's concurrent readahead requests, proceed at
//! once while a slow one (a source file being hashed) waits alone. A read is
//! answered on the thread that received it: handing it to a separate pool
//! cost a thread switch per request, and random 64 KiB reads from 4 threads
//! ran 20-40% slower that way (bench/mount.sh, A/B on this machine).
//! Metadata requests are answered from the inode table.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, LockOwner, Notifier, OpenAccMode, OpenFlags, ReplyAttr, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};
use jigsmith_catalog::{error_chain, Catalog, Published, Shared};

use crate::attr::{self, Owner};
use crate::inodes::{Inodes, Node};
use crate::readahead::Readahead;
use crate::Error;

/// The largest read answered at once; the kernel asks for at most 1 MiB
/// (its `max_pages`), this only bounds a misbehaving request.
const MAX_READ: usize = 4 << 20;
/// Concurrent background requests (readahead) the kernel may have in
/// flight: enough to keep the session threads busy.
const MAX_BACKGROUND: u16 = 64;

/// What the filesystem serves, shared by the session threads, the helpers
/// and the thread that rescans.
pub(crate) struct State {
    shared: Shared,
    snapshot: RwLock<Snapshot>,
    handles: Mutex<HashMap<u64, Arc<Handle>>>,
    next_fh: AtomicU64,
    rescanning: Mutex<()>,
    ahead: rayon::ThreadPool,
    owner: Owner,
}

/// One catalog snapshot and its inodes.
struct Snapshot {
    catalog: Catalog,
    inodes: Arc<Inodes>,
}

/// An open file.
enum Handle {
    Image {
        published: Arc<Published>,
        /// The image's path in the mount, for log lines.
        label: String,
        ahead: Readahead,
        attr: FileAttr,
    },
    Disk {
        file: File,
        path: PathBuf,
        attr: FileAttr,
    },
    Text {
        bytes: Arc<[u8]>,
        attr: FileAttr,
    },
}

impl Handle {
    fn attr(&self) -> &FileAttr {
        match self {
            Handle::Image { attr, .. } | Handle::Disk { attr, .. } | Handle::Text { attr, .. } => {
                attr
            }
        }
    }
}

impl State {
    /// The state for a first catalog snapshot.
    pub(crate) fn new(shared: Shared, catalog: Catalog) -> Result<State, Error> {
        let inodes = Arc::new(Inodes::build(&catalog, None, SystemTime::now()));
        // checks ahead of sequential readers: hashing, one file after another
        let ahead = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|i| format!("fuse-ahead-{i}"))
            .build()
            .map_err(Error::ThreadPool)?;
        Ok(State {
            shared,
            snapshot: RwLock::new(Snapshot { catalog, inodes }),
            handles: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            rescanning: Mutex::new(()),
            ahead,
            owner: Owner::of_process(),
        })
    }

    /// How many images are published now.
    pub(crate) fn images(&self) -> usize {
        self.inodes_and_catalog(|c, _| c.len())
    }

    /// Scans the root again: new `.jigdo` files appear, removed ones go,
    /// unchanged images keep their inodes, checked files and cached data.
    /// `notifier` tells the kernel to forget the names that changed.
    pub(crate) fn rescan(&self, notifier: Option<&Notifier>) {
        // one at a time: each new table continues the previous one's numbers
        let _one = lock(&self.rescanning);
        let (old_catalog, old_inodes) = self.inodes_and_catalog(|c, i| (c.clone(), Arc::clone(i)));
        let catalog = Catalog::scan(&self.shared, Some(&old_catalog));
        let inodes = Arc::new(Inodes::build(
            &catalog,
            Some(&old_inodes),
            SystemTime::now(),
        ));
        let changed = old_inodes.changed_in(&inodes);
        let images = catalog.len();
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Snapshot { catalog, inodes };
        tracing::info!(images, changed = changed.len(), "catalog rescanned");
        if let Some(notifier) = notifier {
            for (parent, name) in changed {
                // the kernel may not know the name at all; that is fine
                let _ = notifier.inval_entry(INodeNo(parent), OsStr::new(&name));
            }
        }
    }

    fn inodes_and_catalog<T>(&self, f: impl FnOnce(&Catalog, &Arc<Inodes>) -> T) -> T {
        let s = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
        f(&s.catalog, &s.inodes)
    }

    fn inodes(&self) -> Arc<Inodes> {
        self.inodes_and_catalog(|_, i| Arc::clone(i))
    }

    fn handle(&self, fh: FileHandle) -> Option<Arc<Handle>> {
        lock(&self.handles).get(&fh.0).cloned()
    }
}

/// The filesystem the session runs.
pub(crate) struct JigdoFs {
    state: Arc<State>,
}

impl JigdoFs {
    pub(crate) fn new(state: Arc<State>) -> JigdoFs {
        JigdoFs { state }
    }
}

impl Filesystem for JigdoFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // as much kernel readahead as the kernel allows (each request is
        // still at most its max_pages, 1 MiB by default)
        if let Err(most) = config.set_max_readahead(u32::MAX) {
            let _ = config.set_max_readahead(most);
        }
        let _ = config.set_max_background(MAX_BACKGROUND);
        let _ = config.set_congestion_threshold(MAX_BACKGROUND * 3 / 4);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let inodes = self.state.inodes();
        let found = name
            .to_str()
            .and_then(|name| inodes.child(parent.0, name))
            .and_then(|ino| Some((ino, inodes.get(ino)?)));
        match found {
            Some((ino, node)) => {
                let ttl = attr::ttl(node);
                reply.entry(
                    &ttl,
                    &attr::attr(ino, node, self.state.owner),
                    Generation(0),
                );
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let inodes = self.state.inodes();
        if let Some(node) = inodes.get(ino.0) {
            return reply.attr(&attr::ttl(node), &attr::attr(ino.0, node, self.state.owner));
        }
        // gone from the catalog, but still open: it keeps what it had
        match fh.and_then(|fh| self.state.handle(fh)) {
            Some(h) => reply.attr(&attr::FILE_TTL, h.attr()),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if !matches!(flags.acc_mode(), OpenAccMode::O_RDONLY) {
            return reply.error(Errno::EROFS);
        }
        let inodes = self.state.inodes();
        let Some(node) = inodes.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let attr = attr::attr(ino.0, node, self.state.owner);
        let handle = match node {
            Node::Dir { .. } => return reply.error(Errno::EISDIR),
            Node::Image(p) => Handle::Image {
                label: label(p),
                published: Arc::clone(p),
                ahead: Readahead::default(),
                attr,
            },
            Node::Disk { path, .. } => match File::open(path) {
                Ok(file) => Handle::Disk {
                    file,
                    path: path.clone(),
                    attr,
                },
                Err(e) => {
                    tracing::warn!(file = %path.display(), "cannot open: {e}");
                    return reply.error(Errno::EIO);
                }
            },
            Node::Text { bytes, .. } => Handle::Text {
                bytes: Arc::clone(bytes),
                attr,
            },
        };
        let fh = self.state.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&self.state.handles).insert(fh, Arc::new(handle));
        // an inode's bytes never change (a changed image gets a new inode),
        // so the kernel may keep its cached pages from one open to the next
        reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE);
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(handle) = self.state.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        let len = usize::try_from(size).unwrap_or(MAX_READ).min(MAX_READ);
        match &*handle {
            Handle::Text { bytes, .. } => reply.data(slice(bytes, offset, len)),
            Handle::Image {
                published, ahead, ..
            } => {
                if let Some((start, end)) = ahead.on_read(offset, len as u64, published.len()) {
                    let handle = Arc::clone(&handle);
                    self.state
                        .ahead
                        .spawn(move || check_ahead(&handle, start, end));
                }
                serve(&handle, offset, len, reply);
            }
            Handle::Disk { .. } => serve(&handle, offset, len, reply),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // nothing is ever written
        reply.ok();
    }

    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        // no extended attributes; ENOSYS makes the kernel stop asking
        reply.error(Errno::ENOSYS);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, _size: u32, reply: ReplyXattr) {
        reply.error(Errno::ENOSYS);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        lock(&self.state.handles).remove(&fh.0);
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let inodes = self.state.inodes();
        let Some(Node::Dir {
            parent, children, ..
        }) = inodes.get(ino.0)
        else {
            return reply.error(Errno::ENOTDIR);
        };
        let dots = [(ino.0, ".".to_string()), (*parent, "..".to_string())];
        let entries = dots
            .into_iter()
            .chain(children.iter().map(|(name, &child)| (child, name.clone())));
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (index, (child, name)) in entries.enumerate().skip(skip) {
            let kind = inodes.get(child).map_or(FileType::Directory, attr::kind);
            // the offset of an entry is where the next listing resumes
            if reply.add(INodeNo(child), index as u64 + 1, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let (bytes, files) = self
            .state
            .inodes_and_catalog(|c, i| (c.images().map(|p| p.len()).sum::<u64>(), i.len() as u64));
        const BLOCK: u32 = 4096;
        reply.statfs(
            bytes.div_ceil(u64::from(BLOCK)),
            0,
            0,
            files,
            0,
            BLOCK,
            255,
            BLOCK,
        );
    }
}

/// The image's path in the mount, for log lines.
fn label(p: &Published) -> String {
    if p.dir.is_empty() {
        p.name.clone()
    } else {
        format!("{}/{}", p.dir, p.name)
    }
}

thread_local! {
    /// Each session thread's read buffer, reused: a fresh 1 MiB allocation per read
    /// would be a fresh mapping to fault in each time.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads `len` bytes at `offset` of an open file and answers the kernel.
/// A source that is missing or wrong fails this read only (EIO), with one
/// log line naming the image and the file.
fn serve(handle: &Handle, offset: u64, len: usize, reply: ReplyData) {
    BUFFER.with_borrow_mut(|buf| {
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let Some(buf) = buf.get_mut(..len) else {
            return reply.error(Errno::EIO);
        };
        match handle {
            Handle::Image {
                published, label, ..
            } => match published.image.read_at(offset, buf) {
                Ok(n) => reply.data(buf.get(..n).unwrap_or_default()),
                Err(e) => {
                    tracing::warn!(
                        image = %label,
                        offset,
                        len,
                        "read failed (EIO): {}",
                        error_chain(&e)
                    );
                    reply.error(Errno::EIO);
                }
            },
            Handle::Disk { file, path, .. } => match read_full_at(file, buf, offset) {
                Ok(n) => reply.data(buf.get(..n).unwrap_or_default()),
                Err(e) => {
                    tracing::warn!(file = %path.display(), offset, len, "read failed (EIO): {e}");
                    reply.error(Errno::EIO);
                }
            },
            Handle::Text { bytes, .. } => reply.data(slice(bytes, offset, len)),
        }
    });
}

/// At most `len` bytes of `bytes` from `offset` (none past the end).
fn slice(bytes: &[u8], offset: u64, len: usize) -> &[u8] {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let end = start.saturating_add(len).min(bytes.len());
    bytes.get(start..end).unwrap_or_default()
}

/// Checks the files of `start..end` of an open image ahead of its reader.
fn check_ahead(handle: &Handle, start: u64, end: u64) {
    if let Handle::Image {
        published, ahead, ..
    } = handle
    {
        if let Err(e) = published.image.check_range(start, end - start) {
            // the read that needs the file reports it
            tracing::debug!(image = %label(published), "check ahead stopped: {}", error_chain(&e));
        }
        ahead.done(end);
    }
}

/// `pread` until `buf` is full or the file ends; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // the map is changed by single inserts and removes: never left half-made
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
