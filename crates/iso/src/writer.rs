//! [`IsoWriter`]: sources + options → a planned [`Image`] → bytes to an [`ImageSink`].

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::appended::{self, Appended};
use crate::boot_blocks;
use crate::eltorito::BootPlan;
use crate::error::{Error, Result};
use crate::hybrid;
use crate::layout::{Layout, View, BLOCK, SYSTEM_AREA_BLOCKS};
use crate::options::{CylinderAlign, IsoOptions};
use crate::prepended::Prepended;
use crate::sink::{FileExtent, ImageSink};
use crate::tree::{Kind, PathSpec, Tree};
use crate::volume::{self, VolumeInfo};

/// Collects sources for one image. Nothing is read from disk until [`IsoWriter::plan`] or
/// [`IsoWriter::write`].
#[derive(Debug, Clone)]
pub struct IsoWriter {
    options: IsoOptions,
    specs: Vec<PathSpec>,
}

impl IsoWriter {
    /// A writer with the given options and no sources yet.
    pub fn new(options: IsoOptions) -> Self {
        Self {
            options,
            specs: Vec::new(),
        }
    }

    /// Adds a source root: a directory's contents are merged into the image root, a file is put at
    /// `/<its name>`.
    pub fn add_root(&mut self, source: impl Into<PathBuf>) -> &mut Self {
        self.specs.push(PathSpec::new(source));
        self
    }

    /// Adds a graft point: `source` goes to `target` inside the image (`dst=src`).
    pub fn add_graft(
        &mut self,
        target: impl Into<String>,
        source: impl Into<PathBuf>,
    ) -> &mut Self {
        self.specs.push(PathSpec::graft(target, source));
        self
    }

    /// Adds a path spec.
    pub fn add(&mut self, spec: PathSpec) -> &mut Self {
        self.specs.push(spec);
        self
    }

    /// The options.
    pub fn options(&self) -> &IsoOptions {
        &self.options
    }

    /// Walks the sources and assigns every address: the image is then fully determined except for
    /// the file contents.
    ///
    /// # Errors
    /// Unreadable or missing sources, name conflicts, missing boot images, files too large for the
    /// ISO level, unsupported options.
    pub fn plan(&self) -> Result<Image> {
        let opts = &self.options;
        if let Some(block) = &opts.boot_block {
            boot_blocks::check_exclusive(block, opts)?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let now = opts.source_date_epoch.unwrap_or(now);
        let mut tree = Tree::build(&self.specs, opts, now)?;
        let mut boot = match &opts.el_torito {
            Some(et) => Some(BootPlan::prepare(
                &mut tree,
                et,
                opts.all_file_dates.unwrap_or(now),
            )?),
            None => None,
        };
        if (opts.hybrid.mbr_template.is_some() || opts.hybrid.gpt_basdat) && boot.is_none() {
            return Err(Error::MissingOption {
                option: "-isohybrid-mbr",
                needs: "an El Torito boot image (-b)",
            });
        }
        hybrid::check(opts, boot.as_ref())?;
        let mut layout = Layout::compute(&tree, opts, boot.is_some())?;
        let mut prepended = Prepended::place(opts, &mut layout, boot.as_ref())?;
        // isohybrid images end on a cylinder boundary; -partition_offset alone does not align.
        // libisofs pads between the -pad blocks and the backup GPT, which stays at the very end.
        // -partition_cyl_align: always or never; with -append_partition the filesystem alone is
        // aligned (appended.rs)
        let align = match opts.hybrid.partition_cyl_align {
            CylinderAlign::Auto => opts.hybrid.mbr_template.is_some(),
            CylinderAlign::On | CylinderAlign::All => opts.hybrid.appended_partitions.is_empty(),
            CylinderAlign::Off => false,
        };
        if align {
            let blocks = u64::from(layout.total_blocks) + hybrid::tail_blocks(opts, boot.as_ref())?;
            let geometry = hybrid::Geometry::for_image(blocks);
            layout.set_total_blocks(geometry.cylinder_aligned(blocks))?;
        }
        let mut appended = Appended::place(opts, &mut layout)?;
        if let Some(b) = boot.as_mut() {
            b.place_appended(&appended.summary())?;
        }
        let created = opts.source_date_epoch.or(opts.volume_date).unwrap_or(now);
        let mut system_area = hybrid::system_area(opts, &layout, boot.as_ref(), &tree, created)?;
        if let Some(block) = &opts.boot_block {
            let image_blocks = appended.image_blocks(&layout);
            let parts: Vec<(u64, u64)> =
                appended.parts.iter().map(|p| (p.start, p.blocks)).collect();
            boot_blocks::write(
                block,
                &tree,
                &layout,
                image_blocks,
                &parts,
                &mut system_area,
            )?;
        }
        let system_area = appended.patch_system_area(opts, system_area, created);
        let system_area = prepended.patch_system_area(opts, system_area, &layout, created);
        let tail = hybrid::tail(opts, &layout, boot.as_ref(), &tree, created)?;
        Ok(Image {
            options: opts.clone(),
            tree,
            layout,
            boot,
            created,
            system_area,
            tail,
            appended,
            prepended,
        })
    }

    /// Plans and writes the image.
    ///
    /// # Errors
    /// See [`IsoWriter::plan`] and [`Image::write`].
    pub fn write<S: ImageSink + ?Sized>(&self, sink: &mut S) -> Result<WriteReport> {
        self.plan()?.write(sink)
    }
}

/// What a finished write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteReport {
    /// Bytes written in total.
    pub image_size: u64,
    /// Files announced with `begin_file`.
    pub files: u64,
    /// Bytes of file data.
    pub file_bytes: u64,
    /// Things left out of the image (special files, symlinks without Rock Ridge, loops).
    pub warnings: Vec<String>,
}

