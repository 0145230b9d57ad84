//! The ImageSink data model: what is metadata, what is file data, and where.

use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;

use jigsmith_iso::{
    CountingSink, Error, FileExtent, ImageSink, IsoOptions, IsoWriter, Joliet, PlainSink,
};

use crate::fixture;
use crate::tools::{have, run_p};

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Meta(usize),
    File(FileExtent),
}

/// Records every call and checks the framing rules as it goes.
#[derive(Default)]
struct Recorder {
    bytes: Vec<u8>,
    events: Vec<Event>,
    open: Option<(FileExtent, u64)>,
}

impl ImageSink for Recorder {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        assert!(self.open.is_none(), "metadata inside a file");
        self.bytes.extend_from_slice(bytes);
        self.events.push(Event::Meta(bytes.len()));
        Ok(())
    }
    fn begin_file(&mut self, file: &FileExtent) -> io::Result<()> {
        assert!(self.open.is_none(), "nested begin_file");
        assert_eq!(
            file.offset,
            self.bytes.len() as u64,
            "offset = bytes written so far"
        );
        assert!(file.source.is_absolute());
        self.open = Some((file.clone(), 0));
        self.events.push(Event::File(file.clone()));
        Ok(())
    }
    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        let (_, n) = self.open.as_mut().expect("data outside a file");
        *n += bytes.len() as u64;
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }
    fn end_file(&mut self) -> io::Result<()> {
        let (f, n) = self.open.take().expect("end_file without begin_file");
        assert_eq!(n, f.size);
        let data = &self.bytes[f.offset as usize..];
        assert_eq!(
            data,
            fs::read(&f.source).unwrap(),
            "{} is its source",
            f.image_path
        );
        Ok(())
    }
}

#[test]
fn sink_sees_meta_and_file_data_framed() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fixture::awkward(&src, 3);
    let opts = IsoOptions::builder()
        .iso_level(3)
        .joliet(Joliet::On)
        .source_date_epoch(Some(0))
        .build();
    let mut w = IsoWriter::new(opts);
    w.add_root(&src);
    let image = w.plan().unwrap();
    let mut rec = Recorder::default();
    let report = image.write(&mut rec).unwrap();
    let mut plain = PlainSink::new(Vec::new());
    image.write(&mut plain).unwrap();
    assert_eq!(
        rec.bytes,
        plain.into_inner(),
        "meta + data is the plain image"
    );
    assert_eq!(rec.bytes.len() as u64, image.size());
    let files: Vec<&FileExtent> = rec
        .events
        .iter()
        .filter_map(|e| {
            if let Event::File(f) = e {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(files.len() as u64, report.files);
    assert_eq!(files.iter().map(|f| f.size).sum::<u64>(), report.file_bytes);
    assert_eq!(
        files.into_iter().cloned().collect::<Vec<_>>(),
        image.file_extents()
    );
    // every file is announced, empty ones too (JTE lists them with -jigdo-min-file-size 0)
    let all_files = fixture::expected(&src)
        .values()
        .filter(|e| matches!(e, fixture::Entry::File(..)))
        .count();
    assert_eq!(report.files as usize, all_files);
    // after each file, the padding to the next block is metadata
    for w in rec.events.windows(2) {
        if let [Event::File(f), Event::Meta(n)] = w {
            assert!(f.size % 2048 == 0 || (f.size + *n as u64) % 2048 == 0);
        }
    }
    let f = image
        .file_extents()
        .into_iter()
        .find(|f| f.image_path == "/sub dir/exec.sh")
        .unwrap();
    assert_eq!(f.source, src.join("sub dir/exec.sh"));
    assert_eq!(f.offset % 2048, 0);
}

#[test]
fn hard_links_are_written_once_with_cache_inodes() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fixture::write(&src, "one", &vec![1u8; 10_000]);
    fs::hard_link(src.join("one"), src.join("two")).unwrap();
    let count = |cache: bool| {
        let mut w = IsoWriter::new(IsoOptions::builder().cache_inodes(cache).build());
        w.add_root(&src);
        let mut s = CountingSink::default();
        w.write(&mut s).unwrap();
        s
    };
    assert_eq!(count(false).files, 2);
    let shared = count(true);
    assert_eq!(shared.files, 1);
    assert_eq!(shared.file_bytes, 10_000);
    if have("bsdtar") {
        let mut w = IsoWriter::new(IsoOptions::builder().cache_inodes(true).build());
        w.add_root(&src);
        let iso = d.path().join("out.iso");
        crate::readers::write_image(&w, &iso);
        let x = d.path().join("x");
        fs::create_dir(&x).unwrap();
        run_p("bsdtar", &["-x", "-C", x.to_str().unwrap(), "-f"], &iso);
        assert_eq!(fs::read(x.join("one")).unwrap(), vec![1u8; 10_000]);
        assert_eq!(fs::read(x.join("two")).unwrap(), vec![1u8; 10_000]);
    }
}

#[test]
fn file_changing_size_is_a_typed_error() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fixture::write(&src, "shrinks", &[5u8; 5000]);
    fixture::write(&src, "grows", &[5u8; 5000]);
    let mut w = IsoWriter::new(IsoOptions::default());
    w.add_root(&src);
    let image = w.plan().unwrap();
    fs::write(src.join("shrinks"), [5u8; 100]).unwrap();
    match image.write(&mut CountingSink::default()) {
        Err(Error::FileChanged {
            path,
            expected: 5000,
            found: 100,
        }) => assert_eq!(path, src.join("shrinks")),
        other => panic!("{other:?}"),
    }
    fs::write(src.join("shrinks"), [5u8; 5000]).unwrap();
    fs::write(src.join("grows"), [5u8; 5001]).unwrap();
    match image.write(&mut CountingSink::default()) {
        Err(Error::FileChanged { path, .. }) => assert_eq!(path, src.join("grows")),
        other => panic!("{other:?}"),
    }
    fs::remove_file(src.join("grows")).unwrap();
    assert!(matches!(
        image.write(&mut CountingSink::default()),
        Err(Error::ReadFile { .. })
    ));
}

