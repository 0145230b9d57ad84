//! End-to-end tests of the assembler on generated images.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fixture;
mod image;

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use jigsmith_assemble::{Assembler, Error, LocalSources};
use jigsmith_checksum::Algorithm;
use jigsmith_format::Compression;
use proptest::prelude::*;

use fixture::Fixture;

#[test]
fn rebuilds_bit_exact_in_every_format() {
    for (alg, c) in [
        (Algorithm::Md5, Compression::Zlib),
        (Algorithm::Sha256, Compression::Bzip2),
    ] {
        let fx = Fixture::new(alg, c, 1);
        let mut out = Vec::new();
        let report = fx.assembler().write_image(&mut out, &()).unwrap();
        assert_eq!(out, fx.image);
        assert_eq!(report.files, fx.file_count());
        assert_eq!(report.image_digest, Some(fx.template.image_digest()));
    }
}

/// More files than the MD5 checker has lanes, of sizes that end at every
/// point of each other's progress; SHA-256 takes the one-at-a-time path.
#[test]
fn many_files_are_checked_and_copied_in_order() {
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        let fx = Fixture::many(alg, 37);
        let mut out = Vec::new();
        let report = fx.assembler().write_image(&mut out, &()).unwrap();
        assert!(out == fx.image, "{alg}: image differs");
        assert_eq!(report.files, 37);
    }
}

#[test]
fn corrupt_file_among_many_is_named_before_it_is_copied() {
    let fx = Fixture::many(Algorithm::Md5, 30);
    let victim = fx.files[17].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&victim, bytes).unwrap();
    let mut out = Vec::new();
    let err = fx.assembler().write_image(&mut out, &()).unwrap_err();
    match &err {
        Error::ChecksumMismatch { path, .. } => assert_eq!(path, &victim),
        other => panic!("{other}"),
    }
    assert!(err.is_verification_failure());
    // nothing of the bad file, nor after it, was written
    let start = fx.template.files().nth(17).unwrap().0.offset as usize;
    assert!(
        out.len() <= start,
        "{} bytes written, file starts at {start}",
        out.len()
    );
    assert_eq!(out[..], fx.image[..out.len()]);
}

#[test]
fn reader_reads_whole_image_sequentially() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 2);
    let mut r = fx.assembler().reader().unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, fx.image);
    r.seek(SeekFrom::End(-3)).unwrap();
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, fx.image[fx.image.len() - 3..]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_range_matches_the_image(a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), seed in 0u64..4) {
        let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, seed);
        let len = fx.image.len();
        let (s, e) = {
            let (x, y) = (a.index(len), b.index(len));
            (x.min(y) as u64, x.max(y) as u64)
        };
        let mut out = Vec::new();
        let n = fx.assembler().write_range(s, e, &mut out).unwrap();
        prop_assert_eq!(n, e - s + 1);
        prop_assert_eq!(&out[..], &fx.image[s as usize..=e as usize]);
    }
}

#[test]
fn range_outside_the_image_is_refused() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 0);
    let len = fx.image.len() as u64;
    let err = fx.assembler().write_range(0, len, Vec::new()).unwrap_err();
    assert!(matches!(err, Error::BadRange { .. }), "{err}");
    assert!(fx.assembler().write_range(5, 4, Vec::new()).is_err());
}

#[test]
fn missing_file_is_listed_and_fails_the_build() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 3);
    let victim = fx.files[1].clone();
    std::fs::remove_file(&victim).unwrap();
    let missing = fx.assembler().missing();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].names, vec![victim.display().to_string()]);
    let err = fx.assembler().write_image(Vec::new(), &()).unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err}");
    assert!(
        err.to_string().contains(&victim.display().to_string()),
        "{err}"
    );
    assert!(err.is_verification_failure());
}

#[test]
fn corrupt_file_is_named() {
    let fx = Fixture::new(Algorithm::Sha256, Compression::Zlib, 4);
    let victim = fx.files[0].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let err = fx.assembler().write_image(Vec::new(), &()).unwrap_err();
    match &err {
        Error::ChecksumMismatch { path, .. } => assert_eq!(path, &victim),
        other => panic!("{other}"),
    }
    // ranges refuse it too, before returning any of its bytes
    let err = fx
        .assembler()
        .write_range(0, fx.image.len() as u64 - 1, Vec::new())
        .unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err}");
    assert!(err.to_string().contains("checksum is"), "{err}");
}

#[test]
fn second_candidate_is_used_when_the_first_is_bad() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 5);
    let mut sources = fx.sources.clone();
    let dir = fx.dir.path().join("other");
    std::fs::create_dir(&dir).unwrap();
    for (i, (path, digest)) in fx.files.iter().zip(&fx.digests).enumerate() {
        let good = dir.join(format!("good{i}"));
        std::fs::copy(path, &good).unwrap();
        let mut bad = std::fs::read(path).unwrap();
        bad[0] ^= 0xff;
        std::fs::write(path, bad).unwrap();
        sources.add(*digest, good);
    }
    let asm = Assembler::new(
        Arc::clone(&fx.template),
        fx.template_path(),
        Arc::new(sources),
    );
    let mut out = Vec::new();
    asm.write_image(&mut out, &()).unwrap();
    assert_eq!(out, fx.image);
}

#[test]
fn wrong_image_checksum_is_caught() {
    let fx = Fixture::with_wrong_image_digest();
    let err = fx.assembler().write_image(Vec::new(), &()).unwrap_err();
    assert!(matches!(err, Error::ImageMismatch { .. }), "{err}");
    // and without verification it goes through
    let mut out = Vec::new();
    fx.assembler()
        .verify(false)
        .write_image(&mut out, &())
        .unwrap();
    assert_eq!(out, fx.image);
}

#[test]
fn unknown_part_reports_no_location() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 6);
    let asm = Assembler::new(
        Arc::clone(&fx.template),
        fx.template_path(),
        Arc::new(LocalSources::new()),
    );
    let err = asm.write_image(Vec::new(), &()).unwrap_err();
    assert!(err.to_string().contains("no location known"), "{err}");
    assert_eq!(asm.missing().len(), fx.file_count());
}

/// An output that fails stops the build with that error; the file checker, which runs
/// ahead, is stopped too (the call returns instead of hanging).
#[test]
fn output_error_stops_every_thread() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let fx = Fixture::many(Algorithm::Md5, 40);
    let err = fx.assembler().write_image(Full, &()).unwrap_err();
    assert!(matches!(err, Error::Output(_)), "{err}");
    assert!(!err.is_verification_failure());
}
