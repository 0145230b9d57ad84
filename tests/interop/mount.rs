//! `jigsmith mount` (issue 9): images that exist only as .jigdo + .template, mounted
//! with FUSE, must read exactly like the real ISO for md5sum, bsdtar, xorriso, 7z,
//! concurrent `pread`s and a booting qemu; a corrupt source fails only the reads that
//! need it; SIGTERM, SIGINT and `jigsmith umount` leave no stale mount.
//!
//! Where /dev/fuse is absent or mounting is not permitted (a container without the
//! capability), each test prints `skip: ...` and returns. Every mount is undone by a
//! guard (`fusermount3 -u -z` in `Drop`), so a failing test leaves nothing mounted.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::boot::{boot, boot_tree, have_boot_tools, Medium, ISOHDPFX, ISOLINUX_BOOT};
use crate::checks::offset_in_image;
use crate::fixture::{checksum_list, p, Jte, LABEL};
use crate::support::{
    assert_same_file, canonical_temp_dir, have_all, jigsmith, md5_hex, read, temp_dir, tool, write,
    Run,
};
use crate::tree::{tricky_tree, Rng, TreeBuilder};

/// How long a mount may take to appear, or a mount process to exit after a signal.
const DEADLINE: Duration = Duration::from_secs(30);

/// The shipped example: `hello.jigdo` + template, parts under `mirror/` (label Debian).
fn hello() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello")
}

const HELLO_MD5: &str = "b0b5d84a18314aff787b92cab46df168";

/// Puts the example's .jigdo and template into `dir`.
fn copy_hello(dir: &Path) {
    for name in ["hello.jigdo", "hello.template"] {
        write(&dir.join(name), read(&hello().join(name)));
    }
}

fn hello_map() -> String {
    format!("Debian={}", p(&hello().join("mirror")))
}

/// Whether FUSE can be tried here; prints why not.
fn fuse_usable() -> bool {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("skip: /dev/fuse is absent, FUSE mounts cannot be tested here");
        return false;
    }
    have_all(&["fusermount3"])
}

/// Whether `mountpoint` (canonical) is a mount point in /proc/self/mountinfo.
fn is_mount_point(mountpoint: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let want = p(mountpoint);
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|point| point == want))
}

