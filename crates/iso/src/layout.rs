//! Assigning blocks: volume descriptors, path tables, directories, Continuation Areas, boot catalog
//! and file data, in that order, and serialising the directory structures once every address is
//! known.
//!
//! With `-partition_offset N` the image carries a second copy of the directory structures for the
//! partition that starts at block N (libisofs' layout): after the first volume descriptor set come
//! zeros up to block N+16, a second descriptor set there (primary, Joliet, terminator; no El Torito
//! record, as xorriso), the first path tables and directories, then the second ones, then the
//! catalog and the file data both trees share. Every address in the second copy counts from block
//! N ([`View::bias`]), so the partition is an ISO 9660 filesystem of its own.

use std::collections::HashMap;

use crate::dirrec::{self, DirRecord, FLAG_DIR, FLAG_MULTI_EXTENT, PARENT_ID, SELF_ID};
use crate::error::{Error, Result};
use crate::names;
use crate::options::{IsoOptions, Joliet, RockRidge};
use crate::rockridge::{self, CeAllocator, SuspLayout};
use crate::time::dir_date;
use crate::tree::{Kind, Node, NodeId, Tree, ROOT};

/// Logical block size.
pub(crate) const BLOCK: u64 = 2048;
/// Largest section of a multi-extent file: block aligned, below 4 GiB.
pub(crate) const MAX_SECTION: u64 = 0xFFFF_F800;
/// The system area before the first volume descriptor.
pub(crate) const SYSTEM_AREA_BLOCKS: u32 = 16;

/// What a record's extent and size come from, resolved once addresses are known.
#[derive(Debug, Clone, Copy)]
enum Target {
    Dir(usize),
    File { node: NodeId, section: u64 },
    Catalog,
    Empty,
}

#[derive(Debug, Clone)]
struct RecSpec {
    target: Target,
    ident: Vec<u8>,
    flags: u8,
    date: [u8; 7],
    susp: SuspLayout,
}

/// A directory of one tree view (ISO 9660/Rock Ridge, or Joliet).
#[derive(Debug, Clone)]
pub(crate) struct ViewDir {
    pub node: NodeId,
    /// Identifier used in the path table (`[0]` for the root).
    pub ident: Vec<u8>,
    /// Index of the parent in the view's directory list.
    pub parent: usize,
    records: Vec<RecSpec>,
    /// Bytes of directory records (whole blocks).
    pub size: u64,
    /// Blocks of Continuation Areas right after the records (where libarchive expects them).
    pub ce_blocks: u64,
    pub lba: u32,
}

/// One namespace: its directories in path table order and its path tables.
#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    pub dirs: Vec<ViewDir>,
    pub path_table_size: u32,
    pub l_table_lba: u32,
    pub m_table_lba: u32,
    /// Subtracted from every address this view records: 0 for the trees read from the start of
    /// the image, the partition offset for the copies read from the partition.
    pub bias: u32,
}

impl View {
    /// An image block as this view's readers count it.
    pub(crate) fn rel(&self, lba: u32) -> u32 {
        lba.saturating_sub(self.bias)
    }
}

/// The second set of directory structures of a `-partition_offset` image.
#[derive(Debug)]
pub(crate) struct Partition {
    /// Block of its primary volume descriptor (`offset + 16`).
    pub vd_lba: u32,
    /// The ISO 9660/Rock Ridge tree, addresses relative to the partition start.
    pub iso: View,
    /// The Joliet tree, addresses relative to the partition start.
    pub joliet: Option<View>,
}

/// The data extent of a file node (shared by hard links with `cache_inodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    pub lba: u32,
    pub size: u64,
}

/// A file whose data is written, in image order.
#[derive(Debug, Clone)]
pub(crate) struct DataItem {
    pub node: NodeId,
    pub extent: Extent,
}

/// Every address of the image.
#[derive(Debug)]
pub(crate) struct Layout {
    pub iso: View,
    pub joliet: Option<View>,
    /// The partition's own trees (`-partition_offset`).
    pub partition: Option<Partition>,
    pub boot_record_lba: Option<u32>,
    pub catalog_lba: Option<u32>,
    pub data: Vec<DataItem>,
    extents: HashMap<NodeId, Extent>,
    /// Total blocks including padding.
    pub total_blocks: u32,
}

