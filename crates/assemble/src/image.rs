//! [`Image`]: the one random-access reader of an image that exists only as
//! template + parts, shared by byte-range output, the HTTP server and the
//! FUSE mount.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use jigsmith_checksum::Digest;
use jigsmith_format::{DataPart, ItemKind, Template, UnmatchedReader};

use crate::data_cache::MAX_CACHED_PART;
use crate::{DataCache, Error, Location, PartSource, Resolver, Result, VerdictCache};

/// Open source files kept per image; older ones are closed (and fstat'ed
/// again when reopened), so a Blu-ray image cannot exhaust descriptors.
const MAX_OPEN_FILES: usize = 64;

/// An image readable at any offset from many threads at once.
///
/// Reading touches only what holds the bytes asked for: a binary search
/// finds the item; template data comes from the shared [`DataCache`] (or is
/// decompressed into it); a matched file is read with `pread` from a handle
/// kept open once its checksum was checked.
///
/// Never a wrong byte: with verification on (the default) a file is hashed
/// in full before its first byte is returned, the verdict is remembered by
/// (device, inode, size, mtime), and every later read first checks with
/// `fstat` that the open file is still the one that was hashed. The template
/// is read through a handle opened once, so replacing the file on disk
/// cannot mix two templates.
pub struct Image {
    template: Arc<Template>,
    template_path: PathBuf,
    template_file: File,
    template_mtime: Option<SystemTime>,
    resolver: Arc<Resolver>,
    data: Arc<DataCache>,
    data_id: u64,
    verify: bool,
    open: Mutex<OpenFiles>,
}

/// Configures an [`Image`].
pub struct ImageBuilder {
    template: Arc<Template>,
    template_path: PathBuf,
    sources: Arc<dyn PartSource>,
    resolver: Option<Arc<Resolver>>,
    verdicts: Option<Arc<VerdictCache>>,
    data: Option<Arc<DataCache>>,
    verify: bool,
}

impl ImageBuilder {
    /// Shares `verdicts` with other images, so a file used by several is hashed once.
    #[must_use]
    pub fn verdicts(mut self, verdicts: Arc<VerdictCache>) -> Self {
        self.verdicts = Some(verdicts);
        self
    }

    /// Shares a cache of decompressed template data with other images.
    #[must_use]
    pub fn data_cache(mut self, data: Arc<DataCache>) -> Self {
        self.data = Some(data);
        self
    }

    /// Uses an existing resolver (its sources and verdicts) instead.
    #[must_use]
    pub(crate) fn resolver(mut self, resolver: Arc<Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Turns checking source files off (or on). Off can return wrong bytes
    /// from a wrong file; only `make-image --no-verify` asks for it.
    #[must_use]
    pub fn verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// Opens the template file and returns the image.
    ///
    /// # Errors
    /// [`Error::Io`] if the template cannot be opened.
    pub fn open(self) -> Result<Image> {
        let template_file = File::open(&self.template_path).map_err(|source| Error::Io {
            action: "opening",
            path: self.template_path.clone(),
            source,
        })?;
        let template_mtime = template_file.metadata().and_then(|m| m.modified()).ok();
        let resolver = self.resolver.unwrap_or_else(|| {
            let verdicts = self.verdicts.unwrap_or_default();
            Arc::new(Resolver::with_verdicts(self.sources, verdicts))
        });
        let data = self.data.unwrap_or_default();
        let data_id = data.register();
        Ok(Image {
            template: self.template,
            template_path: self.template_path,
            template_file,
            template_mtime,
            resolver,
            data,
            data_id,
            verify: self.verify,
            open: Mutex::new(OpenFiles::default()),
        })
    }
}

/// A source file checked to hold a part, kept open.
struct OpenPart {
    file: File,
    location: Location,
    len: u64,
    mtime: Option<SystemTime>,
}

#[derive(Default)]
struct OpenFiles {
    by_digest: HashMap<Digest, Arc<Mutex<Option<Arc<OpenPart>>>>>,
    order: VecDeque<Digest>,
}

impl Image {
    /// Starts configuring the image of `template` (read from
    /// `template_path`), whose parts come from `sources`.
    pub fn builder(
        template: Arc<Template>,
        template_path: impl Into<PathBuf>,
        sources: Arc<dyn PartSource>,
    ) -> ImageBuilder {
        ImageBuilder {
            template,
            template_path: template_path.into(),
            sources,
            resolver: None,
            verdicts: None,
            data: None,
            verify: true,
        }
    }

    /// The image's length in bytes.
    pub fn len(&self) -> u64 {
        self.template.image_len()
    }

