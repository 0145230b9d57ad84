//! `jigsmith serve` against real clients: curl (HTTP/1.1 and HTTP/2), wget -c,
//! aria2c with 8 connections and headless Chromium; hostile requests over raw
//! TCP; a corrupt source never becomes a wrong byte. Every server listens on
//! 127.0.0.1 on a port the kernel picks, and is stopped by the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fixture::{Iso, Jte, LABEL};
use crate::support::{jigsmith_bin, read, require, temp_dir, tool, write, LoopbackMirror, Run};
use crate::tree::{Tree, TreeBuilder};

/// A running `jigsmith serve`, killed when dropped; its log collected.
struct Served {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(root: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(jigsmith_bin())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .arg(root)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting jigsmith serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line
                    .split("on http://")
                    .nth(1)
                    .and_then(|a| a.trim_end_matches('/').parse::<SocketAddr>().ok())
                {
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start: {:?}", log.lock().unwrap()));
        Served { child, addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until a log line contains every one of `needles`.
    fn wait_for_log(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?}: {:#?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: &str) {
        Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .ok();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "jigsmith serve log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An image published under ROOT as `<name>.jigdo` + `<name>.template`,
/// which the server calls `<name>.iso`.
struct Published {
    iso: Iso,
    tree: Tree,
}

impl Published {
    fn new(seed: u64, sizes: &[u64]) -> Published {
        let mut builder = TreeBuilder::new(seed);
        for (i, size) in sizes.iter().enumerate() {
            builder = builder.file(&format!("pool/main/p/pkg{i}/pkg{i}_1.0_all.deb"), *size);
        }
        builder = builder.unlisted("README.txt", 3000);
        let tree = builder.build();
        let iso = Jte::xorriso().build(&tree);
        Published { iso, tree }
    }

    fn publish(&self, root: &Path, name: &str) {
        let text = self.iso.jigdo_text();
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("Template=") {
                    format!("Template={name}.template\n")
                } else if l.starts_with("Filename=") {
                    format!("Filename={name}.iso\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        write(&root.join(format!("{name}.jigdo")), text);
        std::fs::copy(&self.iso.template, root.join(format!("{name}.template"))).unwrap();
    }

    fn map(&self) -> String {
        format!("{LABEL}={}", self.tree.root.display())
    }

    fn bytes(&self) -> Vec<u8> {
        read(&self.iso.iso)
    }

    /// Where a file of the tree starts in the image.
    fn offset_of(&self, rel: &str) -> usize {
        let image = self.bytes();
        let head = read(&self.tree.path(rel));
        let needle = &head[..4096.min(head.len())];
        image
            .windows(needle.len())
            .step_by(2048)
            .position(|w| w == needle)
            .map(|block| block * 2048)
            .unwrap_or_else(|| panic!("{rel} not found in the image"))
    }
}

fn md5_hex(data: &[u8]) -> String {
    let dir = temp_dir();
    let f = dir.path().join("x");
    write(&f, data);
    let out = tool("md5sum", [&f]).ok().stdout;
    String::from_utf8(out).unwrap()[..32].to_string()
}

fn curl(args: &[&str]) -> std::process::Output {
    tool("curl", ["-sS", "--max-time", "60"].iter().chain(args)).output_of()
}

/// Sends raw bytes and returns what came back before the server closed or
/// two seconds passed.
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or("")
}

const MIB: u64 = 1 << 20;

/// Ten files of 3 MiB: the image is over 30 MiB, so files lie past the
/// 16 MiB the server checks before it answers, and aria2c splits it.
fn big_image(seed: u64) -> Published {
    Published::new(seed, &[3 * MIB; 10])
}

#[test]
fn real_clients_download_every_byte() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "curl",
        "wget",
        "aria2c",
        "md5sum"
    );
    let image = big_image(71);
    let root = temp_dir();
    image.publish(root.path(), "big");
    let served = Served::start(root.path(), &["--map", &image.map()]);
    let url = served.url("/big.iso");
    let expected = image.bytes();
    let len = expected.len();
    let md5 = md5_hex(&expected);
    let out = temp_dir();

    // curl, HTTP/1.1 and HTTP/2 by prior knowledge.
    for (flag, version) in [("--http1.1", "1.1"), ("--http2-prior-knowledge", "2")] {
        let file = out.path().join(format!("curl-{version}.iso"));
        let o = curl(&[
            flag,
            "-o",
            file.to_str().unwrap(),
            "-w",
            "%{http_version} %{http_code}",
            &url,
        ]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), format!("{version} 200"));
        assert!(read(&file) == expected, "curl {flag}: wrong bytes");
    }

    // wget -c resumes a partial download.
    let partial = out.path().join("big.iso");
    write(&partial, &expected[..len / 3 + 12345]);
    tool("wget", ["-q", "-c", "-O", partial.to_str().unwrap(), &url]).ok();
    assert!(read(&partial) == expected, "wget -c: wrong bytes");

    // aria2c with 8 connections.
    tool(
        "aria2c",
        [
            "-q",
            "-x8",
            "-s8",
            "-k1M",
            "--min-split-size=1M",
            "--allow-overwrite=true",
            "--auto-file-renaming=false",
            "-d",
            out.path().to_str().unwrap(),
            "-o",
            "aria.iso",
            &url,
        ],
    )
    .ok();
    assert!(
        read(&out.path().join("aria.iso")) == expected,
        "aria2c: wrong bytes"
    );
    let ranged = served
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("status=206") && l.contains("big.iso"))
        .count();
    assert!(
        ranged >= 4,
        "aria2c should have used several ranges, saw {ranged}"
    );

    // Single ranges: closed, open, suffix, and one that ends past the end.
    for (spec, range) in [
        ("0-99", 0..100),
        ("20000000-20999999", 20_000_000..21_000_000),
        (&*format!("{}-", len - 5000), len - 5000..len),
        ("-70000", len - 70000..len),
        (&*format!("{}-{}", len - 10, len + 1000), len - 10..len),
    ] {
        let o = curl(&["-r", spec, "-D", "-", "-o", "/dev/null", &url]);
        let head = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(head.starts_with("HTTP/1.1 206"), "{spec}: {head}");
        let cr = format!(
            "content-range: bytes {}-{}/{len}",
            range.start,
            range.end - 1
        );
        assert!(head.to_lowercase().contains(&cr), "{spec}: {head}");
        let body = curl(&["-r", spec, &url]).stdout;
        assert!(body == expected[range.clone()], "{spec}: wrong bytes");
    }

    // Several ranges: multipart/byteranges, overlapping ones merged.
    let o = curl(&[
        "-H",
        "Range: bytes=5000000-5000999,0-9,5000500-5001499",
        "-D",
        "/dev/stderr",
        &url,
    ]);
    let head = String::from_utf8_lossy(&o.stderr).to_lowercase();
    assert!(head.contains("multipart/byteranges; boundary="), "{head}");
    let parts = multipart_parts(&o.stdout);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].0, format!("bytes 0-9/{len}"));
    assert!(parts[0].1 == expected[0..10]);
    assert_eq!(parts[1].0, format!("bytes 5000000-5001499/{len}"));
    assert!(parts[1].1 == expected[5_000_000..5_001_500]);