struct Ctx<'a> {
    tree: &'a Tree,
    opts: &'a IsoOptions,
    rr: bool,
    serial: &'a HashMap<NodeId, u32>,
    nlink: &'a HashMap<NodeId, u32>,
}

fn visible(n: &Node, joliet: bool) -> bool {
    if joliet {
        !n.hide_joliet && !matches!(n.kind, Kind::Symlink { .. })
    } else {
        !n.hide_iso
    }
}

/// Children of a node sorted by original name (the tree keeps insertion order across merged roots).
fn sorted_children(tree: &Tree, id: NodeId) -> Vec<NodeId> {
    let mut c: Vec<NodeId> = tree
        .nodes
        .get(id)
        .map(|n| n.children().to_vec())
        .unwrap_or_default();
    c.sort_by(|a, b| {
        let na = tree
            .nodes
            .get(*a)
            .map(|n| n.name.as_slice())
            .unwrap_or_default();
        let nb = tree
            .nodes
            .get(*b)
            .map(|n| n.name.as_slice())
            .unwrap_or_default();
        na.cmp(nb)
    });
    c
}

/// Hands out consecutive blocks.
struct Alloc {
    lba: u64,
}

impl Alloc {
    /// The next `blocks` blocks; addresses past `u32` saturate and are caught by the final size
    /// check.
    fn next(&mut self, blocks: u64) -> u32 {
        let at = self.lba;
        self.lba = self.lba.saturating_add(blocks);
        u32::try_from(at).unwrap_or(u32::MAX)
    }

    /// Leaves a gap up to block `at` (if not past it yet) and returns `at`.
    fn skip_to(&mut self, at: u64) -> u32 {
        self.lba = self.lba.max(at);
        self.next(0)
    }

    /// Path tables then directories (each followed by its Continuation Areas) of one or two
    /// namespaces, in the order the writer emits them.
    fn structures(&mut self, iso: &mut View, joliet: Option<&mut View>) {
        let pt_blocks = |v: &View| u64::from(v.path_table_size).div_ceil(BLOCK).max(1);
        iso.l_table_lba = self.next(pt_blocks(iso));
        iso.m_table_lba = self.next(pt_blocks(iso));
        let mut joliet = joliet;
        if let Some(j) = joliet.as_deref_mut() {
            j.l_table_lba = self.next(pt_blocks(j));
            j.m_table_lba = self.next(pt_blocks(j));
        }
        for d in &mut iso.dirs {
            d.lba = self.next(d.size / BLOCK + d.ce_blocks);
        }
        if let Some(j) = joliet {
            for d in &mut j.dirs {
                d.lba = self.next(d.size / BLOCK + d.ce_blocks);
            }
        }
    }
}

impl Layout {
    pub(crate) fn compute(tree: &Tree, opts: &IsoOptions, has_boot: bool) -> Result<Layout> {
        let rr = opts.rock_ridge != RockRidge::Off;
        let has_joliet = opts.joliet != Joliet::Off;

        // Which files carry data, in write order: tree order, then by descending sort weight.
        let mut files = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            let Some(n) = tree.nodes.get(id) else {
                continue;
            };
            let seen = visible(n, false) || (has_joliet && visible(n, true));
            if !seen {
                continue;
            }
            match &n.kind {
                Kind::Dir { .. } => stack.extend(sorted_children(tree, id).into_iter().rev()),
                Kind::File { .. } => files.push(id),
                _ => {}
            }
        }
        files.sort_by_key(|&id| std::cmp::Reverse(tree.nodes.get(id).map_or(0, |n| n.weight)));

