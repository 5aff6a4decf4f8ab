//! The connection's IO, wrapped: it notes when each request/response
//! exchange starts writing, last writes, and first reads, which is how the
//! hyper transport reports `wrote_headers`, `wrote_request` and
//! `got_first_response_byte` from the socket itself.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::transport::registry::ConnRegistry;

/// Any byte stream the connector made (TCP or TLS over TCP).
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// When the latest exchange on a connection wrote and read. On HTTP/1.1 an
/// exchange is exactly one request and its response; HTTP/2 interleaves
/// streams and control frames, so there it is the connection's latest
/// write burst and the read that followed it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Exchange {
    pub(crate) first_write: Option<Instant>,
    pub(crate) last_write: Option<Instant>,
    pub(crate) first_read: Option<Instant>,
    writing: bool,
}

/// Shared between the connection's IO and the round trips using it.
#[derive(Debug, Default)]
pub(crate) struct IoStats(Mutex<Exchange>);

impl IoStats {
    fn wrote(&self, at: Instant) {
        let mut ex = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !ex.writing {
            *ex = Exchange {
                first_write: Some(at),
                last_write: None,
                first_read: None,
                writing: true,
            };
        }
        ex.last_write = Some(at);
    }

    fn read(&self, at: Instant) {
        let mut ex = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if ex.writing {
            ex.writing = false;
            ex.first_read = Some(at);
        }
    }

    pub(crate) fn latest(&self) -> Exchange {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every response on this connection carries in its extensions (via
/// hyper-util's `Connected::extra`).
#[derive(Clone, Debug)]
pub(crate) struct ConnExtra {
    pub(crate) local_addr: SocketAddr,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) stats: Arc<IoStats>,
}

/// A connection made by [`Connector`](super::Connector): TCP or TLS, with
/// its reads and writes noted for the round trips that use it.
pub struct TracedStream {
    pub(crate) inner: Box<dyn Stream>,
    pub(crate) extra: ConnExtra,
    pub(crate) h2: bool,
    /// Plain HTTP to a proxy, which forwards each request.
    pub(crate) forwarding: bool,
    pub(crate) registry: Arc<ConnRegistry>,
}

impl Drop for TracedStream {
    /// hyper-util drops the IO when the connection closes, which is how the
    /// transport knows a connection's lifetime.
    fn drop(&mut self) {
        self.registry.remove(self.extra.local_addr, Instant::now());
    }
}

impl Connection for TracedStream {
    fn connected(&self) -> Connected {
        // A plain-HTTP request through a proxy goes in absolute form.
        let connected = Connected::new()
            .extra(self.extra.clone())
            .proxy(self.forwarding);
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl AsyncRead for TracedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.extra.stats.read(Instant::now());
        }
        polled
    }
}

impl AsyncWrite for TracedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Stamped as the bytes are handed over: on loopback the write call
        // itself delivers them, so the server may read before it returns.
        let at = Instant::now();
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.extra.stats.wrote(at);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let at = Instant::now();
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.extra.stats.wrote(at);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl std::fmt::Debug for TracedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedStream")
            .field("local_addr", &self.extra.local_addr)
            .field("remote_addr", &self.extra.remote_addr)
            .field("h2", &self.h2)
            .finish()
    }
}
