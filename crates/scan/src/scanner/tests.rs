//! Scans of generated images, each checked by rebuilding the image from the
//! template written and the candidates' bytes.

use std::cell::{Cell, RefCell};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use jigsmith_checksum::Hasher;
use jigsmith_format::{ItemKind, Template, UnmatchedReader};
use proptest::prelude::*;

use super::*;

fn random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

struct Setup {
    dir: tempfile::TempDir,
    files: Vec<Vec<u8>>,
}

impl Setup {
    fn new(files: Vec<Vec<u8>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (i, f) in files.iter().enumerate() {
            std::fs::write(dir.path().join(format!("f{i}")), f).unwrap();
        }
        Setup { dir, files }
    }

    fn path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("f{i}"))
    }

    fn candidates(&self) -> Vec<Candidate> {
        (0..self.files.len())
            .map(|i| Candidate::new(self.path(i), self.files[i].len() as u64))
            .collect()
    }

    fn image(&self, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join("image.iso");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Scans `image` with `cands`, checks the template rebuilds it exactly,
    /// and returns the report.
    fn check(&self, image: &[u8], builder: ScannerBuilder, cands: Vec<Candidate>) -> ScanReport {
        let alg = builder.algorithm;
        let mut scanner = builder.build().unwrap();
        for c in cands {
            scanner.add_candidate(c);
        }
        let path = self.image(image);
        let mut template = Vec::new();
        let report = scanner.make_template(&path, &mut template, &()).unwrap();
        assert_eq!(report.image_len, image.len() as u64);
        assert_eq!(report.image_digest, Hasher::digest(alg, image));
        assert_eq!(report.template.template_len, template.len() as u64);
        for m in &report.matches {
            let file = &self.files[m.candidate];
            assert_eq!(m.size, file.len() as u64);
            assert_eq!(m.digest, Hasher::digest(alg, file));
            assert_eq!(&image[m.offset as usize..m.end() as usize], &file[..]);
        }
        assert!(report.matches.windows(2).all(|w| w[0].end() <= w[1].offset));
        assert_eq!(rebuild(&template, &report, &self.files), image);
        report
    }
}

/// Rebuilds the image from the template, taking each matched file's bytes
/// from the candidate the report names.
fn rebuild(template: &[u8], report: &ScanReport, files: &[Vec<u8>]) -> Vec<u8> {
    let t = Template::read(&mut Cursor::new(template)).unwrap();
    assert_eq!(t.image_len(), report.image_len);
    assert_eq!(t.image_digest(), report.image_digest);
    assert_eq!(t.rsync_block_len(), Some(1024));
    let mut data = UnmatchedReader::new(Cursor::new(template), t.shared_parts(), 0);
    let mut matches = report.matches.iter();
    let mut out = Vec::new();
    for item in t.items() {
        match item.kind {
            ItemKind::Unmatched { .. } => {
                let mut buf = vec![0; item.len as usize];
                data.read_exact(&mut buf).unwrap();
                out.extend_from_slice(&buf);
            }
            ItemKind::File { digest, rsync64 } => {
                let m = matches.next().expect("a match per file entry");
                assert_eq!(
                    (m.offset, m.size, m.digest),
                    (item.offset, item.len, digest)
                );
                let file = &files[m.candidate];
                assert_eq!(rsync64, Some(jigsmith_checksum::Rsync64::of(&file[..1024])));
                out.extend_from_slice(file);
            }
        }
    }
    assert!(matches.next().is_none());
    out
}

fn offsets(r: &ScanReport) -> Vec<(u64, usize)> {
    r.matches.iter().map(|m| (m.offset, m.candidate)).collect()
}

fn builders() -> Vec<ScannerBuilder> {
    vec![
        Scanner::builder(),
        Scanner::builder()
            .algorithm(Algorithm::Sha256)
            .buffer_size(3000),
        Scanner::builder()
            .compression(Compression::Bzip2)
            .chunk_size(777)
            .buffer_size(4096),
    ]
}