    // 416 names the length.
    let o = curl(&["-r", &format!("{len}-"), "-D", "-", "-o", "/dev/null", &url]);
    let head = String::from_utf8_lossy(&o.stdout).to_lowercase();
    assert!(head.starts_with("http/1.1 416"), "{head}");
    assert!(
        head.contains(&format!("content-range: bytes */{len}")),
        "{head}"
    );

    // HEAD, validators and conditional requests.
    let o = curl(&["-I", &url]);
    let head = String::from_utf8_lossy(&o.stdout).to_lowercase();
    assert!(head.contains(&format!("content-length: {len}")), "{head}");
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    assert!(
        head.contains("content-type: application/x-iso9660-image"),
        "{head}"
    );
    let etag = format!("\"{md5}\"");
    assert!(head.contains(&format!("etag: {etag}")), "{head}");
    let modified = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("last-modified: "))
        .unwrap()
        .trim()
        .to_string();
    let code = |args: &[&str]| {
        let mut all = vec!["-o", "/dev/null", "-w", "%{http_code}"];
        all.extend_from_slice(args);
        all.push(&url);
        String::from_utf8(curl(&all).stdout).unwrap()
    };
    assert_eq!(code(&["-H", &format!("If-None-Match: {etag}")]), "304");
    assert_eq!(code(&["-H", "If-None-Match: \"other\""]), "200");
    assert_eq!(
        code(&["-H", &format!("If-Modified-Since: {modified}")]),
        "304"
    );
    assert_eq!(
        code(&["-r", "0-9", "-H", &format!("If-Range: {etag}")]),
        "206"
    );
    assert_eq!(code(&["-r", "0-9", "-H", "If-Range: \"stale\""]), "200");
    assert_eq!(code(&["-H", "If-Match: \"stale\""]), "412");

    // The .jigdo and template byte for byte, the SUMS files, the JSON index.
    assert!(curl(&[&served.url("/big.jigdo")]).stdout == read(&root.path().join("big.jigdo")));
    assert!(
        curl(&[&served.url("/big.template")]).stdout == read(&root.path().join("big.template"))
    );
    let sums = String::from_utf8(curl(&[&served.url("/MD5SUMS")]).stdout).unwrap();
    assert_eq!(sums, format!("{md5}  big.iso\n"));
    let json =
        String::from_utf8(curl(&["-H", "Accept: application/json", &served.url("/")]).stdout)
            .unwrap();
    assert!(
        json.contains("\"name\": \"big.iso\"") && json.contains(&format!("\"size\": {len}")),
        "{json}"
    );
    assert!(json.contains(&format!("\"md5\": \"{md5}\"")), "{json}");
}

