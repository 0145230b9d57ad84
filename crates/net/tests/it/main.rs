//! The downloader against a loopback server with injected faults.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod server;

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use jigsmith_assemble::PartSource;
use jigsmith_checksum::{Algorithm, Hasher};
use jigsmith_format::{Jigdo, PartEntry, ServerEntry};
use jigsmith_net::{
    ClientConfig, Error, Fetcher, FileAt, HttpMirrors, Mirrors, PartCache, PartUrl, Task, Url,
};
use server::{Fault, Server};

fn config() -> ClientConfig {
    ClientConfig {
        read_timeout: Duration::from_secs(2),
        backoff: Duration::from_millis(10),
        ..ClientConfig::default()
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

/// Two mirrors serving the same file `f.bin`.
fn two_mirrors(len: usize) -> (tempfile::TempDir, Server, Server, Vec<u8>) {
    let d = tempfile::tempdir().unwrap();
    let content = data(len);
    for m in ["a", "b"] {
        fs::create_dir_all(d.path().join(m)).unwrap();
        fs::write(d.path().join(m).join("f.bin"), &content).unwrap();
    }
    let a = Server::start(&d.path().join("a"));
    let b = Server::start(&d.path().join("b"));
    (d, a, b, content)
}

fn task(urls: &[&Server], content: &[u8], out: &std::path::Path) -> Task {
    let file = fs::File::create(out).unwrap();
    Task {
        digest: Hasher::digest(Algorithm::Md5, content),
        len: content.len() as u64,
        urls: urls
            .iter()
            .map(|s| PartUrl {
                url: Url::parse(&format!("{}f.bin", s.url())).unwrap(),
                mirror: s.url().into(),
            })
            .collect(),
        writer: Arc::new(FileAt {
            file: Arc::new(file),
            base: 0,
        }),
    }
}

#[test]
fn fails_over_on_404_5xx_and_bad_checksum() {
    let (d, a, b, content) = two_mirrors(100_000);
    let fetcher = Fetcher::new(config(), 2).unwrap();
    let out = d.path().join("out");
    for fault in [Fault::Status(404), Fault::Status(503), Fault::Corrupt] {
        a.fault("f.bin", fault.clone());
        let got = fetcher
            .fetch_part(&task(&[&a, &b], &content, &out), &())
            .unwrap();
        assert_eq!(&*got.mirror, b.url(), "{fault:?}");
        assert_eq!(fs::read(&out).unwrap(), content);
        assert_eq!(got.failures.len(), 1, "{:?}", got.failures);
    }
}

#[test]
fn a_dropped_transfer_resumes_with_a_range() {
    let (d, a, _b, content) = two_mirrors(300_000);
    a.fault(
        "f.bin",
        Fault::DropAfter {
            bytes: 100_000,
            times: 1,
        },
    );
    let fetcher = Fetcher::new(config(), 2).unwrap();
    let out = d.path().join("out");
    fetcher
        .fetch_part(&task(&[&a], &content, &out), &())
        .unwrap();
    assert_eq!(fs::read(&out).unwrap(), content);
    let log = a.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[1].range_from.is_some_and(|r| r > 0), "{log:?}");
    // no byte was sent twice
    assert_eq!(
        log.iter().map(|l| l.body_bytes).sum::<u64>(),
        content.len() as u64
    );
}

#[test]
fn too_long_bodies_and_https_downgrades_are_refused() {
    let (d, a, b, content) = two_mirrors(1000);
    let fetcher = Fetcher::new(config(), 2).unwrap();
    let out = d.path().join("out");
    a.fault("f.bin", Fault::TooLong(5000));
    let err = fetcher
        .fetch_part(&task(&[&a], &content, &out), &())
        .unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
    // a redirect to another mirror is followed
    a.fault("f.bin", Fault::Redirect(format!("{}f.bin", b.url())));
    fetcher
        .fetch_part(&task(&[&a], &content, &out), &())
        .unwrap();
    // a redirect to file: is not
    a.fault("f.bin", Fault::Redirect("file:///etc/passwd".into()));
    assert!(fetcher
        .fetch_part(&task(&[&a], &content, &out), &())
        .is_err());
    // too many redirects
    a.fault("f.bin", Fault::Redirect(format!("{}f.bin", a.url())));
    let err = fetcher
        .fetch_part(&task(&[&a], &content, &out), &())
        .unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
}

#[test]
fn a_stalled_server_times_out_and_the_next_mirror_serves() {
    let (d, a, b, content) = two_mirrors(1000);
    a.fault("f.bin", Fault::Slow(Duration::from_secs(5)));
    let cfg = ClientConfig {
        retries: 0,
        ..config()
    };
    let fetcher = Fetcher::new(cfg, 2).unwrap();
    let out = d.path().join("out");
    let got = fetcher
        .fetch_part(&task(&[&a, &b], &content, &out), &())
        .unwrap();
    assert_eq!(&*got.mirror, b.url());
}

#[test]
fn http_mirrors_source_caches_verified_parts() {
    let (d, a, b, content) = two_mirrors(50_000);
    let digest = Hasher::digest(Algorithm::Md5, &content);
    let jigdo = Jigdo {
        parts: vec![PartEntry::new(digest, "Deb:f.bin")],
        servers: vec![
            ServerEntry {
                label: "Deb".into(),
                raw: format!("{} --try-last", b.url()),
            },
            ServerEntry {
                label: "Deb".into(),
                raw: a.url(),
            },
        ],
        ..Jigdo::default()
    };
    a.fault("f.bin", Fault::Corrupt);
    let fetcher = Arc::new(Fetcher::new(config(), 2).unwrap());
    let mirrors = Mirrors::from_jigdo(&jigdo, &[], true).unwrap();
    let cache = PartCache::open(&d.path().join("cache"), 1 << 20).unwrap();
    let src = HttpMirrors::new(fetcher, mirrors, &jigdo, cache);
    assert!(src.candidates(&digest).is_empty());
    let loc = src.fetch(&digest, content.len() as u64).unwrap().unwrap();
    assert_eq!(fs::read(&loc.path).unwrap(), content);
    assert_eq!(src.candidates(&digest), vec![loc]);
    assert_eq!(src.stats()[b.url().as_str()], content.len() as u64);
    // a part no mirror has
    let other = Hasher::digest(Algorithm::Md5, b"nope");
    assert!(src.fetch(&other, 4).unwrap().is_none());
    assert!(matches!(
        Mirrors::new().add("X", "ftp://h/"),
        Err(Error::BadUrl { .. })
    ));
}

/// An https mirror with a certificate from a test CA: trusted with
/// `ca_certs`, refused without. The server is `openssl s_server -WWW`.
#[test]
fn https_mirror_with_a_test_ca() {
    let have = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is required under CI"
        );
        eprintln!("skip: openssl not installed");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=jigsmith test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "srv.key",
                "-out",
                "srv.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let content = data(20_000);
    fs::write(dir.join("f.bin"), &content).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("openssl")
        .args([
            "s_server", "-quiet", "-WWW", "-cert", "srv.pem", "-key", "srv.key", "-accept",
        ])
        .arg(port.to_string())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = Url::parse(&format!("https://127.0.0.1:{port}/f.bin")).unwrap();
    let up = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "s_server did not start");
    let out = dir.join("out");
    let mk_task = || Task {
        digest: Hasher::digest(Algorithm::Md5, &content),
        len: content.len() as u64,
        urls: vec![PartUrl {
            url: url.clone(),
            mirror: "tls".into(),
        }],
        writer: Arc::new(FileAt {
            file: Arc::new(fs::File::create(&out).unwrap()),
            base: 0,
        }),
    };
    let untrusting = Fetcher::new(
        ClientConfig {
            retries: 0,
            ..config()
        },
        1,
    )
    .unwrap();
    let err = untrusting.fetch_part(&mk_task(), &()).unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let trusting = Fetcher::new(
        ClientConfig {
            ca_certs: vec![dir.join("ca.pem")],
            ..config()
        },
        1,
    )
    .unwrap();
    let result = trusting.fetch_part(&mk_task(), &());
    let _ = server.kill();
    let _ = server.wait();
    result.unwrap();
    assert_eq!(fs::read(&out).unwrap(), content);
}

