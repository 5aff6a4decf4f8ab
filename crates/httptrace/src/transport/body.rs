//! Bodies: the response body reports when it ends, fails or is dropped; the
//! request body reports when hyper starts and finishes taking it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::Traces;
use crate::event::*;
use crate::interest::EventKind;
use crate::transport::errors::classify_chain;
use crate::transport::registry::ConnRegistry;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What happens when a response body ends.
pub(crate) struct BodyEnd {
    pub(crate) traces: Traces,
    pub(crate) registry: Arc<ConnRegistry>,
    pub(crate) local_addr: Option<SocketAddr>,
    /// HTTP/1 connection that will go back to the pool when the body ends;
    /// `Some(reason)` when it will not.
    pub(crate) keep_alive: Option<Result<(), &'static str>>,
}

impl BodyEnd {
    pub(crate) fn finish(self, bytes: u64, outcome: BodyOutcome) {
        let at = Instant::now();
        if let Some(local) = self.local_addr {
            self.registry.release(local, at);
        }
        let completed = matches!(outcome, BodyOutcome::Completed);
        self.traces.emit_with(EventKind::BodyDone, || {
            Event::BodyDone(BodyDone { at, bytes, outcome })
        });
        // Like Go: HTTP/1 only, once the body is fully read.
        if let (true, Some(keep_alive)) = (completed, self.keep_alive) {
            self.traces.emit_with(EventKind::PutIdleConn, || {
                Event::PutIdleConn(PutIdleConn {
                    at,
                    error: keep_alive
                        .err()
                        .map(|why| HookError::new(ErrorKind::Other, why)),
                })
            });
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that reports when it is read to its end, fails, or is
    /// dropped (`body_done`), and otherwise passes everything through.
    pub struct ResponseBodyProbe<B> {
        #[pin]
        inner: B,
        bytes: u64,
        end: Option<BodyEnd>,
    }

    impl<B> PinnedDrop for ResponseBodyProbe<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(end) = this.end.take() {
                end.finish(*this.bytes, BodyOutcome::Dropped);
            }
        }
    }
}

impl<B> ResponseBodyProbe<B> {
    pub(crate) fn new(inner: B, end: BodyEnd) -> Self {
        Self {
            inner,
            bytes: 0,
            end: Some(end),
        }
    }

    /// A body with no trace attached: reports nothing.
    #[cfg(feature = "hyper")]
    pub(crate) fn passthrough(inner: B) -> Self {
        Self {
            inner,
            bytes: 0,
            end: None,
        }
    }
}

impl<B> Body for ResponseBodyProbe<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.bytes += data.len() as u64;
                }
                // Some readers stop at `is_end_stream` without polling again.
                if this.inner.is_end_stream()
                    && let Some(end) = this.end.take()
                {
                    end.finish(*this.bytes, BodyOutcome::Completed);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let e: BoxError = e.into();
                if let Some(end) = this.end.take() {
                    end.finish(*this.bytes, BodyOutcome::Failed(classify_chain(&*e)));
                }
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                if let Some(end) = this.end.take() {
                    end.finish(*this.bytes, BodyOutcome::Completed);
                }
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for ResponseBodyProbe<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("bytes", &self.bytes)
            .field("traced", &self.end.is_some())
            .finish()
    }
}