        let mut owner_of_inode: HashMap<(u64, u64), NodeId> = HashMap::new();
        let mut owner: HashMap<NodeId, NodeId> = HashMap::new();
        let mut nlink: HashMap<NodeId, u32> = HashMap::new();
        for &id in &files {
            let Some(Node {
                kind: Kind::File { inode, .. },
                ..
            }) = tree.nodes.get(id)
            else {
                continue;
            };
            let o = match inode {
                Some(ino) if opts.cache_inodes => *owner_of_inode.entry(*ino).or_insert(id),
                _ => id,
            };
            owner.insert(id, o);
            *nlink.entry(o).or_insert(0) += 1;
        }
        // Serial numbers (PX) are node positions, not source inode numbers, so images are reproducible.
        let serial: HashMap<NodeId, u32> = (0..tree.nodes.len())
            .map(|id| {
                let o = owner.get(&id).copied().unwrap_or(id);
                (id, u32::try_from(o + 1).unwrap_or(u32::MAX))
            })
            .collect();
        let nlink_by_node: HashMap<NodeId, u32> = owner
            .iter()
            .map(|(id, o)| (*id, nlink.get(o).copied().unwrap_or(1)))
            .collect();

        let ctx = Ctx {
            tree,
            opts,
            rr,
            serial: &serial,
            nlink: &nlink_by_node,
        };
        let mut iso = build_view(&ctx, false)?;
        let mut joliet = if has_joliet {
            Some(build_view(&ctx, true)?)
        } else {
            None
        };

