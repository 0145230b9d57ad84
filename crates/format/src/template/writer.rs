use std::io::Write;

use jigsmith_checksum::{Algorithm, Digest, Hasher, Rsync64};

use super::desc_table::encode_desc_entries;
use super::{Compression, DescEntry, TemplateHeader};
use crate::le;
use crate::{Error, Result};

/// What a finished template is, for the `.jigdo` file that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateSummary {
    /// Bytes written.
    pub template_len: u64,
    /// MD5 of the template file (`Template-MD5Sum`).
    pub template_md5: Digest,
    /// SHA-256 of the template file (`Template-SHA256Sum`).
    pub template_sha256: Digest,
    /// The image's length (sum of all entries).
    pub image_len: u64,
    /// How many matched-file entries it has.
    pub file_count: usize,
}

/// Configures a [`TemplateWriter`].
#[derive(Debug, Clone)]
pub struct TemplateWriterBuilder {
    algorithm: Algorithm,
    compression: Compression,
    level: u32,
    chunk_size: Option<usize>,
    creator: String,
    comment: String,
    rsync_block_len: u32,
}

impl Default for TemplateWriterBuilder {
    fn default() -> Self {
        TemplateWriterBuilder {
            algorithm: Algorithm::Md5,
            compression: Compression::Zlib,
            level: 9,
            chunk_size: None,
            creator: concat!("jigsmith/", env!("CARGO_PKG_VERSION")).to_string(),
            comment: "See jigdo-file(1) or https://www.einval.com/~steve/software/jigdo/ for details about jigdo".to_string(),
            rsync_block_len: 1024,
        }
    }
}

impl TemplateWriterBuilder {
    /// MD5 writes format 1.1; SHA-256 writes format 2.0. Others are refused by `build`.
    pub fn algorithm(mut self, a: Algorithm) -> Self {
        self.algorithm = a;
        self
    }

    /// Compression of data parts (zlib by default, as libjte).
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }

    /// Compression level, 1 (fast) ..= 9 (small, the default); for zstd,
    /// 9 is its level 19 and the others scale with it.
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.clamp(1, 9);
        self
    }

    /// Raw bytes per data part; libjte's 1 MiB (zlib) / 900 KiB (bzip2) by default.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// The creator word in the header line.
    pub fn creator(mut self, creator: impl Into<String>) -> Self {
        self.creator = creator.into().replace(['\r', '\n', ' '], "_");
        self
    }

    /// The comment line of the header.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into().replace(['\r', '\n'], " ");
        self
    }

    /// Block length recorded for rsync64 sums (1024, as every tool uses).
    pub fn rsync_block_len(mut self, n: u32) -> Self {
        self.rsync_block_len = n;
        self
    }

    /// Writes the header to `out` and returns the writer.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] for algorithms other than MD5/SHA-256;
    /// [`Error::Io`] if writing fails.
    pub fn build<W: Write>(self, out: W) -> Result<TemplateWriter<W>> {
        let version = match self.algorithm {
            Algorithm::Md5 => "1.1",
            Algorithm::Sha256 => "2.0",
            other => return Err(Error::UnsupportedVersion(format!("{other} templates"))),
        };
        let chunk_size = self.chunk_size.unwrap_or(match self.compression {
            Compression::Zlib => 1024 * 1024,
            Compression::Bzip2 => 900 * 1024,
            // Image metadata repeats across megabytes: on the corpus image, xz
            // data is 292 KB in 1 MiB parts and 232 KB in 16 MiB parts (bzip2:
            // 327 KB). A range read then decompresses up to 16 MiB once; the
            // readers' data cache keeps it.
            Compression::Xz | Compression::Zstd => 16 * 1024 * 1024,
        });
        let mut out = HashingWriter::new(out);
        let header = TemplateHeader {
            version: version.to_string(),
            creator: self.creator.clone(),
            comment: self.comment.clone(),
            len: 0,
        };
        out.write_all(&header.to_bytes())
            .map_err(Error::io("writing the template header"))?;
        Ok(TemplateWriter {
            out,
            config: self,
            chunk_size,
            pending: Vec::with_capacity(chunk_size),
            entries: Vec::new(),
            image_len: 0,
            file_count: 0,
        })
    }
}

/// Writes a template while an image streams past: unmatched bytes go in
/// through [`write_unmatched`](Self::write_unmatched), matched files are
/// recorded with [`add_file`](Self::add_file), in image order.
///
/// Memory use is one chunk of raw data plus the DESC table.
pub struct TemplateWriter<W: Write> {
    out: HashingWriter<W>,
    config: TemplateWriterBuilder,
    chunk_size: usize,
    pending: Vec<u8>,
    entries: Vec<DescEntry>,
    image_len: u64,
    file_count: usize,
}

impl TemplateWriter<Vec<u8>> {
    /// A builder with libjte's defaults (MD5, zlib, 1 MiB parts).
    pub fn builder() -> TemplateWriterBuilder {
        TemplateWriterBuilder::default()
    }
}

