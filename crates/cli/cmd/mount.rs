//! `jigsmith mount` and `jigsmith umount`: every .jigdo of a tree as its
//! image, in a read-only FUSE filesystem (issue 9).
//!
//! Like sshfs, `mount` returns once the filesystem is mounted: it runs
//! itself again with `--foreground` (a fresh process, so no fork after
//! threads exist), relays that process's messages while it starts, and
//! returns 0 when the child says it is mounted (and the mount shows in
//! /proc/self/mountinfo), or the child's error when it exits first.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

/// What the `--detached` child prints on stderr once its mount is up.
const READY: &str = "jigsmith-mount: ready";

#[derive(Debug, Args)]
pub struct MountArgs {
    #[command(flatten)]
    sources: super::source_args::SourceArgs,
    /// Stay attached: serve from this process and log to stderr until
    /// SIGINT/SIGTERM or an unmount.
    #[arg(long)]
    foreground: bool,
    /// FUSE options, comma-separated: allow_other, allow_root, or any
    /// option fusermount3 takes (the mount is always read-only).
    #[arg(short = 'o', value_name = "OPT[,OPT]", value_delimiter = ',')]
    options: Vec<String>,
    /// Memory for decompressed template data, shared by all images, in MiB.
    #[arg(long, value_name = "MiB", default_value_t = 64)]
    cache_size: u64,
    /// Threads answering requests (each read waits on its own thread).
    #[arg(long, value_name = "N", default_value_t = 8)]
    threads: usize,
    /// Rescan SOURCE for new, changed and removed .jigdo files every SECS
    /// seconds (0: only on SIGHUP).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    rescan: u64,
    /// Append log lines to FILE (in the background they are otherwise
    /// dropped once the mount is up).
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
    /// Set by the background start: log to stderr (a pipe to the starting
    /// process) only until the mount is up, then drop log lines.
    #[arg(long, hide = true)]
    detached: bool,
    /// One .jigdo file, or a directory tree of them.
    source: PathBuf,
    /// An existing directory to mount on.
    mountpoint: PathBuf,
}

#[derive(Debug, Args)]
pub struct UmountArgs {
    /// Detach now even if files are open (they are served until closed).
    #[arg(short = 'z', long)]
    lazy: bool,
    /// Where a `jigsmith mount` is mounted.
    mountpoint: PathBuf,
}

pub fn run(a: MountArgs) -> anyhow::Result<ExitCode> {
    if !cfg!(unix) {
        bail!("jigsmith mount needs FUSE, which this system does not have");
    }
    if a.foreground {
        serve(a)
    } else {
        start_in_background(a)
    }
}

#[cfg(unix)]
fn serve(a: MountArgs) -> anyhow::Result<ExitCode> {
    let quiet = Arc::new(AtomicBool::new(false));
    init_logging(
        a.log_file.as_deref(),
        a.detached.then(|| Arc::clone(&quiet)),
    )?;
    let mut catalog = jigsmith_fuse::CatalogConfig::new(&a.source);
    catalog.maps = a.sources.map.clone();
    catalog.lists = a.sources.checksum_list.clone();
    catalog.data_cache_bytes = a.cache_size.saturating_mul(1 << 20);
    let options = jigsmith_fuse::MountOptions {
        fuse_options: a.options,
        read_threads: a.threads,
        rescan_interval: (a.rescan > 0).then(|| Duration::from_secs(a.rescan)),
    };
    let mut shared = jigsmith_catalog::Shared::new(catalog)
        .with_context(|| format!("publishing {}", a.source.display()))?;
    a.sources.install(&mut shared)?;
    let mounted =
        jigsmith_fuse::mount_shared(shared, &a.mountpoint, &options).with_context(|| {
            format!(
                "mounting {} on {}",
                a.source.display(),
                a.mountpoint.display()
            )
        })?;
    if a.detached {
        // the starting process stops reading our stderr once it has the
        // READY line: nothing may be written there after it
        quiet.store(true, Ordering::Relaxed);
        eprintln!("{READY}");
    }
    mounted
        .run()
        .with_context(|| format!("serving {}", a.mountpoint.display()))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(unix))]
fn serve(_: MountArgs) -> anyhow::Result<ExitCode> {
    unreachable!("refused in run")
}

