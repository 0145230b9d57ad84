//! Downloading one part with failover and verification, and many at once.

use std::fs::File;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use jigsmith_checksum::{Digest, Hasher};
use reqwest::Url;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::pipeline::Queued;
use crate::{pipeline, Client, ClientConfig, Error, PartUrl, Result};

/// Where a part's bytes go: positional writes, so a resumed or restarted
/// download writes each byte at its place.
pub trait PartWriter: Send + Sync {
    /// Writes `data` at byte `at` of the part.
    ///
    /// # Errors
    /// The write failed.
    fn write_at(&self, at: u64, data: &[u8]) -> std::io::Result<()>;
}

/// A part inside a bigger file (the image being built) starting at `base`.
#[derive(Debug, Clone)]
pub struct FileAt {
    /// The file.
    pub file: Arc<File>,
    /// Where the part starts in it.
    pub base: u64,
}

impl PartWriter for FileAt {
    fn write_at(&self, at: u64, data: &[u8]) -> std::io::Result<()> {
        write_all_at(&self.file, self.base + at, data)
    }
}

#[cfg(unix)]
fn write_all_at(f: &File, at: u64, data: &[u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, data, at)
}

#[cfg(windows)]
fn write_all_at(f: &File, mut at: u64, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(f, data, at)?;
        data = data.get(n..).unwrap_or(&[]);
        at += n as u64;
    }
    Ok(())
}

/// Told about bytes as they arrive. `()` ignores them.
pub trait FetchProgress: Send + Sync {
    /// `bytes` more bytes arrived.
    fn received(&self, bytes: u64) {
        let _ = bytes;
    }
    /// `bytes` already reported turned out useless (a failed attempt).
    fn discarded(&self, bytes: u64) {
        let _ = bytes;
    }
}

impl FetchProgress for () {}

/// A part downloaded and verified.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The mirror that delivered it.
    pub mirror: Arc<str>,
    /// The URL it came from.
    pub url: Url,
    /// Failed attempts before (one line each), for logs.
    pub failures: Vec<String>,
}

/// One part to download.
#[derive(Clone)]
pub struct Task {
    /// Its digest (the algorithm to verify with).
    pub digest: Digest,
    /// Its length.
    pub len: u64,
    /// Where to get it, best first.
    pub urls: Vec<PartUrl>,
    /// Where to put it.
    pub writer: Arc<dyn PartWriter>,
}

