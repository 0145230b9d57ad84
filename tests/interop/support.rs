//! Running programs: the jigsmith binary, the old tools, and assertions on what they did.
//!
//! A missing old tool prints `skip: <tool> not installed` and the test returns early,
//! except under `CI=true`, where it is a failure (STYLE.md section 7: CI installs the
//! tools, and a skip must never hide that).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Returns early from the calling test unless every named tool is on `PATH`.
macro_rules! require {
    ($($tool:expr),+ $(,)?) => {
        if !$crate::support::have_all(&[$($tool),+]) {
            return;
        }
    };
}
pub(crate) use require;

/// Whether every tool is installed; prints the skip line for each one that is not.
pub fn have_all(tools: &[&str]) -> bool {
    let mut all = true;
    for tool in tools {
        if find_in_path(tool).is_none() {
            not_installed(tool);
            all = false;
        }
    }
    all
}

/// Whether the files a package installs outside `PATH` (boot loaders, modules) are all
/// there; otherwise prints `skip: <package> not installed`, like [`have_all`].
pub fn have_package_files(package: &str, files: &[&str]) -> bool {
    let all = files.iter().all(|f| Path::new(f).is_file());
    if !all {
        not_installed(package);
    }
    all
}

fn not_installed(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "{what} not installed, and CI=true: CI must install every old tool"
    );
    eprintln!("skip: {what} not installed");
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// The jigsmith binary under test.
pub fn jigsmith_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jigsmith"))
}

/// `jigsmith <args>`.
pub fn jigsmith<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(jigsmith_bin());
    cmd.args(args);
    cmd
}

/// An old tool with arguments.
pub fn tool<I, S>(name: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(name);
    cmd.args(args);
    cmd
}

/// Shell-like rendering of a command, for failure messages that can be pasted.
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![shell_quote(cmd.get_program())];
    parts.extend(cmd.get_args().map(shell_quote));
    let line = parts.join(" ");
    match cmd.get_current_dir() {
        Some(dir) => format!("(cd {} && {line})", shell_quote(dir.as_os_str())),
        None => line,
    }
}

fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn render(cmd: &Command, out: &Output) -> String {
    format!(
        "command: {}\nstatus: {}\nstderr:\n{}\nstdout ({} bytes):\n{}",
        describe(cmd),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        out.stdout.len(),
        String::from_utf8_lossy(out.stdout.get(..2000).unwrap_or(&out.stdout)),
    )
}

/// Running a command and asserting on the outcome; every failure message carries the
/// command line, exit status and stderr.
pub trait Run {
    /// Runs with stdin closed, capturing stdout (a pipe) and stderr.
    fn output_of(&mut self) -> Output;
    /// Runs and asserts exit status 0.
    fn ok(&mut self) -> Output;
    /// Runs and asserts a non-zero exit that is not a Rust panic (101) nor a signal.
    fn fails(&mut self) -> Output;
}

impl Run for Command {
    fn output_of(&mut self) -> Output {
        self.stdin(Stdio::null());
        match self.output() {
            Ok(out) => out,
            Err(e) => panic!("cannot run {}: {e}", describe(self)),
        }
    }

    fn ok(&mut self) -> Output {
        let out = self.output_of();
        assert!(
            out.status.success(),
            "expected success\n{}",
            render(self, &out)
        );
        out
    }

    fn fails(&mut self) -> Output {
        let out = self.output_of();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "expected a non-zero exit\n{}",
            render(self, &out)
        );
        assert!(
            out.status.code().is_some() && out.status.code() != Some(101),
            "expected an orderly error exit, not a panic or a signal\n{}",
            render(self, &out)
        );
        assert!(
            !stderr.contains("panicked"),
            "must not panic\n{}",
            render(self, &out)
        );
        out
    }
}

/// Asserts a failed run's stderr names `needle` (a file name).
pub fn assert_stderr_names(cmd: &Command, out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(needle),
        "stderr must name {needle:?}\n{}",
        render(cmd, out)
    );
}

/// Reads a whole file, panicking with its name.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Writes a whole file, creating its directory, panicking with its name.
pub fn write(path: &Path, data: impl AsRef<[u8]>) {
    mkdir_parent(path);
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Creates the directory `path` goes in.
pub fn mkdir_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
}