impl<W: Write> TemplateWriter<W> {
    /// Appends bytes that are stored in the template itself.
    ///
    /// # Errors
    /// [`Error::Io`] if writing a finished data part fails.
    pub fn write_unmatched(&mut self, mut bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let n = bytes.len() as u64;
        match self.entries.last_mut() {
            Some(DescEntry::Unmatched { len }) => *len += n,
            _ => self.entries.push(DescEntry::Unmatched { len: n }),
        }
        self.image_len += n;
        while !bytes.is_empty() {
            let room = self.chunk_size - self.pending.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = later;
            if self.pending.len() == self.chunk_size {
                self.flush_part()?;
            }
        }
        Ok(())
    }

    /// Records a matched file of `len` bytes at the current image position.
    ///
    /// # Errors
    /// [`Error::WriterAlgorithm`] if `digest` is not of the writer's algorithm.
    pub fn add_file(&mut self, len: u64, rsync64: Rsync64, digest: Digest) -> Result<()> {
        if digest.algorithm() != self.config.algorithm {
            return Err(Error::WriterAlgorithm {
                expected: self.config.algorithm,
                found: digest.algorithm(),
            });
        }
        self.entries.push(DescEntry::File {
            len,
            rsync64: Some(rsync64),
            digest,
            written: false,
        });
        self.image_len += len;
        self.file_count += 1;
        Ok(())
    }

    /// Image bytes accounted for so far.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// Writes the last data part and the DESC table; returns the output.
    ///
    /// `image_digest` is the digest of the whole image, which only the
    /// caller can know (matched files never pass through the writer).
    ///
    /// # Errors
    /// [`Error::WriterAlgorithm`], [`Error::TooLarge`] or [`Error::Io`].
    #[must_use = "the template is incomplete unless finish succeeds"]
    pub fn finish(mut self, image_digest: Digest) -> Result<(W, TemplateSummary)> {
        if image_digest.algorithm() != self.config.algorithm {
            return Err(Error::WriterAlgorithm {
                expected: self.config.algorithm,
                found: image_digest.algorithm(),
            });
        }
        if !self.pending.is_empty() {
            self.flush_part()?;
        }
        let info = DescEntry::ImageInfo {
            len: self.image_len,
            digest: image_digest,
            rsync_block_len: Some(self.config.rsync_block_len),
        };
        let desc = encode_desc_entries(self.entries.iter().chain([&info]))?;
        self.out
            .write_all(&desc)
            .map_err(Error::io("writing the template DESC table"))?;
        self.out
            .flush()
            .map_err(Error::io("writing the template DESC table"))?;
        let (inner, template_len, template_md5, template_sha256) = self.out.finish();
        Ok((
            inner,
            TemplateSummary {
                template_len,
                template_md5,
                template_sha256,
                image_len: self.image_len,
                file_count: self.file_count,
            },
        ))
    }

    fn flush_part(&mut self) -> Result<()> {
        let compressed = compress(self.config.compression, self.config.level, &self.pending)
            .map_err(Error::io("compressing template data"))?;
        let part_len = compressed.len() as u64 + 16;
        let mut hdr = Vec::with_capacity(16);
        hdr.extend_from_slice(self.config.compression.part_id());
        le::put_u48(&mut hdr, part_len);
        le::put_u48(&mut hdr, self.pending.len() as u64);
        self.out
            .write_all(&hdr)
            .and_then(|()| self.out.write_all(&compressed))
            .map_err(Error::io("writing a template data part"))?;
        self.pending.clear();
        Ok(())
    }
}

/// Compresses one part's raw bytes into a complete, independent stream, so
/// each part can be decompressed on its own (random access).
pub(crate) fn compress(c: Compression, level: u32, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    match c {
        Compression::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(
                Vec::with_capacity(raw.len() / 4),
                flate2::Compression::new(level),
            );
            e.write_all(raw)?;
            e.finish()
        }
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(
                Vec::with_capacity(raw.len() / 4),
                bzip2::Compression::new(level),
            );
            e.write_all(raw)?;
            e.finish()
        }
        Compression::Xz => {
            let preset = if level >= 9 {
                9 | liblzma::stream::PRESET_EXTREME
            } else {
                level
            };
            let mut e = liblzma::write::XzEncoder::new(Vec::with_capacity(raw.len() / 4), preset);
            e.write_all(raw)?;
            e.finish()
        }
        Compression::Zstd => {
            let zlevel = i32::try_from(level * 2 + 1).unwrap_or(19).min(19);
            let mut e =
                zstd::stream::write::Encoder::new(Vec::with_capacity(raw.len() / 4), zlevel)?;
            // zstd checks nothing by default; xz, bzip2 and zlib all carry a checksum
            e.include_checksum(true)?;
            e.set_pledged_src_size(Some(raw.len() as u64))?;
            e.write_all(raw)?;
            e.finish()
        }
    }
}

/// Counts and hashes what passes through, for the `.jigdo`'s Template-*Sum.
struct HashingWriter<W> {
    inner: W,
    len: u64,
    md5: Hasher,
    sha256: Hasher,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            len: 0,
            md5: Hasher::new(Algorithm::Md5),
            sha256: Hasher::new(Algorithm::Sha256),
        }
    }

    fn finish(self) -> (W, u64, Digest, Digest) {
        (
            self.inner,
            self.len,
            self.md5.finalize(),
            self.sha256.finalize(),
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or(&[]);
        self.md5.update(done);
        self.sha256.update(done);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
