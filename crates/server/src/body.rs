//! Response bodies: small ones held in memory, and byte spans of a
//! [`Content`] read on tokio's blocking pool one chunk ahead of the socket.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use tokio::task::JoinHandle;

/// Bytes read per blocking call. Big enough that the hand-off to the
/// blocking pool is noise, small enough that a thousand connections with
/// one chunk in flight and one prefetched stay within a few hundred MiB.
pub const CHUNK: usize = 1 << 20;

/// Something served in byte ranges: an image built on the fly, or a file.
pub trait Content: Send + Sync + 'static {
    /// Its length in bytes.
    fn len(&self) -> u64;

    /// Fills `buf` from `offset`; a short read is an error. Blocking.
    ///
    /// # Errors
    /// Whatever keeps the exact bytes from being read. The message names
    /// the content and the file at fault; it is logged when a transfer is
    /// cut short because of it.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// A piece of a response body.
pub enum Segment {
    /// Bytes known up front (multipart headers, index pages).
    Fixed(Bytes),
    /// `start..end` of the content.
    Span {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
}

/// A response body.
pub struct Body {
    content: Option<Arc<dyn Content>>,
    segments: VecDeque<Segment>,
    /// The read of the chunk that comes before `segments.front()`.
    pending: Option<JoinHandle<io::Result<Bytes>>>,
    remaining: u64,
}

impl Body {
    /// No body (HEAD, 304, ...).
    pub fn empty() -> Body {
        Body {
            content: None,
            segments: VecDeque::new(),
            pending: None,
            remaining: 0,
        }
    }

    /// A body held in memory.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        let mut body = Body::empty();
        body.remaining = bytes.len() as u64;
        if !bytes.is_empty() {
            body.segments.push_back(Segment::Fixed(bytes));
        }
        body
    }

    /// A body of `segments`, the spans read from `content`.
    pub fn spans(content: Arc<dyn Content>, segments: Vec<Segment>) -> Body {
        let remaining = segments
            .iter()
            .map(|s| match s {
                Segment::Fixed(b) => b.len() as u64,
                Segment::Span { start, end } => end.saturating_sub(*start),
            })
            .sum();
        Body {
            content: Some(content),
            segments: segments.into(),
            pending: None,
            remaining,
        }
    }

    /// The exact number of bytes the body holds.
    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// Starts reading the next chunk of the span at the front, if any.
    fn start_read(&mut self) {
        let Some(content) = &self.content else { return };
        let Some(Segment::Span { start, end }) = self.segments.front_mut() else {
            return;
        };
        let offset = *start;
        let n = (*end - offset).min(CHUNK as u64);
        *start += n;
        if *start >= *end {
            self.segments.pop_front();
        }
        let content = Arc::clone(content);
        self.pending = Some(tokio::task::spawn_blocking(move || {
            read_chunk(&*content, offset, offset + n)
        }));
    }
}

/// Reads `start..end` of `content` (at most one [`CHUNK`]); blocking.
///
/// # Errors
/// As [`Content::read_exact_at`].
pub fn read_chunk(content: &dyn Content, start: u64, end: u64) -> io::Result<Bytes> {
    let n = end.saturating_sub(start).min(CHUNK as u64);
    // n <= CHUNK, so it fits a usize.
    let mut buf = BytesMut::zeroed(n as usize);
    content.read_exact_at(start, &mut buf)?;
    Ok(buf.freeze())
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match this.segments.front() {
                None => return Poll::Ready(None),
                Some(Segment::Fixed(_)) => {
                    let Some(Segment::Fixed(bytes)) = this.segments.pop_front() else {
                        return Poll::Ready(None);
                    };
                    this.remaining = this.remaining.saturating_sub(bytes.len() as u64);
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Some(Segment::Span { .. }) => this.start_read(),
            }
        }
        let Some(pending) = this.pending.as_mut() else {
            return Poll::Ready(None);
        };
        let result = match Pin::new(pending).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(joined) => joined.unwrap_or_else(|e| Err(io::Error::other(e))),
        };
        this.pending = None;
        match result {
            Ok(bytes) => {
                this.remaining = this.remaining.saturating_sub(bytes.len() as u64);
                // Read the next chunk while this one goes to the socket.
                this.start_read();
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Err(e) => {
                // hyper ends the connection (HTTP/1) or resets the stream
                // (HTTP/2): the client sees a short transfer, never bad bytes.
                // The message names the image and the file at fault.
                tracing::warn!("transfer cut short: {e}");
                this.segments.clear();
                this.remaining = 0;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && self.segments.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        // A client that went away leaves no read running for nobody.
        if let Some(pending) = self.pending.take() {
            pending.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    struct Counting(u64);

    /// Where reading fails: the start of the fourth chunk.
    const BAD_SPOT: u64 = 3 * CHUNK as u64;

    impl Content for Counting {
        fn len(&self) -> u64 {
            self.0
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            if offset + buf.len() as u64 > self.0 {
                return Err(io::Error::other("past the end"));
            }
            if offset == BAD_SPOT {
                return Err(io::Error::other("bad spot"));
            }
            for (i, b) in buf.iter_mut().enumerate() {
                *b = ((offset + i as u64) % 251) as u8;
            }
            Ok(())
        }
    }

    async fn collect(mut body: Body) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            out.extend_from_slice(frame?.data_ref().unwrap());
        }
        Ok(out)
    }

    #[tokio::test]
    async fn spans_and_fixed_parts_come_in_order() {
        let content = Arc::new(Counting(3 << 20));
        let body = Body::spans(
            content,
            vec![
                Segment::Fixed(Bytes::from_static(b"head")),
                Segment::Span {
                    start: 10,
                    end: 600_000,
                },
                Segment::Fixed(Bytes::from_static(b"mid")),
                Segment::Span {
                    start: 2 << 20,
                    end: 3 << 20,
                },
            ],
        );
        let expected_len = 4 + (600_000 - 10) + 3 + (1 << 20);
        assert_eq!(body.len(), expected_len);
        assert_eq!(body.size_hint().exact(), Some(expected_len));
        let bytes = collect(body).await.unwrap();
        assert_eq!(bytes.len() as u64, expected_len);
        assert_eq!(&bytes[..4], b"head");
        assert_eq!(bytes[4], 10);
        assert_eq!(bytes[4 + 600_000 - 10 - 1], ((600_000 - 1) % 251) as u8);
        assert_eq!(&bytes[4 + 600_000 - 10..][..3], b"mid");
        assert_eq!(*bytes.last().unwrap(), (((3 << 20) - 1) % 251) as u8);
    }

    #[tokio::test]
    async fn a_read_error_ends_the_body_with_an_error() {
        let body = Body::spans(
            Arc::new(Counting(5 * CHUNK as u64)),
            vec![Segment::Span {
                start: CHUNK as u64,
                end: 5 * CHUNK as u64,
            }],
        );
        assert!(collect(body).await.is_err());
    }
}
