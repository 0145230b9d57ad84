use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};
use std::sync::Arc;

use jigsmith_checksum::{Digest, Hasher};
use jigsmith_format::{ItemKind, Template, UnmatchedReader};

use crate::{Error, ImageReader, PartSource, Progress, Resolver, Result};

/// Size of the buffers that flow from the copier to the image hasher.
const CHUNK: usize = 1 << 20;
/// Buffers in flight; bounds memory at `POOL * CHUNK`.
const POOL: usize = 8;

/// A part for which no usable file exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The part's digest.
    pub digest: Digest,
    /// Its length.
    pub len: u64,
    /// Where it should be: the first candidate path, else its `.jigdo` names.
    pub names: Vec<String>,
}

/// What a finished build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// Bytes written.
    pub image_len: u64,
    /// Source files copied.
    pub files: usize,
    /// The image digest, when verification was on.
    pub image_digest: Option<Digest>,
}

/// Builds an image, or parts of it, from a template and part sources.
pub struct Assembler {
    template: Arc<Template>,
    template_path: PathBuf,
    resolver: Arc<Resolver>,
    verify: bool,
}

impl Assembler {
    /// An assembler that verifies everything.
    pub fn new(
        template: Arc<Template>,
        template_path: impl Into<PathBuf>,
        sources: Arc<dyn PartSource>,
    ) -> Self {
        Assembler {
            template,
            template_path: template_path.into(),
            resolver: Arc::new(Resolver::new(sources)),
            verify: true,
        }
    }

    /// Turns checksum checks of source files and of the image off (or on).
    ///
    /// Off is faster and can produce a wrong image from a wrong file.
    pub fn verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// The template being assembled.
    pub fn template(&self) -> &Arc<Template> {
        &self.template
    }

    pub(crate) fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    pub(crate) fn template_path(&self) -> &Path {
        &self.template_path
    }

    pub(crate) fn verifies(&self) -> bool {
        self.verify
    }