        let mut alloc = Alloc {
            lba: u64::from(SYSTEM_AREA_BLOCKS) + 1,
        };
        let boot_record_lba = has_boot.then(|| alloc.next(1));
        // Joliet SVD and terminator: their addresses follow from the write order
        let descriptors = u64::from(joliet.is_some()) + 1;
        alloc.next(descriptors);
        let mut partition = match opts.hybrid.partition_offset {
            0 => None,
            offset => {
                // The image's descriptors take blocks 16..=19 at most, below the partition's
                // at offset + 16 >= 32 (offsets of 1..=15 are refused when planning).
                let vd_lba = alloc.skip_to(u64::from(offset) + 16);
                alloc.next(1 + descriptors);
                let with_bias = |v: &View| View {
                    bias: offset,
                    ..v.clone()
                };
                Some(Partition {
                    vd_lba,
                    iso: with_bias(&iso),
                    joliet: joliet.as_ref().map(with_bias),
                })
            }
        };
        alloc.structures(&mut iso, joliet.as_mut());
        if let Some(p) = partition.as_mut() {
            alloc.structures(&mut p.iso, p.joliet.as_mut());
        }
        let mut next = |blocks: u64| alloc.next(blocks);
        let catalog_lba = has_boot.then(|| next(1));
        let mut extents = HashMap::new();
        let mut data = Vec::new();
        for &id in &files {
            let Some(Node {
                kind: Kind::File { size, .. },
                ..
            }) = tree.nodes.get(id)
            else {
                continue;
            };
            let o = owner.get(&id).copied().unwrap_or(id);
            if let Some(e) = extents.get(&o).copied() {
                extents.insert(id, e);
                continue;
            }
            let extent = if *size == 0 {
                // Empty files have no data, but JTE still lists them (libjte
                // with -jigdo-min-file-size 0): keep their place in file order.
                data.push(DataItem {
                    node: id,
                    extent: Extent {
                        lba: next(0),
                        size: 0,
                    },
                });
                Extent { lba: 0, size: 0 }
            } else {
                let e = Extent {
                    lba: next(size.div_ceil(BLOCK)),
                    size: *size,
                };
                data.push(DataItem {
                    node: id,
                    extent: e,
                });
                e
            };
            extents.insert(id, extent);
        }
        let data_end = alloc.lba;
        let total = data_end + u64::from(opts.pad_blocks);
        if total > u64::from(u32::MAX) {
            return Err(Error::ImageTooLarge { blocks: total });
        }
        Ok(Layout {
            iso,
            joliet,
            partition,
            boot_record_lba,
            catalog_lba,
            data,
            extents,
            total_blocks: u32::try_from(total).unwrap_or(u32::MAX),
        })
    }

    /// Grows the image to `total` blocks (hybrid tail and cylinder padding after the `-pad`
    /// blocks); never shrinks it.
    pub(crate) fn set_total_blocks(&mut self, total: u64) -> Result<()> {
        let total = total.max(u64::from(self.total_blocks));
        self.total_blocks =
            u32::try_from(total).map_err(|_| Error::ImageTooLarge { blocks: total })?;
        Ok(())
    }

    /// Makes room for `blocks` blocks right before the files' data, for a partition xorriso
    /// writes between the directory tree and the files (`-prep-boot-part`, `-efi-boot-part`):
    /// every file moves up. Returns the first of the new blocks; `no_files_start` is used when
    /// there are no files.
    pub(crate) fn insert_before_data(&mut self, no_files_start: u32, blocks: u32) -> Result<u32> {
        let start = self.data.first().map_or(no_files_start, |d| d.extent.lba);
        let total = u64::from(self.total_blocks) + u64::from(blocks);
        self.total_blocks =
            u32::try_from(total).map_err(|_| Error::ImageTooLarge { blocks: total })?;
        for d in &mut self.data {
            d.extent.lba += blocks;
        }
        for e in self.extents.values_mut().filter(|e| e.size > 0) {
            e.lba += blocks;
        }
        Ok(start)
    }

    /// Moves the data of `node` in front of every other file's data, followed by `spare` empty
    /// blocks (`-efi-boot-part --efi-boot-image`: xorriso makes the El Torito EFI image a
    /// partition placed where prepended partitions go). Files before it move up by its size and
    /// the spare blocks, files after it by the spare blocks. Returns its new extent, or `None`
    /// for a file without data.
    pub(crate) fn move_to_front(&mut self, node: NodeId, spare: u32) -> Result<Option<Extent>> {
        let Some(old) = self.extent(node).filter(|e| e.size > 0) else {
            return Ok(None);
        };
        let blocks = u32::try_from(old.size.div_ceil(BLOCK))
            .map_err(|_| Error::ImageTooLarge { blocks: old.size })?;
        let start = self
            .data
            .iter()
            .map(|d| d.extent.lba)
            .min()
            .unwrap_or(old.lba)
            .min(old.lba);
        let total = u64::from(self.total_blocks) + u64::from(spare);
        self.total_blocks =
            u32::try_from(total).map_err(|_| Error::ImageTooLarge { blocks: total })?;
        let shift = |lba: u32| match lba.cmp(&old.lba) {
            std::cmp::Ordering::Equal => start,
            std::cmp::Ordering::Less => lba + blocks + spare,
            std::cmp::Ordering::Greater => lba + spare,
        };
        for d in &mut self.data {
            // an empty file's place marker at the image's old block came before it
            let before = d.extent.size == 0 && d.extent.lba == old.lba;
            d.extent.lba = if d.node == node {
                start
            } else if before {
                d.extent.lba + blocks + spare
            } else {
                shift(d.extent.lba)
            };
        }
        for e in self.extents.values_mut().filter(|e| e.size > 0) {
            e.lba = shift(e.lba);
        }
        self.data.sort_by_key(|d| d.extent.lba);
        Ok(self.extent(node))
    }

    /// The data extent of a file node.
    pub(crate) fn extent(&self, node: NodeId) -> Option<Extent> {
        self.extents.get(&node).copied()
    }

    fn resolve(&self, view: &View, t: Target) -> (u32, u32) {
        match t {
            Target::Dir(i) => view.dirs.get(i).map_or((0, 0), |d| {
                (view.rel(d.lba), u32::try_from(d.size).unwrap_or(0))
            }),
            Target::File { node, section } => match self.extent(node) {
                Some(e) if e.size > 0 => {
                    let start = section * MAX_SECTION;
                    let len = (e.size - start.min(e.size)).min(MAX_SECTION);
                    let lba = u64::from(e.lba) + start / BLOCK;
                    (
                        view.rel(u32::try_from(lba).unwrap_or(u32::MAX)),
                        u32::try_from(len).unwrap_or(u32::MAX),
                    )
                }
                // empty files have no extent: 0 in both trees
                _ => (0, 0),
            },
            Target::Catalog => (view.rel(self.catalog_lba.unwrap_or(0)), BLOCK as u32),
            Target::Empty => (0, 0),
        }
    }

    /// The root directory record for a volume descriptor (34 bytes).
    pub(crate) fn root_record(&self, view: &View) -> Vec<u8> {
        let mut out = Vec::with_capacity(34);
        if let Some(root) = view.dirs.first() {
            let date = root.records.first().map_or([0; 7], |r| r.date);
            DirRecord {
                extent: view.rel(root.lba),
                size: u32::try_from(root.size).unwrap_or(0),
                date,
                flags: FLAG_DIR,
                ident: SELF_ID,
                system_use: &[],
            }
            .encode(&mut out);
        }
        out
    }

    /// The serialised extent of one directory followed by its Continuation Areas.
    pub(crate) fn directory_bytes(&self, view: &View, dir: &ViewDir) -> Vec<u8> {
        let ce_lba =
            view.rel(u32::try_from(u64::from(dir.lba) + dir.size / BLOCK).unwrap_or(u32::MAX));
        let mut out = Vec::with_capacity(usize::try_from(dir.size).unwrap_or(0));
        for r in &dir.records {
            let su = r.susp.field(ce_lba);
            let len = dirrec::record_len(r.ident.len(), su.len());
            let room = BLOCK as usize - out.len() % BLOCK as usize;
            if len > room {
                out.resize(out.len() + room, 0);
            }
            let (extent, size) = self.resolve(view, r.target);
            DirRecord {
                extent,
                size,
                date: r.date,
                flags: r.flags,
                ident: &r.ident,
                system_use: &su,
            }
            .encode(&mut out);
        }
        let dir_len = usize::try_from(dir.size).unwrap_or(0);
        out.resize(
            dir_len + usize::try_from(dir.ce_blocks * BLOCK).unwrap_or(0),
            0,
        );
        for r in &dir.records {
            for (off, bytes) in r.susp.resolved_chunks(ce_lba) {
                let off = dir_len.saturating_add(usize::try_from(off).unwrap_or(usize::MAX));
                if let Some(dst) = out.get_mut(off..off.saturating_add(bytes.len())) {
                    dst.copy_from_slice(&bytes);
                }
            }
        }
        out
    }

    /// A path table of `view`, little-endian (type L) or big-endian (type M), padded to blocks.
    pub(crate) fn path_table(&self, view: &View, big_endian: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(view.path_table_size as usize);
        for d in &view.dirs {
            out.push(u8::try_from(d.ident.len()).unwrap_or(0));
            out.push(0);
            let parent = u16::try_from(d.parent + 1).unwrap_or(u16::MAX);
            let lba = view.rel(d.lba);
            if big_endian {
                out.extend_from_slice(&lba.to_be_bytes());
                out.extend_from_slice(&parent.to_be_bytes());
            } else {
                out.extend_from_slice(&lba.to_le_bytes());
                out.extend_from_slice(&parent.to_le_bytes());
            }
            out.extend_from_slice(&d.ident);
            if d.ident.len() % 2 == 1 {
                out.push(0);
            }
        }
        let blocks = u64::from(view.path_table_size).div_ceil(BLOCK).max(1);
        out.resize(usize::try_from(blocks * BLOCK).unwrap_or(0), 0);
        out
    }
}

