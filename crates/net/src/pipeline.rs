//! HTTP/1.1 pipelining for plain-http mirrors: each connection keeps two
//! requests outstanding, so the round trip before each part is hidden
//! behind the previous part's body. Jigdo images are thousands of small
//! files; on a mirror 50 ms away one request at a time spends half its
//! time waiting.
//!
//! Deliberately narrow: a `200` with a `Content-Length` equal to the
//! part's length is read here; anything else (another status, chunked
//! bodies, a dropped connection, a wrong checksum, a timeout) hands the
//! part to [`crate::fetch_part`], which has the whole failover logic.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jigsmith_checksum::Hasher;
use reqwest::Url;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

use crate::{FetchProgress, Fetched, Task};

/// Requests in flight per connection.
const DEPTH: usize = 2;
/// Longest status line and header block accepted.
const MAX_HEAD: usize = 16 << 10;

/// What a worker reports: a part done, or one to try the slow way.
pub(crate) enum Outcome {
    Done(usize, Fetched),
    Fallback(usize, Task),
}

/// Whether the pipeline may take `url`: plain http, and no proxy in the
/// environment (reqwest handles proxies).
pub(crate) fn eligible(url: &Url) -> bool {
    url.scheme() == "http"
        && url.host_str().is_some()
        && ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            .iter()
            .all(|v| std::env::var_os(v).is_none_or(|x| x.is_empty()))
}

pub(crate) struct Shared {
    pub queue: Mutex<VecDeque<Queued>>,
    pub stop: AtomicBool,
    /// Parts done and parts handed to the slow path: when most fail (a
    /// mirror that is down, or stale), pipelining them only doubles requests.
    pub done: AtomicUsize,
    pub failed: AtomicUsize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub user_agent: String,
}

impl Shared {
    fn pop(&self) -> Option<Queued> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        self.queue.lock().ok()?.pop_front()
    }

    /// A part goes the slow way; past a few, if most do, all the rest go too.
    fn fail(&self, q: (usize, Task), out: &UnboundedSender<Outcome>) {
        let _ = out.send(Outcome::Fallback(q.0, q.1));
        let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
        if failed > MAX_EARLY_FAILURES && failed * 4 > self.done.load(Ordering::Relaxed) {
            self.give_up(out);
        }
    }

    /// Hands every queued part to the slow path.
    fn give_up(&self, out: &UnboundedSender<Outcome>) {
        let rest: Vec<Queued> = match self.queue.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(_) => return,
        };
        for (i, t, _) in rest {
            let _ = out.send(Outcome::Fallback(i, t));
        }
    }
}

/// Failures tolerated before the failure rate is looked at.
const MAX_EARLY_FAILURES: usize = 16;

/// A part in the queue, with how often a closing connection handed it back.
pub(crate) type Queued = (usize, Task, u8);

/// How often a part may be handed back by connections that closed under
/// it before it goes the slow way.
const MAX_BOUNCES: u8 = 3;

