use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use jigsmith_checksum::{Algorithm, Digest, Hasher, MultiHasher, Rsync64};
use jigsmith_format::{
    ChecksumList, ImageSection, Jigdo, PartEntry, TemplateSummary, TemplateWriter,
};
use jigsmith_iso::{FileExtent, ImageSink};

use crate::image_hash::ImageHashers;
use crate::{Error, JteConfig};

/// Block length of the rsync64 sum stored for each matched file.
const RSYNC_BLOCK: usize = 1024;

/// A checksum-list entry a file may turn out to be.
#[derive(Debug, Clone)]
struct ListEntry {
    digest: Digest,
    path: String,
}

/// What happens to the file being written.
enum Current {
    /// No file, or a file whose bytes simply go into the template.
    Unmatched,
    /// A file that may match a list entry: hashed, kept out of the template.
    Candidate {
        extent: FileExtent,
        entries: Vec<ListEntry>,
        hashers: MultiHasher,
        algorithms: Vec<Algorithm>,
        head: Vec<u8>,
    },
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
}

/// An [`ImageSink`] that writes the image and, in the same pass, its template
/// and `.jigdo`.
pub struct JteSink<I: Write, T: Write> {
    image: I,
    template: TemplateWriter<T>,
    config: JteConfig,
    /// Checksum-list entries by (size, basename), as libjte looks them up.
    index: HashMap<(u64, String), Vec<ListEntry>>,
    hashers: ImageHashers,
    current: Current,
    parts: Vec<PartEntry>,
    seen_parts: HashSet<(Digest, String)>,
    image_len: u64,
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
        Ok(JteSink {
            image,
            template: writer,
            hashers: ImageHashers::new(&image_algorithms),
            config,
            index,
            current: Current::Unmatched,
            parts: Vec::new(),
            seen_parts: HashSet::new(),
            image_len: 0,
        })
    }

    fn image_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.image.write_all(bytes).map_err(Error::WriteImage)?;
        self.hashers.update(bytes)?;
        self.image_len += bytes.len() as u64;
        Ok(())
    }

    fn forced_by(&self, path: &Path) -> Option<String> {
        let text = path.to_string_lossy();
        self.config
            .force
            .iter()
            .find(|r| r.is_match(&text))
            .map(|r| r.as_str().to_string())
    }

    fn classify(&self, extent: &FileExtent) -> Result<Current, Error> {
        if extent.size < self.config.min_file_size {
            return Ok(Current::Unmatched);
        }
        let text = extent.source.to_string_lossy();
        if self.config.exclude.iter().any(|r| r.is_match(&text)) {
            return Ok(Current::Unmatched);
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
                Ok(Current::Candidate {
                    extent: extent.clone(),
                    entries: entries.clone(),
                    hashers: MultiHasher::new(&algorithms),
                    algorithms,
                    head: Vec::with_capacity(RSYNC_BLOCK),
                })
            }
            None => match self.forced_by(&extent.source) {
                Some(pattern) => Err(Error::ForcedFileUnmatched {
                    path: extent.source.clone(),
                    pattern,
                    why: "no checksum-list entry has its size and name".into(),
                }),
                None => Ok(Current::Unmatched),
            },
        }
    }

    /// Decides a candidate once all its bytes were seen.
    fn settle(&mut self, current: Current) -> Result<(), Error> {
        let Current::Candidate {
            extent,
            entries,
            hashers,
            algorithms,
            head,
        } = current
        else {
            return Ok(());
        };
        let digests: Vec<Digest> = hashers.finalize();
        let of = |alg: Algorithm| {
            algorithms
                .iter()
                .position(|a| *a == alg)
                .and_then(|i| digests.get(i).copied())
        };
        let matched = entries
            .iter()
            .find(|e| of(e.digest.algorithm()) == Some(e.digest));
        if let (Some(entry), Some(digest)) = (matched, of(self.config.algorithm)) {
            self.template
                .add_file(extent.size, Rsync64::of(&head), digest)
                .map_err(Error::Template)?;
            let name = self.config.part_name(&entry.path);
            if self.seen_parts.insert((digest, name.clone())) {
                self.parts.push(PartEntry::new(digest, &name));
            }
            return Ok(());
        }
        if let Some(pattern) = self.forced_by(&extent.source) {
            return Err(Error::ForcedFileUnmatched {
                path: extent.source,
                pattern,
                why: "its checksum matches no checksum-list entry (corrupt?)".into(),
            });
        }
        // Not on the mirror after all: its bytes belong in the template. They
        // were not kept, so read the file again and make sure it is unchanged.
        self.copy_into_template(&extent, &digests, &algorithms)
    }

    fn copy_into_template(
        &mut self,
        extent: &FileExtent,
        want: &[Digest],
        algorithms: &[Algorithm],
    ) -> Result<(), Error> {
        let read_err = |source| Error::Read {
            path: extent.source.clone(),
            source,
        };
        let mut f = File::open(&extent.source).map_err(read_err)?;
        let mut again = MultiHasher::new(algorithms);
        let mut buf = vec![0u8; 1 << 20];
        let mut left = extent.size;
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(buf.len()).min(buf.len());
            let dst = buf.get_mut(..n).unwrap_or(&mut []);
            f.read_exact(dst).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    Error::SourceChanged {
                        path: extent.source.clone(),
                    }
                } else {
                    read_err(e)
                }
            })?;
            again.update(dst);
            self.template
                .write_unmatched(dst)
                .map_err(Error::Template)?;
            left -= n as u64;
        }
        if again.finalize() != want {
            return Err(Error::SourceChanged {
                path: extent.source.clone(),
            });
        }
        Ok(())
    }

    /// Writes the DESC table and returns the outputs and the `.jigdo`.
    ///
    /// # Errors
    /// [`Error::Template`], [`Error::WriteImage`], [`Error::HasherGone`].
    pub fn finish(mut self) -> Result<JteOutput<I, T>, Error> {
        let current = std::mem::replace(&mut self.current, Current::Unmatched);
        self.settle(current)?;
        self.image.flush().map_err(Error::WriteImage)?;
        let image_digests = self.hashers.finish()?;
        let image_digest = image_digests
            .iter()
            .find(|(a, _)| *a == self.config.algorithm)
            .map(|(_, d)| *d)
            .unwrap_or_else(|| Hasher::digest(self.config.algorithm, b""));
        let (template, summary) = self
            .template
            .finish(image_digest)
            .map_err(Error::Template)?;
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
        })
    }
}