    /// Whether the image has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The template.
    pub fn template(&self) -> &Arc<Template> {
        &self.template
    }

    /// The template file.
    pub fn template_path(&self) -> &Path {
        &self.template_path
    }

    /// When the template file was last modified (when the image was published).
    pub fn modified(&self) -> Option<SystemTime> {
        self.template_mtime
    }

    /// The resolver (sources and verdicts) this image reads through.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// Reads image bytes at `offset` into `buf`; fills `buf` unless the
    /// image ends first, and returns how many bytes were read (0 at or
    /// past the end).
    ///
    /// # Errors
    /// [`Error::Missing`] (no candidate holds a file needed here, each one
    /// tried named), [`Error::ChecksumMismatch`], [`Error::SourceChanged`] and
    /// [`Error::SizeMismatch`] (a file changed after it was checked; it is
    /// checked again next time), [`Error::Template`] (corrupt template data),
    /// [`Error::Io`]. Nothing of `buf` is meaningful after an error.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let Some(item) = self
                .template
                .item_at(pos)
                .and_then(|i| self.template.items().get(i).copied())
            else {
                break;
            };
            let within = pos - item.offset;
            let n = usize::try_from(item.len - within)
                .unwrap_or(usize::MAX)
                .min(buf.len() - done);
            let dst = buf.get_mut(done..done + n).unwrap_or(&mut []);
            match item.kind {
                ItemKind::Unmatched { data_offset } => self.read_data(data_offset + within, dst)?,
                ItemKind::File { digest, .. } => self.read_file(&digest, item.len, within, dst)?,
            }
            done += n;
        }
        Ok(done)
    }

    /// Checks, without reading them, that every file the bytes
    /// `offset..offset + len` need is available and holds the right content
    /// (hashing those not checked before). A server calls this before it
    /// sends a status line, so a missing file becomes a clear error response
    /// rather than a cut-off transfer.
    ///
    /// # Errors
    /// As [`Image::read_at`].
    pub fn check_range(&self, offset: u64, len: u64) -> Result<()> {
        let end = offset.saturating_add(len).min(self.len());
        let Some(first) = self.template.item_at(offset) else {
            return Ok(());
        };
        for item in self.template.items().iter().skip(first) {
            if item.offset >= end {
                break;
            }
            if let ItemKind::File { digest, .. } = item.kind {
                self.open_part(&digest, item.len)?;
            }
        }
        Ok(())
    }

    /// A `Read + Seek` cursor over the image.
    pub fn cursor(self: &Arc<Self>) -> crate::ImageReader {
        crate::ImageReader::over(Arc::clone(self))
    }

    fn read_file(&self, digest: &Digest, len: u64, within: u64, dst: &mut [u8]) -> Result<()> {
        let part = self.open_part(digest, len)?;
        let path = || part.location.path.clone();
        let at = part.location.offset() + within;
        match read_exact_at(&part.file, at, dst) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.close_part(digest);
                Err(Error::SizeMismatch {
                    path: path(),
                    expected: len,
                    actual: within,
                })
            }
            Err(source) => Err(Error::Io {
                action: "reading",
                path: path(),
                source,
            }),
        }
    }

    /// The part's checked, open file; checks (and hashes if needed) on first use.
    fn open_part(&self, digest: &Digest, len: u64) -> Result<Arc<OpenPart>> {
        let slot = self.slot(digest);
        // one thread checks a file while the others needing it wait
        let mut slot = lock(&slot);
        if let Some(part) = slot.as_ref() {
            if self.still_same(part)? {
                return Ok(Arc::clone(part));
            }
            // changed since it was checked: check again (it, or another candidate)
            tracing::info!(path = %part.location, "source file changed; checking it again");
            *slot = None;
        }
        let location = if self.verify {
            self.resolver.verified(digest, len)?
        } else {
            self.resolver.first_usable(digest, len)?
        };
        let file = File::open(&location.path).map_err(|source| Error::Io {
            action: "opening",
            path: location.path.clone(),
            source,
        })?;
        let meta = file.metadata().map_err(|source| Error::Io {
            action: "reading",
            path: location.path.clone(),
            source,
        })?;
        // it may have been replaced between the check and the open
        if self.verify && !self.resolver.still_holds(&location, digest, len) {
            return Err(Error::SourceChanged {
                path: location.path,
            });
        }
        let part = Arc::new(OpenPart {
            file,
            location,
            len: meta.len(),
            mtime: meta.modified().ok(),
        });
        *slot = Some(Arc::clone(&part));
        Ok(part)
    }

    /// Whether the open file is unchanged since it was checked (one fstat).
    fn still_same(&self, part: &OpenPart) -> Result<bool> {
        let meta = part.file.metadata().map_err(|source| Error::Io {
            action: "reading",
            path: part.location.path.clone(),
            source,
        })?;
        Ok(meta.len() == part.len && meta.modified().ok() == part.mtime)
    }

    fn slot(&self, digest: &Digest) -> Arc<Mutex<Option<Arc<OpenPart>>>> {
        let mut open = lock(&self.open);
        if let Some(slot) = open.by_digest.get(digest) {
            return Arc::clone(slot);
        }
        while open.order.len() >= MAX_OPEN_FILES {
            if let Some(old) = open.order.pop_front() {
                // readers holding its Arc finish with it; the next one reopens
                open.by_digest.remove(&old);
            }
        }
        let slot = Arc::new(Mutex::new(None));
        open.by_digest.insert(*digest, Arc::clone(&slot));
        open.order.push_back(*digest);
        slot
    }

    fn close_part(&self, digest: &Digest) {
        let slot = lock(&self.open).by_digest.get(digest).cloned();
        if let Some(slot) = slot {
            *lock(&slot) = None;
        }
    }

    /// Copies unmatched bytes starting at `raw` (an offset into all data
    /// parts' decompressed bytes) into `dst`.
    fn read_data(&self, mut raw: u64, mut dst: &mut [u8]) -> Result<()> {
        let parts = self.template.parts();
        while !dst.is_empty() {
            let index = parts.partition_point(|p| p.raw_end() <= raw);
            let Some(part) = parts.get(index).copied() else {
                return Err(self.template_error(jigsmith_format::Error::DataMismatch {
                    needed: raw + dst.len() as u64,
                    available: parts.last().map_or(0, DataPart::raw_end),
                }));
            };
            let within = raw - part.raw_offset;
            let n = usize::try_from(part.raw_len - within)
                .unwrap_or(usize::MAX)
                .min(dst.len());
            let (now, rest) = std::mem::take(&mut dst).split_at_mut(n);
            if part.raw_len <= MAX_CACHED_PART {
                let bytes = self.data_part(index, part)?;
                let from = usize::try_from(within).unwrap_or(usize::MAX);
                let src = bytes
                    .get(from..from + n)
                    .ok_or_else(|| self.template_error(short_part(part)))?;
                now.copy_from_slice(src);
            } else {
                self.stream_data(raw, now)?;
            }
            raw += n as u64;
            dst = rest;
        }
        Ok(())
    }

    /// A data part, decompressed, from the cache or the template.
    fn data_part(&self, index: usize, part: DataPart) -> Result<Arc<[u8]>> {
        if let Some(bytes) = self.data.get(self.data_id, index) {
            return Ok(bytes);
        }
        let len =
            usize::try_from(part.raw_len).map_err(|_| self.template_error(short_part(part)))?;
        let mut bytes = vec![0u8; len];
        self.stream_data(part.raw_offset, &mut bytes)?;
        let bytes: Arc<[u8]> = Arc::from(bytes);
        self.data.insert(self.data_id, index, Arc::clone(&bytes));
        Ok(bytes)
    }

    /// Decompresses unmatched bytes from `raw` on, in bounded memory.
    fn stream_data(&self, raw: u64, dst: &mut [u8]) -> Result<()> {
        let file = PositionedFile {
            file: &self.template_file,
            pos: 0,
        };
        let mut reader = UnmatchedReader::new(file, self.template.shared_parts(), raw);
        reader
            .read_exact(dst)
            .map_err(|source| self.template_error(source))
    }

    fn template_error(&self, source: jigsmith_format::Error) -> Error {
        Error::Template {
            path: self.template_path.clone(),
            source,
        }
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        self.data.forget_image(self.data_id);
    }
}

fn short_part(part: DataPart) -> jigsmith_format::Error {
    jigsmith_format::Error::PartSizeMismatch {
        offset: part.offset,
        expected: part.raw_len,
        actual: 0,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // the guarded values are replaced whole: a panic cannot leave one half-made
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `pread` until `buf` is full; `UnexpectedEof` if the file ends first.
fn read_exact_at(file: &File, mut at: u64, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match pread(file, buf, at) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                at += n as u64;
                buf = buf.get_mut(n..).unwrap_or(&mut []);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn pread(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn pread(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

/// `Read + Seek` over a shared file handle by positional reads, so many
/// threads can decompress from one template handle at once.
struct PositionedFile<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for PositionedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = pread(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PositionedFile<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.file.metadata()?.len().checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}
