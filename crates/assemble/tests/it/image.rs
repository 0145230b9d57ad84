//! The shared random-access [`Image`]: many threads, changed sources,
//! extents inside bigger files, the shared caches.

use std::sync::Arc;

use jigsmith_assemble::{DataCache, Error, Image, LocalSources, Location, VerdictCache};
use jigsmith_checksum::Algorithm;
use jigsmith_format::Compression;

use crate::fixture::Fixture;

fn image(fx: &Fixture, sources: LocalSources) -> Image {
    Image::builder(
        Arc::clone(&fx.template),
        fx.template_path(),
        Arc::new(sources),
    )
    .open()
    .unwrap()
}

#[test]
fn many_threads_read_the_right_bytes_at_any_offset() {
    let fx = Fixture::many(Algorithm::Md5, 23);
    let img = Arc::new(image(&fx, fx.sources.clone()));
    let len = fx.image.len() as u64;
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let img = Arc::clone(&img);
            let want = &fx.image;
            s.spawn(move || {
                let mut seed = t * 7919 + 1;
                for _ in 0..200 {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let at = (seed >> 11) % len;
                    let n = ((seed >> 40) % 300_000) as usize + 1;
                    let mut buf = vec![0u8; n];
                    let got = img.read_at(at, &mut buf).unwrap();
                    let end = (at as usize + n).min(want.len());
                    assert_eq!(got, end - at as usize);
                    assert!(buf[..got] == want[at as usize..end], "bytes at {at}+{n}");
                }
            });
        }
    });
    let mut tail = [0u8; 4];
    assert_eq!(img.read_at(len, &mut tail).unwrap(), 0);
    assert_eq!(img.read_at(len + 100, &mut tail).unwrap(), 0);
}

#[test]
fn a_source_changed_after_its_check_is_checked_again() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 5);
    let img = image(&fx, fx.sources.clone());
    let (item, _) = fx.template.files().find(|(i, _)| i.len > 2000).unwrap();
    let (at, len) = (item.offset, item.len as usize);
    let mut buf = vec![0u8; len];
    img.read_at(at, &mut buf).unwrap();
    let victim = fx
        .files
        .iter()
        .find(|p| std::fs::metadata(p).unwrap().len() == item.len)
        .unwrap();
    // same size, new content, new mtime
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(victim, &bytes).unwrap();
    let err = img.read_at(at, &mut buf).unwrap_err();
    assert!(err.is_verification_failure(), "{err}");
    assert!(err.to_string().contains("checksum is"), "{err}");
    // the rest of the image stays readable
    let mut head = vec![0u8; 100];
    img.read_at(0, &mut head).unwrap();
    assert_eq!(head, fx.image[..100]);
    // put right again: served again, after a new check
    bytes[10] ^= 0xff;
    std::fs::write(victim, &bytes).unwrap();
    img.read_at(at, &mut buf).unwrap();
    assert!(buf == fx.image[at as usize..at as usize + len]);
}

#[test]
fn parts_are_found_as_extents_inside_a_bigger_file() {
    let fx = Fixture::new(Algorithm::Sha256, Compression::Bzip2, 6);
    // every file, concatenated after a header, as an ISO holds them
    let pack = fx.dir.path().join("pack.iso");
    let mut bytes = vec![0xAAu8; 32768];
    let mut sources = LocalSources::new();
    for (path, digest) in fx.files.iter().zip(&fx.digests) {
        let offset = bytes.len() as u64;
        bytes.extend(std::fs::read(path).unwrap());
        bytes.extend([0x55u8; 7]);
        sources.add(*digest, Location::extent(&pack, offset));
    }
    std::fs::write(&pack, &bytes).unwrap();
    for path in &fx.files {
        std::fs::remove_file(path).unwrap();
    }
    // the empty file needs no source; the rest come from the pack
    let img = image(&fx, sources.clone());
    let mut out = vec![0u8; fx.image.len()];
    assert_eq!(img.read_at(0, &mut out).unwrap(), out.len());
    assert!(out == fx.image);
    // and the streaming build takes them too
    let asm = jigsmith_assemble::Assembler::new(
        Arc::clone(&fx.template),
        fx.template_path(),
        Arc::new(sources),
    );
    let mut built = Vec::new();
    asm.write_image(&mut built, &()).unwrap();
    assert!(built == fx.image);
}

#[test]
fn an_extent_past_the_end_of_its_file_is_turned_down() {
    let fx = Fixture::new(Algorithm::Md5, Compression::Zlib, 7);
    let mut sources = LocalSources::new();
    let short = fx.dir.path().join("short.iso");
    std::fs::write(&short, vec![0u8; 1500]).unwrap();
    let d = fx.digests[2];
    sources.add(d, Location::extent(&short, 1000));
    let (item, _) = fx
        .template
        .files()
        .find(|(_, digest)| *digest == d)
        .unwrap();
    let img = image(&fx, sources);
    let mut buf = vec![0u8; 16];
    let err = img.read_at(item.offset, &mut buf).unwrap_err();
    match &err {
        Error::Missing { tried, .. } => {
            assert!(tried[0].1.contains("too short"), "{err}");
            assert!(err.to_string().contains("short.iso at byte 1000"), "{err}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn images_share_verdicts_and_a_bounded_data_cache() {
    let fx = Fixture::many(Algorithm::Md5, 12);
    let verdicts = Arc::new(VerdictCache::new());
    let data = Arc::new(DataCache::new(16 << 10));
    let open = || {
        Image::builder(
            Arc::clone(&fx.template),
            fx.template_path(),
            Arc::new(fx.sources.clone()),
        )
        .verdicts(Arc::clone(&verdicts))
        .data_cache(Arc::clone(&data))
        .open()
        .unwrap()
    };
    let a = open();
    let mut out = vec![0u8; fx.image.len()];
    a.read_at(0, &mut out).unwrap();
    assert!(out == fx.image);
    assert_eq!(verdicts.len(), 12, "one verdict per file");
    assert!(data.used() <= data.budget());
    let b = open();
    b.check_range(0, fx.image.len() as u64).unwrap();
    assert_eq!(verdicts.len(), 12, "the second image hashed nothing again");
    drop(a);
    drop(b);
    assert_eq!(data.used(), 0, "entries go with their images");
}