/// The lowercase hex MD5 of a file, by `md5sum`.
pub fn md5_hex(path: &Path) -> String {
    let out = tool("md5sum", [path]).ok();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Bytes `start..=end` of a file.
pub fn slice_of(path: &Path, start: u64, end: u64) -> Vec<u8> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.seek(SeekFrom::Start(start))
        .unwrap_or_else(|e| panic!("seek: {e}"));
    let mut buf = Vec::new();
    f.take(end - start + 1)
        .read_to_end(&mut buf)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    buf
}

/// Asserts two byte strings are equal, reporting lengths and the first differing offset
/// (never dumping megabytes).
pub fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let first = actual
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(actual.len().min(expected.len()));
    panic!(
        "{what}: differs from the original image: {} bytes written, {} expected, first difference at offset {first}",
        actual.len(),
        expected.len()
    );
}

/// Asserts the file at `actual` is byte-identical to `expected` (streaming, so 65 MiB
/// images are fine), and that their MD5s agree.
pub fn assert_same_file(actual: &Path, expected: &Path, what: &str) {
    assert!(
        actual.is_file(),
        "{what}: no output file at {}",
        actual.display()
    );
    let (mut a, mut b) = (open(actual), open(expected));
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut offset = 0u64;
    loop {
        let na = fill(&mut a, &mut ba);
        let nb = fill(&mut b, &mut bb);
        let (ca, cb) = (&ba[..na], &bb[..nb]);
        if ca != cb {
            let first = ca
                .iter()
                .zip(cb)
                .position(|(x, y)| x != y)
                .unwrap_or(na.min(nb));
            panic!(
                "{what}: {} differs from {} at offset {} (sizes {} and {})",
                actual.display(),
                expected.display(),
                offset + first as u64,
                file_len(actual),
                file_len(expected)
            );
        }
        if na == 0 {
            break;
        }
        offset += na as u64;
    }
    assert_eq!(md5_hex(actual), md5_hex(expected), "{what}: md5 differs");
}

fn open(path: &Path) -> File {
    File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn fill(f: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    n
}

/// Size of a file in bytes.
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .len()
}

/// Names of the entries of a directory (for "nothing was left behind" checks).
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
    names.sort();
    names
}

/// A fresh temporary directory and its canonical path (what libjte writes into a
/// .jigdo, so `-jigdo-map` prefixes must use it).
pub fn canonical_temp_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir();
    let path = dir
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("canonicalize {}: {e}", dir.path().display()));
    (dir, path)
}

/// A fresh temporary directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("jigsmith-interop-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// A directory holding symlinks named like the old tools, each pointing at the jigsmith
/// binary, so argv[0] personalities can be tested.
pub fn personality_links(names: &[&str]) -> tempfile::TempDir {
    let dir = temp_dir();
    for name in names {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(jigsmith_bin(), &link)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
    }
    dir
}

/// A tiny tmpfs mounted on a temporary directory, to fill up: the full-disk tests.
/// Unmounted when dropped.
pub struct SmallDisk {
    mount: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts `kib` KiB of tmpfs, or prints why not (mounting needs root) and returns
    /// `None`. Under `CI=true` (root in CI) failing to mount fails the test.
    pub fn mount(kib: u64) -> Option<SmallDisk> {
        let mount = temp_dir();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(mount.path())
            .stderr(Stdio::null())
            .status();
        if status.is_ok_and(|s| s.success()) {
            return Some(SmallDisk { mount });
        }
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("cannot mount a {kib} KiB tmpfs for the full-disk test");
        }
        eprintln!("skip: cannot mount a tmpfs (not root?)");
        None
    }

    pub fn path(&self) -> &Path {
        self.mount.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.mount.path()).status();
    }
}

/// A child process (a test's mirror or server) killed when dropped, so a
/// failing assertion does not leave it running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python3 -m http.server` serving a directory on a free loopback port (a
/// plain HTTP mirror), killed when dropped.
pub struct LoopbackMirror {
    pub port: u16,
    _server: KillOnDrop,
}

impl LoopbackMirror {
    /// Starts the server and waits (20 s at most) until it accepts connections.
    pub fn start(dir: &Path) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let server = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = KillOnDrop(server);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the mirror did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        LoopbackMirror {
            port,
            _server: server,
        }
    }
}
