use std::io::{self, BufReader, Read, Seek, SeekFrom, Take};
use std::sync::Arc;

use crate::{Error, Result};

/// How a data part is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// `DATA` parts: a zlib stream (RFC 1950, not gzip), as `-jigdo-template-compress gzip` writes.
    Zlib,
    /// `BZIP` parts: a bzip2 stream.
    Bzip2,
    /// `XZ__` parts: an xz stream (LZMA2). jigsmith's extension: the old
    /// tools cannot read these templates.
    Xz,
    /// `ZSTD` parts: a zstd frame. jigsmith's extension, like [`Compression::Xz`].
    Zstd,
}

impl Compression {
    /// The four-byte part id.
    pub fn part_id(self) -> &'static [u8; 4] {
        match self {
            Compression::Zlib => b"DATA",
            Compression::Bzip2 => b"BZIP",
            Compression::Xz => b"XZ__",
            Compression::Zstd => b"ZSTD",
        }
    }

    /// The compression of a part id, if it is one.
    pub fn from_part_id(id: &[u8]) -> Option<Compression> {
        [
            Compression::Zlib,
            Compression::Bzip2,
            Compression::Xz,
            Compression::Zstd,
        ]
        .into_iter()
        .find(|c| c.part_id() == id)
    }

    /// Whether jigdo-file, jigit-mkimage and libjte read it.
    pub fn is_classic(self) -> bool {
        matches!(self, Compression::Zlib | Compression::Bzip2)
    }

    /// The decompressor's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zlib => "zlib",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    /// `gzip` (or `zlib`), `bzip2`, `xz`, `zstd`: the names
    /// `-jigdo-template-compress` takes.
    fn from_str(s: &str) -> std::result::Result<Compression, String> {
        match s {
            "gzip" | "zlib" => Ok(Compression::Zlib),
            "bzip2" => Ok(Compression::Bzip2),
            "xz" => Ok(Compression::Xz),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!("{other:?}: use gzip, bzip2, xz or zstd")),
        }
    }
}

/// One compressed data part of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataPart {
    /// How it is compressed.
    pub compression: Compression,
    /// Where its 16-byte header starts in the template file.
    pub offset: u64,
    /// Compressed stream length (the part length minus its 16-byte header).
    pub compressed_len: u64,
    /// Bytes it decompresses to.
    pub raw_len: u64,
    /// Where its bytes start in the concatenation of all parts' raw data.
    pub raw_offset: u64,
}

impl DataPart {
    /// Where the compressed stream starts in the template file.
    pub fn stream_offset(&self) -> u64 {
        self.offset + 16
    }

    /// End of its bytes in the unmatched stream.
    pub fn raw_end(&self) -> u64 {
        self.raw_offset + self.raw_len
    }
}

enum Decoder<R: Read> {
    Zlib(flate2::read::ZlibDecoder<Take<R>>),
    Bzip2(bzip2::read::BzDecoder<Take<R>>),
    Xz(liblzma::read::XzDecoder<Take<R>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<Take<R>>>),
}