#[test]
fn finds_files_at_aligned_and_odd_offsets() {
    let s = Setup::new(vec![
        random(1024, 1),
        random(3000, 2),
        random(6144, 3),
        random(100_000, 4),
        random(2049, 5),
    ]);
    let mut image = Vec::new();
    let mut want = Vec::new();
    for (gap, file) in [
        (2048, 0),
        (0, 1),
        (77, 2),
        (2048 * 3 + 1, 3),
        (1, 4),
        (5000, 0),
    ] {
        image.extend(random(gap, 100 + gap as u64));
        want.push((image.len() as u64, file));
        image.extend(&s.files[file]);
    }
    image.extend(random(999, 7));
    for b in builders() {
        let r = s.check(&image, b, s.candidates());
        assert_eq!(offsets(&r), want);
        assert!(r.skipped.is_empty());
    }
}

#[test]
fn duplicates_each_match_and_a_file_can_end_the_image() {
    let s = Setup::new(vec![random(4000, 1), random(1500, 2)]);
    let f = &s.files[0];
    let image = [
        f.clone(),
        f.clone(),
        random(10, 3),
        f.clone(),
        vec![0; 5000],
        s.files[1].clone(),
    ]
    .concat();
    for b in builders() {
        let r = s.check(&image, b, s.candidates());
        assert_eq!(offsets(&r), vec![(0, 0), (4000, 0), (8010, 0), (17_010, 1)]);
        assert_eq!(r.matched_bytes(), 13_500);
    }
}

#[test]
fn same_head_different_body_is_not_a_match() {
    let head = random(1024, 1);
    let tail = random(1024, 2);
    let file = [head.clone(), random(3000, 3), tail.clone()].concat();
    let s = Setup::new(vec![file.clone()]);
    // same head, same tail, same length: only the middle differs
    let fake = [head.clone(), random(3000, 4), tail].concat();
    let image = [random(500, 5), fake.clone(), head.clone(), random(100, 6)].concat();
    let known = Hasher::digest(Algorithm::Md5, &file);
    for cands in [
        s.candidates(),
        vec![Candidate::new(s.path(0), file.len() as u64).with_known(known)],
    ] {
        for b in builders() {
            let r = s.check(&image, b, cands.clone());
            assert!(r.matches.is_empty(), "{:?}", r.matches);
        }
    }
}

#[test]
fn a_wrong_list_digest_costs_the_match_not_the_template() {
    let s = Setup::new(vec![random(5000, 1)]);
    let image = [random(3000, 2), s.files[0].clone()].concat();
    let right = Hasher::digest(Algorithm::Md5, &s.files[0]);
    let wrong = Hasher::digest(Algorithm::Md5, b"something else");
    let other_alg = Hasher::digest(Algorithm::Sha1, b"ignored");
    let c = Candidate::new(s.path(0), 5000);
    let r = s.check(
        &image,
        Scanner::builder(),
        vec![c.clone().with_known(right)],
    );
    assert_eq!(offsets(&r), vec![(3000, 0)]);
    let r = s.check(
        &image,
        Scanner::builder(),
        vec![c.clone().with_known(wrong)],
    );
    assert!(r.matches.is_empty());
    // a digest of another algorithm is not used; the file is compared instead
    let r = s.check(&image, Scanner::builder(), vec![c.with_known(other_alg)]);
    assert_eq!(offsets(&r), vec![(3000, 0)]);
}

#[test]
fn smallest_candidate_is_one_block() {
    let s = Setup::new(vec![random(1024, 1), random(1023, 2)]);
    let image = [vec![1], s.files[0].clone(), s.files[1].clone(), vec![9; 3]].concat();
    for b in builders() {
        // min_size below the block length is raised to it
        let r = s.check(&image, b.min_size(10), s.candidates());
        assert_eq!(offsets(&r), vec![(1, 0)]);
    }
    let r = s.check(&image, Scanner::builder().min_size(1025), s.candidates());
    assert!(r.matches.is_empty());
}

#[test]
fn tiny_and_empty_images() {
    let s = Setup::new(vec![random(1024, 1)]);
    for image in [
        vec![],
        vec![7],
        random(1023, 2),
        s.files[0][..1023].to_vec(),
    ] {
        for b in builders() {
            let r = s.check(&image, b, s.candidates());
            assert!(r.matches.is_empty());
        }
    }
    let r = s.check(&s.files[0].clone(), Scanner::builder(), s.candidates());
    assert_eq!(offsets(&r), vec![(0, 0)]);
}

