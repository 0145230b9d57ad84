//! Mounting, running until a signal or an unmount, and unmounting.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use fuser::{Config, MountOption, Notifier, Session, SessionACL};
use jigsmith_catalog::{Catalog, CatalogConfig, Shared};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::fs::{JigdoFs, State};
use crate::{Error, MountOptions};

/// A mounted catalog; [`Mounted::run`] serves it until it is unmounted.
pub struct Mounted {
    session: Session<JigdoFs>,
    signals: Signals,
    state: Arc<State>,
    mountpoint: PathBuf,
    interval: Option<Duration>,
}

/// Scans `catalog`'s root and mounts what it publishes read-only on
/// `mountpoint`. Returns once the filesystem is mounted (and visible in
/// `/proc/self/mountinfo`); nothing is served until [`Mounted::run`].
///
/// SIGHUP, SIGINT and SIGTERM are taken over from here on, so that a
/// signal arriving right after the mount appears is not lost.
///
/// # Errors
/// [`Error::Catalog`] for an unreadable root or checksum list,
/// [`Error::NothingPublished`] when the root is one `.jigdo` that cannot be
/// published, [`Error::Mountpoint`] when the mount point is not a
/// directory, [`Error::Mount`] when the kernel or `fusermount3` refuses.
///
/// # Security
/// Everything under the root is untrusted input: broken `.jigdo` files and
/// templates are left out, symlinks out of the root are refused, and every
/// source file is checked against its checksum before its bytes are served.
pub fn mount(
    catalog: CatalogConfig,
    mountpoint: &Path,
    options: &MountOptions,
) -> Result<Mounted, Error> {
    let shared = Shared::new(catalog).map_err(Error::Catalog)?;
    mount_shared(shared, mountpoint, options)
}

/// [`mount`] with the catalog's shared state already set up, e.g. with
/// remote part sources ([`Shared::set_remote`]).
///
/// # Errors
/// As [`mount`].
pub fn mount_shared(
    shared: Shared,
    mountpoint: &Path,
    options: &MountOptions,
) -> Result<Mounted, Error> {
    let root = shared.config().root.clone();
    let single = std::fs::metadata(&root).is_ok_and(|m| m.is_file());
    let first = Catalog::scan(&shared, None);
    if single && first.is_empty() {
        return Err(Error::NothingPublished { root });
    }
    if first.is_empty() {
        tracing::warn!(root = %root.display(), "no image published yet (SIGHUP rescans)");
    }
    match std::fs::metadata(mountpoint) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::Mountpoint {
                path: mountpoint.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
            })
        }
        Err(source) => {
            return Err(Error::Mountpoint {
                path: mountpoint.to_path_buf(),
                source,
            })
        }
    }
    let state = Arc::new(State::new(shared, first)?);
    let signals = Signals::new([SIGHUP, SIGINT, SIGTERM]).map_err(Error::Signals)?;
    let session = Session::new(
        JigdoFs::new(Arc::clone(&state)),
        mountpoint,
        &fuse_config(options),
    )
    .map_err(|source| Error::Mount {
        path: mountpoint.to_path_buf(),
        source,
    })?;
    widen_readahead(mountpoint);
    tracing::info!(
        mountpoint = %mountpoint.display(),
        images = state.images(),
        "mounted"
    );
    Ok(Mounted {
        session,
        signals,
        state,
        mountpoint: mountpoint.to_path_buf(),
        interval: options.rescan_interval,
    })
}

impl Mounted {
    /// Serves requests until the filesystem is unmounted: by SIGINT or
    /// SIGTERM (which unmount it here), or from outside (`fusermount3 -u`).
    /// SIGHUP rescans the root: new `.jigdo` files appear, removed ones go.
    ///
    /// # Errors
    /// [`Error::Session`] if talking to the kernel failed.
    pub fn run(self) -> Result<(), Error> {
        let Mounted {
            mut session,
            mut signals,
            state,
            mountpoint,
            interval,
        } = self;
        let mut unmounter = session.unmount_callable();
        let notifier = session.notifier();
        // a rescan every interval until the session ends (the sender is dropped)
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let timer = self_rescans(&state, session.notifier(), interval, stopped)?;
        let closer = signals.handle();
        let runner = std::thread::Builder::new()
            .name("fuse-session".into())
            .spawn(move || {
                let result = session.run();
                // unmounted from outside, or after a signal: stop waiting for signals
                closer.close();
                result
            })
            .map_err(Error::Session)?;
        for signal in signals.forever() {
            if signal == SIGHUP {
                state.rescan(Some(&notifier));
                continue;
            }
            tracing::info!(mountpoint = %mountpoint.display(), signal, "unmounting");
            if let Err(e) = unmounter.unmount() {
                // busy (a file is open): detach it now, served until closed
                tracing::warn!(mountpoint = %mountpoint.display(), "unmount: {e}; detaching it");
                lazy_unmount(&mountpoint);
            }
            break;
        }
        drop(stop);
        if let Some(timer) = timer {
            let _ = timer.join();
        }
        match runner.join() {
            Ok(result) => result.map_err(Error::Session),
            Err(_) => Err(Error::Session(std::io::Error::other(
                "the FUSE session thread panicked",
            ))),
        }
    }

    /// Scans the root again now (what SIGHUP does).
    pub fn rescan(&self) {
        self.state.rescan(None);
    }
}