/// Downloads one part: each URL in turn, a dropped transfer resumed with
/// a range request, rounds of retries with doubling backoff while some
/// mirror failed only transiently. The part is hashed as it arrives; a
/// wrong checksum rules that mirror out for this part.
///
/// # Errors
/// [`Error::NoUrl`] with no URL; [`Error::AllFailed`] listing every
/// failed attempt.
pub async fn fetch_part(
    client: &Client,
    task: &Task,
    progress: &dyn FetchProgress,
) -> Result<Fetched> {
    if task.urls.is_empty() {
        return Err(Error::NoUrl);
    }
    let cfg = client.config();
    let mut failures = Vec::new();
    let mut dead = vec![false; task.urls.len()];
    let mut wait = cfg.backoff;
    for round in 0..=cfg.retries {
        if round > 0 {
            if dead.iter().all(|d| *d) {
                break;
            }
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        for (u, dead) in task.urls.iter().zip(dead.iter_mut()) {
            if *dead {
                continue;
            }
            let mut state = Partial::new(task.digest);
            let mut resumes = 0;
            let outcome = loop {
                let before = state.got;
                match attempt(client, u, task, &mut state, progress).await {
                    Ok(()) => break Ok(()),
                    Err(e) => {
                        let resume = e.is_transient() && state.got > before && resumes < 3;
                        failures.push(e.to_string());
                        if !resume {
                            break Err(e);
                        }
                        resumes += 1;
                    }
                }
            };
            match outcome {
                Ok(()) => {
                    return Ok(Fetched {
                        mirror: u.mirror.clone(),
                        url: u.url.clone(),
                        failures,
                    })
                }
                Err(e) => {
                    progress.discarded(state.got);
                    *dead = !e.is_transient();
                    tracing::debug!("{e}");
                }
            }
        }
    }
    Err(Error::AllFailed { tries: failures })
}

/// A download in progress: bytes received in order and their hash so far.
struct Partial {
    hasher: Hasher,
    got: u64,
}

impl Partial {
    fn new(like: Digest) -> Self {
        Partial {
            hasher: Hasher::new(like.algorithm()),
            got: 0,
        }
    }
}

/// One request, continuing `state` when it holds bytes already.
async fn attempt(
    client: &Client,
    u: &PartUrl,
    task: &Task,
    state: &mut Partial,
    progress: &dyn FetchProgress,
) -> Result<()> {
    let from = state.got;
    let mut sink = |at: u64, data: &[u8]| {
        if at != state.got {
            // the server ignored the range and starts over
            progress.discarded(state.got);
            *state = Partial::new(task.digest);
        }
        task.writer.write_at(at, data)?;
        state.hasher.update(data);
        state.got = at + data.len() as u64;
        progress.received(data.len() as u64);
        Ok(())
    };
    client
        .stream(&u.url, from, Some(task.len), task.len, &mut sink)
        .await?;
    let done = std::mem::replace(state, Partial::new(task.digest));
    let actual = done.hasher.finalize();
    if actual != task.digest {
        progress.discarded(done.got);
        return Err(Error::Checksum {
            url: u.url.to_string(),
            expected: task.digest.to_hex(),
            actual: actual.to_hex(),
        });
    }
    state.got = done.got;
    Ok(())
}

/// Host and port of a plain-http mirror: one pipeline each.
type Authority = (Option<String>, Option<u16>);

/// An HTTP client with its own runtime: blocking calls for synchronous
/// callers, and many downloads at once.
pub struct Fetcher {
    client: Client,
    runtime: Runtime,
}

impl Fetcher {
    /// A client and a runtime with `threads` worker threads.
    ///
    /// # Errors
    /// As [`Client::new`]; [`Error::Client`] if the runtime cannot start.
    pub fn new(config: ClientConfig, threads: usize) -> Result<Fetcher> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("jigsmith-net")
            .enable_all()
            .build()
            .map_err(|e| Error::Client {
                why: format!("starting the I/O runtime: {e}"),
            })?;
        // reqwest's pools and timers belong to the runtime they start in
        let client = runtime.block_on(async { Client::new(config) })?;
        Ok(Fetcher { client, runtime })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs a future on the fetcher's runtime, blocking.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// [`Client::get_bytes`], blocking.
    ///
    /// # Errors
    /// As [`Client::get_bytes`].
    pub fn get_bytes(&self, url: &Url, limit: u64) -> Result<Vec<u8>> {
        self.block_on(self.client.get_bytes(url, limit))
    }

    /// Downloads `url` (at most `limit` bytes) into a new file at `dest`,
    /// returning its length.
    ///
    /// # Errors
    /// As [`Client::stream`]; [`Error::Write`] when the file cannot be written.
    pub fn download_file(&self, url: &Url, dest: &Path, limit: u64) -> Result<u64> {
        let write_err = |source| Error::Write {
            what: dest.display().to_string(),
            source,
        };
        let file = File::create(dest).map_err(write_err)?;
        let mut len = 0;
        self.block_on(self.client.stream(url, 0, None, limit, &mut |at, data| {
            len = at + data.len() as u64;
            write_all_at(&file, at, data)
        }))?;
        file.sync_all().map_err(write_err)?;
        Ok(len)
    }

    /// [`fetch_part`], blocking.
    ///
    /// # Errors
    /// As [`fetch_part`].
    pub fn fetch_part(&self, task: &Task, progress: &dyn FetchProgress) -> Result<Fetched> {
        self.block_on(fetch_part(&self.client, task, progress))
    }

    /// Downloads every task, `jobs` at a time, calling `done(index,
    /// result)` on this thread as each finishes (in completion order).
    /// `done` returning `false` stops starting new downloads.
    pub fn fetch_many(
        &self,
        tasks: Vec<Task>,
        jobs: usize,
        progress: Arc<dyn FetchProgress>,
        mut done: impl FnMut(usize, Result<Fetched>) -> bool,
    ) {
        let jobs = jobs.max(1);
        let cfg = self.client.config();
        let authority = |t: &Task| -> Option<Authority> {
            t.urls
                .first()
                .filter(|u| pipeline::eligible(&u.url))
                .map(|u| {
                    (
                        u.url.host_str().map(str::to_string),
                        u.url.port_or_known_default(),
                    )
                })
        };
        // the pipelines take the parts whose first mirror is a plain-http host,
        // one pipeline a host, its connections in proportion to its parts
        let mut groups: Vec<(Authority, Vec<Queued>)> = Vec::new();
        let mut slow = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match authority(&t).filter(|_| cfg.pipeline) {
                Some(a) => match groups.iter_mut().find(|(g, _)| *g == a) {
                    Some((_, v)) => v.push((i, t, 0)),
                    None => groups.push((a, vec![(i, t, 0)])),
                },
                None => slow.push((i, t)),
            }
        }
        let piped: usize = groups.iter().map(|(_, v)| v.len()).sum();
        self.block_on(async {
            let mut go_on = true;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let mut workers = JoinSet::new();
            let mut all = Vec::new();
            for (_, queue) in groups {
                let conns = (jobs * queue.len() / piped.max(1)).clamp(1, jobs);
                let shared = Arc::new(pipeline::Shared {
                    queue: std::sync::Mutex::new(queue.into()),
                    stop: AtomicBool::new(false),
                    done: AtomicUsize::new(0),
                    failed: AtomicUsize::new(0),
                    connect_timeout: cfg.connect_timeout,
                    read_timeout: cfg.read_timeout,
                    user_agent: cfg.user_agent.clone(),
                });
                for _ in 0..conns {
                    workers.spawn(pipeline::worker(
                        shared.clone(),
                        progress.clone(),
                        tx.clone(),
                    ));
                }
                all.push(shared);
            }
            drop(tx);
            while let Some(outcome) = rx.recv().await {
                match outcome {
                    pipeline::Outcome::Done(i, f) => {
                        if go_on && !done(i, Ok(f)) {
                            go_on = false;
                            for shared in &all {
                                shared.stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    pipeline::Outcome::Fallback(i, t) => slow.push((i, t)),
                }
            }
            while workers.join_next().await.is_some() {}
            slow.sort_by_key(|(i, _)| *i);
            let mut queue = slow.into_iter();
            let mut running = JoinSet::new();
            loop {
                while go_on && running.len() < jobs {
                    let Some((i, task)) = queue.next() else { break };
                    let client = self.client.clone();
                    let progress = progress.clone();
                    running.spawn(async move {
                        (i, fetch_part(&client, &task, progress.as_ref()).await)
                    });
                }
                let Some(joined) = running.join_next().await else {
                    break;
                };
                match joined {
                    Ok((i, r)) => go_on &= done(i, r),
                    Err(e) => tracing::error!("download task failed: {e}"),
                }
            }
        });
    }
}
