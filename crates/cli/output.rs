//! Where results go: a file written atomically, or stdout.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use anyhow::Context;
use tempfile::NamedTempFile;

/// An output file that appears under its name only when complete: it is
/// written to a temporary file in the same directory and renamed by
/// [`AtomicFile::commit`]. Dropped without commit, nothing is left behind.
pub struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> anyhow::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".part");
        // the finished file gets the usual 0666 & ~umask, not a temp file's 0600
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// A writer for large outputs: a helper thread asks the kernel to start
    /// writing each completed stretch to disk while the rest is still being
    /// produced, so the fsync in [`AtomicFile::commit`] waits only for the
    /// tail instead of the whole image (the kernel would otherwise keep
    /// gigabytes dirty until then). The hint costs the writer nothing: it is
    /// given on another thread because starting writeback can block.
    pub fn streaming_writer(&mut self) -> Writeback<'_> {
        let flusher = self.temp.as_file().try_clone().ok().and_then(|file| {
            let (tx, rx) = std::sync::mpsc::channel::<(u64, u64)>();
            let handle = std::thread::Builder::new()
                .name("writeback".into())
                .spawn(move || {
                    for (offset, len) in rx {
                        start_writeback(&file, offset, len);
                    }
                })
                .ok()?;
            Some(Flusher {
                queue: tx,
                thread: handle,
            })
        });
        Writeback {
            file: self.temp.as_file_mut(),
            written: 0,
            started: 0,
            flusher,
        }
    }

    /// Flushes to disk: the last point where a full disk (or any delayed
    /// write error) shows. Outputs that must appear together are all synced
    /// before any is committed.
    pub fn sync(&self) -> anyhow::Result<()> {
        self.temp
            .as_file()
            .sync_all()
            .with_context(|| format!("writing {}", self.target.display()))
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> anyhow::Result<()> {
        self.sync()?;
        let target = self.target;
        self.temp
            .persist(&target)
            .map_err(|e| e.error)
            .with_context(|| format!("renaming the finished file to {}", target.display()))?;
        Ok(())
    }
}

impl AtomicFile {
    /// A writer for big outputs made of large, aligned writes (the JTE
    /// sink's 4 KiB-aligned 2 MiB chunks): those go past the page cache
    /// (O_DIRECT), straight from the writer's buffer to the disk, so the
    /// image costs no copy into the page cache and leaves no gigabyte of
    /// dirty pages for the final fsync. Any other write, and every write
    /// where O_DIRECT is not supported, goes through the ordinary handle.
    pub fn direct_writer(&mut self) -> DirectWriter<'_> {
        DirectWriter {
            direct: open_direct(self.temp.as_file()),
            file: self.temp.as_file_mut(),
            pos: 0,
        }
    }
}

/// See [`AtomicFile::direct_writer`].
pub struct DirectWriter<'a> {
    file: &'a mut File,
    direct: Option<File>,
    pos: u64,
}

/// What O_DIRECT needs aligned: memory address, length and file offset.
const DIRECT_ALIGN: usize = 4096;

impl Write for DirectWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let aligned = (buf.as_ptr() as usize) % DIRECT_ALIGN == 0
            && buf.len() % DIRECT_ALIGN == 0
            && self.pos % DIRECT_ALIGN as u64 == 0;
        if let Some(direct) = self.direct.as_ref().filter(|_| aligned && !buf.is_empty()) {
            match direct.write_at(buf, self.pos) {
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                // the filesystem takes no O_DIRECT writes after all
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.direct = None,
                Err(e) => return Err(e),
            }
        }
        let n = self.file.write_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A second handle on `file` that bypasses the page cache, if the
/// filesystem allows it (opened through /proc so it is the same inode).
#[cfg(target_os = "linux")]
fn open_direct(file: &File) -> Option<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_file: &File) -> Option<File> {
    None
}

/// See [`AtomicFile::streaming_writer`].
pub struct Writeback<'a> {
    file: &'a mut File,
    written: u64,
    /// Writeback was asked for bytes before this offset.
    started: u64,
    flusher: Option<Flusher>,
}

