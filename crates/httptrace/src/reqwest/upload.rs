//! The request body, as reqwest hands it to hyper: notes when hyper first
//! takes it and when it has taken all of it (reqwest hides the socket, so
//! this is as close to "written" as it gets).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::event::HookError;
use crate::transport::errors::classify_chain;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