/// Splits a multipart/byteranges body into (Content-Range, bytes).
fn multipart_parts(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = body;
    let first_line_end = text.windows(2).skip(2).position(|w| w == b"\r\n").unwrap() + 2;
    let boundary = text[2..first_line_end].to_vec();
    let mut parts = Vec::new();
    let mut rest = &text[first_line_end + 2..];
    loop {
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: "))
            .unwrap()
            .to_string();
        let data_start = head_end + 4;
        let mut delim = b"\r\n".to_vec();
        delim.extend_from_slice(&boundary);
        let data_len = rest[data_start..]
            .windows(delim.len())
            .position(|w| w == delim.as_slice())
            .unwrap();
        parts.push((range, rest[data_start..data_start + data_len].to_vec()));
        rest = &rest[data_start + data_len + delim.len()..];
        if rest.starts_with(b"--") {
            return parts;
        }
        rest = &rest[2..];
    }
}

#[test]
fn a_bad_source_is_an_error_never_a_wrong_byte() {
    require!("xorriso", "jigdo-gen-checksum-list", "curl");
    let image = big_image(72);
    let other = Published::new(73, &[100_000, 200_000]);
    let root = temp_dir();
    image.publish(root.path(), "big");
    other.publish(root.path(), "other");
    let served = Served::start(root.path(), &["--map", &image.map(), "--map", &other.map()]);
    let expected = image.bytes();
    let url = served.url("/big.iso");

    // Corrupt the file that lies last in the image (past the pre-checked 16 MiB).
    let (last, at) = (0..10)
        .map(|i| format!("pool/main/p/pkg{i}/pkg{i}_1.0_all.deb"))
        .map(|rel| {
            let at = image.offset_of(&rel);
            (rel, at)
        })
        .max_by_key(|(_, at)| *at)
        .unwrap();
    assert!(at as u64 > 17 * MIB, "{last} at {at}");
    image.tree.corrupt(&last);

    // A range over it: 503 before any byte, naming the file; one log line
    // names the file and the image.
    let o = curl(&["-r", &format!("{}-{}", at, at + 100), "-D", "-", &url]);
    let answer = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains(&last) && answer.contains("checksum"),
        "{answer}"
    );
    served.wait_for_log(&["big.iso", &last]);

    // A range elsewhere still comes, right.
    let body = curl(&["-r", "0-999999", &url]).stdout;
    assert!(body == expected[..1_000_000]);

    // The whole image: the transfer starts, then stops short before the
    // bad file; what came is a prefix of the real image.
    let o = curl(&["-o", "-", &url]);
    assert!(!o.status.success(), "curl should see a short transfer");
    assert!(
        o.stdout.len() <= at,
        "got {} bytes, the bad file starts at {at}",
        o.stdout.len()
    );
    assert!(
        o.stdout == expected[..o.stdout.len()],
        "the bytes sent must be the real ones"
    );
    served.wait_for_log(&["transfer cut short", "big.iso", &last]);

    // The other image is unaffected; a removed file of it is a 503 too.
    let other_bytes = curl(&[&served.url("/other.iso")]).stdout;
    assert!(other_bytes == other.bytes());
    other.tree.remove("pool/main/p/pkg1/pkg1_1.0_all.deb");
    // Its verdict is cached; a fresh server must find the file gone.
    drop(served);
    let served = Served::start(root.path(), &["--map", &image.map(), "--map", &other.map()]);
    let code = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &served.url("/other.iso"),
    ])
    .stdout;
    assert_eq!(String::from_utf8_lossy(&code), "503");
    served.wait_for_log(&["other.iso", "pkg1_1.0_all.deb"]);
}