#[test]
fn biggest_candidate_with_a_head_wins() {
    let small = random(3000, 1);
    let big = [small.clone(), random(2000, 2)].concat();
    let s = Setup::new(vec![small.clone(), big.clone()]);
    let image = [big.clone(), small.clone(), random(10, 3)].concat();
    for b in builders() {
        let r = s.check(&image, b, s.candidates());
        assert_eq!(offsets(&r), vec![(0, 1), (5000, 0)]);
    }
}

#[test]
fn zero_runs_do_not_blow_up() {
    // a candidate that starts with a block of zeros hits at every offset of
    // a zero run; the tail check must turn those hits away cheaply
    let zero_head = [vec![0; 1024], random(50_000, 1)].concat();
    let zeros = vec![0u8; 4096];
    let s = Setup::new(vec![zero_head.clone(), zeros]);
    let image = [vec![0; 3 << 20], zero_head, vec![0; 10_000]].concat();
    let start = std::time::Instant::now();
    let r = s.check(&image, Scanner::builder(), s.candidates());
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    // the zero file fills the runs greedily, then the other file still fits
    let zero_matches = r.matches.iter().filter(|m| m.candidate == 1).count();
    assert_eq!(zero_matches, (3 << 20) / 4096 + 10_000 / 4096);
    assert!(r
        .matches
        .iter()
        .any(|m| m.candidate == 0 && m.offset == 3 << 20));
}

#[test]
fn unreadable_candidates_are_skipped_not_fatal() {
    let s = Setup::new(vec![random(2000, 1), random(3000, 2)]);
    let image = [s.files[0].clone(), s.files[1].clone()].concat();
    let mut cands = s.candidates();
    cands.push(Candidate::new(s.dir.path().join("missing"), 2000));
    cands.push(Candidate::new(s.path(1), 2999));
    let r = s.check(&image, Scanner::builder(), cands);
    assert_eq!(offsets(&r), vec![(0, 0), (2000, 1)]);
    let mut skipped: Vec<_> = r.skipped.iter().map(|k| k.candidate).collect();
    skipped.sort_unstable();
    assert_eq!(skipped, vec![2, 3]);
    assert!(r
        .skipped
        .iter()
        .any(|k| matches!(k.error, Error::OpenCandidate { .. })));
}

#[test]
fn image_errors_and_bad_algorithms_are_fatal() {
    let s = Setup::new(vec![]);
    let scanner = Scanner::builder().build().unwrap();
    let err = scanner
        .make_template(&s.dir.path().join("nope.iso"), Vec::new(), &())
        .unwrap_err();
    assert!(matches!(err, Error::OpenImage { .. }), "{err}");
    assert!(err.to_string().contains("nope.iso"));
    let err = scanner
        .make_template(s.dir.path(), Vec::new(), &())
        .unwrap_err();
    assert!(
        matches!(err, Error::ReadImage { .. } | Error::OpenImage { .. }),
        "{err}"
    );
    assert!(matches!(
        Scanner::builder().algorithm(Algorithm::Sha1).build(),
        Err(Error::UnsupportedAlgorithm {
            algorithm: Algorithm::Sha1
        })
    ));
}

#[test]
fn template_write_errors_are_reported() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let s = Setup::new(vec![]);
    let p = s.image(&random(10_000, 1));
    let err = Scanner::builder()
        .build()
        .unwrap()
        .make_template(&p, Full, &())
        .unwrap_err();
    assert!(matches!(err, Error::Template { .. }), "{err}");
}

