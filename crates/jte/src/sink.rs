use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use jigsmith_checksum::{Algorithm, Digest, Rsync64};
use jigsmith_format::{
    ChecksumList, ImageSection, Jigdo, PartEntry, TemplateSummary, TemplateWriter,
};
use jigsmith_iso::{FileExtent, ImageSink};

use jigsmith_stream::Fill;

use crate::chunk::Slice;
use crate::file_check::{FileChecker, ToChecker};
use crate::image_hash::ImageHashers;
use crate::timing::{JteTimings, ThreadClock};
use crate::{Error, JteConfig};

/// Block length of the rsync64 sum stored for each matched file.
const RSYNC_BLOCK: usize = 1024;

/// A checksum-list entry a file may turn out to be.
#[derive(Debug, Clone)]
struct ListEntry {
    digest: Digest,
    path: String,
}

/// A file that may match a list entry, waiting for its checksums.
struct Candidate {
    id: u64,
    extent: FileExtent,
    entries: Vec<ListEntry>,
    algorithms: Vec<Algorithm>,
    /// Its bytes, for the template if it matches no entry after all.
    pieces: Vec<Slice>,
}

/// What a stretch of the chunk being filled is.
enum Region {
    /// Bytes for the template as they are.
    Template(Range<usize>),
    /// A candidate file starts here.
    Begin(Box<Candidate>),
    /// Bytes of candidate `id`.
    File { id: u64, range: Range<usize> },
}

/// Template work in image order, held back while a candidate ahead of it
/// waits for its verdict.
enum Pending {
    Template(Slice),
    Candidate(Box<Candidate>),
}

/// Everything an export produced.
pub struct JteOutput<I, T> {
    /// The image writer, flushed.
    pub image: I,
    /// The template writer, finished.
    pub template: T,
    /// The `.jigdo` contents, ready to be written.
    pub jigdo: Jigdo,
    /// Template size and checksums.
    pub summary: TemplateSummary,
    /// The image digests asked for, plus the template algorithm's.
    pub image_digests: Vec<(Algorithm, Digest)>,
    /// The image length.
    pub image_len: u64,
    /// Where the time went.
    pub timings: JteTimings,
}

/// An [`ImageSink`] that writes the image and, in the same pass, its template
/// and `.jigdo`.
///
/// Image bytes are gathered into shared chunks; each chunk is written to the
/// image, hashed by one thread per image algorithm and, for the bytes of
/// candidate files, by the file checker thread. Template work waits in image
/// order for the verdicts on the files ahead of it.
pub struct JteSink<I: Write, T: Write> {
    image: I,
    template: TemplateWriter<T>,
    config: JteConfig,
    /// Checksum-list entries by (size, basename), as libjte looks them up.
    index: HashMap<(u64, String), Vec<ListEntry>>,
    /// The chunk being filled, and what its bytes are.
    chunk: Fill,
    regions: Vec<Region>,
    /// The candidate whose data is being written.
    current: Option<u64>,
    next_id: u64,
    hashers: ImageHashers,
    checker: FileChecker,
    queue: VecDeque<Pending>,
    verdicts: HashMap<u64, Vec<Digest>>,
    parts: Vec<PartEntry>,
    seen_parts: HashSet<(Digest, String)>,
    image_len: u64,
    clock: ThreadClock,
    timings: JteTimings,
}

impl<I: Write, T: Write> JteSink<I, T> {
    /// Starts an export: `image` receives the ISO, `template` the `.template`.
    ///
    /// # Errors
    /// [`Error::Template`] if the template header cannot be written.
    pub fn new(
        image: I,
        template: T,
        config: JteConfig,
        list: &ChecksumList,
    ) -> Result<Self, Error> {
        let clock = ThreadClock::start();
        let writer = TemplateWriter::builder()
            .algorithm(config.algorithm)
            .compression(config.compression)
            .creator(concat!("jigsmith-", env!("CARGO_PKG_VERSION")))
            .build(template)
            .map_err(Error::Template)?;
        let mut index: HashMap<(u64, String), Vec<ListEntry>> = HashMap::new();
        for e in &list.entries {
            let path = e.path_lossy().into_owned();
            let base = basename(&path).to_string();
            if let Some(size) = e.size {
                index.entry((size, base)).or_default().push(ListEntry {
                    digest: e.digest,
                    path,
                });
            }
        }
        let mut image_algorithms = config.image_algorithms.clone();
        if !image_algorithms.contains(&config.algorithm) {
            image_algorithms.push(config.algorithm);
        }
        let hashers = ImageHashers::new(&image_algorithms);
        Ok(JteSink {
            image,
            template: writer,
            chunk: hashers.take(),
            hashers,
            checker: FileChecker::new(),
            config,
            index,
            regions: Vec::new(),
            current: None,
            next_id: 0,
            queue: VecDeque::new(),
            verdicts: HashMap::new(),
            parts: Vec::new(),
            seen_parts: HashSet::new(),
            image_len: 0,
            clock,
            timings: JteTimings::default(),
        })
    }