/// A planned image: every address is known.
#[derive(Debug)]
pub struct Image {
    options: IsoOptions,
    tree: Tree,
    layout: Layout,
    boot: Option<BootPlan>,
    created: i64,
    system_area: Vec<u8>,
    /// The last bytes of the image (backup GPT), inside `total_blocks`.
    tail: Vec<u8>,
    /// `-append_partition` files, after the filesystem (and maybe past `total_blocks`).
    appended: Appended,
    /// `-prep-boot-part`/`-efi-boot-part` file, before the files' data.
    prepended: Prepended,
}

impl Image {
    /// Size of the image in bytes.
    pub fn size(&self) -> u64 {
        self.appended.image_blocks(&self.layout) * BLOCK
    }

    /// Things left out of the image (special files, symlinks without Rock Ridge, loops).
    pub fn warnings(&self) -> &[String] {
        &self.tree.warnings
    }

    /// The file extents [`Image::write`] will announce, in image order. A JTE exporter can use this
    /// to checksum files ahead of the writer.
    pub fn file_extents(&self) -> Vec<FileExtent> {
        self.layout
            .data
            .iter()
            .filter(|d| !self.boot.as_ref().is_some_and(|b| b.patches(d.node)))
            .filter_map(|d| match self.tree.nodes.get(d.node).map(|n| &n.kind) {
                Some(Kind::File { source, .. }) => Some(FileExtent {
                    source: source.clone(),
                    image_path: self.tree.image_path(d.node),
                    size: d.extent.size,
                    offset: u64::from(d.extent.lba) * BLOCK,
                }),
                _ => None,
            })
            .collect()
    }