/// The hinting thread and its queue of `(offset, len)` stretches.
struct Flusher {
    queue: Sender<(u64, u64)>,
    thread: JoinHandle<()>,
}

/// How much is written before writeback of it is started.
const WRITEBACK_STEP: u64 = 32 << 20;

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_STEP {
            if let Some(flusher) = &self.flusher {
                let _ = flusher
                    .queue
                    .send((self.started, self.written - self.started));
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Writeback<'_> {
    fn drop(&mut self) {
        if let Some(Flusher { queue, thread }) = self.flusher.take() {
            drop(queue);
            let _ = thread.join();
        }
    }
}

/// Starts (does not wait for) writing `len` bytes at `offset` to disk. A
/// hint only: failures are ignored, the final fsync reports real errors.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: sync_file_range only reads its integer arguments; the fd is
    // open for as long as `file` is borrowed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// `None` or `-` means stdout.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Runs `f` with a writer to `path` (atomically) or to stdout.
pub fn write_to<T>(
    path: Option<&Path>,
    f: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match path {
        Some(p) if !is_stdout(Some(p)) => {
            let mut out = AtomicFile::create(p)?;
            let value = {
                let mut w = BufWriter::with_capacity(1 << 20, out.streaming_writer());
                let v = f(&mut w)?;
                w.flush()
                    .with_context(|| format!("writing {}", p.display()))?;
                v
            };
            out.commit()?;
            Ok(value)
        }
        _ => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let v = f(&mut w)?;
            w.flush().context("writing to standard output")?;
            Ok(v)
        }
    }
}

/// Writes `jigdo` to a new [`AtomicFile`] at `path`, left uncommitted so the
/// caller can make it appear together with the template (and image).
pub fn write_jigdo(path: &Path, jigdo: &jigsmith_format::Jigdo) -> anyhow::Result<AtomicFile> {
    let mut file = AtomicFile::create(path)?;
    {
        let mut w = BufWriter::new(file.file());
        jigdo
            .write(&mut w)
            .with_context(|| format!("writing {}", path.display()))?;
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(file)
}

/// A JSON string literal (quotes, backslashes and control characters
/// escaped), for the `--json` lines of `verify` and `get`.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.iso");
        let mut file = AtomicFile::create(&target).unwrap();
        file.file().write_all(b"half").unwrap();
        assert!(!target.exists());
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// Aligned and unaligned writes, in any order, end up where they belong.
    #[test]
    fn direct_writer_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big.iso");
        // a 4 KiB-aligned stretch inside a bigger buffer, as the JTE chunks
        let backing: Vec<u8> = (0..(3 << 20) + 8192u32).map(|i| (i % 253) as u8).collect();
        let off = backing.as_ptr().align_offset(DIRECT_ALIGN);
        let aligned = &backing[off..off + (2 << 20)];
        let mut want = Vec::new();
        let mut file = AtomicFile::create(&target).unwrap();
        {
            let mut w = file.direct_writer();
            for piece in [
                aligned,
                aligned,
                &backing[1..5000],
                aligned,
                &backing[3..4099],
                aligned,
            ] {
                w.write_all(piece).unwrap();
                want.extend_from_slice(piece);
            }
            w.flush().unwrap();
        }
        file.commit().unwrap();
        assert!(std::fs::read(&target).unwrap() == want);
    }

    /// Crosses the writeback step several times with writes of odd sizes:
    /// the hints must not change a byte.
    #[test]
    fn streaming_writer_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big.iso");
        let chunk: Vec<u8> = (0..999_983u32).map(|i| (i % 251) as u8).collect();
        let rounds = (3 * WRITEBACK_STEP as usize) / chunk.len() + 2;
        let mut file = AtomicFile::create(&target).unwrap();
        {
            let mut w = file.streaming_writer();
            for _ in 0..rounds {
                w.write_all(&chunk).unwrap();
            }
            w.flush().unwrap();
        }
        file.commit().unwrap();
        let written = std::fs::read(&target).unwrap();
        assert_eq!(written.len(), rounds * chunk.len());
        assert!(written.chunks(chunk.len()).all(|c| c == chunk));
    }
}