#[test]
fn extra_image_checksums_and_progress() {
    struct Seen {
        total: Cell<u64>,
        advanced: Cell<u64>,
        matched: RefCell<Vec<u64>>,
    }
    impl Progress for Seen {
        fn start(&self, n: u64) {
            self.total.set(n);
        }
        fn advance(&self, n: u64) {
            self.advanced.set(self.advanced.get() + n);
        }
        fn matched(&self, m: &Match) {
            self.matched.borrow_mut().push(m.offset);
        }
    }
    let s = Setup::new(vec![random(3000, 1)]);
    let image = [random(5_000_000, 2), s.files[0].clone(), random(10, 3)].concat();
    let p = s.image(&image);
    let mut scanner = Scanner::builder()
        .algorithm(Algorithm::Sha256)
        .image_checksums([
            Algorithm::Md5,
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha512,
        ])
        .build()
        .unwrap();
    scanner.add_candidate(s.candidates().remove(0));
    let seen = Seen {
        total: Cell::new(0),
        advanced: Cell::new(0),
        matched: RefCell::new(Vec::new()),
    };
    let r = scanner.make_template(&p, Vec::new(), &seen).unwrap();
    assert_eq!(r.image_checksums.len(), 4);
    for (a, d) in Algorithm::ALL.iter().zip(&r.image_checksums) {
        assert_eq!(*d, Hasher::digest(*a, &image));
        assert_eq!(r.image_checksum(*a), Some(*d));
    }
    assert_eq!(seen.total.get(), image.len() as u64);
    assert_eq!(seen.advanced.get(), image.len() as u64);
    assert_eq!(*seen.matched.borrow(), vec![5_000_000]);

    // closures are progress too
    let sum = Cell::new(0);
    scanner
        .make_template(&p, Vec::new(), &|n: u64| sum.set(sum.get() + n))
        .unwrap();
    assert_eq!(sum.get(), image.len() as u64);
}

/// How a generated image is put together.
#[derive(Debug, Clone)]
enum Piece {
    /// Random bytes, or zeros.
    Gap(usize, bool, u64),
    /// Pool file `i`.
    File(usize),
    /// The first `n` bytes of pool file `i` (a head without its body).
    Prefix(usize, usize),
}

/// A pool file: size, seed, and maybe an earlier pool file it starts like.
type PoolFile = (usize, u64, Option<usize>);

fn arb_case() -> impl Strategy<Value = (Vec<PoolFile>, Vec<Piece>, usize, bool)> {
    let pool = proptest::collection::vec(
        (
            1024usize..6000,
            any::<u64>(),
            proptest::option::of(0usize..8),
        ),
        1..6,
    );
    let pieces = proptest::collection::vec(
        prop_oneof![
            (0usize..3000, any::<bool>(), any::<u64>()).prop_map(|(n, z, s)| Piece::Gap(n, z, s)),
            (0usize..8).prop_map(Piece::File),
            (0usize..8, 1usize..3000).prop_map(|(i, n)| Piece::Prefix(i, n)),
        ],
        0..14,
    );
    (pool, pieces, 2048usize..10_000, any::<bool>())
}

fn pool_files(pool: &[PoolFile]) -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = Vec::new();
    for (size, seed, extends) in pool {
        // some files share their start with an earlier one, so several
        // candidates hang off one head sum
        let base = extends.and_then(|i| files.get(i % files.len().max(1)).cloned());
        let mut f = base.unwrap_or_default();
        f.truncate(*size);
        f.extend(random(size - f.len(), *seed));
        files.push(f);
    }
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn scan_finds_inserted_files_and_rebuilds((pool, pieces, buffer, known) in arb_case()) {
        let files = pool_files(&pool);
        let s = Setup::new(files.clone());
        let mut image = Vec::new();
        let mut inserted = Vec::new();
        for p in &pieces {
            match *p {
                Piece::Gap(n, zero, seed) => {
                    image.extend(if zero { vec![0; n] } else { random(n, seed) })
                }
                Piece::File(i) => {
                    let i = i % files.len();
                    inserted.push((image.len() as u64, i));
                    image.extend(&files[i]);
                }
                Piece::Prefix(i, n) => {
                    let f = &files[i % files.len()];
                    image.extend(&f[..n.min(f.len() - 1)]);
                }
            }
        }
        let mut cands = s.candidates();
        if known {
            for (c, f) in cands.iter_mut().zip(&files) {
                c.known = Some(Hasher::digest(Algorithm::Md5, f));
            }
        }
        let r = s.check(&image, Scanner::builder().buffer_size(buffer).chunk_size(1000), cands);
        for (at, i) in inserted {
            let end = at + files[i].len() as u64;
            let found = r.matches.iter().any(|m| m.offset == at && files[m.candidate] == files[i]);
            let overlapped = r.matches.iter().any(|m| m.offset < end && at < m.end());
            prop_assert!(found || overlapped, "file {} at {} missed: {:?}", i, at, r.matches);
        }
    }
}