impl<I: Write, T: Write> ImageSink for JteSink<I, T> {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.image_bytes(bytes)?;
        self.template
            .write_unmatched(bytes)
            .map_err(|e| Error::Template(e).into())
    }

    fn begin_file(&mut self, file: &FileExtent) -> io::Result<()> {
        let previous = std::mem::replace(&mut self.current, Current::Unmatched);
        self.settle(previous)?;
        self.current = self.classify(file)?;
        Ok(())
    }

    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.image_bytes(bytes)?;
        match &mut self.current {
            Current::Unmatched => self
                .template
                .write_unmatched(bytes)
                .map_err(|e| Error::Template(e).into()),
            Current::Candidate { hashers, head, .. } => {
                hashers.update(bytes);
                let room = RSYNC_BLOCK - head.len();
                head.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(&[]));
                Ok(())
            }
        }
    }

    fn end_file(&mut self) -> io::Result<()> {
        let current = std::mem::replace(&mut self.current, Current::Unmatched);
        Ok(self.settle(current)?)
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
        let err = feed(&mut sink, &fa, &a).unwrap_err();
        assert!(err.to_string().contains("a.deb"), "{err}");

        // and one that is not listed at all is refused before its data
        let mut sink =
            JteSink::new(Vec::new(), Vec::new(), config, &ChecksumList::default()).unwrap();
        sink.write_meta(&[0; 10]).unwrap();
        let err = sink.begin_file(&fa).unwrap_err();
        assert!(err.to_string().contains("no checksum-list entry"), "{err}");
    }
}