    /// Writes the whole image sequentially to `sink`.
    ///
    /// # Errors
    /// [`Error::ReadFile`] / [`Error::FileChanged`] for sources, [`Error::Write`] for the sink (an
    /// error a sink returns from `begin_file`/`end_file` is passed through as its source).
    pub fn write<S: ImageSink + ?Sized>(&self, sink: &mut S) -> Result<WriteReport> {
        let mut out = Out { sink, offset: 0 };
        let l = &self.layout;
        out.meta(&self.system_area)?;
        debug_assert_eq!(out.offset, u64::from(SYSTEM_AREA_BLOCKS) * BLOCK);
        let info = VolumeInfo {
            opts: &self.options,
            layout: l,
            created: self.created,
        };
        out.meta(&volume::primary(&info, &l.iso))?;
        if let Some(cat) = l.catalog_lba.filter(|_| l.boot_record_lba.is_some()) {
            out.meta(&volume::boot_record(cat))?;
        }
        if let Some(j) = &l.joliet {
            out.meta(&volume::joliet(&info, j))?;
        }
        out.meta(&volume::terminator())?;
        if let Some(p) = &l.partition {
            // The partition's superblock, 16 blocks into it. Its system area is the image's
            // descriptors and zeros. xorriso writes no El Torito record here: booting from the
            // partition is not a thing, and the catalog is found from the image start.
            out.zeros((u64::from(p.vd_lba) * BLOCK).saturating_sub(out.offset))?;
            out.meta(&volume::primary(&info, &p.iso))?;
            if let Some(j) = &p.joliet {
                out.meta(&volume::joliet(&info, j))?;
            }
            out.meta(&volume::terminator())?;
        }
        out.structures(l, &l.iso, l.joliet.as_ref())?;
        if let Some(p) = &l.partition {
            out.structures(l, &p.iso, p.joliet.as_ref())?;
        }
        if let (Some(boot), Some(_)) = (&self.boot, l.catalog_lba) {
            out.meta(&boot.catalog(&self.tree, l))?;
        }
        let mut report = WriteReport {
            warnings: self.tree.warnings.clone(),
            ..WriteReport::default()
        };
        let mut buf = vec![0u8; self.options.read_buffer_size];
        if let Some(part) = &self.prepended.part {
            out.partition(part, &mut buf)?;
        }
        for item in &l.data {
            let Some(Kind::File { source, .. }) = self.tree.nodes.get(item.node).map(|n| &n.kind)
            else {
                continue;
            };
            let start = u64::from(item.extent.lba) * BLOCK;
            if out.offset < start {
                out.zeros(start - out.offset)?;
            }
            if let Some(boot) = self.boot.as_ref().filter(|b| b.patches(item.node)) {
                // The patched boot image is no longer a copy of its source: it is metadata to JTE.
                let mut data = read_whole(source, item.extent.size)?;
                boot.patch(item.node, &mut data, SYSTEM_AREA_BLOCKS, item.extent.lba);
                out.meta(&data)?;
            } else {
                let fe = FileExtent {
                    source: source.clone(),
                    image_path: self.tree.image_path(item.node),
                    size: item.extent.size,
                    offset: start,
                };
                out.copy_file(&fe, &mut buf)?;
                report.files += 1;
                report.file_bytes += fe.size;
            }
            out.pad_to_block()?;
        }
        for part in &self.appended.parts {
            out.partition(part, &mut buf)?;
        }
        if !self.appended.backup_gpt.is_empty() {
            out.ending_at(self.appended.end_blocks * BLOCK, &self.appended.backup_gpt)?;
        }
        let end = u64::from(l.total_blocks) * BLOCK;
        if !self.prepended.backup_gpt.is_empty() {
            out.ending_at(end, &self.prepended.backup_gpt)?;
        }
        let tail_start = end - self.tail.len() as u64;
        if out.offset < tail_start {
            out.zeros(tail_start - out.offset)?;
        }
        out.meta(&self.tail)?;
        out.zeros((self.appended.end_blocks * BLOCK).saturating_sub(out.offset))?;
        report.image_size = out.offset;
        Ok(report)
    }
}

/// Passes the `size` bytes of `f` (opened from `path`) to `out`, read through `buf`; the file
/// must still be exactly that long ([`Error::FileChanged`] otherwise). Tree files and partition
/// files are copied with it.
pub(crate) fn copy_exact(
    f: &mut File,
    path: &Path,
    size: u64,
    buf: &mut [u8],
    out: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let read_err = |source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    };
    let mut left = size;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = match f.read(chunk) {
            Ok(0) => {
                return Err(Error::FileChanged {
                    path: path.to_path_buf(),
                    expected: size,
                    found: size - left,
                })
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        out(chunk.get(..n).unwrap_or_default())?;
        left -= n as u64;
    }
    let mut probe = [0u8; 1];
    match f.read(&mut probe) {
        Ok(0) => Ok(()),
        Ok(_) => Err(Error::FileChanged {
            path: path.to_path_buf(),
            expected: size,
            found: size + 1,
        }),
        Err(e) => Err(read_err(e)),
    }
}

