//! External readers: run them, or skip (never under CI=true).

use std::path::Path;
use std::process::Command;

/// Whether `name` is installed. Off CI a missing tool prints `skip: <tool> not installed`;
/// under `CI=true` it fails the test (CI installs them, and a skip must never hide that).
pub fn have(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} not installed (required under CI=true)");
        }
        eprintln!("skip: {name} not installed");
    }
    found
}

/// Runs a tool and returns its stdout; fails the test with stderr on a non-zero exit.
pub fn run(cmd: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("spawn tool");
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `run` with path arguments.
pub fn run_p(cmd: &str, args: &[&str], image: &Path) -> String {
    let mut a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    a.push(image.as_os_str());
    run(cmd, &a)
}
