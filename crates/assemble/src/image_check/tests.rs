use std::path::PathBuf;

use jigsmith_checksum::Rsync64;
use jigsmith_format::{Compression, ImageSection, PartEntry, TemplateWriter};

use super::*;
use jigsmith_checksum::Hasher;

struct Fixture {
    _dir: tempfile::TempDir,
    image: Vec<u8>,
    template_path: PathBuf,
    template: Template,
    jigdo: Jigdo,
    image_path: PathBuf,
}

/// Offsets of the pieces: head data, file a, data, file b, file c, tail data.
const HEAD: usize = 5000;
const A: usize = 100_000;
const MID: usize = 3000;
const B: usize = 300_001;
const C: usize = 50;
const TAIL: usize = 2000;

fn bytes(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) ^ seed).rotate_left(i % 13) as u8)
        .collect()
}

fn fixture(algorithm: Algorithm) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pieces = [
        (bytes(1, HEAD), false),
        (bytes(2, A), true),
        (bytes(3, MID), false),
        (bytes(4, B), true),
        (bytes(5, C), true),
        (bytes(6, TAIL), false),
    ];
    let mut w = TemplateWriter::builder()
        .algorithm(algorithm)
        .compression(Compression::Zlib)
        .chunk_size(1000)
        .build(Vec::new())
        .unwrap();
    let mut image = Vec::new();
    let mut parts = Vec::new();
    for (i, (data, file)) in pieces.iter().enumerate() {
        if *file {
            let digest = Hasher::digest(algorithm, data);
            w.add_file(data.len() as u64, Rsync64::of(data), digest)
                .unwrap();
            parts.push(PartEntry::new(digest, &format!("Deb:pool/f{i}.deb")));
        } else {
            w.write_unmatched(data).unwrap();
        }
        image.extend_from_slice(data);
    }
    let (bytes, _) = w.finish(Hasher::digest(algorithm, &image)).unwrap();
    let template_path = dir.path().join("x.template");
    std::fs::write(&template_path, bytes).unwrap();
    let image_path = dir.path().join("x.iso");
    std::fs::write(&image_path, &image).unwrap();
    let template = crate::read_template(&template_path).unwrap();
    let jigdo = Jigdo {
        image: Some(ImageSection {
            comments: vec![
                format!(
                    "Image Hex MD5Sum {}",
                    Hasher::digest(Algorithm::Md5, &image).to_hex()
                ),
                format!(
                    "Image Hex SHA512Sum {}",
                    Hasher::digest(Algorithm::Sha512, &image).to_hex()
                ),
                format!("Image size {} bytes", image.len()),
            ],
            ..ImageSection::default()
        }),
        parts,
        ..Jigdo::default()
    };
    Fixture {
        _dir: dir,
        image,
        template_path,
        template,
        jigdo,
        image_path,
    }
}

impl Fixture {
    fn check(&self, image: &[u8]) -> CheckReport {
        std::fs::write(&self.image_path, image).unwrap();
        check_image(
            &self.image_path,
            &self.template,
            &self.template_path,
            Some(&self.jigdo),
            &(),
        )
        .unwrap()
    }
}

#[test]
fn a_good_image_passes_every_check() {
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let f = fixture(algorithm);
        let r = f.check(&f.image);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.files, 3);
        let compared: Vec<_> = r
            .sums
            .iter()
            .map(|s| (s.source, s.expected.algorithm()))
            .collect();
        assert_eq!(
            compared,
            [
                (SumSource::Template, algorithm),
                (SumSource::Jigdo, Algorithm::Md5),
                (SumSource::Jigdo, Algorithm::Sha512)
            ]
        );
        // without a .jigdo: the template's checksum only
        let r = check_image(&f.image_path, &f.template, &f.template_path, None, &()).unwrap();
        assert!(r.is_ok() && r.sums.len() == 1, "{r:?}");
    }
}

#[test]
fn a_flipped_byte_in_a_file_names_that_file() {
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let f = fixture(algorithm);
        let mut bad = f.image.clone();
        let b_at = HEAD + A + MID;
        bad[b_at + 12_345] ^= 1;
        let r = f.check(&bad);
        assert!(!r.is_ok() && r.is_length_ok());
        assert!(r.sums.iter().all(|s| !s.is_ok()));
        assert_eq!(r.bad_files.len(), 1, "{r:?}");
        let file = &r.bad_files[0];
        assert_eq!((file.offset, file.len), (b_at as u64, B as u64));
        assert_eq!(file.names, ["Deb:pool/f3.deb"]);
        assert!(file.actual.is_some());
        assert!(r.bad_data.is_empty());
        assert!(file.to_string().contains("Deb:pool/f3.deb"), "{file}");
    }
}

#[test]
fn a_flipped_byte_in_template_data_names_that_range() {
    let f = fixture(Algorithm::Md5);
    let mut bad = f.image.clone();
    bad[100] ^= 0xff;
    bad[103] ^= 0xff;
    let tail_at = HEAD + A + MID + B + C;
    bad[tail_at + 1999] ^= 0x10;
    let r = f.check(&bad);
    assert!(r.bad_files.is_empty(), "{r:?}");
    assert_eq!(
        r.bad_data,
        [
            BadData {
                offset: 100,
                len: 4
            },
            BadData {
                offset: tail_at as u64 + 1999,
                len: 1
            }
        ]
    );
}

#[test]
fn a_truncated_image_names_its_length_and_the_files_cut_off() {
    let f = fixture(Algorithm::Md5);
    let cut = HEAD + A + MID + 1000;
    let r = f.check(&f.image[..cut]);
    assert!(!r.is_length_ok());
    let problem = r.length_problem().unwrap();
    assert!(
        problem.contains(&format!("bytes {cut}..{} are missing", f.image.len())),
        "{problem}"
    );
    let cut_off: Vec<_> = r.bad_files.iter().map(|b| (b.offset, b.actual)).collect();
    assert_eq!(cut_off, [((HEAD + A + MID) as u64, None)]);
    assert_eq!(r.files_past_end, 1);
    assert!(r.bad_data.is_empty(), "{r:?}");
    // one byte too many
    let mut long = f.image.clone();
    long.push(0);
    let r = f.check(&long);
    assert!(r.length_problem().unwrap().contains("1 bytes too many"));
    assert!(r.bad_files.is_empty() && r.bad_data.is_empty() && r.files_past_end == 0);
}

#[test]
fn corrupt_template_data_is_an_error_not_a_verdict() {
    let f = fixture(Algorithm::Md5);
    let mut t = std::fs::read(&f.template_path).unwrap();
    let first_part = f.template.parts()[0];
    t[(first_part.stream_offset() + 5) as usize] ^= 0xff;
    std::fs::write(&f.template_path, t).unwrap();
    std::fs::write(&f.image_path, &f.image).unwrap();
    let err = check_image(
        &f.image_path,
        &f.template,
        &f.template_path,
        Some(&f.jigdo),
        &(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Template { .. }), "{err}");
    let missing = check_image(
        &f.image_path.with_extension("gone"),
        &f.template,
        &f.template_path,
        None,
        &(),
    )
    .unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}