#[test]
fn hostile_requests_are_refused_cleanly() {
    require!("xorriso", "jigdo-gen-checksum-list", "curl");
    let image = Published::new(74, &[50_000, 60_000]);
    let root = temp_dir();
    image.publish(&root.path().join("sub").tap_mkdir(), "small");
    // A .jigdo symlink leading out of ROOT is not published.
    let outside = temp_dir();
    image.publish(outside.path(), "escaped");
    std::os::unix::fs::symlink(
        outside.path().join("escaped.jigdo"),
        root.path().join("escaped.jigdo"),
    )
    .unwrap();
    let served = Served::start(
        root.path(),
        &[
            "--map",
            &image.map(),
            "--max-connections",
            "8",
            "--header-timeout",
            "1",
        ],
    );
    let addr = served.addr;

    for target in [
        "/../etc/passwd",
        "/sub/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2E%2E%2Fetc%2Fpasswd",
        "/sub%2f..%2f..%2fetc",
        "/sub\\..\\..\\etc",
        "/sub/%00",
    ] {
        let r = raw(
            addr,
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let status = status_line(&r);
        assert!(
            status.contains(" 400 ") || status.contains(" 404 "),
            "{target}: {status}"
        );
        assert!(!r.contains("root:"), "{target}");
    }
    let r = raw(
        addr,
        b"GET /escaped.iso HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(status_line(&r).contains(" 404 "), "{}", status_line(&r));
    let r = raw(addr, b"POST /sub/small.iso HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert!(status_line(&r).contains(" 405 "), "{r}");
    assert!(r.to_lowercase().contains("allow: get, head"), "{r}");

    // A directory without its slash is redirected.
    let r = raw(
        addr,
        b"GET /sub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        status_line(&r).contains(" 301 ") && r.to_lowercase().contains("location: /sub/"),
        "{r}"
    );

    // A huge head is refused, not buffered.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let r = raw(addr, big.as_bytes());
    assert!(
        r.is_empty() || status_line(&r).contains(" 431 ") || status_line(&r).contains(" 400 "),
        "{}",
        status_line(&r)
    );

    // Over a thousand ranges: the whole image with 200, not a thousand parts;
    // and a Range header past the head limit is refused with 431.
    let many_ranges = |n: u64| {
        let specs: Vec<String> = (0..n).map(|i| format!("{}-{}", i * 3, i * 3 + 1)).collect();
        let header = format!("Range: bytes={}", specs.join(","));
        let url = served.url("/sub/small.iso");
        let o = curl(&[
            "-H",
            &header,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
            &url,
        ]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(many_ranges(5000).starts_with("431 "));
    let len = image.bytes().len();
    assert_eq!(many_ranges(1200), format!("200 {len}"));

    // A client that never finishes its head is cut after the header timeout.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = slow.read(&mut buf).unwrap_or(0);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "slow client held for {:?}",
        started.elapsed()
    );
    let r = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || status_line(&r).contains(" 408 "), "{r}");

    // The connection cap: eight idle connections held, the ninth is closed at once.
    let held: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut ninth = TcpStream::connect(addr).unwrap();
    ninth
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = ninth.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let n = ninth.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the ninth connection should be closed");
    served.wait_for_log(&["connection cap"]);
    drop(held);
    // Once they are gone (header timeout), the server answers again.
    std::thread::sleep(Duration::from_millis(1500));
    let r = raw(
        addr,
        b"GET /sub/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        status_line(&r).contains(" 200 ") && r.contains("small.iso"),
        "{}",
        status_line(&r)
    );
}

trait TapMkdir {
    fn tap_mkdir(self) -> PathBuf;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn new_images_appear_on_sighup_and_sigterm_stops_cleanly() {
    require!("xorriso", "jigdo-gen-checksum-list", "curl");
    let first = Published::new(75, &[40_000]);
    let second = Published::new(76, &[50_000]);
    let root = temp_dir();
    first.publish(root.path(), "first");
    let mut served = Served::start(
        root.path(),
        &[
            "--map",
            &first.map(),
            "--map",
            &second.map(),
            "--rescan",
            "0",
        ],
    );
    let listing = || {
        String::from_utf8(curl(&["-H", "Accept: application/json", &served.url("/")]).stdout)
            .unwrap()
    };
    assert!(listing().contains("first.iso") && !listing().contains("second.iso"));

    second.publish(root.path(), "second");
    served.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listing().contains("second.iso") {
        assert!(
            Instant::now() < deadline,
            "second.iso did not appear after SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(curl(&[&served.url("/second.iso")]).stdout == second.bytes());

    std::fs::remove_file(root.path().join("first.jigdo")).unwrap();
    served.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while listing().contains("first.iso") {
        assert!(Instant::now() < deadline, "first.iso still listed");
        std::thread::sleep(Duration::from_millis(100));
    }

    served.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn index_page_renders_in_chromium() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "chromium-headless-shell"
    );
    let a = Published::new(77, &[30_000]);
    let b = Published::new(78, &[30_000]);
    let root = temp_dir();
    a.publish(root.path(), "debian-12.0.0-amd64-netinst");
    b.publish(root.path(), "debian-12.0.0-arm64-netinst");
    let served = Served::start(root.path(), &["--map", &a.map(), "--map", &b.map()]);
    let profile = temp_dir();
    let chromium = |extra: &[&str]| {
        let mut args = vec![
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let dir = format!("--user-data-dir={}", profile.path().display());
        args.push(&dir);
        args.extend_from_slice(extra);
        let url = served.url("/");
        args.push(&url);
        tool("chromium-headless-shell", &args).ok()
    };
    let dom = String::from_utf8(chromium(&["--dump-dom"]).stdout).unwrap();
    for name in [
        "debian-12.0.0-amd64-netinst.iso",
        "debian-12.0.0-arm64-netinst.iso",
        "MD5SUMS",
    ] {
        assert!(
            dom.contains(name),
            "{name} missing from the rendered page:\n{dom}"
        );
    }
    assert!(dom.contains(&md5_hex(&a.bytes())));
    // A screenshot, kept as a test artefact.
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("serve-index.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1024,900",
    ]);
    let png = read(&shot);
    assert!(
        png.len() > 5000 && png.starts_with(b"\x89PNG"),
        "no screenshot"
    );
    eprintln!("screenshot of the index page: {}", shot.display());
}

#[test]
fn parts_come_from_an_http_mirror_when_not_on_disk() {
    require!("xorriso", "jigdo-gen-checksum-list", "curl", "python3");
    let image = Published::new(79, &[300_000, 400_000, 500_000]);
    let root = temp_dir();
    image.publish(root.path(), "remote");
    // The tree as a plain HTTP mirror on loopback.
    let mirror = LoopbackMirror::start(&image.tree.root);
    let port = mirror.port;
    let cache = temp_dir();
    let served = Served::start(
        root.path(),
        &[
            "--mirror",
            &format!("{LABEL}=http://127.0.0.1:{port}/"),
            "--cache",
            cache.path().to_str().unwrap(),
        ],
    );
    let body = curl(&[&served.url("/remote.iso")]).stdout;
    drop(mirror);
    assert!(body == image.bytes(), "wrong bytes through the HTTP mirror");
    let cached = std::fs::read_dir(cache.path()).unwrap().count();
    assert!(
        cached >= 3,
        "the fetched parts should be in the cache, found {cached} entries"
    );
    // With the mirror gone, the cached parts still serve the image.
    assert!(curl(&[&served.url("/remote.iso")]).stdout == image.bytes());
}