/// The directories of one view in path table order (breadth first, children in identifier order).
fn build_view(ctx: &Ctx<'_>, joliet: bool) -> Result<View> {
    let tree = ctx.tree;
    let mut dirs: Vec<ViewDir> = vec![ViewDir {
        node: ROOT,
        ident: vec![0],
        parent: 0,
        records: Vec::new(),
        size: 0,
        ce_blocks: 0,
        lba: 0,
    }];
    let mut i = 0;
    while i < dirs.len() {
        let (node, parent) = match dirs.get(i) {
            Some(d) => (d.node, d.parent),
            None => break,
        };
        let children: Vec<NodeId> = sorted_children(tree, node)
            .into_iter()
            .filter(|&c| tree.nodes.get(c).is_some_and(|n| visible(n, joliet)))
            .collect();
        let entries: Vec<(&[u8], bool)> = children
            .iter()
            .filter_map(|&c| tree.nodes.get(c).map(|n| (n.name.as_slice(), n.is_dir())))
            .collect();
        let idents = if joliet {
            let max = if ctx.opts.joliet == Joliet::Long {
                103
            } else {
                64
            };
            names::joliet_names(&entries, max, ctx.opts.omit_version_numbers)
        } else {
            names::iso_names(&entries, ctx.opts.iso_level, ctx.opts.omit_version_numbers)
        };
        let mut named: Vec<(NodeId, Vec<u8>)> = children.into_iter().zip(idents).collect();
        let unit = if joliet { 2 } else { 1 };
        named.sort_by(|a, b| names::identifier_cmp(&a.1, &b.1, unit));

        let mut ce = CeAllocator::default();
        let mut records = Vec::with_capacity(named.len() + 2);
        records.push(dot_record(
            ctx,
            &mut ce,
            node,
            Target::Dir(i),
            SELF_ID,
            node == ROOT,
            joliet,
        ));
        let parent_node = dirs.get(parent).map_or(ROOT, |d| d.node);
        records.push(dot_record(
            ctx,
            &mut ce,
            parent_node,
            Target::Dir(parent),
            PARENT_ID,
            false,
            joliet,
        ));
        for (child, ident) in named {
            let Some(n) = tree.nodes.get(child) else {
                continue;
            };
            match &n.kind {
                Kind::Dir { .. } => {
                    let idx = dirs.len();
                    dirs.push(ViewDir {
                        node: child,
                        ident: ident.clone(),
                        parent: i,
                        records: Vec::new(),
                        size: 0,
                        ce_blocks: 0,
                        lba: 0,
                    });
                    records.push(child_record(
                        ctx,
                        &mut ce,
                        child,
                        Target::Dir(idx),
                        ident,
                        FLAG_DIR,
                        joliet,
                    ));
                }
                Kind::File { size, source, .. } => {
                    let sections = if *size > u64::from(u32::MAX) {
                        if ctx.opts.iso_level < 3 {
                            return Err(Error::FileTooLarge {
                                path: source.clone(),
                                size: *size,
                            });
                        }
                        size.div_ceil(MAX_SECTION)
                    } else {
                        1
                    };
                    for section in 0..sections {
                        let flags = if section + 1 < sections {
                            FLAG_MULTI_EXTENT
                        } else {
                            0
                        };
                        records.push(child_record(
                            ctx,
                            &mut ce,
                            child,
                            Target::File {
                                node: child,
                                section,
                            },
                            ident.clone(),
                            flags,
                            joliet,
                        ));
                    }
                }
                Kind::Symlink { .. } => records.push(child_record(
                    ctx,
                    &mut ce,
                    child,
                    Target::Empty,
                    ident,
                    0,
                    joliet,
                )),
                Kind::BootCatalog => records.push(child_record(
                    ctx,
                    &mut ce,
                    child,
                    Target::Catalog,
                    ident,
                    0,
                    joliet,
                )),
            }
        }
        let mut size = 0usize;
        for r in &records {
            let len = dirrec::record_len(r.ident.len(), r.susp.inline_len());
            if len > BLOCK as usize - size % BLOCK as usize {
                size += BLOCK as usize - size % BLOCK as usize;
            }
            size += len;
        }
        if let Some(d) = dirs.get_mut(i) {
            d.records = records;
            d.size = (size as u64).div_ceil(BLOCK) * BLOCK;
            d.ce_blocks = ce.blocks();
        }
        i += 1;
    }
    let path_table_size: usize = dirs
        .iter()
        .map(|d| 8 + d.ident.len() + d.ident.len() % 2)
        .sum();
    Ok(View {
        dirs,
        path_table_size: u32::try_from(path_table_size).unwrap_or(u32::MAX),
        l_table_lba: 0,
        m_table_lba: 0,
        bias: 0,
    })
}

