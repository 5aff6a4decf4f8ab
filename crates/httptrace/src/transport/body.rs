//! Bodies: the response body reports when it ends, fails or is dropped; the
//! request body reports when hyper starts and finishes taking it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::Traces;
use crate::event::*;
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
        self.traces
            .emit(Event::BodyDone(BodyDone { at, bytes, outcome }));
        // Like Go: HTTP/1 only, once the body is fully read.
        if let (true, Some(keep_alive)) = (completed, self.keep_alive) {
            self.traces.emit(Event::PutIdleConn(PutIdleConn {
                at,
                error: keep_alive
                    .err()
                    .map(|why| HookError::new(ErrorKind::Other, why)),
            }));
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that reports its end.
    pub(crate) struct ResponseBodyProbe<B> {
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

/// When hyper first took and finished taking a request body.
#[derive(Default, Debug)]
pub(crate) struct Upload {
    pub(crate) first_poll: Option<Instant>,
    pub(crate) end: Option<Instant>,
    pub(crate) bytes: u64,
    pub(crate) error: Option<HookError>,
}

pin_project_lite::pin_project! {
    /// A request body that notes when it is taken; size hints pass through,
    /// so `Content-Length` framing is unchanged.
    pub(crate) struct RequestBodyProbe<B> {
        #[pin]
        inner: B,
        upload: Arc<Mutex<Upload>>,
    }
}

impl<B> RequestBodyProbe<B> {
    pub(crate) fn new(inner: B, upload: Arc<Mutex<Upload>>) -> Self {
        Self { inner, upload }
    }
}

impl<B> Body for RequestBodyProbe<B>
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
        let this = self.project();
        let now = Instant::now();
        let polled = this.inner.poll_frame(cx);
        let mut upload = this.upload.lock().unwrap_or_else(|e| e.into_inner());
        upload.first_poll.get_or_insert(now);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    upload.bytes += data.len() as u64;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let e: BoxError = e.into();
                upload.end = Some(Instant::now());
                upload.error = Some(classify_chain(&*e));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                upload.end.get_or_insert_with(Instant::now);
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            let mut upload = self.upload.lock().unwrap_or_else(|e| e.into_inner());
            upload.end.get_or_insert_with(Instant::now);
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