/// Log lines go to stderr (`crate::logging`), or appended to `file`;
/// `RUST_LOG` filters them (default: info). With `quiet`, stderr lines stop
/// once it is set.
#[cfg(unix)]
fn init_logging(file: Option<&Path>, quiet: Option<Arc<AtomicBool>>) -> anyhow::Result<()> {
    use tracing_subscriber::fmt::writer::EitherWriter;
    if file.is_none() && quiet.is_none() {
        crate::logging::init(false);
        return Ok(());
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    // both only fail when a subscriber is already set, which is then kept
    match file {
        Some(path) => {
            let f = std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the log file {}", path.display()))?;
            let _ = builder.with_writer(std::sync::Mutex::new(f)).try_init();
        }
        None => {
            let quiet = quiet.unwrap_or_default();
            let writer = move || {
                if quiet.load(Ordering::Relaxed) {
                    EitherWriter::B(std::io::sink())
                } else {
                    EitherWriter::A(std::io::stderr())
                }
            };
            let _ = builder.with_writer(writer).try_init();
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn start_in_background(_: MountArgs) -> anyhow::Result<ExitCode> {
    unreachable!("refused in run")
}

/// Runs `jigsmith mount --foreground` with absolute paths from `/` (so the
/// daemon keeps no directory busy), and waits until its mount is up.
#[cfg(unix)]
fn start_in_background(a: MountArgs) -> anyhow::Result<ExitCode> {
    let abs =
        |p: &Path| std::path::absolute(p).with_context(|| format!("resolving {}", p.display()));
    let mountpoint = abs(&a.mountpoint)?;
    let meta = std::fs::metadata(&mountpoint)
        .with_context(|| format!("mount point {}", mountpoint.display()))?;
    if !meta.is_dir() {
        bail!("mount point {} is not a directory", mountpoint.display());
    }
    let mountpoint = mountpoint
        .canonicalize()
        .with_context(|| format!("resolving {}", mountpoint.display()))?;
    let before = mount_ids(&mountpoint)?;

    let exe = std::env::current_exe().context("finding the jigsmith binary to run")?;
    let mut cmd = Command::new(exe);
    cmd.args(["mount", "--foreground", "--detached"])
        .arg(format!("--cache-size={}", a.cache_size))
        .arg(format!("--threads={}", a.threads))
        .arg(format!("--rescan={}", a.rescan));
    for (label, dir) in &a.sources.map {
        let mut map = std::ffi::OsString::from(format!("--map={label}="));
        map.push(abs(dir)?);
        cmd.arg(map);
    }
    for list in &a.sources.checksum_list {
        cmd.arg("--checksum-list").arg(abs(list)?);
    }
    cmd.args(a.sources.to_args()?);
    if !a.options.is_empty() {
        cmd.arg("-o").arg(a.options.join(","));
    }
    if let Some(log) = &a.log_file {
        cmd.arg("--log-file").arg(abs(log)?);
    }
    cmd.arg("--").arg(abs(&a.source)?).arg(&mountpoint);
    // its own process group: a signal to the caller's job is not for it
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("starting the mount process")?;

    // relay what the child says while it starts (broken .jigdo files,
    // errors) until its READY line
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let relay = child.stderr.take().map(|pipe| {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if line == READY {
                    let _ = ready_tx.send(());
                    return;
                }
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        })
    });
    loop {
        if ready.try_recv().is_ok() {
            if !mount_ids(&mountpoint)?
                .iter()
                .any(|id| !before.contains(id))
            {
                bail!("{} is not in /proc/self/mountinfo", mountpoint.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(status) = child.try_wait().context("waiting for the mount process")? {
            // let the relay print the child's last words
            if let Some(relay) = relay {
                let _ = relay.join();
            }
            if ready.try_recv().is_ok() {
                bail!("the mount process exited ({status}) right after mounting");
            }
            bail!(
                "the mount process exited ({status}) before {} was mounted",
                mountpoint.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The ids of the jigsmith FUSE mounts on `mountpoint` (canonical), from
/// /proc/self/mountinfo.
fn mount_ids(mountpoint: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text, mountpoint))
}

fn parse_mountinfo(text: &str, mountpoint: &Path) -> Vec<String> {
    let want = mountpoint.to_string_lossy();
    text.lines()
        .filter_map(|line| {
            let (fields, rest) = line.split_once(" - ")?;
            let mut fields = fields.split(' ');
            let id = fields.next()?;
            let point = fields.nth(3)?;
            let mut rest = rest.split(' ');
            let (fstype, source) = (rest.next()?, rest.next()?);
            // mounted by fusermount3: fuse.jigsmith; by root directly: fuse
            let ours = matches!(fstype, "fuse.jigsmith" | "fuse") && source == "jigsmith";
            (ours && unescape(point) == want).then(|| id.to_string())
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let mut out = Vec::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `fusermount3 -u [-z] MOUNTPOINT`, or `umount [-l]` where there is no
/// fusermount3 (root only).
pub fn run_umount(a: UmountArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Command::new("fusermount3");
    cmd.arg("-u");
    if a.lazy {
        cmd.arg("-z");
    }
    cmd.arg("--").arg(&a.mountpoint);
    let out = match cmd.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut umount = Command::new("umount");
            if a.lazy {
                umount.arg("-l");
            }
            umount
                .arg(&a.mountpoint)
                .output()
                .context("running fusermount3 (not installed) or umount")?
        }
        other => other.context("running fusermount3")?,
    };
    if !out.status.success() {
        bail!(
            "unmounting {}: {}",
            a.mountpoint.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_of_our_mounts_are_found_by_mount_point() {
        let text = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
97 22 0:50 / /tmp/a\\040b rw,nosuid,nodev,relatime shared:60 - fuse.jigsmith jigsmith ro,user_id=0
98 22 0:51 / /tmp/a\\040b rw,nosuid,nodev,relatime shared:61 - fuse.sshfs host: rw
99 22 0:52 / /tmp/other rw - fuse.jigsmith jigsmith ro
100 22 0:53 / /tmp/other rw - fuse jigsmith ro
101 22 0:54 / /tmp/other rw - fuse sshfs ro
";
        assert_eq!(parse_mountinfo(text, Path::new("/tmp/a b")), ["97"]);
        assert_eq!(
            parse_mountinfo(text, Path::new("/tmp/other")),
            ["99", "100"]
        );
        assert!(parse_mountinfo(text, Path::new("/tmp/a")).is_empty());
        assert_eq!(unescape("a\\134b\\011c\\"), "a\\b\tc\\");
    }
}
