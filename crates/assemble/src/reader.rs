use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use jigsmith_format::{ItemKind, Template, UnmatchedReader};

use crate::{Assembler, Error, Resolver, Result};

/// Within this distance, moving forward in template data decompresses
/// through the gap instead of restarting at the part boundary.
const SKIP_AHEAD: u64 = 4 << 20;

/// A matched file being read.
struct OpenFile {
    item: usize,
    handle: File,
    pos: u64,
    path: PathBuf,
}

/// `Read + Seek` over an image that exists only as template + parts.
///
/// Reading at any offset touches only what holds those bytes: a binary
/// search finds the item, a matched file is opened and seeked, template
/// data is decompressed from the start of the data part that holds it.
/// Sequential reads reuse the open file and the running decompressor.
///
/// With verification on, each file is hashed in full the first time it is
/// used, so no unverified byte is ever returned.
pub struct ImageReader {
    template: Arc<Template>,
    template_path: PathBuf,
    resolver: Arc<Resolver>,
    verify: bool,
    pos: u64,
    /// Decompressor and the raw offset it will produce next.
    data: Option<(u64, UnmatchedReader<File>)>,
    /// Open matched file: item index, handle, its read position.
    file: Option<OpenFile>,
}

impl ImageReader {
    pub(crate) fn new(asm: &Assembler) -> Result<Self> {
        Ok(ImageReader {
            template: Arc::clone(asm.template()),
            template_path: asm.template_path().to_path_buf(),
            resolver: Arc::clone(asm.resolver()),
            verify: asm.verifies(),
            pos: 0,
            data: None,
            file: None,
        })
    }

    /// The image's length.
    pub fn len(&self) -> u64 {
        self.template.image_len()
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves to `pos` (past the end reads nothing).
    pub fn set_position(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Reads at the current position, with typed errors.
    ///
    /// # Errors
    /// [`Error::Missing`] if a file needed here has no usable (verified)
    /// candidate, [`Error::SizeMismatch`] if it shrank, template and I/O errors.
    pub fn read_checked(&mut self, buf: &mut [u8]) -> Result<usize> {
        let Some(index) = self.template.item_at(self.pos) else {
            return Ok(0);
        };
        let Some(item) = self.template.items().get(index).copied() else {
            return Ok(0);
        };
        let within = self.pos - item.offset;
        let n = usize::try_from(item.len - within)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let dst = buf.get_mut(..n).unwrap_or(&mut []);
        let got = match item.kind {
            ItemKind::Unmatched { data_offset } => {
                self.read_data(data_offset + within, dst)?;
                n
            }
            ItemKind::File { digest, .. } => {
                if self.file.as_ref().is_none_or(|f| f.item != index) {
                    let path = if self.verify {
                        self.resolver.verified(&digest, item.len)?
                    } else {
                        self.resolver.first_usable(&digest, item.len)?
                    };
                    let f = File::open(&path).map_err(|source| Error::Io {
                        action: "opening",
                        path: path.clone(),
                        source,
                    })?;
                    self.file = Some(OpenFile {
                        item: index,
                        handle: f,
                        pos: 0,
                        path,
                    });
                }
                let Some(open) = self.file.as_mut() else {
                    return Ok(0);
                };
                let io_err = |source| Error::Io {
                    action: "reading",
                    path: open.path.clone(),
                    source,
                };
                if open.pos != within {
                    open.handle.seek(SeekFrom::Start(within)).map_err(io_err)?;
                    open.pos = within;
                }
                let got = open.handle.read(dst).map_err(io_err)?;
                if got == 0 && n > 0 {
                    return Err(Error::SizeMismatch {
                        path: open.path.clone(),
                        expected: item.len,
                        actual: within,
                    });
                }
                open.pos += got as u64;
                got
            }
        };
        self.pos += got as u64;
        Ok(got)
    }

    fn read_data(&mut self, raw: u64, dst: &mut [u8]) -> Result<()> {
        let template_err = |path: &PathBuf| {
            let path = path.clone();
            move |source| Error::Template { path, source }
        };
        let reusable = matches!(&self.data, Some((at, _)) if *at <= raw && raw - *at <= SKIP_AHEAD);
        if !reusable {
            let f = File::open(&self.template_path).map_err(|source| Error::Io {
                action: "opening",
                path: self.template_path.clone(),
                source,
            })?;
            self.data = Some((
                raw,
                UnmatchedReader::new(f, self.template.shared_parts(), raw),
            ));
        }
        let path = self.template_path.clone();
        if let Some((at, reader)) = self.data.as_mut() {
            let result = reader.skip(raw - *at).and_then(|()| reader.read_exact(dst));
            if let Err(e) = result {
                self.data = None;
                return Err(template_err(&path)(e));
            }
            *at = raw + dst.len() as u64;
        }
        Ok(())
    }
}

impl Read for ImageReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_checked(buf).map_err(io::Error::other)
    }
}

impl Seek for ImageReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the image",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}