#[test]
fn sink_errors_abort_with_the_offset() {
    struct Refuse;
    impl ImageSink for Refuse {
        fn write_meta(&mut self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn begin_file(&mut self, _: &FileExtent) -> io::Result<()> {
            Err(io::Error::other("force-checksum mismatch"))
        }
        fn write_file_data(&mut self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn end_file(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let d = tempfile::tempdir().unwrap();
    fixture::write(d.path(), "f", b"data");
    let mut w = IsoWriter::new(IsoOptions::default());
    w.add_root(d.path());
    match w.write(&mut Refuse) {
        Err(Error::Write { offset, source }) => {
            assert_eq!(offset % 2048, 0);
            assert_eq!(source.to_string(), "force-checksum mismatch");
        }
        other => panic!("{other:?}"),
    }
}

/// Writes metadata to a sparse file and seeks over file data (the sources are sparse zeros).
struct SparseOut {
    file: fs::File,
    data: u64,
    sparse: bool,
}

impl ImageSink for SparseOut {
    fn write_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }
    fn begin_file(&mut self, f: &FileExtent) -> io::Result<()> {
        self.sparse = f.size > 1 << 32;
        Ok(())
    }
    fn write_file_data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.data += bytes.len() as u64;
        if self.sparse {
            self.file
                .seek(SeekFrom::Current(bytes.len() as i64))
                .map(|_| ())
        } else {
            self.file.write_all(bytes)
        }
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn files_over_4_gib_are_multi_extent() {
    const SIZE: u64 = (9 << 29) + 12_345; // 4.5 GiB + a bit
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::File::create(src.join("huge.img"))
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    fixture::write(&src, "after", b"small file after the big one");

    let level2 = {
        let mut w = IsoWriter::new(IsoOptions::builder().iso_level(2).build());
        w.add_root(&src);
        w.plan()
    };
    assert!(matches!(
        level2,
        Err(Error::FileTooLarge { size: SIZE, .. })
    ));

    let mut w = IsoWriter::new(
        IsoOptions::builder()
            .iso_level(3)
            .joliet(Joliet::On)
            .build(),
    );
    w.add_root(&src);
    let image = w.plan().unwrap();
    let extents = image.file_extents();
    assert_eq!(extents.len(), 2);
    assert_eq!(
        extents
            .iter()
            .find(|f| f.image_path == "/huge.img")
            .unwrap()
            .size,
        SIZE
    );
    let iso: PathBuf = d.path().join("out.iso");
    let mut sink = SparseOut {
        file: fs::File::create(&iso).unwrap(),
        data: 0,
        sparse: false,
    };
    let report = image.write(&mut sink).unwrap();
    sink.file.set_len(report.image_size).unwrap();
    assert_eq!(sink.data, SIZE + 28);
    assert_eq!(report.files, 2);
    if have("isoinfo") {
        let out = run_p("isoinfo", &["-R", "-l", "-i"], &iso);
        let sections: Vec<&str> = out
            .lines()
            .filter(|l| l.trim_end().ends_with("huge.img"))
            .collect();
        assert_eq!(sections.len(), 2, "{out}");
        assert!(sections[0].contains("4294965248"), "{out}");
        assert!(
            sections[1].contains(&(SIZE - 4_294_965_248).to_string()),
            "{out}"
        );
    }
    if have("xorriso") {
        let out = crate::tools::run(
            "xorriso",
            &[
                "-indev".as_ref(),
                iso.as_os_str(),
                "-find".as_ref(),
                "/".as_ref(),
                "-exec".as_ref(),
                "lsdl".as_ref(),
            ],
        );
        assert!(
            out.lines()
                .any(|l| l.contains(&SIZE.to_string()) && l.contains("huge.img")),
            "{out}"
        );
    }
    if have("bsdtar") {
        let out = run_p("bsdtar", &["-tvf"], &iso);
        assert!(
            out.lines()
                .any(|l| l.contains(&SIZE.to_string()) && l.ends_with("huge.img")),
            "{out}"
        );
        let x = d.path().join("x");
        fs::create_dir(&x).unwrap();
        crate::tools::run(
            "bsdtar",
            &[
                "-x".as_ref(),
                "-C".as_ref(),
                x.as_os_str(),
                "-f".as_ref(),
                iso.as_os_str(),
                "after".as_ref(),
            ],
        );
        assert_eq!(
            fs::read(x.join("after")).unwrap(),
            b"small file after the big one"
        );
    }
}
