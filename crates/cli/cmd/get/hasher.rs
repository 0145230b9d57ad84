//! The image checksum, computed while the image is still being filled: a
//! thread follows the longest finished prefix and hashes each piece as soon
//! as it and everything before it are in place (read back from the page
//! cache), so little is left to hash when the last part arrives.

use std::fs::File;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use jigsmith_checksum::{Digest, Hasher};
use jigsmith_format::Template;

const CHUNK: usize = 4 << 20;

struct Board {
    ready: Vec<bool>,
    cancelled: bool,
}

pub struct ImageHasher {
    board: Arc<(Mutex<Board>, Condvar)>,
    thread: Option<JoinHandle<std::io::Result<Option<Digest>>>>,
}

impl ImageHasher {
    /// Starts hashing `image` as laid out by `template`; `ready(i)` says
    /// which items are already in place.
    pub fn start(image: Arc<File>, template: Arc<Template>, ready: impl Fn(usize) -> bool) -> Self {
        let n = template.items().len();
        let board = Arc::new((
            Mutex::new(Board {
                ready: (0..n).map(ready).collect(),
                cancelled: false,
            }),
            Condvar::new(),
        ));
        let b = board.clone();
        let thread = std::thread::Builder::new()
            .name("image-hash".into())
            .spawn(move || run(&image, &template, &b))
            .ok();
        ImageHasher { board, thread }
    }

    /// Item `index` is in place.
    pub fn ready(&self, index: usize) {
        let (lock, cv) = &*self.board;
        if let Ok(mut b) = lock.lock() {
            if let Some(r) = b.ready.get_mut(index) {
                *r = true;
            }
            cv.notify_all();
        }
    }

    /// Every item is in place: the digest (`None` if the thread failed to start
    /// or was cancelled).
    ///
    /// # Errors
    /// Reading the image failed.
    pub fn finish(mut self) -> std::io::Result<Option<Digest>> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Ok(None),
        }
    }
}

impl Drop for ImageHasher {
    fn drop(&mut self) {
        let (lock, cv) = &*self.board;
        if let Ok(mut b) = lock.lock() {
            b.cancelled = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    image: &File,
    template: &Template,
    board: &(Mutex<Board>, Condvar),
) -> std::io::Result<Option<Digest>> {
    let (lock, cv) = board;
    let mut h = Hasher::new(template.image_digest().algorithm());
    let mut buf = vec![0u8; CHUNK];
    for (i, item) in template.items().iter().enumerate() {
        {
            let Ok(mut b) = lock.lock() else {
                return Ok(None);
            };
            while !b.cancelled && !b.ready.get(i).copied().unwrap_or(true) {
                b = match cv.wait(b) {
                    Ok(b) => b,
                    Err(_) => return Ok(None),
                };
            }
            if b.cancelled {
                return Ok(None);
            }
        }
        let mut done = 0u64;
        while done < item.len {
            let n = usize::try_from(item.len - done).unwrap_or(CHUNK).min(CHUNK);
            let chunk = buf.get_mut(..n).unwrap_or(&mut []);
            read_exact_at(image, chunk, item.offset + done)?;
            h.update(chunk);
            done += n as u64;
        }
    }
    Ok(Some(h.finalize()))
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, at)
}

#[cfg(windows)]
fn read_exact_at(f: &File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(f, buf, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let rest = std::mem::take(&mut buf);
        buf = rest.get_mut(n..).unwrap_or(&mut []);
        at += n as u64;
    }
    Ok(())
}
