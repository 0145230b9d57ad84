//! Round trips through [`TemplateWriter`] and [`Template`], and damage.

use std::io::{Cursor, Read, Seek, SeekFrom};

use jigsmith_checksum::{Algorithm, Hasher, Rsync64};
use proptest::prelude::*;

use super::*;
use crate::Error;

/// A piece of a synthetic image: unmatched bytes or a "file".
#[derive(Debug, Clone)]
enum Piece {
    Raw(Vec<u8>),
    File(Vec<u8>),
}

fn image_of(pieces: &[Piece]) -> Vec<u8> {
    pieces
        .iter()
        .flat_map(|p| match p {
            Piece::Raw(b) | Piece::File(b) => b.clone(),
        })
        .collect()
}

fn write_template(pieces: &[Piece], alg: Algorithm, c: Compression, chunk: usize) -> Vec<u8> {
    let mut w = TemplateWriter::builder()
        .algorithm(alg)
        .compression(c)
        .chunk_size(chunk)
        .build(Vec::new())
        .unwrap();
    for p in pieces {
        match p {
            Piece::Raw(b) => w.write_unmatched(b).unwrap(),
            Piece::File(b) => w
                .add_file(
                    b.len() as u64,
                    Rsync64::of(&b[..b.len().min(1024)]),
                    Hasher::digest(alg, b),
                )
                .unwrap(),
        }
    }
    let image = image_of(pieces);
    let (bytes, summary) = w.finish(Hasher::digest(alg, &image)).unwrap();
    assert_eq!(summary.template_len, bytes.len() as u64);
    assert_eq!(summary.template_md5, Hasher::digest(Algorithm::Md5, &bytes));
    bytes
}

/// Rebuilds the image from a template and the pieces' file contents.
fn rebuild(t: &Template, bytes: &[u8], pieces: &[Piece]) -> Vec<u8> {
    let files: Vec<&Vec<u8>> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::File(b) => Some(b),
            Piece::Raw(_) => None,
        })
        .collect();
    let mut files = files.into_iter();
    let mut data = UnmatchedReader::new(Cursor::new(bytes), t.shared_parts(), 0);
    let mut out = Vec::new();
    for item in t.items() {
        match item.kind {
            ItemKind::Unmatched { .. } => {
                let mut buf = vec![0; item.len as usize];
                data.read_exact(&mut buf).unwrap();
                out.extend_from_slice(&buf);
            }
            ItemKind::File { digest, .. } => {
                let mut f = files.next().unwrap();
                while f.is_empty() {
                    f = files.next().unwrap();
                }
                assert_eq!(digest, Hasher::digest(t.algorithm(), f));
                out.extend_from_slice(f);
            }
        }
    }
    out
}

fn arb_pieces() -> impl Strategy<Value = Vec<Piece>> {
    let bytes = |max| {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..max),
            (0usize..max).prop_map(|n| vec![0u8; n]),
        ]
    };
    proptest::collection::vec(
        prop_oneof![
            bytes(5000).prop_map(Piece::Raw),
            bytes(3000).prop_map(Piece::File)
        ],
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn write_read_rebuild(
        pieces in arb_pieces(),
        sha in any::<bool>(),
        compression in 0usize..4,
        chunk in 1usize..4096,
        start in any::<prop::sample::Index>(),
    ) {
        let alg = if sha { Algorithm::Sha256 } else { Algorithm::Md5 };
        let c = [Compression::Zlib, Compression::Bzip2, Compression::Xz, Compression::Zstd][compression];
        let bytes = write_template(&pieces, alg, c, chunk);
        let t = Template::read(&mut Cursor::new(&bytes)).unwrap();
        let image = image_of(&pieces);
        prop_assert_eq!(t.image_len(), image.len() as u64);
        prop_assert_eq!(t.image_digest(), Hasher::digest(alg, &image));
        prop_assert_eq!(t.algorithm(), alg);
        prop_assert_eq!(rebuild(&t, &bytes, &pieces), image);

        // reading the unmatched stream from any offset gives its suffix
        let total = t.parts().last().map_or(0, DataPart::raw_end);
        if total > 0 {
            let from = start.index(total as usize) as u64;
            let mut all = vec![0; total as usize];
            UnmatchedReader::new(Cursor::new(&bytes), t.shared_parts(), 0).read_exact(&mut all).unwrap();
            let mut tail = vec![0; (total - from) as usize];
            UnmatchedReader::new(Cursor::new(&bytes), t.shared_parts(), from).read_exact(&mut tail).unwrap();
            prop_assert_eq!(&tail[..], &all[from as usize..]);
        }

        // any truncation is an error, never a template that reads wrong
        for cut in [0, bytes.len() / 2, bytes.len() - 1] {
            prop_assert!(Template::read(&mut Cursor::new(&bytes[..cut])).is_err());
        }
    }
}