fn subdir_count(ctx: &Ctx<'_>, node: NodeId, joliet: bool) -> u32 {
    let n = ctx
        .tree
        .nodes
        .get(node)
        .map(|n| {
            n.children()
                .iter()
                .filter(|&&c| {
                    ctx.tree
                        .nodes
                        .get(c)
                        .is_some_and(|c| c.is_dir() && visible(c, joliet))
                })
                .count()
        })
        .unwrap_or(0);
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn rr_entries(ctx: &Ctx<'_>, node: NodeId, name: bool) -> Vec<Vec<u8>> {
    let Some(n) = ctx.tree.nodes.get(node) else {
        return Vec::new();
    };
    let nlink = match n.kind {
        Kind::Dir { .. } => 2 + subdir_count(ctx, node, false),
        _ => ctx.nlink.get(&node).copied().unwrap_or(1),
    };
    let serial = ctx.serial.get(&node).copied().unwrap_or(0);
    let mut flags = rockridge::RR_PX | rockridge::RR_TF;
    let mut tail = Vec::new();
    if name {
        flags |= rockridge::RR_NM;
        tail.extend(rockridge::nm(&n.name));
    }
    if let Kind::Symlink { target } = &n.kind {
        flags |= rockridge::RR_SL;
        tail.extend(rockridge::sl(target));
    }
    let mut e = vec![
        rockridge::rr(flags),
        rockridge::px(&n.meta, nlink, serial),
        rockridge::tf(&n.meta),
    ];
    e.extend(tail);
    e
}

fn dot_record(
    ctx: &Ctx<'_>,
    ce: &mut CeAllocator,
    node: NodeId,
    target: Target,
    ident: &[u8],
    root_self: bool,
    joliet: bool,
) -> RecSpec {
    // the root's "." record also carries SP first and ER last
    let rr = || {
        let mut entries = Vec::new();
        if root_self {
            entries.push(rockridge::sp());
        }
        entries.extend(rr_entries(ctx, node, false));
        if root_self {
            entries.push(rockridge::er());
        }
        entries
    };
    record(ctx, ce, node, target, ident.to_vec(), FLAG_DIR, joliet, rr)
}

fn child_record(
    ctx: &Ctx<'_>,
    ce: &mut CeAllocator,
    node: NodeId,
    target: Target,
    ident: Vec<u8>,
    flags: u8,
    joliet: bool,
) -> RecSpec {
    let rr = || rr_entries(ctx, node, true);
    record(ctx, ce, node, target, ident, flags, joliet, rr)
}

/// A record for `node` carrying the Rock Ridge entries `rr` makes, unless this is the
/// Joliet tree or Rock Ridge is off.
#[allow(clippy::too_many_arguments)]
fn record(
    ctx: &Ctx<'_>,
    ce: &mut CeAllocator,
    node: NodeId,
    target: Target,
    ident: Vec<u8>,
    flags: u8,
    joliet: bool,
    rr: impl FnOnce() -> Vec<Vec<u8>>,
) -> RecSpec {
    let date = ctx
        .tree
        .nodes
        .get(node)
        .map_or([0; 7], |n| dir_date(n.meta.mtime));
    let susp = if ctx.rr && !joliet {
        rockridge::fit(rr(), dirrec::su_room(ident.len()), ce)
    } else {
        SuspLayout::default()
    };
    RecSpec {
        target,
        ident,
        flags,
        date,
        susp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::PathSpec;

    #[test]
    fn addresses_follow_each_other() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("a/b/f"), vec![7u8; 3000]).unwrap();
        std::fs::write(d.path().join("e"), b"").unwrap();
        let opts = IsoOptions::builder().joliet(Joliet::On).build();
        let tree = Tree::build(&[PathSpec::new(d.path())], &opts, 0).unwrap();
        let l = Layout::compute(&tree, &opts, false).unwrap();
        assert_eq!(l.iso.l_table_lba, 19);
        assert_eq!(l.iso.dirs.len(), 3);
        assert_eq!(l.iso.dirs[0].lba, 23);
        assert_eq!(l.data.len(), 2);
        assert_eq!(l.data.iter().map(|d| d.extent.size).sum::<u64>(), 3000);
        let file = l.data.iter().find(|d| d.extent.size == 3000).unwrap();
        assert_eq!(l.total_blocks, file.extent.lba + 2 + 150);
        let pt = l.path_table(&l.iso, false);
        assert_eq!(&pt[..10], &[1, 0, 23, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            &pt[10..20],
            &[1, 0, 25, 0, 0, 0, 1, 0, b'A', 0],
            "root + its continuation block"
        );
        let dir = l.directory_bytes(&l.iso, &l.iso.dirs[0]);
        assert_eq!(dir.len(), 4096);
        assert_eq!(&dir[2048..2050], b"ER");
        assert_eq!(&dir[2..6], &23u32.to_le_bytes());
        assert!(l.partition.is_none());
    }

    #[test]
    fn partition_trees_count_from_the_offset() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f"), vec![7u8; 3000]).unwrap();
        let mut opts = IsoOptions::builder().joliet(Joliet::On).build();
        opts.hybrid.partition_offset = 16;
        let tree = Tree::build(&[PathSpec::new(d.path())], &opts, 0).unwrap();
        let l = Layout::compute(&tree, &opts, false).unwrap();
        let p = l.partition.as_ref().unwrap();
        // descriptors: 16 PVD, 17 SVD, 18 terminator; 32.. the partition's
        assert_eq!(p.vd_lba, 32);
        assert_eq!((p.iso.bias, l.iso.bias), (16, 0));
        // the first trees follow the partition's descriptors, the partition's trees follow them
        assert_eq!(l.iso.l_table_lba, 35);
        let first_end = l.joliet.as_ref().unwrap().dirs.last().unwrap().lba + 1;
        assert_eq!(p.iso.l_table_lba, first_end);
        let file = l.data.iter().find(|d| d.extent.size == 3000).unwrap();
        assert!(file.extent.lba > p.joliet.as_ref().unwrap().dirs.last().unwrap().lba);

        // path table and records of the copy: every address minus 16, same structure
        let pt = l.path_table(&p.iso, false);
        assert_eq!(&pt[2..6], &(p.iso.dirs[0].lba - 16).to_le_bytes());
        let root = l.directory_bytes(&p.iso, &p.iso.dirs[0]);
        let root0 = l.directory_bytes(&l.iso, &l.iso.dirs[0]);
        assert_eq!(root.len(), root0.len());
        assert_eq!(&root[2..6], &(p.iso.dirs[0].lba - 16).to_le_bytes());
        let sub = l.directory_bytes(&p.iso, &p.iso.dirs[1]);
        let rec = |dir: &[u8], name: &[u8]| -> u32 {
            let mut at = 0;
            while dir[at] != 0 {
                let len = dir[at] as usize;
                let id_len = dir[at + 32] as usize;
                if &dir[at + 33..at + 33 + id_len] == name {
                    return u32::from_le_bytes(dir[at + 2..at + 6].try_into().unwrap());
                }
                at += len;
            }
            panic!("no record {name:?}");
        };
        assert_eq!(rec(&sub, b"F.;1"), file.extent.lba - 16);
        let sub0 = l.directory_bytes(&l.iso, &l.iso.dirs[1]);
        assert_eq!(rec(&sub0, b"F.;1"), file.extent.lba);
        // the root's Continuation Area (the ER entry) is found relative to the partition too
        let ce = root.windows(2).position(|w| w == b"CE").unwrap();
        let ce_lba = u32::from_le_bytes(root[ce + 4..ce + 8].try_into().unwrap());
        assert_eq!(ce_lba, p.iso.dirs[0].lba + 1 - 16);
        assert_eq!(&root[2048..2050], b"ER");
        let jroot = l.root_record(p.joliet.as_ref().unwrap());
        assert_eq!(
            &jroot[2..6],
            &(p.joliet.as_ref().unwrap().dirs[0].lba - 16).to_le_bytes()
        );
    }
}
