//! Generated images: random unmatched runs and files, their template, and the files on disk.

use std::path::PathBuf;
use std::sync::Arc;

use jigsmith_assemble::{Assembler, LocalSources};
use jigsmith_checksum::{Algorithm, Digest, Hasher, Rsync64};
use jigsmith_format::{Compression, Template, TemplateWriter};
use tempfile::TempDir;

pub struct Fixture {
    pub dir: TempDir,
    pub image: Vec<u8>,
    pub files: Vec<PathBuf>,
    pub digests: Vec<Digest>,
    pub template: Arc<Template>,
    pub sources: LocalSources,
}

/// Deterministic bytes (xorshift), some runs of zeros to exercise compression.
fn bytes(seed: &mut u64, n: usize) -> Vec<u8> {
    let zeros = *seed % 3 == 0;
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            if zeros {
                0
            } else {
                *seed as u8
            }
        })
        .collect()
}

impl Fixture {
    pub fn new(alg: Algorithm, c: Compression, seed: u64) -> Fixture {
        Self::build(alg, c, seed, false)
    }

    pub fn with_wrong_image_digest() -> Fixture {
        Self::build(Algorithm::Md5, Compression::Zlib, 9, true)
    }

    /// An image of `count` files whose sizes cycle through MD5 block
    /// boundaries and the checker's read size, so files start and end at
    /// every point of each other's progress.
    pub fn many(alg: Algorithm, count: usize) -> Fixture {
        const CYCLE: [usize; 11] = [1, 63, 64, 65, 1000, 4096, 70_000, 300_001, 55, 56, 1 << 20];
        let sizes: Vec<usize> = (0..count).map(|i| CYCLE[i % CYCLE.len()] + i).collect();
        Self::build_with(alg, Compression::Zlib, count as u64, &sizes, false)
    }

    fn build(alg: Algorithm, c: Compression, seed: u64, wrong_digest: bool) -> Fixture {
        // sizes around the sector and rsync block boundaries
        let sizes = [0usize, 1023, 1024, 1025, 2048, 70000, 5];
        Self::build_with(alg, c, seed, &sizes, wrong_digest)
    }

    fn build_with(
        alg: Algorithm,
        c: Compression,
        seed: u64,
        sizes: &[usize],
        wrong_digest: bool,
    ) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        let mut w = TemplateWriter::builder()
            .algorithm(alg)
            .compression(c)
            .chunk_size(7000)
            .build(Vec::new())
            .unwrap();
        let mut image = Vec::new();
        let mut files = Vec::new();
        let mut digests = Vec::new();
        let mut sources = LocalSources::new();
        for (i, size) in sizes.iter().enumerate() {
            let n = 100 + (rng % 5000) as usize;
            let raw = bytes(&mut rng, n);
            w.write_unmatched(&raw).unwrap();
            image.extend_from_slice(&raw);
            let content = bytes(&mut rng, *size);
            let digest = Hasher::digest(alg, &content);
            let path = dir.path().join(format!("file {i} #=.bin"));
            std::fs::write(&path, &content).unwrap();
            w.add_file(
                content.len() as u64,
                Rsync64::of(&content[..content.len().min(1024)]),
                digest,
            )
            .unwrap();
            image.extend_from_slice(&content);
            if *size > 0 {
                files.push(path.clone());
                digests.push(digest);
            }
            sources.add(digest, path);
        }
        let image_digest = if wrong_digest {
            Hasher::digest(alg, b"something else")
        } else {
            Hasher::digest(alg, &image)
        };
        let (bytes, _) = w.finish(image_digest).unwrap();
        let template_path = dir.path().join("image.template");
        std::fs::write(&template_path, &bytes).unwrap();
        let template = Template::read(&mut std::io::Cursor::new(bytes)).unwrap();
        Fixture {
            dir,
            image,
            files,
            digests,
            template: Arc::new(template),
            sources,
        }
    }

    pub fn template_path(&self) -> PathBuf {
        self.dir.path().join("image.template")
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    pub fn assembler(&self) -> Assembler {
        Assembler::new(
            Arc::clone(&self.template),
            self.template_path(),
            Arc::new(self.sources.clone()),
        )
    }
}