fn sample() -> (Vec<u8>, Vec<Piece>) {
    sample_in(Compression::Zlib)
}

fn sample_in(c: Compression) -> (Vec<u8>, Vec<Piece>) {
    let pieces = vec![
        Piece::Raw(b"head".repeat(300)),
        Piece::File((0..5000u32).map(|i| (i * 7) as u8).collect()),
        Piece::Raw(vec![0; 70000]),
    ];
    (write_template(&pieces, Algorithm::Md5, c, 1 << 20), pieces)
}

#[test]
fn corrupt_data_part_is_reported() {
    for c in [
        Compression::Zlib,
        Compression::Bzip2,
        Compression::Xz,
        Compression::Zstd,
    ] {
        let (mut bytes, _) = sample_in(c);
        let t = Template::read(&mut Cursor::new(&bytes)).unwrap();
        let part = t.parts()[0];
        assert_eq!(part.compression, c);
        let mid = (part.stream_offset() + part.compressed_len / 2) as usize;
        bytes[mid] ^= 0xff;
        let mut all = vec![0; part.raw_len as usize];
        let err = UnmatchedReader::new(Cursor::new(&bytes), t.shared_parts(), 0)
            .read_exact(&mut all)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::CorruptPart { .. } | Error::PartSizeMismatch { .. }
            ),
            "{c:?}: {err}"
        );
    }
}

#[test]
fn part_size_lies_are_reported() {
    let (mut bytes, _) = sample();
    let t = Template::read(&mut Cursor::new(&bytes)).unwrap();
    let at = t.parts()[0].offset as usize + 10;
    // claim one byte more raw data in the part and one more in the DESC entry
    bytes[at] = bytes[at].wrapping_add(1);
    let err = Template::read(&mut Cursor::new(&bytes)).unwrap_err();
    assert!(matches!(err, Error::DataMismatch { .. }), "{err}");
}

#[test]
fn structural_damage_is_named() {
    let (bytes, _) = sample();
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(
        Template::read(&mut Cursor::new(&b)),
        Err(Error::NotATemplate { .. })
    ));
    let t = Template::read(&mut Cursor::new(&bytes)).unwrap();
    let mut b = bytes.clone();
    b[t.parts()[0].offset as usize] = b'Q';
    assert!(matches!(
        Template::read(&mut Cursor::new(&b)),
        Err(Error::UnknownPart { .. })
    ));
    let mut b = bytes.clone();
    let n = b.len();
    b[n - 6] ^= 1;
    assert!(Template::read(&mut Cursor::new(&b)).is_err());
    let mut b = bytes.clone();
    b[t.desc_offset() as usize + 10] = 4;
    assert!(matches!(
        Template::read(&mut Cursor::new(&b)),
        Err(Error::UnknownDescEntry { entry_type: 4, .. })
    ));
}

/// A reader that returns 1..=7 bytes per call, to shake out short-read bugs.
struct ShortReads<R>(R, u64);

impl<R: Read> Read for ShortReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = self.1.wrapping_mul(6364136223846793005).wrapping_add(1);
        let n = (1 + (self.1 >> 33) % 7) as usize;
        let n = n.min(buf.len());
        self.0.read(&mut buf[..n])
    }
}

impl<R: Seek> Seek for ShortReads<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

#[test]
fn short_reads_give_identical_results() {
    let (bytes, pieces) = sample();
    let a = Template::read(&mut Cursor::new(&bytes)).unwrap();
    let b = Template::read(&mut ShortReads(Cursor::new(&bytes), 42)).unwrap();
    assert_eq!(a.items(), b.items());
    assert_eq!(a.parts(), b.parts());
    let total = a.parts().last().unwrap().raw_end() as usize;
    let mut x = vec![0; total];
    let mut y = vec![0; total];
    UnmatchedReader::new(Cursor::new(&bytes), a.shared_parts(), 0)
        .read_exact(&mut x)
        .unwrap();
    UnmatchedReader::new(ShortReads(Cursor::new(&bytes), 7), b.shared_parts(), 0)
        .read_exact(&mut y)
        .unwrap();
    assert_eq!(x, y);
    assert_eq!(rebuild(&a, &bytes, &pieces), image_of(&pieces));
}