#[test]
fn candidates_keep_their_order() {
    let mut scanner = Scanner::builder().build().unwrap();
    assert_eq!(scanner.add_candidate(Candidate::new("/a", 5000)), 0);
    assert_eq!(
        scanner.add_candidate(Candidate::new(Path::new("/b"), 6000)),
        1
    );
    assert_eq!(scanner.candidates()[1].path, Path::new("/b"));
    assert_eq!(scanner.algorithm(), Algorithm::Md5);
}

/// An ISO 9660 image (Rock Ridge and Joliet) of every file of `s`.
fn iso_of(s: &Setup) -> Vec<u8> {
    use jigsmith_iso::{IsoOptions, IsoWriter, Joliet, PlainSink, RockRidge};
    let options = IsoOptions::builder()
        .volume_id("SCAN")
        .rock_ridge(RockRidge::Rationalized)
        .joliet(Joliet::On)
        .source_date_epoch(Some(1_700_000_000))
        .build();
    let mut writer = IsoWriter::new(options);
    writer.add_root(s.dir.path());
    let mut sink = PlainSink::new(Vec::new());
    writer.write(&mut sink).unwrap();
    sink.finish().unwrap()
}

fn iso_setup() -> Setup {
    Setup::new(vec![
        random(70_000, 11),
        random(1024, 12),
        random(5000, 13),
        random(300, 14),
        random(300_000, 15),
        random(5000, 16),
    ])
}

#[test]
fn iso_directory_pass_gives_the_same_template_as_the_rolling_scan() {
    let s = iso_setup();
    let mut image = iso_of(&s);
    // data outside the trees: a file appended after the ISO, at an odd offset
    image.extend_from_slice(b"tail");
    image.extend_from_slice(&s.files[2]);
    let known = |b: ScannerBuilder| {
        let cands: Vec<Candidate> = s
            .candidates()
            .into_iter()
            .zip(&s.files)
            .map(|(c, f)| c.with_known(Hasher::digest(b.algorithm, f)))
            .collect();
        (b, cands)
    };
    for b in builders() {
        for (builder, cands) in [(b.clone(), s.candidates()), known(b.clone())] {
            let iso = s.check(&image, builder.clone(), cands.clone());
            let rolling = s.check(&image, builder.iso_aware(false), cands);
            assert_eq!(offsets(&iso), offsets(&rolling));
            // five files of at least 1024 bytes in the tree, one appended
            assert_eq!(iso.matches.len(), 6);
            assert_eq!(iso.template.template_md5, rolling.template.template_md5);
        }
    }
}

#[test]
fn iso_directory_pass_finds_what_the_rolling_index_cannot() {
    let s = iso_setup();
    let image = iso_of(&s);
    // wrong cached block sums hide a file from the rolling scan; its size
    // and listed digest still prove it at its extent
    let bogus = jigsmith_checksum::Rsync64::from_value(42);
    let cands = |b: &ScannerBuilder| -> Vec<Candidate> {
        vec![Candidate::new(s.path(0), 70_000)
            .with_known(Hasher::digest(b.algorithm, &s.files[0]))
            .with_blocks(bogus, bogus)]
    };
    for b in builders() {
        let iso = s.check(&image, b.clone(), cands(&b));
        assert_eq!(iso.matches.len(), 1);
        let rolling = s.check(&image, b.clone().iso_aware(false), cands(&b));
        assert!(rolling.matches.is_empty());
        // without a digest, wrong block sums rule the extent out
        let unknown = vec![Candidate::new(s.path(0), 70_000).with_blocks(bogus, bogus)];
        assert!(s.check(&image, b, unknown).matches.is_empty());
    }
}

#[test]
fn iso_directory_pass_trusts_no_listed_digest_and_no_changed_file() {
    let s = iso_setup();
    let image = iso_of(&s);
    for b in builders() {
        // a wrong list entry costs the match, never the template
        let wrong = vec![Candidate::new(s.path(4), 300_000)
            .with_known(Hasher::digest(b.algorithm, b"not the file"))];
        assert!(s.check(&image, b.clone(), wrong).matches.is_empty());
        // a candidate of the right size but other bytes is not placed
        let other = s.dir.path().join("other");
        let mut changed = s.files[2].clone();
        changed[4999] ^= 1;
        std::fs::write(&other, &changed).unwrap();
        let report = s.check(&image, b, vec![Candidate::new(&other, 5000)]);
        assert!(report.matches.is_empty());
    }
}