/// The kernel reads ahead at most 128 KiB on a FUSE mount, in requests of
/// that size. Where allowed (root), raise it to [`READAHEAD_KB`] in the
/// mount's bdi: a sequential reader then gets fewer, larger requests, with
/// more of the image in flight. The device number comes from
/// mountinfo: a `stat` of the mount point would wait for this very
/// filesystem, which is not serving yet.
fn widen_readahead(mountpoint: &Path) {
    let Ok(point) = mountpoint.canonicalize() else {
        return;
    };
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some(device) = bdi_of(&info, &point.to_string_lossy()) else {
        return;
    };
    let knob = format!("/sys/class/bdi/{device}/read_ahead_kb");
    match std::fs::write(&knob, READAHEAD_KB.to_string()) {
        Ok(()) => tracing::debug!(%knob, "readahead {READAHEAD_KB} KiB"),
        Err(e) => tracing::debug!(%knob, "readahead left as it is: {e}"),
    }
}

/// Readahead asked for where the kernel lets us. On the corpus image
/// (bench/mount.sh, A/B of 128 to 1024 KiB) 256 KiB read sequentially
/// ~40% faster than 128; 1024 was no faster still, and slowed random 64 KiB
/// reads by a quarter (their readahead grows once neighbours are cached).
const READAHEAD_KB: u32 = 256;

/// The `major:minor` of the last mount on `point` (mount points with spaces
/// are escaped in mountinfo, and the kernel's bdi names are the same).
fn bdi_of(mountinfo: &str, point: &str) -> Option<String> {
    let escaped = point
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012");
    mountinfo.lines().rev().find_map(|line| {
        let mut fields = line.split(' ');
        let device = fields.nth(2)?;
        let at = fields.nth(1)?;
        (at == escaped).then(|| device.to_string())
    })
}

/// Starts the thread that rescans every `interval` until `stopped` says so.
fn self_rescans(
    state: &Arc<State>,
    notifier: Notifier,
    interval: Option<Duration>,
    stopped: Receiver<()>,
) -> Result<Option<JoinHandle<()>>, Error> {
    let Some(interval) = interval else {
        return Ok(None);
    };
    let state = Arc::clone(state);
    std::thread::Builder::new()
        .name("fuse-rescan".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                state.rescan(Some(&notifier));
            }
        })
        .map(Some)
        .map_err(Error::Session)
}

/// `fusermount3 -u -z MOUNTPOINT`: detach now, finish when the last file closes.
fn lazy_unmount(mountpoint: &Path) {
    let status = Command::new("fusermount3")
        .args(["-u", "-z", "--"])
        .arg(mountpoint)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        tracing::warn!(mountpoint = %mountpoint.display(), "fusermount3 -u -z failed");
    }
}

fn fuse_config(options: &MountOptions) -> Config {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::NoDev,
        MountOption::NoSuid,
        // the kernel checks the modes (0444/0555), as on any read-only disk
        MountOption::DefaultPermissions,
        MountOption::FSName("jigsmith".into()),
        MountOption::Subtype("jigsmith".into()),
    ];
    config.acl = SessionACL::Owner;
    // several session threads, each with its own /dev/fuse descriptor
    config.n_threads = Some(options.read_threads.max(1));
    config.clone_fd = true;
    for option in &options.fuse_options {
        match option.as_str() {
            "allow_other" => config.acl = SessionACL::All,
            "allow_root" => config.acl = SessionACL::RootAndOwner,
            "ro" | "nodev" | "nosuid" | "default_permissions" => {}
            other => config.mount_options.push(MountOption::CUSTOM(other.into())),
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_options_are_read_only_and_pass_the_rest_through() {
        let options = MountOptions {
            fuse_options: vec!["allow_other".into(), "ro".into(), "noatime".into()],
            ..MountOptions::default()
        };
        let c = fuse_config(&options);
        assert_eq!(c.acl, SessionACL::All);
        assert!(c.mount_options.contains(&MountOption::RO));
        assert!(c.mount_options.contains(&MountOption::DefaultPermissions));
        assert!(c
            .mount_options
            .contains(&MountOption::CUSTOM("noatime".into())));
        assert_eq!(
            c.mount_options
                .iter()
                .filter(|o| **o == MountOption::RO)
                .count(),
            1
        );
        assert_eq!(fuse_config(&MountOptions::default()).acl, SessionACL::Owner);
    }

    #[test]
    fn the_bdi_of_a_mount_point_comes_from_mountinfo() {
        let info = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
97 22 0:50 / /tmp/a\\040b rw,nosuid - fuse jigsmith ro
98 22 0:51 / /tmp/a\\040b rw,nosuid - fuse jigsmith ro
";
        assert_eq!(bdi_of(info, "/tmp/a b").as_deref(), Some("0:51"));
        assert_eq!(bdi_of(info, "/").as_deref(), Some("8:1"));
        assert_eq!(bdi_of(info, "/tmp/a"), None);
    }

    #[test]
    fn a_broken_single_jigdo_is_an_error_not_an_empty_mount() {
        let dir = tempfile::tempdir().unwrap();
        let jigdo = dir.path().join("x.jigdo");
        std::fs::write(&jigdo, "[Image]\nTemplate=missing.template\n").unwrap();
        let err = mount(
            CatalogConfig::new(&jigdo),
            dir.path(),
            &MountOptions::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, Error::NothingPublished { .. }), "{err}");
    }

    #[test]
    fn a_mountpoint_that_is_not_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = mount(
            CatalogConfig::new(dir.path()),
            &file,
            &MountOptions::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, Error::Mountpoint { .. }), "{err}");
    }
}
