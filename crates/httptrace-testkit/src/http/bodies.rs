//! The streamed response bodies of the built-in routes: a known pattern,
//! a slow one, and one that fails midway.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::handler::BoxError;

/// `/bytes/{n}`: a deterministic body of known length, produced in 16 KiB frames.
pub(super) struct PatternBody {
    pub(super) offset: u64,
    pub(super) len: u64,
}

const PATTERN_CHUNK: u64 = 16 * 1024;

impl Body for PatternBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.offset >= self.len {
            return Poll::Ready(None);
        }
        let n = (self.len - self.offset).min(PATTERN_CHUNK);
        let start = self.offset;
        let chunk: Vec<u8> = (start..start + n).map(|i| (i % 256) as u8).collect();
        self.offset += n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.offset >= self.len
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len - self.offset)
    }
}

/// `/slow-body/{chunks}/{ms}`: 1 KiB chunks, each preceded by a pause; unknown length.
pub(super) struct SlowBody {
    pub(super) remaining: u32,
    pub(super) interval: Duration,
    pub(super) sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for SlowBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        if !self.interval.is_zero() {
            let interval = self.interval;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        self.remaining -= 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b'.'; 1024])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }
}

/// `/abort-mid-body`: 1000 bytes, a short pause, then an error.
pub(super) struct AbortBody {
    pub(super) sent: bool,
    pub(super) sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug)]
struct AbortedOnPurpose;

impl fmt::Display for AbortedOnPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("test server aborted the body on purpose")
    }
}

impl std::error::Error for AbortedOnPurpose {}

impl Body for AbortBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if !self.sent {
            self.sent = true;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b'x'; 1000])))));
        }
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(50))));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(Some(Err(Box::new(AbortedOnPurpose))))
    }
}