impl<R: Read> Decoder<R> {
    fn into_source(self) -> R {
        match self {
            Decoder::Zlib(d) => d.into_inner().into_inner(),
            Decoder::Bzip2(d) => d.into_inner().into_inner(),
            Decoder::Xz(d) => d.into_inner().into_inner(),
            Decoder::Zstd(d) => d.finish().into_inner().into_inner(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Zlib(d) => d.read(buf),
            Decoder::Bzip2(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

enum State<R: Read> {
    Idle(R),
    Decoding {
        /// Boxed: an xz decoder state is large, and the state is moved often.
        decoder: Box<Decoder<R>>,
        part: usize,
        /// Raw bytes of `part` not yet handed out.
        left: u64,
    },
    Poisoned,
}

/// Reads the unmatched bytes of a template (all data parts, decompressed and
/// concatenated) from any raw offset on, in bounded memory.
///
/// Each part's stream is checked to decompress to exactly the length its
/// header states; a corrupt or short part is an error, never silent zeros.
pub struct UnmatchedReader<R: Read> {
    parts: Arc<[DataPart]>,
    state: State<R>,
    /// Next part to open when idle.
    next_part: usize,
    /// Bytes to discard from the next part opened (seeking into it).
    skip: u64,
}

impl<R: Read + Seek> UnmatchedReader<R> {
    /// A reader positioned at `raw_offset` of the unmatched stream.
    ///
    /// `parts` must come from the same template as `source` (see
    /// [`crate::Template::shared_parts`]).
    pub fn new(source: R, parts: Arc<[DataPart]>, raw_offset: u64) -> Self {
        let next_part = parts.partition_point(|p| p.raw_end() <= raw_offset);
        let skip = parts
            .get(next_part)
            .map_or(0, |p| raw_offset.saturating_sub(p.raw_offset));
        UnmatchedReader {
            parts,
            state: State::Idle(source),
            next_part,
            skip,
        }
    }

    /// Fills `buf` completely with the next unmatched bytes.
    ///
    /// # Errors
    /// [`Error::CorruptPart`], [`Error::PartSizeMismatch`],
    /// [`Error::DataMismatch`] when the parts run out, [`Error::Io`].
    pub fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<()> {
        while !buf.is_empty() {
            let n = self.read_some(buf)?;
            buf = buf.get_mut(n..).unwrap_or(&mut []);
        }
        Ok(())
    }

    /// Skips `n` unmatched bytes (decompressing through them).
    ///
    /// # Errors
    /// As [`UnmatchedReader::read_exact`].
    pub fn skip(&mut self, mut n: u64) -> Result<()> {
        let mut scratch = vec![0u8; 64 * 1024];
        while n > 0 {
            let want = usize::try_from(n).unwrap_or(usize::MAX).min(scratch.len());
            let got = self.read_some(scratch.get_mut(..want).unwrap_or(&mut []))?;
            n -= got as u64;
        }
        Ok(())
    }

    /// Gives the underlying reader back.
    pub fn into_inner(self) -> Option<R> {
        match self.state {
            State::Idle(r) => Some(r),
            State::Decoding { decoder, .. } => Some((*decoder).into_source()),
            State::Poisoned => None,
        }
    }

    /// Reads at least one byte into a non-empty `buf`.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, State::Poisoned) {
                State::Poisoned => {
                    return Err(Error::Io {
                        context: "reading template data after an earlier error",
                        source: io::Error::other("reader is in a failed state"),
                    })
                }
                State::Idle(source) => {
                    self.state = self.open_next(source)?;
                }
                State::Decoding {
                    mut decoder,
                    part,
                    left,
                } => {
                    let info = self.part(part)?;
                    if left == 0 {
                        // the stream must end exactly here
                        let mut probe = [0u8; 1];
                        let extra = decoder.read(&mut probe).map_err(|e| corrupt(info, e))?;
                        if extra != 0 {
                            return Err(Error::PartSizeMismatch {
                                offset: info.offset,
                                expected: info.raw_len,
                                actual: info.raw_len + 1,
                            });
                        }
                        self.state = State::Idle((*decoder).into_source());
                        continue;
                    }
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let dst = buf.get_mut(..want).unwrap_or(&mut []);
                    let n = decoder.read(dst).map_err(|e| corrupt(info, e))?;
                    if n == 0 {
                        return Err(Error::PartSizeMismatch {
                            offset: info.offset,
                            expected: info.raw_len,
                            actual: info.raw_len - left,
                        });
                    }
                    self.state = State::Decoding {
                        decoder,
                        part,
                        left: left - n as u64,
                    };
                    if self.skip == 0 {
                        return Ok(n);
                    }
                    // still discarding the start of a part we seeked into
                    let drop = self.skip.min(n as u64);
                    self.skip -= drop;
                    if drop < n as u64 {
                        let keep = n - drop as usize;
                        buf.copy_within(drop as usize..n, 0);
                        return Ok(keep);
                    }
                }
            }
        }
    }

    fn part(&self, index: usize) -> Result<DataPart> {
        self.parts.get(index).copied().ok_or(Error::DataMismatch {
            needed: self.parts.last().map_or(0, DataPart::raw_end) + 1,
            available: self.parts.last().map_or(0, DataPart::raw_end),
        })
    }

    fn open_next(&mut self, mut source: R) -> Result<State<R>> {
        let index = self.next_part;
        let info = self.part(index)?;
        self.next_part += 1;
        source
            .seek(SeekFrom::Start(info.stream_offset()))
            .map_err(Error::io("seeking to a template data part"))?;
        let limited = source.take(info.compressed_len);
        let decoder = Box::new(match info.compression {
            Compression::Zlib => Decoder::Zlib(flate2::read::ZlibDecoder::new(limited)),
            Compression::Bzip2 => Decoder::Bzip2(bzip2::read::BzDecoder::new(limited)),
            Compression::Xz => Decoder::Xz(liblzma::read::XzDecoder::new(limited)),
            Compression::Zstd => Decoder::Zstd(
                zstd::stream::read::Decoder::new(limited)
                    .map(zstd::stream::read::Decoder::single_frame)
                    .map_err(|e| corrupt(info, e))?,
            ),
        });
        Ok(State::Decoding {
            decoder,
            part: index,
            left: info.raw_len,
        })
    }
}

fn corrupt(part: DataPart, source: io::Error) -> Error {
    Error::CorruptPart {
        kind: part.compression.name(),
        offset: part.offset,
        source,
    }
}