    /// Parts for which no candidate file of the right size exists (checksums
    /// are not read: this is the quick check of `jigit-mkimage -M`).
    pub fn missing(&self) -> Vec<Missing> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (item, digest) in self.template.files() {
            if !seen.insert(digest) {
                continue;
            }
            let (ok, tried) = self.resolver.usable(&digest, item.len);
            if ok.is_empty() {
                let mut names: Vec<String> = tried
                    .iter()
                    .take(1)
                    .map(|(p, _)| p.display().to_string())
                    .collect();
                if names.is_empty() {
                    names = self.resolver.names(&digest);
                }
                if names.is_empty() {
                    names.push(format!("{}:{}", digest.algorithm().jigdo_name(), digest));
                }
                out.push(Missing {
                    digest,
                    len: item.len,
                    names,
                });
            }
        }
        out
    }

    /// A random-access reader over the image.
    ///
    /// # Errors
    /// [`Error::Io`] if the template file cannot be opened.
    pub fn reader(&self) -> Result<ImageReader> {
        ImageReader::new(self)
    }

    /// Writes image bytes `start..=end` (both inclusive, as an HTTP Range).
    ///
    /// Only the data parts holding the range are decompressed and only the
    /// files overlapping it are read; with verification on, each of those
    /// files is checked in full before use.
    ///
    /// # Errors
    /// [`Error::BadRange`] for a range outside the image, and anything
    /// [`ImageReader`] reports.
    pub fn write_range<W: Write>(&self, start: u64, end: u64, mut out: W) -> Result<u64> {
        let image_len = self.template.image_len();
        if start > end || end >= image_len {
            return Err(Error::BadRange {
                start,
                end,
                image_len,
            });
        }
        let mut reader = self.reader()?;
        reader.set_position(start);
        let mut left = end - start + 1;
        let mut buf = vec![0u8; CHUNK];
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            let dst = buf.get_mut(..want).unwrap_or(&mut []);
            let n = reader.read_checked(dst)?;
            out.write_all(dst.get(..n).unwrap_or(&[]))
                .map_err(Error::Output)?;
            left -= n as u64;
        }
        out.flush().map_err(Error::Output)?;
        Ok(end - start + 1)
    }

    /// Streams the whole image to `out`, checking every file and the image.
    ///
    /// A part with several candidate files has them hashed until one
    /// matches before any byte is copied; a part with a single candidate is
    /// checked while it is copied (one read instead of two), and a mismatch
    /// fails the build. Either way no wrong byte goes unreported: callers
    /// write to a temporary file and keep it only on success.
    ///
    /// # Errors
    /// [`Error::Missing`], [`Error::ChecksumMismatch`],
    /// [`Error::SizeMismatch`], [`Error::ImageMismatch`], template and I/O errors.
    pub fn write_image<W: Write>(&self, out: W, progress: &dyn Progress) -> Result<BuildReport> {
        let mut out = out;
        self.write_image_dyn(&mut out, progress)
    }

    fn write_image_dyn(&self, out: &mut dyn Write, progress: &dyn Progress) -> Result<BuildReport> {
        let algorithm = self.template.algorithm();
        let (full_tx, full_rx) = sync_channel::<Msg>(POOL);
        let (checked_tx, checked_rx) = sync_channel::<Msg>(POOL);
        let (empty_tx, empty_rx) = channel::<Vec<u8>>();
        for _ in 0..POOL {
            let _ = empty_tx.send(vec![0u8; CHUNK]);
        }
        progress.start(self.template.image_len());
        let verify = self.verify;
        std::thread::scope(|scope| {
            let hasher = scope.spawn(move || hash_stream(algorithm, verify, &full_rx, &checked_tx));
            let checker = scope.spawn(move || check_files(&checked_rx, &empty_tx));
            let mut pipe = Pipe {
                out,
                full: full_tx,
                empty: empty_rx,
                progress,
            };
            let copied = self.copy_items(&mut pipe);
            drop(pipe);
            let digest = hasher.join().ok().flatten();
            let mismatch = checker.join().ok().flatten();
            let files = copied?;
            if let Some(e) = mismatch {
                return Err(e);
            }
            let image_digest = match digest {
                Some(actual) if actual != self.template.image_digest() => {
                    return Err(Error::ImageMismatch {
                        expected: self.template.image_digest(),
                        actual,
                    })
                }
                d => d,
            };
            Ok(BuildReport {
                image_len: self.template.image_len(),
                files,
                image_digest,
            })
        })
    }

    fn copy_items(&self, pipe: &mut Pipe<'_>) -> Result<usize> {
        let template_err = |source| Error::Template {
            path: self.template_path.clone(),
            source,
        };
        let file = File::open(&self.template_path).map_err(|source| Error::Io {
            action: "opening",
            path: self.template_path.clone(),
            source,
        })?;
        let mut data = UnmatchedReader::new(file, self.template.shared_parts(), 0);
        let mut files = 0usize;
        for item in self.template.items() {
            match item.kind {
                ItemKind::Unmatched { .. } => {
                    pipe.progress.template_data(item.offset, item.len);
                    let mut left = item.len;
                    while left > 0 {
                        let mut buf = pipe.take_buffer()?;
                        let n = usize::try_from(left).unwrap_or(CHUNK).min(buf.len());
                        buf.truncate(n);
                        data.read_exact(&mut buf).map_err(template_err)?;
                        left -= n as u64;
                        pipe.send(buf)?;
                    }
                }
                ItemKind::File { digest, .. } => {
                    files += 1;
                    self.copy_file(item.offset, item.len, &digest, pipe)?;
                }
            }
        }
        pipe.out.flush().map_err(Error::Output)?;
        Ok(files)
    }

    fn copy_file(&self, offset: u64, len: u64, digest: &Digest, pipe: &mut Pipe<'_>) -> Result<()> {
        let (path, check_inline) = if !self.verify {
            (self.resolver.first_usable(digest, len)?, false)
        } else {
            let (usable, tried) = self.resolver.usable(digest, len);
            match usable.as_slice() {
                [] => {
                    return Err(Error::Missing {
                        digest: *digest,
                        len,
                        tried,
                    })
                }
                [only] => (only.clone(), true),
                _ => (self.resolver.verified(digest, len)?, false),
            }
        };
        pipe.progress.file(&path, offset, len);
        let io_err = |source| Error::Io {
            action: "reading",
            path: path.clone(),
            source,
        };
        let mut f = File::open(&path).map_err(io_err)?;
        if check_inline {
            pipe.full
                .send(Msg::BeginFile(digest.algorithm()))
                .map_err(|_| hasher_gone())?;
        }
        let mut left = len;
        while left > 0 {
            let mut buf = pipe.take_buffer()?;
            let n = usize::try_from(left).unwrap_or(CHUNK).min(buf.len());
            buf.truncate(n);
            let mut filled = 0;
            while filled < n {
                let dst = buf.get_mut(filled..).unwrap_or(&mut []);
                let got = f.read(dst).map_err(io_err)?;
                if got == 0 {
                    return Err(Error::SizeMismatch {
                        path,
                        expected: len,
                        actual: len - left + filled as u64,
                    });
                }
                filled += got;
            }
            left -= n as u64;
            pipe.send(buf)?;
        }
        if check_inline {
            let end = Msg::EndFile {
                path,
                expected: *digest,
            };
            pipe.full.send(end).map_err(|_| hasher_gone())?;
        }
        Ok(())
    }
}