fn read_whole(path: &PathBuf, size: u64) -> Result<Vec<u8>> {
    let data = std::fs::read(path).map_err(|source| Error::ReadFile {
        path: path.clone(),
        source,
    })?;
    if data.len() as u64 != size {
        return Err(Error::FileChanged {
            path: path.clone(),
            expected: size,
            found: data.len() as u64,
        });
    }
    Ok(data)
}

struct Out<'a, S: ?Sized> {
    sink: &'a mut S,
    offset: u64,
}

static ZEROS: [u8; 65536] = [0; 65536];

impl<S: ImageSink + ?Sized> Out<'_, S> {
    fn err(&self, source: io::Error) -> Error {
        Error::Write {
            offset: self.offset,
            source,
        }
    }

    fn meta(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.write_meta(bytes).map_err(|e| self.err(e))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn zeros(&mut self, mut n: u64) -> Result<()> {
        while n > 0 {
            let k = n.min(ZEROS.len() as u64);
            self.meta(ZEROS.get(..usize::try_from(k).unwrap_or(0)).unwrap_or(&[]))?;
            n -= k;
        }
        Ok(())
    }

    /// Path tables and directories of a tree and its Joliet twin, in the order [`Layout`] placed
    /// them.
    fn structures(&mut self, l: &Layout, iso: &View, joliet: Option<&View>) -> Result<()> {
        debug_assert_eq!(self.offset, u64::from(iso.l_table_lba) * BLOCK);
        self.meta(&l.path_table(iso, false))?;
        self.meta(&l.path_table(iso, true))?;
        if let Some(j) = joliet {
            self.meta(&l.path_table(j, false))?;
            self.meta(&l.path_table(j, true))?;
        }
        for d in &iso.dirs {
            self.meta(&l.directory_bytes(iso, d))?;
        }
        if let Some(j) = joliet {
            for d in &j.dirs {
                self.meta(&l.directory_bytes(j, d))?;
            }
        }
        Ok(())
    }

    /// A partition's file at its first block, padded to a whole block: image data, not a file
    /// of the tree, so metadata to JTE (as libjte has it).
    fn partition(&mut self, part: &appended::Placed, buf: &mut [u8]) -> Result<()> {
        self.zeros((part.start * BLOCK).saturating_sub(self.offset))?;
        appended::copy_partition(part, buf, &mut |chunk| self.meta(chunk))?;
        self.pad_to_block()
    }

    /// `bytes` (a backup GPT) so that they end at image offset `end`, zeros before them.
    fn ending_at(&mut self, end: u64, bytes: &[u8]) -> Result<()> {
        let at = end.saturating_sub(bytes.len() as u64);
        self.zeros(at.saturating_sub(self.offset))?;
        self.meta(bytes)
    }

    fn pad_to_block(&mut self) -> Result<()> {
        let rem = self.offset % BLOCK;
        if rem != 0 {
            self.zeros(BLOCK - rem)?;
        }
        Ok(())
    }

    fn copy_file(&mut self, fe: &FileExtent, buf: &mut [u8]) -> Result<()> {
        let mut f = File::open(&fe.source).map_err(|source| Error::ReadFile {
            path: fe.source.clone(),
            source,
        })?;
        self.sink.begin_file(fe).map_err(|e| self.err(e))?;
        copy_exact(&mut f, &fe.source, fe.size, buf, &mut |data| {
            self.sink.write_file_data(data).map_err(|e| self.err(e))?;
            self.offset += data.len() as u64;
            Ok(())
        })?;
        self.sink.end_file().map_err(|e| self.err(e))?;
        Ok(())
    }
}