/// One connection at a time, until the queue is empty.
pub(crate) async fn worker(
    shared: Arc<Shared>,
    progress: Arc<dyn FetchProgress>,
    out: UnboundedSender<Outcome>,
) {
    let give_back = |(i, t, bounces): Queued| {
        if bounces >= MAX_BOUNCES {
            let _ = out.send(Outcome::Fallback(i, t));
        } else if let Ok(mut q) = shared.queue.lock() {
            q.push_front((i, t, bounces + 1));
        }
    };
    while let Some(first) = shared.pop() {
        let Some(stream) = connect(&shared, &first.1).await else {
            // the mirror is unreachable: the slow path knows the other mirrors
            let _ = out.send(Outcome::Fallback(first.0, first.1));
            shared.give_up(&out);
            return;
        };
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::with_capacity(256 << 10, r);
        let mut sent: VecDeque<Queued> = VecDeque::new();
        let mut next = Some(first);
        loop {
            while sent.len() < DEPTH {
                let Some(q) = next.take().or_else(|| shared.pop()) else {
                    break;
                };
                let req =
                    q.1.urls
                        .first()
                        .and_then(|u| request(&u.url, &shared.user_agent));
                let Some(req) = req else {
                    let _ = out.send(Outcome::Fallback(q.0, q.1));
                    continue;
                };
                if w.write_all(&req).await.is_err() {
                    give_back(q);
                    break;
                }
                sent.push_back(q);
            }
            let Some((i, task, bounces)) = sent.pop_front() else {
                break;
            };
            let keep = match response(&mut r, &task, shared.read_timeout, progress.as_ref()).await {
                Ok(keep) => {
                    let first = task.urls.first();
                    let fetched = first.map(|u| Fetched {
                        mirror: u.mirror.clone(),
                        url: u.url.clone(),
                        failures: Vec::new(),
                    });
                    match fetched {
                        Some(f) => {
                            shared.done.fetch_add(1, Ordering::Relaxed);
                            let _ = out.send(Outcome::Done(i, f));
                        }
                        None => give_back((i, task, bounces)),
                    }
                    keep
                }
                Err(()) => {
                    shared.fail((i, task), &out);
                    false
                }
            };
            if !keep {
                // what was sent on a connection that is closing was not the parts' fault
                for q in sent.drain(..) {
                    give_back(q);
                }
                break;
            }
        }
    }
}

async fn connect(shared: &Shared, task: &Task) -> Option<TcpStream> {
    let url = &task.urls.first()?.url;
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    let s = tokio::time::timeout(shared.connect_timeout, TcpStream::connect((host, port)))
        .await
        .ok()?
        .ok()?;
    s.set_nodelay(true).ok()?;
    Some(s)
}

fn request(url: &Url, user_agent: &str) -> Option<Vec<u8>> {
    let host = url.host_str()?;
    let host = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    Some(
        format!(
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept-Encoding: identity\r\n\r\n"
        )
        .into_bytes(),
    )
}

/// Reads one response for `task`. `Ok(keep_alive)` once the part was
/// written and verified; `Err(())` when the part (and the connection)
/// must go the slow way.
async fn response<R: tokio::io::AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    task: &Task,
    read_timeout: Duration,
    progress: &dyn FetchProgress,
) -> Result<bool, ()> {
    let mut line = String::new();
    let mut head = 0usize;
    let mut status_ok = false;
    let mut len = None;
    let mut keep_alive = true;
    let mut first = true;
    loop {
        line.clear();
        let n = tokio::time::timeout(read_timeout, r.read_line(&mut line))
            .await
            .map_err(|_| ())?
            .map_err(|_| ())?;
        head += n;
        if n == 0 || head > MAX_HEAD {
            return Err(());
        }
        let l = line.trim_end();
        if first {
            first = false;
            let mut w = l.split(' ');
            let version = w.next().unwrap_or("");
            status_ok = w.next() == Some("200");
            keep_alive = version == "HTTP/1.1";
            continue;
        }
        if l.is_empty() {
            break;
        }
        let Some((k, v)) = l.split_once(':') else {
            return Err(());
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.parse::<u64>().ok(),
            "transfer-encoding" => return Err(()),
            "connection" if v.eq_ignore_ascii_case("close") => keep_alive = false,
            _ => {}
        }
    }
    if !status_ok || len != Some(task.len) {
        return Err(());
    }
    let mut h = Hasher::new(task.digest.algorithm());
    let mut buf = vec![0u8; 256 << 10];
    let mut got = 0u64;
    while got < task.len {
        let want = usize::try_from(task.len - got)
            .unwrap_or(buf.len())
            .min(buf.len());
        let chunk = buf.get_mut(..want).ok_or(())?;
        let n = tokio::time::timeout(read_timeout, r.read(chunk))
            .await
            .map_err(|_| ())?
            .map_err(|_| ())?;
        if n == 0 {
            progress.discarded(got);
            return Err(());
        }
        let data = chunk.get(..n).ok_or(())?;
        if task.writer.write_at(got, data).is_err() {
            progress.discarded(got);
            return Err(());
        }
        h.update(data);
        got += n as u64;
        progress.received(n as u64);
    }
    if h.finalize() != task.digest {
        progress.discarded(got);
        return Err(());
    }
    Ok(keep_alive)
}