/// A FUSE mount made by a test, undone in `Drop` whatever happened.
struct Mount {
    point: PathBuf,
    _point_dir: tempfile::TempDir,
    /// The `--foreground` process, when the test started one.
    child: Option<Child>,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Mount {
    /// `jigsmith mount --foreground ARGS SOURCE MOUNTPOINT`, waiting until the mount is
    /// up. `None` (after a skip line) where mounting is not permitted.
    fn foreground(args: &[&str], source: &Path) -> Option<Mount> {
        let (point_dir, point) = canonical_temp_dir();
        let log_dir = temp_dir();
        let log = log_dir.path().join("mount.log");
        let mut cmd = jigsmith(["mount", "--foreground"]);
        cmd.args(args).arg(source).arg(&point);
        cmd.env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap());
        let child = cmd.spawn().unwrap();
        let mut mount = Mount {
            point,
            _point_dir: point_dir,
            child: Some(child),
            log,
            _log_dir: log_dir,
        };
        let started = Instant::now();
        loop {
            if is_mount_point(&mount.point) {
                return Some(mount);
            }
            let child = mount.child.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                let log = mount.log();
                if not_permitted(&log) {
                    eprintln!("skip: mounting with FUSE is not permitted here:\n{log}");
                    return None;
                }
                panic!("jigsmith mount exited ({status}) before mounting\n{log}");
            }
            assert!(
                started.elapsed() < DEADLINE,
                "not mounted after {DEADLINE:?}\n{}",
                mount.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A path inside the mount.
    fn path(&self, rel: &str) -> PathBuf {
        self.point.join(rel)
    }

    /// What the mount process logged so far.
    fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`) to the mount process.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id();
        tool("kill", [format!("-{signal}"), pid.to_string()]).ok();
    }

    /// Waits for the mount process to exit by itself; asserts it did so cleanly.
    fn assert_exits_cleanly(&mut self) {
        let child = self.child.as_mut().unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "mount process still running after {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.child = None;
        assert!(status.success(), "exit {status}\n{}", self.log());
        assert!(
            !is_mount_point(&self.point),
            "stale mount left on {}\n{}",
            self.point.display(),
            self.log()
        );
        // the directory is an ordinary empty directory again
        let entries = std::fs::read_dir(&self.point).unwrap().count();
        assert_eq!(entries, 0);
    }

    /// The one image in the mount's root (the name `Filename=` gives it).
    fn image(&self) -> PathBuf {
        let names: Vec<String> = std::fs::read_dir(&self.point)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".jigdo") && !n.ends_with(".template") && !n.ends_with("SUMS"))
            .filter(|n| self.path(n).is_file())
            .collect();
        assert_eq!(names.len(), 1, "one image expected in the root: {names:?}");
        self.path(&names[0])
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("fusermount3")
            .args(["-u", "-z", "-q", "--"])
            .arg(&self.point)
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn not_permitted(log: &str) -> bool {
    [
        "Operation not permitted",
        "Permission denied",
        "No such device",
        "fuse: device not found",
    ]
    .iter()
    .any(|m| log.contains(m))
}

/// A tool's stdout as text.
fn stdout_of(mut cmd: Command) -> String {
    String::from_utf8_lossy(&cmd.ok().stdout).into_owned()
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The mounted image is the real one: md5, every byte, size, mode and date; the
/// .jigdo, template and MD5SUMS beside it; bsdtar, xorriso and 7z list the same
/// tree from it as from the real ISO; random preads from four threads match.
#[test]
fn mounted_image_reads_like_the_real_one() {
    if !fuse_usable()
        || !have_all(&[
            "xorriso",
            "jigdo-gen-checksum-list",
            "md5sum",
            "bsdtar",
            "7z",
        ])
    {
        return;
    }
    let tree = tricky_tree(901);
    let iso = Jte::xorriso().build(&tree);
    let map = format!("{LABEL}={}", p(&tree.root));
    let Some(m) = Mount::foreground(&["--map", &map], &iso.jigdo) else {
        return;
    };
    let mounted = m.image();
    assert_eq!(md5_hex(&mounted), md5_hex(&iso.iso));
    assert_same_file(&mounted, &iso.iso, "mounted image");

    let meta = std::fs::metadata(&mounted).unwrap();
    let template = std::fs::metadata(&iso.template).unwrap();
    assert_eq!(meta.len(), std::fs::metadata(&iso.iso).unwrap().len());
    assert_eq!(meta.mode() & 0o7777, 0o444);
    assert_eq!(meta.mtime(), template.mtime());
    assert_eq!(read(&m.path("image.jigdo")), read(&iso.jigdo));
    assert_eq!(read(&m.path("image.template")), read(&iso.template));
    let name = mounted.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        String::from_utf8(read(&m.path("MD5SUMS"))).unwrap(),
        format!("{}  {name}\n", md5_hex(&iso.iso))
    );
    // read-only
    assert!(std::fs::write(m.path("new.txt"), "x").is_err());
    assert!(File::options().write(true).open(&mounted).is_err());

    let bsdtar = |image: &Path| {
        let mut cmd = tool("bsdtar", ["-tvf"]);
        cmd.arg(image);
        stdout_of(cmd)
    };
    let listing = bsdtar(&mounted);
    assert!(listing.contains("deep.bin"), "{listing}");
    assert_eq!(listing, bsdtar(&iso.iso), "bsdtar -tvf");
    let xorriso = |image: &Path| {
        let mut cmd = tool("xorriso", ["-indev"]);
        cmd.arg(image).args(["-find", "/", "-exec", "lsdl"]);
        stdout_of(cmd)
    };
    assert_eq!(xorriso(&mounted), xorriso(&iso.iso), "xorriso -find");
    let seven = |image: &Path| {
        let mut cmd = tool("7z", ["l", "-ba"]);
        cmd.arg(image);
        stdout_of(cmd)
    };
    let listing = seven(&mounted);
    assert!(listing.contains("victim.bin"), "{listing}");
    assert_eq!(listing, seven(&iso.iso), "7z l");

    assert_random_preads_match(&mounted, &read(&iso.iso));
}

/// Four threads, each with its own descriptor, read 300 random ranges (1 byte to
/// 300 KiB, some past the end) and compare them with the real image.
fn assert_random_preads_match(mounted: &Path, real: &[u8]) {
    std::thread::scope(|s| {
        for seed in 1..=4u64 {
            s.spawn(move || {
                let f = File::open(mounted).unwrap();
                let mut rng = Rng::new(seed * 7919);
                let len = real.len() as u64;
                for _ in 0..300 {
                    let at = rng.next_u64() % (len + 4096);
                    let want = 1 + (rng.next_u64() % (300 << 10)) as usize;
                    let mut buf = vec![0u8; want];
                    let mut got = 0;
                    while got < want {
                        let n = f.read_at(&mut buf[got..], at + got as u64).unwrap();
                        if n == 0 {
                            break;
                        }
                        got += n;
                    }
                    let start = (at as usize).min(real.len());
                    let end = (at as usize + want).min(real.len());
                    assert_eq!(got, end - start, "pread of {want} at {at}");
                    assert!(
                        buf[..got] == real[start..end],
                        "thread {seed}: {want} bytes at {at} differ from the real image"
                    );
                }
            });
        }
    });
}

/// A corrupt source file fails the reads that touch it with EIO and one log line
/// naming it; the rest of that image and another image read fine.
#[test]
fn a_corrupt_source_is_eio_only_where_it_lies() {
    if !fuse_usable() || !have_all(&["xorriso", "jigdo-gen-checksum-list", "md5sum"]) {
        return;
    }
    let tree = TreeBuilder::new(902)
        .file("a.bin", 300_000)
        .file("b.bin", 300_000)
        .file("c.bin", 300_000)
        .build();
    let other_tree = TreeBuilder::new(903).file("x.bin", 200_000).build();
    let (iso, other) = (
        Jte::xorriso().build(&tree),
        Jte::xorriso().build(&other_tree),
    );
    // one catalog: the first image at the root, the other in other/
    let (_root_dir, root) = canonical_temp_dir();
    for (from, to) in [
        (&iso.jigdo, "image.jigdo"),
        (&iso.template, "image.template"),
        (&other.jigdo, "other/image.jigdo"),
        (&other.template, "other/image.template"),
    ] {
        write(&root.join(to), read(from));
    }
    let real = read(&iso.iso);
    let bad_start = offset_in_image(&real, &tree, "b.bin");
    let bad_end = bad_start + 300_000;
    tree.corrupt("b.bin");
    let (list, other_list) = (p(&iso.list), p(&other.list));
    let Some(m) = Mount::foreground(&["-f", &list, "-f", &other_list], &root) else {
        return;
    };
    let mounted = m.image();
    let f = File::open(&mounted).unwrap();
    // 64 KiB reads; the kernel reads whole 4 KiB pages, so a read sharing a page
    // with the bad file may go either way
    let page = |x: u64| x / 4096;
    let (mut good, mut bad) = (0, 0);
    const CHUNK: u64 = 64 << 10;
    for at in (0..real.len() as u64).step_by(CHUNK as usize) {
        let end = (at + CHUNK).min(real.len() as u64);
        let mut buf = vec![0u8; (end - at) as usize];
        let result = f.read_exact_at(&mut buf, at);
        if page(end - 1) < page(bad_start) || page(at) > page(bad_end - 1) {
            result.unwrap_or_else(|e| panic!("read at {at} (away from b.bin) failed: {e}"));
            assert!(buf == real[at as usize..end as usize], "bytes at {at}");
            good += 1;
        } else if at >= bad_start && end <= bad_end {
            let err = result.expect_err("a read inside the corrupt file must fail");
            assert_eq!(err.raw_os_error(), Some(5), "EIO expected, got {err}");
            bad += 1;
        }
    }
    assert!(good > 5 && bad >= 3, "{good} good and {bad} failing reads");
    let log = m.log();
    let line = log
        .lines()
        .find(|l| l.contains("read failed"))
        .unwrap_or_else(|| panic!("no log line for the failed read:\n{log}"));
    assert!(
        line.contains("b.bin") && line.contains("image.iso") && line.contains("WARN"),
        "the line names the image and the file: {line}"
    );
    assert!(!log.contains("a.bin") && !log.contains("c.bin"), "{log}");
    // the other image is untouched by all this
    assert_eq!(md5_hex(&m.path("other/image.iso")), md5_hex(&other.iso));
}

/// An ISOLINUX image (isohybrid) that exists only as .jigdo + .template boots in qemu
/// straight from the mount, as a CD and as a hard disk.
#[test]
fn qemu_boots_an_isolinux_image_from_the_mount() {
    if !fuse_usable() || !have_boot_tools(true) || !have_all(&["jigdo-gen-checksum-list"]) {
        return;
    }
    let tree = boot_tree(904);
    let dir = temp_dir();
    let out = |name: &str| dir.path().join(name);
    let list = out("checksums.list");
    write(&list, checksum_list(&files_under(&tree.root), false));
    let mut cmd = tool("xorriso", ["-as", "mkisofs", "-quiet", "-r", "-J"]);
    cmd.args(["-V", "JIGSMITH_BOOT", "-isohybrid-mbr", ISOHDPFX])
        .args(ISOLINUX_BOOT)
        .arg("-o")
        .arg(out("boot.iso"))
        .arg("-jigdo-jigdo")
        .arg(out("boot.jigdo"))
        .arg("-jigdo-template")
        .arg(out("boot.template"))
        .arg("-md5-list")
        .arg(&list)
        .arg("-jigdo-map")
        .arg(format!("{LABEL}={}/", p(&tree.root)))
        .args(["-jigdo-min-file-size", "1024"])
        .arg(&tree.root);
    cmd.ok();
    let jigdo = String::from_utf8(read(&out("boot.jigdo"))).unwrap();
    // isolinux.bin is patched (boot info table): its modules are the parts
    assert!(
        jigdo.contains("ldlinux.c32"),
        "ISOLINUX is a part:\n{jigdo}"
    );
    let Some(m) = Mount::foreground(&["-f", &p(&list)], &out("boot.jigdo")) else {
        return;
    };
    let mounted = m.image();
    assert_eq!(md5_hex(&mounted), md5_hex(&out("boot.iso")));
    for medium in [Medium::Cd, Medium::HardDisk] {
        let run = boot(&mounted, medium);
        assert!(run.booted(), "no boot from the mount as {medium:?}\n{run}");
    }
}

/// SIGTERM and SIGINT unmount: the process exits 0 and the mount point is an
/// ordinary empty directory again.
#[test]
fn sigterm_and_sigint_unmount_cleanly() {
    if !fuse_usable() {
        return;
    }
    let jigdo = hello().join("hello.jigdo");
    for signal in ["TERM", "INT"] {
        let Some(mut m) = Mount::foreground(&["--map", &hello_map()], &jigdo) else {
            return;
        };
        assert_eq!(md5_hex(&m.path("hello.iso")), HELLO_MD5);
        m.signal(signal);
        m.assert_exits_cleanly();
        assert!(m.log().contains("unmounting"), "{}", m.log());
    }
}

/// SIGTERM while a file is open: the mount is detached at once (no new opens), the open
/// file still reads, and the process exits cleanly once it is closed.
#[test]
fn sigterm_with_a_file_open_detaches_and_serves_it_until_closed() {
    if !fuse_usable() {
        return;
    }
    let jigdo = hello().join("hello.jigdo");
    let Some(mut m) = Mount::foreground(&["--map", &hello_map()], &jigdo) else {
        return;
    };
    let open = File::open(m.path("hello.iso")).unwrap();
    m.signal("TERM");
    assert!(
        wait_for(|| !is_mount_point(&m.point)),
        "still mounted after SIGTERM\n{}",
        m.log()
    );
    let mut head = [0u8; 5];
    open.read_exact_at(&mut head, 32769).unwrap();
    assert_eq!(&head, b"CD001", "the open file reads on after the detach");
    drop(open);
    m.assert_exits_cleanly();
}

/// An empty tree mounted with `--rescan SECS`, parts mapped to the example's mirror.
fn mount_empty_tree(rescan: &str) -> Option<(tempfile::TempDir, PathBuf, Mount)> {
    if !fuse_usable() {
        return None;
    }
    let (dir, root) = canonical_temp_dir();
    let m = Mount::foreground(&["--rescan", rescan, "--map", &hello_map()], &root)?;
    Some((dir, root, m))
}

/// SIGHUP rescans: a .jigdo added to the tree appears, one removed disappears.
#[test]
fn sighup_shows_new_and_removed_images() {
    let Some((_root_dir, root, m)) = mount_empty_tree("0") else {
        return;
    };
    assert!(!m.path("hello.iso").exists());
    copy_hello(&root.join("v1"));
    m.signal("HUP");
    let appeared = wait_for(|| m.path("v1/hello.iso").exists());
    assert!(appeared, "no v1/hello.iso after SIGHUP\n{}", m.log());
    assert_eq!(md5_hex(&m.path("v1/hello.iso")), HELLO_MD5);
    std::fs::remove_file(root.join("v1/hello.jigdo")).unwrap();
    m.signal("HUP");
    let gone = wait_for(|| !m.path("v1/hello.iso").exists());
    assert!(gone, "v1/hello.iso still there after SIGHUP\n{}", m.log());
}

/// With `--rescan SECS`, a new .jigdo appears without any signal.
#[test]
fn rescan_interval_shows_new_images() {
    let Some((_root_dir, root, m)) = mount_empty_tree("1") else {
        return;
    };
    copy_hello(&root);
    let appeared = wait_for(|| m.path("hello.iso").exists());
    assert!(appeared, "no hello.iso after a rescan\n{}", m.log());
    assert_eq!(md5_hex(&m.path("hello.iso")), HELLO_MD5);
}

fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Without `--foreground` the command returns once the filesystem is mounted (the
/// server runs on); `jigsmith umount` unmounts it. A SOURCE that publishes nothing
/// fails with the reason and mounts nothing.
#[test]
fn background_mount_and_jigsmith_umount() {
    if !fuse_usable() {
        return;
    }
    let (point_dir, point) = canonical_temp_dir();
    let guard = Mount {
        point: point.clone(),
        _point_dir: point_dir,
        child: None,
        log: PathBuf::new(),
        _log_dir: temp_dir(),
    };
    let jigdo = hello().join("hello.jigdo");
    let out = jigsmith(["mount", "--map", &hello_map()])
        .arg(&jigdo)
        .arg(&point)
        .output_of();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && not_permitted(&stderr) {
        eprintln!("skip: mounting with FUSE is not permitted here:\n{stderr}");
        return;
    }
    assert!(out.status.success(), "jigsmith mount failed:\n{stderr}");
    assert!(
        is_mount_point(&point),
        "not mounted after jigsmith mount returned"
    );
    assert_eq!(md5_hex(&point.join("hello.iso")), HELLO_MD5);
    jigsmith(["umount"]).arg(&point).ok();
    assert!(wait_for(|| !is_mount_point(&point)), "still mounted");
    // unmounting what is not mounted is an error
    jigsmith(["umount"]).arg(&point).fails();

    // nothing to publish: an error naming the cause, and no mount
    let dir = temp_dir();
    let broken = dir.path().join("broken.jigdo");
    write(
        &broken,
        "[Image]\nFilename=x.iso\nTemplate=missing.template\n",
    );
    let cmd = &mut jigsmith(["mount"]);
    cmd.arg(&broken).arg(&point);
    let out = cmd.fails();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.jigdo"), "{stderr}");
    assert!(!is_mount_point(&point));
    drop(guard);
}
