//! A small HTTP/1.1 server for tests, on 127.0.0.1 and a free port, with
//! faults injected per path. Shared with tests/interop/get.rs (included by
//! `#[path]`), so both exercise the downloader against the same faults.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What goes wrong when a path is requested.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Fault {
    /// Answer with this status and no body.
    Status(u16),
    /// Send the file with one byte changed.
    Corrupt,
    /// Close the connection after this many body bytes, the first `times` requests.
    DropAfter { bytes: usize, times: u32 },
    /// 302 to this URL.
    Redirect(String),
    /// Send this many bytes more than the file has, without Content-Length.
    TooLong(usize),
    /// Sleep before answering.
    Slow(Duration),
}

/// A request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub path: String,
    pub range_from: Option<u64>,
    pub body_bytes: u64,
}

#[derive(Default)]
struct State {
    faults: HashMap<String, Fault>,
    drops_done: HashMap<String, u32>,
    log: Vec<Logged>,
}

pub struct Server {
    pub port: u16,
    root: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    #[allow(dead_code)]
    pub bytes_sent: Arc<AtomicU64>,
}

#[allow(dead_code)]
impl Server {
    /// Serves the files under `root`.
    pub fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let bytes_sent = Arc::new(AtomicU64::new(0));
        let (r, s, st, b) = (
            root.to_path_buf(),
            state.clone(),
            stop.clone(),
            bytes_sent.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s, b) = (r.clone(), s.clone(), b.clone());
                thread::spawn(move || {
                    let _ = serve(conn, &r, &s, &b);
                });
            }
        });
        Server {
            port,
            root: root.to_path_buf(),
            state,
            stop,
            bytes_sent,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn fault(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(path.trim_start_matches('/').to_string(), fault);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // wake the accept loop so it sees the flag
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    conn: TcpStream,
    root: &Path,
    state: &Mutex<State>,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut range_from = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("range: bytes=") {
                range_from = v.trim().trim_end_matches('-').parse::<u64>().ok();
            }
        }
        let path = percent_decode(target.trim_start_matches('/'));
        let fault = {
            let mut s = state.lock().unwrap();
            let f = s.faults.get(&path).cloned();
            match f {
                Some(Fault::DropAfter { times, .. }) => {
                    let n = s.drops_done.entry(path.clone()).or_default();
                    *n += 1;
                    if *n > times {
                        None
                    } else {
                        f
                    }
                }
                f => f,
            }
        };
        let data = if path.contains("..") {
            None
        } else {
            std::fs::read(root.join(&path)).ok()
        };
        let mut logged = Logged {
            path: path.clone(),
            range_from,
            body_bytes: 0,
        };
        let result = respond(&mut out, data, fault, range_from, &mut logged);
        sent.fetch_add(logged.body_bytes, Ordering::Relaxed);
        state.lock().unwrap().log.push(logged);
        if !result? {
            return Ok(());
        }
    }
}

/// Writes one response; `false`: the connection is closed.
fn respond(
    out: &mut TcpStream,
    data: Option<Vec<u8>>,
    fault: Option<Fault>,
    range_from: Option<u64>,
    logged: &mut Logged,
) -> std::io::Result<bool> {
    if let Some(Fault::Slow(d)) = &fault {
        thread::sleep(*d);
    }
    let status_only = |out: &mut TcpStream, code: u16, extra: &str| {
        write!(out, "HTTP/1.1 {code} X\r\nContent-Length: 0\r\n{extra}\r\n")
    };
    match (&fault, data) {
        (Some(Fault::Status(code)), _) => {
            status_only(out, *code, "")?;
            Ok(true)
        }
        (Some(Fault::Redirect(to)), _) => {
            status_only(out, 302, &format!("Location: {to}\r\n"))?;
            Ok(true)
        }
        (_, None) => {
            status_only(out, 404, "")?;
            Ok(true)
        }
        (_, Some(mut data)) => {
            if let Some(Fault::Corrupt) = fault {
                if let Some(b) = data.last_mut() {
                    *b ^= 0xff;
                }
            }
            let from = range_from.unwrap_or(0).min(data.len() as u64) as usize;
            let body = &data[from..];
            if let Some(Fault::TooLong(extra)) = fault {
                write!(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
                out.write_all(body)?;
                out.write_all(&vec![b'x'; extra])?;
                logged.body_bytes = (body.len() + extra) as u64;
                return Ok(false);
            }
            if range_from.is_some() {
                write!(
                    out,
                    "HTTP/1.1 206 Partial\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\n\r\n",
                    body.len(),
                    data.len().saturating_sub(1),
                    data.len()
                )?;
            } else {
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )?;
            }
            if let Some(Fault::DropAfter { bytes, .. }) = fault {
                let n = bytes.min(body.len());
                out.write_all(&body[..n])?;
                out.flush()?;
                logged.body_bytes = n as u64;
                let _ = out.shutdown(std::net::Shutdown::Both);
                return Ok(false);
            }
            out.write_all(body)?;
            logged.body_bytes = body.len() as u64;
            Ok(true)
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