/// The copier's end of the pipeline: writes each buffer, then passes it to
/// the image hasher, which hands it back for reuse.
struct Pipe<'a> {
    out: &'a mut dyn Write,
    full: std::sync::mpsc::SyncSender<Msg>,
    empty: Receiver<Vec<u8>>,
    progress: &'a dyn Progress,
}

impl Pipe<'_> {
    fn take_buffer(&mut self) -> Result<Vec<u8>> {
        let mut buf = self.empty.recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        Ok(buf)
    }

    fn send(&mut self, buf: Vec<u8>) -> Result<()> {
        self.out.write_all(&buf).map_err(Error::Output)?;
        self.progress.advance(buf.len() as u64);
        self.full.send(Msg::Data(buf)).map_err(|_| hasher_gone())
    }
}

/// What flows from the copier through the image hasher to the file checker.
enum Msg {
    /// Image bytes (also the current file's, between `BeginFile` and `EndFile`).
    Data(Vec<u8>),
    /// The next bytes are a file to check with this algorithm.
    BeginFile(jigsmith_checksum::Algorithm),
    /// The file is complete: it must have this digest.
    EndFile { path: PathBuf, expected: Digest },
}

fn hasher_gone() -> Error {
    Error::Output(std::io::Error::other(
        "a checksum thread stopped unexpectedly",
    ))
}

/// Hashes the image, then passes everything on to [`check_files`].
fn hash_stream(
    algorithm: jigsmith_checksum::Algorithm,
    verify: bool,
    full: &Receiver<Msg>,
    next: &std::sync::mpsc::SyncSender<Msg>,
) -> Option<Digest> {
    let mut hasher = verify.then(|| Hasher::new(algorithm));
    for msg in full {
        if let (Some(h), Msg::Data(buf)) = (hasher.as_mut(), &msg) {
            h.update(buf);
        }
        if next.send(msg).is_err() {
            return None;
        }
    }
    hasher.map(Hasher::finalize)
}

/// Checks each single-candidate file's digest on its own core, and hands
/// the buffers back to the copier. Returns the first mismatch.
fn check_files(msgs: &Receiver<Msg>, empty: &Sender<Vec<u8>>) -> Option<Error> {
    let mut current: Option<Hasher> = None;
    let mut first_error = None;
    for msg in msgs {
        match msg {
            Msg::Data(buf) => {
                if let Some(h) = current.as_mut() {
                    h.update(&buf);
                }
                let _ = empty.send(buf);
            }
            Msg::BeginFile(alg) => current = Some(Hasher::new(alg)),
            Msg::EndFile { path, expected } => {
                let actual = current.take().map(Hasher::finalize);
                if let (Some(actual), None) = (actual, &first_error) {
                    if actual != expected {
                        first_error = Some(Error::ChecksumMismatch {
                            path,
                            expected,
                            actual,
                        });
                    }
                }
            }
        }
    }
    first_error
}