/// Many parts at once, pipelined: the first mirror is down (nothing
/// listens), so every part comes from the second one, each exactly once.
#[test]
fn fetch_many_with_the_first_mirror_down() {
    let (d, _a, b, _) = two_mirrors(10);
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut tasks = Vec::new();
    let mut want = Vec::new();
    for i in 0..40usize {
        let content = data(1000 + i * 997);
        let name = format!("p{i}.bin");
        fs::write(d.path().join("b").join(&name), &content).unwrap();
        let file = fs::File::create(d.path().join(format!("out{i}"))).unwrap();
        tasks.push(Task {
            digest: Hasher::digest(Algorithm::Md5, &content),
            len: content.len() as u64,
            urls: [format!("http://127.0.0.1:{dead_port}/"), b.url()]
                .iter()
                .map(|m| PartUrl {
                    url: Url::parse(&format!("{m}{name}")).unwrap(),
                    mirror: m.as_str().into(),
                })
                .collect(),
            writer: Arc::new(FileAt {
                file: Arc::new(file),
                base: 0,
            }),
        });
        want.push(content);
    }
    let fetcher = Fetcher::new(config(), 2).unwrap();
    let mut done = vec![false; tasks.len()];
    fetcher.fetch_many(tasks, 8, Arc::new(()), |i, r| {
        assert_eq!(&*r.unwrap().mirror, b.url());
        done[i] = true;
        true
    });
    assert!(done.iter().all(|d| *d));
    for (i, content) in want.iter().enumerate() {
        assert_eq!(
            &fs::read(d.path().join(format!("out{i}"))).unwrap(),
            content
        );
    }
    assert_eq!(b.log().len(), 40, "each part fetched once from B");
}