    /// Appends image bytes to the chunk; `file` is the candidate they belong to.
    fn push(&mut self, mut bytes: &[u8], file: Option<u64>) -> Result<(), Error> {
        while !bytes.is_empty() {
            let start = self.chunk.len();
            let n = self.chunk.extend(bytes);
            self.image_len += n as u64;
            self.note(start..start + n, file);
            bytes = bytes.get(n..).unwrap_or_default();
            if self.chunk.room() == 0 {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn note(&mut self, range: Range<usize>, file: Option<u64>) {
        match (self.regions.last_mut(), file) {
            (Some(Region::Template(r)), None) if r.end == range.start => r.end = range.end,
            (Some(Region::File { id, range: r }), Some(f)) if *id == f && r.end == range.start => {
                r.end = range.end;
            }
            (_, None) => self.regions.push(Region::Template(range)),
            (_, Some(id)) => self.regions.push(Region::File { id, range }),
        }
    }

    /// Hands the filled chunk to the image, the hashers, the checker and the
    /// template.
    fn flush(&mut self) -> Result<(), Error> {
        let fill = std::mem::replace(&mut self.chunk, self.hashers.take());
        let offset = self.image_len - fill.len() as u64;
        // hashers first: they work while the image is written
        let t = Instant::now();
        let chunk = self.hashers.send(fill, offset)?;
        self.timings.waiting += t.elapsed();
        let t = Instant::now();
        self.image.write_all(&chunk).map_err(Error::WriteImage)?;
        self.timings.image_write += t.elapsed();
        let mut batch = Vec::new();
        let mut regions = std::mem::take(&mut self.regions);
        for region in regions.drain(..) {
            match region {
                Region::Template(range) if self.queue.is_empty() => {
                    let t = Instant::now();
                    self.template
                        .write_unmatched(chunk.get(range).unwrap_or_default())
                        .map_err(Error::Template)?;
                    self.timings.template += t.elapsed();
                }
                Region::Template(range) => {
                    let merged = match self.queue.back_mut() {
                        Some(Pending::Template(s)) => s.extend_within(&chunk, &range),
                        _ => false,
                    };
                    if !merged {
                        self.queue
                            .push_back(Pending::Template(Slice::new(&chunk, range)));
                    }
                }
                Region::Begin(c) => {
                    batch.push(ToChecker::Begin {
                        id: c.id,
                        size: c.extent.size,
                        algorithms: c.algorithms.clone(),
                    });
                    self.queue.push_back(Pending::Candidate(c));
                }
                Region::File { id, range } => {
                    let slice = Slice::new(&chunk, range);
                    let owner = self.queue.iter_mut().rev().find_map(|p| match p {
                        Pending::Candidate(c) if c.id == id => Some(c),
                        _ => None,
                    });
                    if let Some(c) = owner {
                        c.pieces.push(slice.clone());
                    }
                    batch.push(ToChecker::Data { id, slice });
                }
            }
        }
        self.regions = regions;
        if !batch.is_empty() {
            let t = Instant::now();
            self.checker.send(batch)?;
            self.timings.waiting += t.elapsed();
        }
        while let Some(v) = self.checker.try_verdict()? {
            self.verdicts.insert(v.id, v.digests);
        }
        self.advance()
    }

    /// Does the template work whose verdicts are in, in image order.
    fn advance(&mut self) -> Result<(), Error> {
        loop {
            let ready = match self.queue.front() {
                None => return Ok(()),
                Some(Pending::Template(_)) => true,
                Some(Pending::Candidate(c)) => self.verdicts.contains_key(&c.id),
            };
            if !ready {
                return Ok(());
            }
            let t = Instant::now();
            match self.queue.pop_front() {
                Some(Pending::Template(s)) => self
                    .template
                    .write_unmatched(s.bytes())
                    .map_err(Error::Template)?,
                Some(Pending::Candidate(c)) => {
                    let digests = self.verdicts.remove(&c.id).unwrap_or_default();
                    self.settle(*c, &digests)?;
                }
                None => {}
            }
            self.timings.template += t.elapsed();
        }
    }

    fn forced_by(&self, path: &Path) -> Option<String> {
        let text = path.to_string_lossy();
        self.config
            .force
            .iter()
            .find(|r| r.is_match(&text))
            .map(|r| r.as_str().to_string())
    }

    /// A candidate for the checker, or `None` if the file's bytes simply go
    /// into the template.
    fn classify(&self, extent: &FileExtent) -> Result<Option<Candidate>, Error> {
        if extent.size < self.config.min_file_size {
            return Ok(None);
        }
        let text = extent.source.to_string_lossy();
        if self.config.exclude.iter().any(|r| r.is_match(&text)) {
            return Ok(None);
        }
        let base = extent
            .source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match self.index.get(&(extent.size, base)) {
            Some(entries) => {
                let mut algorithms: Vec<Algorithm> =
                    entries.iter().map(|e| e.digest.algorithm()).collect();
                algorithms.push(self.config.algorithm);
                algorithms.sort();
                algorithms.dedup();
                Ok(Some(Candidate {
                    id: self.next_id,
                    extent: extent.clone(),
                    entries: entries.clone(),
                    algorithms,
                    pieces: Vec::new(),
                }))
            }
            None => match self.forced_by(&extent.source) {
                Some(pattern) => Err(Error::ForcedFileUnmatched {
                    path: extent.source.clone(),
                    pattern,
                    why: "no checksum-list entry has its size and name".into(),
                }),
                None => Ok(None),
            },
        }
    }

    /// Decides a candidate once its checksums are known.
    fn settle(&mut self, c: Candidate, digests: &[Digest]) -> Result<(), Error> {
        let of = |alg: Algorithm| {
            c.algorithms
                .iter()
                .position(|a| *a == alg)
                .and_then(|i| digests.get(i).copied())
        };
        let matched = c
            .entries
            .iter()
            .find(|e| of(e.digest.algorithm()) == Some(e.digest));
        if let (Some(entry), Some(digest)) = (matched, of(self.config.algorithm)) {
            let mut head = Vec::with_capacity(RSYNC_BLOCK);
            for piece in &c.pieces {
                let room = RSYNC_BLOCK - head.len();
                let bytes = piece.bytes();
                head.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
                if head.len() == RSYNC_BLOCK {
                    break;
                }
            }
            self.template
                .add_file(c.extent.size, Rsync64::of(&head), digest)
                .map_err(Error::Template)?;
            let name = self.config.part_name(&entry.path);
            if self.seen_parts.insert((digest, name.clone())) {
                self.parts.push(PartEntry::new(digest, &name));
            }
            return Ok(());
        }
        if let Some(pattern) = self.forced_by(&c.extent.source) {
            return Err(Error::ForcedFileUnmatched {
                path: c.extent.source,
                pattern,
                why: "its checksum matches no checksum-list entry (corrupt?)".into(),
            });
        }
        // Not on the mirror after all: its bytes, as written to the image,
        // belong in the template.
        for piece in &c.pieces {
            self.template
                .write_unmatched(piece.bytes())
                .map_err(Error::Template)?;
        }
        Ok(())
    }

    /// Writes the DESC table and returns the outputs and the `.jigdo`.
    ///
    /// # Errors
    /// [`Error::Template`], [`Error::WriteImage`], [`Error::HasherGone`],
    /// [`Error::ForcedFileUnmatched`] for a forced file whose checksum
    /// matched no entry.
    pub fn finish(mut self) -> Result<JteOutput<I, T>, Error> {
        self.current = None;
        if !self.chunk.is_empty() || !self.regions.is_empty() {
            self.flush()?;
        }
        self.checker.close();
        self.advance()?;
        while !self.queue.is_empty() {
            let t = Instant::now();
            let v = self.checker.verdict()?;
            self.timings.waiting += t.elapsed();
            self.verdicts.insert(v.id, v.digests);
            self.advance()?;
        }
        self.image.flush().map_err(Error::WriteImage)?;
        let checked = self.checker.finish()?;
        let hashed = self.hashers.finish()?;
        let image_digests: Vec<(Algorithm, Digest)> =
            hashed.iter().map(|(a, d, _)| (*a, *d)).collect();
        let image_digest = image_digests
            .iter()
            .find(|(a, _)| *a == self.config.algorithm)
            .map(|(_, d)| *d)
            // `new` always hashes the template algorithm: never the empty digest
            .ok_or(Error::HasherGone)?;
        let t = Instant::now();
        let (template, summary) = self
            .template
            .finish(image_digest)
            .map_err(Error::Template)?;
        let mut timings = self.timings;
        timings.template += t.elapsed();
        timings.writer = self.clock.elapsed();
        timings.image_hash = hashed.iter().map(|(a, _, cpu)| (*a, *cpu)).collect();
        timings.file_checks = checked.cpu;
        timings.files_checked = checked.files;
        timings.bytes_checked = checked.bytes;
        let jigdo = make_jigdo(
            &self.config,
            &self.parts,
            self.image_len,
            &summary,
            &image_digests,
        );
        Ok(JteOutput {
            image: self.image,
            template,
            jigdo,
            summary,
            image_digests: image_digests
                .into_iter()
                .filter(|(a, _)| self.config.image_algorithms.contains(a))
                .collect(),
            image_len: self.image_len,
            timings,
        })
    }
}

impl<I: Write, T: Write> ImageSink for JteSink<I, T> {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        Ok(self.push(bytes, None)?)
    }

    fn begin_file(&mut self, file: &FileExtent) -> io::Result<()> {
        self.current = None;
        if let Some(c) = self.classify(file)? {
            self.current = Some(c.id);
            self.next_id += 1;
            self.regions.push(Region::Begin(Box::new(c)));
        }
        Ok(())
    }

    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        Ok(self.push(bytes, self.current)?)
    }

    fn end_file(&mut self) -> io::Result<()> {
        self.current = None;
        Ok(())
    }
}

/// The `.jigdo` for a finished export, with libjte's informational comments.
fn make_jigdo(
    config: &JteConfig,
    parts: &[PartEntry],
    image_len: u64,
    summary: &TemplateSummary,
    image_digests: &[(Algorithm, Digest)],
) -> Jigdo {
    let sha = config.algorithm == Algorithm::Sha256;
    let mut comments = Vec::new();
    for alg in &config.template_algorithms {
        let d = match alg {
            Algorithm::Md5 => Some(summary.template_md5),
            Algorithm::Sha256 => Some(summary.template_sha256),
            _ => None,
        };
        if let Some(d) = d {
            comments.push(format!(
                "Template Hex {}Sum {}",
                alg.jigdo_name(),
                d.to_hex()
            ));
        }
    }
    comments.push(format!("Template size {} bytes", summary.template_len));
    for (alg, d) in image_digests {
        if config.image_algorithms.contains(alg) {
            comments.push(format!("Image Hex {}Sum {}", alg.jigdo_name(), d.to_hex()));
        }
    }
    comments.push(format!("Image size {} bytes", image_len));
    Jigdo {
        version: if sha { "2.0" } else { "1.1" }.into(),
        generator: Some(concat!("jigsmith-", env!("CARGO_PKG_VERSION")).into()),
        image: Some(ImageSection {
            filename: config.image_name.clone(),
            template: config.template_name.clone(),
            template_md5: (!sha).then_some(summary.template_md5),
            template_sha256: sha.then_some(summary.template_sha256),
            short_info: None,
            info: None,
            comments,
        }),
        parts: parts.to_vec(),
        servers: Vec::new(),
        includes: Vec::new(),
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jigsmith_checksum::Hasher;
    use jigsmith_format::{ChecksumListEntry, Compression, Template};

    struct Tree {
        dir: tempfile::TempDir,
    }

    impl Tree {
        fn file(&self, name: &str, bytes: &[u8]) -> FileExtent {
            let source = self.dir.path().join(name);
            std::fs::write(&source, bytes).unwrap();
            FileExtent {
                source,
                image_path: format!("/{name}"),
                size: bytes.len() as u64,
                offset: 0,
            }
        }
    }

    fn entry(path: &std::path::Path, bytes: &[u8]) -> ChecksumListEntry {
        ChecksumListEntry {
            digest: Hasher::digest(Algorithm::Md5, bytes),
            size: Some(bytes.len() as u64),
            path: path.to_string_lossy().into_owned().into_bytes(),
        }
    }

    fn feed(sink: &mut JteSink<Vec<u8>, Vec<u8>>, f: &FileExtent, bytes: &[u8]) -> io::Result<()> {
        sink.write_meta(&[7; 100])?;
        sink.begin_file(f)?;
        for chunk in bytes.chunks(999) {
            sink.write_file_data(chunk)?;
        }
        sink.end_file()
    }

    #[test]
    fn listed_file_becomes_a_part_and_others_stay() {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        let a: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let b = vec![3u8; 3000];
        let fa = tree.file("a.deb", &a);
        let fb = tree.file("b.deb", &b);
        let mut list = ChecksumList::default();
        list.entries.push(entry(&fa.source, &a));
        // b is listed with a wrong checksum: it must stay in the template
        list.entries.push(entry(&fb.source, &a[..3000]));
        let mut config = JteConfig::new(Algorithm::Md5, Compression::Zlib);
        config.maps.push(crate::PathMap {
            to: "Deb".into(),
            from: format!("{}/", tree.dir.path().display()),
        });
        let mut sink = JteSink::new(Vec::new(), Vec::new(), config, &list).unwrap();
        feed(&mut sink, &fa, &a).unwrap();
        feed(&mut sink, &fb, &b).unwrap();
        let out = sink.finish().unwrap();
        assert_eq!(out.jigdo.parts.len(), 1);
        assert_eq!(out.jigdo.parts[0].locations()[0], "Deb:a.deb");
        let image = [&[7u8; 100][..], &a, &[7u8; 100], &b].concat();
        assert_eq!(out.image, image);
        let t = Template::read(&mut std::io::Cursor::new(&out.template)).unwrap();
        assert_eq!(t.image_len(), image.len() as u64);
        assert_eq!(t.image_digest(), Hasher::digest(Algorithm::Md5, &image));
        assert_eq!(t.files().count(), 1);
        let raw: u64 = t.parts().iter().map(|p| p.raw_len).sum();
        assert_eq!(raw, 200 + b.len() as u64);
    }

    #[test]
    fn forced_file_that_does_not_match_stops_the_export() {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        let a = vec![1u8; 4096];
        let fa = tree.file("a.deb", &a);
        let mut list = ChecksumList::default();
        list.entries.push(entry(&fa.source, &[2u8; 4096]));
        let mut config = JteConfig::new(Algorithm::Md5, Compression::Zlib);
        config.force = JteConfig::patterns(&["a\\.deb".into()]).unwrap();
        let mut sink = JteSink::new(Vec::new(), Vec::new(), config.clone(), &list).unwrap();
        // the checksum is known once the checker is through: at the latest in finish
        let err = match feed(&mut sink, &fa, &a) {
            Err(e) => e.to_string(),
            Ok(()) => sink.finish().err().unwrap().to_string(),
        };
        assert!(err.contains("a.deb") && err.contains("corrupt"), "{err}");

        // and one that is not listed at all is refused before its data
        let mut sink =
            JteSink::new(Vec::new(), Vec::new(), config, &ChecksumList::default()).unwrap();
        sink.write_meta(&[0; 10]).unwrap();
        let err = sink.begin_file(&fa).unwrap_err();
        assert!(err.to_string().contains("no checksum-list entry"), "{err}");
    }

    /// Rebuilds the image from the template, the unmatched data and `files`
    /// (by digest), checking each file's rsync64.
    fn rebuild(template: &[u8], files: &HashMap<Digest, Vec<u8>>) -> Vec<u8> {
        let t = Template::read(&mut std::io::Cursor::new(template)).unwrap();
        let mut image = Vec::new();
        for item in t.items() {
            match item.kind {
                jigsmith_format::ItemKind::Unmatched { data_offset } => {
                    let mut r = jigsmith_format::UnmatchedReader::new(
                        std::io::Cursor::new(template),
                        t.shared_parts(),
                        data_offset,
                    );
                    let mut buf = vec![0u8; item.len as usize];
                    r.read_exact(&mut buf).unwrap();
                    image.extend_from_slice(&buf);
                }
                jigsmith_format::ItemKind::File { digest, rsync64 } => {
                    let bytes = &files[&digest];
                    assert_eq!(bytes.len() as u64, item.len);
                    let head = &bytes[..bytes.len().min(RSYNC_BLOCK)];
                    assert_eq!(rsync64, Some(Rsync64::of(head)));
                    image.extend_from_slice(bytes);
                }
            }
        }
        assert_eq!(t.image_digest(), Hasher::digest(Algorithm::Md5, &image));
        image
    }

    #[test]
    fn many_files_of_every_size_in_image_order() {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        // more files than lanes, files split between chunks, one bigger
        // than the checker's window, empty and tiny ones, wrong list entries
        let mut sizes = vec![0usize, 100, 1023, 1024, 1025, 5000, 65_543];
        sizes.extend([3 << 20, 2 << 20, (2 << 20) + 1, 40 << 20, 777]);
        sizes.extend((0..40).map(|i| 2000 + i * 7919));
        let mut list = ChecksumList::default();
        let mut files = HashMap::new();
        let mut want_image = Vec::new();
        let mut want_parts = Vec::new();
        let mut extents = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let bytes: Vec<u8> = (0..size)
                .map(|j| ((j as u64).wrapping_mul(2_654_435_761) >> (i % 7)) as u8 ^ i as u8)
                .collect();
            let name = format!("f{i}.deb");
            let fe = tree.file(&name, &bytes);
            let listed_right = i % 5 != 3;
            let digest = Hasher::digest(Algorithm::Md5, &bytes);
            let listed = if listed_right {
                entry(&fe.source, &bytes)
            } else {
                let mut wrong = bytes.clone();
                if let Some(b) = wrong.first_mut() {
                    *b ^= 1;
                }
                entry(&fe.source, &wrong)
            };
            list.entries.push(listed);
            if listed_right && size >= 1024 {
                want_parts.push(format!("Deb:{name}"));
            }
            files.insert(digest, bytes.clone());
            extents.push((fe, bytes));
        }
        let mut config = JteConfig::new(Algorithm::Md5, Compression::Zlib);
        config.maps.push(crate::PathMap {
            to: "Deb".into(),
            from: format!("{}/", tree.dir.path().display()),
        });
        let mut sink = JteSink::new(Vec::new(), Vec::new(), config, &list).unwrap();
        for (i, (fe, bytes)) in extents.iter().enumerate() {
            let meta = vec![i as u8; 100 + i * 37];
            sink.write_meta(&meta).unwrap();
            want_image.extend_from_slice(&meta);
            sink.begin_file(fe).unwrap();
            for chunk in bytes.chunks(65_536 + i) {
                sink.write_file_data(chunk).unwrap();
            }
            sink.end_file().unwrap();
            want_image.extend_from_slice(bytes);
        }
        sink.write_meta(&[9; 2048]).unwrap();
        want_image.extend_from_slice(&[9; 2048]);
        let out = sink.finish().unwrap();
        assert_eq!(out.image_len, want_image.len() as u64);
        assert!(out.image == want_image, "image differs");
        let parts: Vec<String> = out
            .jigdo
            .parts
            .iter()
            .map(|p| p.locations()[0].to_string())
            .collect();
        assert_eq!(parts, want_parts);
        assert!(
            rebuild(&out.template, &files) == want_image,
            "rebuilt image differs"
        );
        let md5 = out
            .image_digests
            .iter()
            .find(|(a, _)| *a == Algorithm::Md5)
            .unwrap();
        assert_eq!(md5.1, Hasher::digest(Algorithm::Md5, &want_image));
        assert_eq!(out.image_digests.len(), 4);
        assert!(out.timings.files_checked >= want_parts.len() as u64);
    }

    #[test]
    fn sha256_lists_are_checked_too() {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        let a = vec![5u8; 3 << 20];
        let fa = tree.file("a.deb", &a);
        let mut list = ChecksumList::default();
        list.entries.push(ChecksumListEntry {
            digest: Hasher::digest(Algorithm::Sha256, &a),
            size: Some(a.len() as u64),
            path: fa.source.to_string_lossy().into_owned().into_bytes(),
        });
        let config = JteConfig::new(Algorithm::Sha256, Compression::Zlib);
        let mut sink = JteSink::new(Vec::new(), Vec::new(), config, &list).unwrap();
        feed(&mut sink, &fa, &a).unwrap();
        let out = sink.finish().unwrap();
        assert_eq!(out.jigdo.parts.len(), 1);
        assert_eq!(
            out.jigdo.parts[0].digest,
            Hasher::digest(Algorithm::Sha256, &a)
        );
    }
}
