//! A connection that is closed when it makes no progress for too long.
//!
//! hyper bounds how long a request head may take, but not a client that
//! stops reading a response (its socket buffer full, our writes pending
//! forever) or keeps a connection open without using it. A plain read
//! timeout would also cut long downloads, where the client sends nothing
//! for minutes while hyper keeps a read pending; so the clock here is reset
//! by progress in either direction, and only a connection where neither
//! reads nor writes move for the whole timeout is closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `S`, with reads and writes failing `TimedOut` after `timeout` without
/// progress.
pub struct IdleTimeout<S> {
    inner: S,
    timeout: Duration,
    last_progress: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    /// Wraps `inner`; the clock starts now.
    pub fn new(inner: S, timeout: Duration) -> Self {
        let now = Instant::now();
        IdleTimeout {
            inner,
            timeout,
            last_progress: now,
            sleep: Box::pin(tokio::time::sleep_until(now + timeout)),
        }
    }

    /// Called when the inner stream is not ready: fails once the deadline
    /// (moved by any progress since) has passed, else registers a wakeup.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = self.last_progress + self.timeout;
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        ready!(self.sleep.as_mut().poll(cx));
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no progress for {} s", self.timeout.as_secs()),
        ))
    }

    fn progressed(&mut self, n: usize) {
        if n > 0 {
            self.last_progress = Instant::now();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.progressed(buf.filled().len() - before);
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                this.progressed(*result.as_ref().unwrap_or(&0));
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                this.progressed(*result.as_ref().unwrap_or(&0));
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_times_out() {
        let (a, _b) = tokio::io::duplex(64);
        let mut guarded = IdleTimeout::new(a, Duration::from_secs(10));
        let mut buf = [0u8; 8];
        let err = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_in_either_direction_keeps_it_open() {
        let (a, mut b) = tokio::io::duplex(64);
        let (mut rd, mut wr) = tokio::io::split(IdleTimeout::new(a, Duration::from_secs(10)));
        // The reader waits 25 s for its first byte while writes move every 5 s.
        let reader = tokio::spawn(async move {
            let mut byte = [0u8; 1];
            rd.read_exact(&mut byte).await.map(|_| byte[0])
        });
        let mut sink = [0u8; 64];
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            wr.write_all(b"x").await.unwrap();
            b.read_exact(&mut sink[..1]).await.unwrap();
        }
        b.write_all(b"y").await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), b'y');
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_cut() {
        let (a, _b) = tokio::io::duplex(16);
        let mut guarded = IdleTimeout::new(a, Duration::from_secs(10));
        let err = guarded.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
