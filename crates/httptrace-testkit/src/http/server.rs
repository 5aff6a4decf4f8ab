//! [`TestServer`]: the hyper servers (HTTP/1.1 and HTTP/2, plain or TLS)
//! with the built-in routes or a custom handler, and what every test server
//! shares (address, URLs, counters).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::http::header::HeaderValue;
use ::http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::handler::{ConnInfo, Handler, HandlerFuture, TestBody};
use super::routes::routes;
use crate::tls::{ServerIdentity, rustls_server_config};

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicUsize,
    pub(crate) requests: AtomicUsize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Http,
    Https,
    Raw,
}

/// A running test server bound to `127.0.0.1:<ephemeral port>`, serving on the tokio runtime
/// it was created on. Dropping it stops the accept loop and aborts every connection task.
///
/// All constructors must be called from within a tokio runtime (multi-thread or
/// current-thread) and panic otherwise.
pub struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) kind: Kind,
    pub(crate) counters: Arc<Counters>,
    pub(crate) task: JoinHandle<()>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn bind_local() -> TcpListener {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    std_listener.set_nonblocking(true).expect("set_nonblocking");
    TcpListener::from_std(std_listener)
        .expect("TestServer constructors must be called inside a tokio runtime")
}

impl TestServer {
    /// Plain HTTP server with the built-in routes. Speaks HTTP/1.1 (keep-alive on) and also
    /// HTTP/2 with prior knowledge (h2c), auto-detected per connection.
    pub fn http() -> TestServer {
        Self::start_hyper(None, builtin_handler(), Kind::Http)
    }

    /// HTTPS server with the built-in routes, presenting `identity` and offering the ALPN
    /// protocols `alpn` (e.g. `&[b"h2", b"http/1.1"]`). Serves HTTP/2 when ALPN negotiated
    /// `h2`, HTTP/1.1 when it negotiated `http/1.1`, and auto-detects otherwise.
    ///
    /// Failed TLS handshakes (e.g. client does not trust the CA) still count in
    /// [`TestServer::connections_accepted`].
    pub fn https(identity: &ServerIdentity, alpn: &[&[u8]]) -> TestServer {
        Self::https_with_config(rustls_server_config(identity, alpn))
    }

    /// Like [`TestServer::https`] but with a caller-supplied rustls server config.
    pub fn https_with_config(config: Arc<rustls::ServerConfig>) -> TestServer {
        Self::start_hyper(
            Some(TlsAcceptor::from(config)),
            builtin_handler(),
            Kind::Https,
        )
    }

    /// Plain HTTP server whose every request is answered by `handler` instead of the
    /// built-in routes. `x-served-by-conn` is still added and the counters still work.
    pub fn http_with_handler<F, Fut>(handler: F) -> TestServer
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        Self::start_hyper(None, box_handler(handler), Kind::Http)
    }

    /// HTTPS variant of [`TestServer::http_with_handler`].
    pub fn https_with_handler<F, Fut>(
        identity: &ServerIdentity,
        alpn: &[&[u8]],
        handler: F,
    ) -> TestServer
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let acceptor = TlsAcceptor::from(rustls_server_config(identity, alpn));
        Self::start_hyper(Some(acceptor), box_handler(handler), Kind::Https)
    }

    fn start_hyper(tls: Option<TlsAcceptor>, handler: Handler, kind: Kind) -> TestServer {
        let listener = bind_local();
        let addr = listener.local_addr().expect("local_addr");
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(hyper_loop(listener, tls, handler, counters.clone()));
        TestServer {
            addr,
            kind,
            counters,
            task,
        }
    }

    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `"https"` for TLS servers, `"http"` otherwise.
    pub fn scheme(&self) -> &'static str {
        match self.kind {
            Kind::Https => "https",
            _ => "http",
        }
    }

    /// URL for `path` (a leading `/` is added if missing): `http://127.0.0.1:PORT/path` for
    /// plain servers, `https://localhost:PORT/path` for TLS servers (so the certificate must
    /// cover `localhost`; note that `localhost` may resolve to `::1` first, the server only
    /// listens on 127.0.0.1).
    pub fn url(&self, path: &str) -> String {
        let host = match self.kind {
            Kind::Https => "localhost",
            _ => "127.0.0.1",
        };
        self.url_with_host(host, path)
    }

    /// URL for `path` with an arbitrary host name (e.g. one answered by the test DNS server):
    /// `SCHEME://HOST:PORT/path`.
    pub fn url_with_host(&self, host: &str, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!(
            "{}://{}:{}{}{}",
            self.scheme(),
            host,
            self.port(),
            slash,
            path
        )
    }

    /// Number of TCP connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Number of requests that reached the handler so far (for
    /// [`TestServer::raw_reset_mid_body`] and [`TestServer::raw_garbage`]: requests read; always 0 for
    /// [`TestServer::stall`]).
    pub fn requests_served(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }
}

fn box_handler<F, Fut>(handler: F) -> Handler
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<TestBody>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(handler(req)) as HandlerFuture)
}

fn builtin_handler() -> Handler {
    Arc::new(|req| Box::pin(routes(req)) as HandlerFuture)
}

async fn hyper_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Handler,
    counters: Arc<Counters>,
) {
    let mut conns = JoinSet::new();
    let local = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // e.g. EMFILE: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        let seq = counters.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(local);
        conns.spawn(serve_conn(
            stream,
            ConnInfo {
                seq,
                peer,
                local,
                tls: tls.is_some(),
            },
            tls.clone(),
            handler.clone(),
            counters.clone(),
        ));
    }
}

async fn serve_conn(
    stream: TcpStream,
    info: ConnInfo,
    tls: Option<TlsAcceptor>,
    handler: Handler,
    counters: Arc<Counters>,
) {
    match tls {
        None => serve_io(TokioIo::new(stream), None, info, handler, counters).await,
        Some(acceptor) => {
            let accepted =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            let Ok(Ok(tls_stream)) = accepted else {
                return;
            };
            let alpn = tls_stream.get_ref().1.alpn_protocol().map(|p| p.to_vec());
            serve_io(TokioIo::new(tls_stream), alpn, info, handler, counters).await
        }
    }
}

async fn serve_io<I>(
    io: I,
    alpn: Option<Vec<u8>>,
    info: ConnInfo,
    handler: Handler,
    counters: Arc<Counters>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = match alpn.as_deref() {
        Some(b"h2") => builder.http2_only(),
        Some(b"http/1.1") => builder.http1_only(),
        _ => builder,
    };
    let service = service_fn(move |mut req: Request<Incoming>| {
        counters.requests.fetch_add(1, Ordering::SeqCst);
        req.extensions_mut().insert(info);
        let fut = handler(req);
        async move {
            let mut resp = fut.await;
            resp.headers_mut()
                .insert("x-served-by-conn", HeaderValue::from(info.seq));
            Ok::<_, Infallible>(resp)
        }
    });
    let _ = builder.serve_connection(io, service).await;
}
