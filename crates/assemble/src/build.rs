use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;

use jigsmith_checksum::{Digest, Hasher};
use jigsmith_format::{Template, UnmatchedReader};

use crate::verify::{verify_files, Board, FileJob};
use crate::{Error, Image, ImageReader, Location, PartSource, Progress, Resolver, Result};

/// Size of the buffers that flow from the copier to the image hasher.
const CHUNK: usize = 1 << 20;
/// Buffers in flight; bounds memory at `POOL * CHUNK`.
const POOL: usize = 32;

/// A part for which no usable file exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The part's digest.
    pub digest: Digest,
    /// Its length.
    pub len: u64,
    /// Where it should be: the first candidate path, else its `.jigdo` names.
    pub names: Vec<String>,
    /// Its names in the `.jigdo` (`Label:path`), to say which `--map` is missing.
    pub jigdo_names: Vec<String>,
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
                    .map(|(place, _)| place.to_string())
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
                    jigdo_names: self.resolver.names(&digest),
                });
            }
        }
        out
    }

    /// The image as an [`Image`], sharing this assembler's resolver.
    ///
    /// # Errors
    /// [`Error::Io`] if the template file cannot be opened.
    pub fn image(&self) -> Result<Image> {
        Image::builder(
            Arc::clone(&self.template),
            self.template_path.clone(),
            Arc::new(crate::SourceSet::new()),
        )
        .resolver(Arc::clone(&self.resolver))
        .verify(self.verify)
        .open()
    }

    /// A random-access reader over the image.
    ///
    /// # Errors
    /// [`Error::Io`] if the template file cannot be opened.
    pub fn reader(&self) -> Result<ImageReader> {
        Ok(Arc::new(self.image()?).cursor())
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
    /// Three threads share the work: this one copies template data and
    /// files to `out`, one hashes the image as it goes by, and one checks
    /// source files a little ahead of the copy (eight MD5 files at a time,
    /// see `verify`). A file is copied only once its checksum matched; a
    /// part with several candidates uses the first that matches.
    ///
    /// # Errors
    /// [`Error::Missing`], [`Error::ChecksumMismatch`],
    /// [`Error::SizeMismatch`], [`Error::ImageMismatch`], template and I/O
    /// errors. Bytes already written are not taken back: callers write to a
    /// temporary file and keep it only on success.
    pub fn write_image<W: Write>(&self, out: W, progress: &dyn Progress) -> Result<BuildReport> {
        let mut out = out;
        self.write_image_dyn(&mut out, progress)
    }

    fn write_image_dyn(&self, out: &mut dyn Write, progress: &dyn Progress) -> Result<BuildReport> {
        let algorithm = self.template.algorithm();
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(POOL);
        let (empty_tx, empty_rx) = channel::<Vec<u8>>();
        for _ in 0..POOL {
            let _ = empty_tx.send(vec![0u8; CHUNK]);
        }
        progress.start(self.template.image_len());
        let verify = self.verify;
        let board = Board::default();
        let jobs = if verify { self.file_jobs() } else { Vec::new() };
        std::thread::scope(|scope| {
            let hasher = scope.spawn(move || hash_stream(algorithm, verify, &full_rx, &empty_tx));
            let board = &board;
            let resolver = &*self.resolver;
            let verifier = verify.then(|| scope.spawn(move || verify_files(jobs, resolver, board)));
            let mut pipe = Pipe {
                out,
                full: full_tx,
                empty: empty_rx,
                progress,
            };
            let copied = self.copy_items(&mut pipe, verify.then_some(board));
            if copied.is_err() {
                board.cancel();
            }
            drop(pipe);
            let digest = hasher.join().ok().flatten();
            if let Some(verifier) = verifier {
                // a panic there already closed the board, which the copier reported
                let _ = verifier.join();
            }
            let files = copied?;
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

    /// The image's matched files, in image order.
    fn file_jobs(&self) -> Vec<FileJob> {
        self.template
            .items()
            .iter()
            .filter_map(FileJob::of)
            .enumerate()
            .map(|(index, job)| FileJob { index, ..job })
            .collect()
    }

    fn copy_items(&self, pipe: &mut Pipe<'_>, board: Option<&Board>) -> Result<usize> {
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
            match FileJob::of(item) {
                None => {
                    pipe.progress.template_data(item.offset, item.len);
                    let mut left = item.len;
                    while left > 0 {
                        let mut buf = pipe.take_buffer();
                        let n = usize::try_from(left).unwrap_or(CHUNK).min(buf.len());
                        buf.truncate(n);
                        data.read_exact(&mut buf).map_err(template_err)?;
                        left -= n as u64;
                        pipe.send(buf)?;
                    }
                }
                Some(job) => {
                    let job = FileJob {
                        index: files,
                        ..job
                    };
                    let location = match board {
                        Some(board) => board.take(&job)?,
                        None => self.resolver.first_usable(&job.digest, job.len)?,
                    };
                    files += 1;
                    copy_file(&location, &job, pipe)?;
                }
            }
        }
        pipe.out.flush().map_err(Error::Output)?;
        Ok(files)
    }
}

/// Copies one (already checked) source file into the pipeline.
fn copy_file(location: &Location, job: &FileJob, pipe: &mut Pipe<'_>) -> Result<()> {
    let path = location.path.as_path();
    pipe.progress.file(path, job.offset, job.len);
    let io_err = |source| Error::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let mut f = location.open().map_err(io_err)?;
    let mut left = job.len;
    while left > 0 {
        let mut buf = pipe.take_buffer();
        let n = usize::try_from(left).unwrap_or(CHUNK).min(buf.len());
        buf.truncate(n);
        let mut filled = 0;
        while filled < n {
            let dst = buf.get_mut(filled..).unwrap_or(&mut []);
            let got = match f.read(dst) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r.map_err(io_err)?,
            };
            if got == 0 {
                // it shrank since it was checked
                return Err(Error::SizeMismatch {
                    path: path.to_path_buf(),
                    expected: job.len,
                    actual: job.len - left + filled as u64,
                });
            }
            filled += got;
        }
        left -= n as u64;
        pipe.send(buf)?;
    }
    Ok(())
}

/// The copier's end of the pipeline: writes each buffer, then passes it to
/// the image hasher, which hands it back for reuse.
struct Pipe<'a> {
    out: &'a mut dyn Write,
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
    progress: &'a dyn Progress,
}

impl Pipe<'_> {
    fn take_buffer(&mut self) -> Vec<u8> {
        // the hasher only stops early if it panicked; a fresh buffer keeps the copy going
        let mut buf = self.empty.recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        buf
    }

    fn send(&mut self, buf: Vec<u8>) -> Result<()> {
        self.out.write_all(&buf).map_err(Error::Output)?;
        self.progress.advance(buf.len() as u64);
        self.full
            .send(buf)
            .map_err(|_| Error::WorkerGone("the image checksum thread"))
    }
}

/// Hashes the image as it streams by and hands the buffers back.
fn hash_stream(
    algorithm: jigsmith_checksum::Algorithm,
    verify: bool,
    full: &Receiver<Vec<u8>>,
    empty: &Sender<Vec<u8>>,
) -> Option<Digest> {
    let mut hasher = verify.then(|| Hasher::new(algorithm));
    for buf in full {
        if let Some(h) = hasher.as_mut() {
            h.update(&buf);
        }
        let _ = empty.send(buf);
    }
    hasher.map(Hasher::finalize)
}
