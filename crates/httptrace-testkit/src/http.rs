//! Real HTTP test servers (hyper; HTTP/1.1 and HTTP/2, plain or TLS) plus raw-socket
//! misbehaving servers.
//!
//! ```no_run
//! # async fn demo() {
//! use httptrace_testkit::http::TestServer;
//! use httptrace_testkit::tls::TestCa;
//!
//! let plain = TestServer::http();
//! let url = plain.url("/redirect/2"); // http://127.0.0.1:PORT/redirect/2
//!
//! let ca = TestCa::new();
//! let tls = TestServer::https(&ca.server_identity(&["localhost"]), &[b"h2", b"http/1.1"]);
//! let url = tls.url("/"); // https://localhost:PORT/
//! # }
//! ```
//!
//! # Built-in routes (of [`TestServer::http`] / [`TestServer::https`])
//!
//! Every response carries `x-served-by-conn: <n>` where `n` is the 1-based sequence number of
//! the TCP connection (per server) that served it, so tests can detect connection reuse.
//! Methods are not enforced (any method works on every route).
//!
//! | route | response |
//! |---|---|
//! | `/` | 200 `hello` |
//! | `/status/{code}` | that status (200..=999 except 1xx), body `status {code}` |
//! | `/redirect/{n}` | 302 → `/redirect/{n-1}` (relative); `/redirect/0` → 200 `done` |
//! | `/redirect-abs/{n}` | same with absolute `Location` (`scheme://host/redirect-abs/{n-1}`, host taken from the request) |
//! | `/redirect-303`, `/redirect-307`, `/redirect-308` | that status → `/echo` |
//! | `/redirect-to?url=<percent-encoded>[&status=3xx]` | 302 (or `status`) → `url` |
//! | `/redirect-loop` | 302 → `/redirect-loop` |
//! | `/echo` | 200 JSON `{"method","path","query","version","authority","conn","headers":{lowercase name: value (duplicates joined with ", ")},"body","body_encoding":"utf8"\|"base64"}` |
//! | `/delay/{ms}` | waits `ms` before the response head, then 200 `ok` |
//! | `/bytes/{n}` | 200, `Content-Length: n`, body byte `i` = `(i % 256) as u8`, produced in 16 KiB chunks |
//! | `/slow-body/{chunks}/{ms}` | head at once (no Content-Length, chunked on HTTP/1.1), then `chunks` chunks of 1 KiB (`.` bytes), each preceded by a `ms` pause |
//! | `/abort-mid-body` | 200 with `Content-Length: 100000`, 1000 bytes, then the body errors: HTTP/1.1 connection is closed abruptly, HTTP/2 stream is reset (`RST_STREAM`) |
//! | `/close` | 200 `bye` with `Connection: close` (HTTP/1.1 closes the connection after it) |
//! | `/continue` | reads the whole request body (so hyper answers `Expect: 100-continue` with `100 Continue`), then 200 with the body length in decimal |
//! | anything else | 404 `not found` |
//!
//! For a TCP-level reset mid-body use [`TestServer::raw_reset_mid_body`]; for a server that
//! accepts but never answers use [`TestServer::stall`]; for a port with nothing listening use
//! [`refused_addr`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, LOCATION};
use ::http::{Request, Response, StatusCode, Version};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::tls::{ServerIdentity, rustls_server_config};

/// Boxed error type used by [`TestBody`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body type of the test servers (and of custom handlers).
pub type TestBody = UnsyncBoxBody<Bytes, BoxError>;

/// Boxed future returned by a [`Handler`].
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<TestBody>> + Send>>;

/// A custom request handler (see [`TestServer::http_with_handler`]).
pub type Handler = Arc<dyn Fn(Request<Incoming>) -> HandlerFuture + Send + Sync>;

/// A complete in-memory body.
pub fn full_body(data: impl Into<Bytes>) -> TestBody {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// Information about the connection a request arrived on. Inserted into every request's
/// extensions (`req.extensions().get::<ConnInfo>()`), useful in custom handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// 1-based sequence number of the TCP connection on this server (the value of the
    /// `x-served-by-conn` response header).
    pub seq: usize,
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's (local) address of the connection.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Returns an address on 127.0.0.1 with nothing listening (connecting to it is refused).
///
/// Implemented by binding an ephemeral port and releasing it, so in theory another process
/// could grab the port in between; in practice this is reliable.
pub fn refused_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = l.local_addr().expect("local_addr");
    drop(l);
    addr
}

/// An address where TCP connects hang unanswered, like a blackholed route:
/// a listener whose one-slot accept queue is kept full and never accepted,
/// so the kernel drops every further SYN. Dropping it frees the address.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    _listener: TcpListener,
    _filler: std::net::TcpStream,
}

impl BlackHole {
    /// Makes `addr` a black hole (port 0 picks a free one). Needs a tokio runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<BlackHole> {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(addr)?;
        // Backlog 0 leaves room for exactly one connection, taken by the filler.
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        let filler = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        Ok(BlackHole {
            addr,
            _listener: listener,
            _filler: filler,
        })
    }

    /// The address whose connects hang.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    requests: AtomicUsize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
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
    addr: SocketAddr,
    kind: Kind,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
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

fn bind_local() -> TcpListener {
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

    /// A raw HTTP/1.1 server that, on every connection, reads one request head, answers
    /// `HTTP/1.1 200 OK` with `Content-Length: 100000` followed by only 1000 body bytes, waits
    /// ~100 ms and then resets the TCP connection (`SO_LINGER` 0 + close → `RST`). The client
    /// sees the response head, then a body error. Path and method are ignored.
    pub fn raw_reset_mid_body() -> TestServer {
        Self::start_raw(|stream, counters| async move {
            let _ = reset_conn(stream, &counters).await;
        })
    }

    /// A raw server that, on every connection, reads once and answers with bytes that are
    /// not HTTP at all, then closes. For clients' parse errors.
    pub fn raw_garbage() -> TestServer {
        Self::start_raw(|mut stream, counters| async move {
            let mut buf = [0u8; 1024];
            if matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                counters.requests.fetch_add(1, Ordering::SeqCst);
                let _ = stream
                    .write_all(b"\x00\xffNOT HTTP AT ALL\r\n\r\n\x01\x02")
                    .await;
            }
        })
    }

    /// A TCP listener that accepts connections and never writes anything (it reads and
    /// discards whatever the client sends, keeping the connection open until the client
    /// closes it or the server is dropped). For connect/TLS-handshake/response timeouts.
    pub fn stall() -> TestServer {
        Self::start_raw(|mut stream, _| async move {
            let mut sink = [0u8; 4096];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
    }

    /// A raw-socket server: every accepted connection is counted and handed to `serve`
    /// in a task of its own, aborted when the server is dropped.
    fn start_raw<F, Fut>(serve: F) -> TestServer
    where
        F: Fn(TcpStream, Arc<Counters>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = bind_local();
        let addr = listener.local_addr().expect("local_addr");
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(raw_loop(listener, counters.clone(), serve));
        TestServer {
            addr,
            kind: Kind::Raw,
            counters,
            task,
        }
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

// ---------------------------------------------------------------------------------------
// Built-in routes
// ---------------------------------------------------------------------------------------

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<TestBody> {
    let mut resp = Response::new(full_body(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn redirect(status: StatusCode, location: &str) -> Response<TestBody> {
    match HeaderValue::from_str(location) {
        Ok(loc) => {
            let mut resp = text(status, format!("redirecting to {location}"));
            resp.headers_mut().insert(LOCATION, loc);
            resp
        }
        Err(_) => text(StatusCode::BAD_REQUEST, "invalid redirect target"),
    }
}

fn request_authority(req: &Request<Incoming>, info: Option<&ConnInfo>) -> String {
    if let Some(a) = req.uri().authority() {
        return a.to_string();
    }
    if let Some(h) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) {
        return h.to_string();
    }
    // Should not happen with real clients; fall back to the socket address.
    match info {
        Some(i) => i.local.to_string(),
        None => "127.0.0.1".to_string(),
    }
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "unknown",
    }
}

async fn routes(req: Request<Incoming>) -> Response<TestBody> {
    let info = req.extensions().get::<ConnInfo>().copied();
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        [""] => text(StatusCode::OK, "hello"),
        ["status", code] => match code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(status) if !status.is_informational() => {
                text(status, format!("status {}", status.as_u16()))
            }
            _ => text(StatusCode::BAD_REQUEST, "bad status code"),
        },
        ["redirect", n] => match n.parse::<u64>() {
            Ok(0) => text(StatusCode::OK, "done"),
            Ok(n) => redirect(StatusCode::FOUND, &format!("/redirect/{}", n - 1)),
            Err(_) => text(StatusCode::BAD_REQUEST, "bad redirect count"),
        },
        ["redirect-abs", n] => match n.parse::<u64>() {
            Ok(0) => text(StatusCode::OK, "done"),
            Ok(n) => {
                let scheme = if info.is_some_and(|i| i.tls) {
                    "https"
                } else {
                    "http"
                };
                let host = request_authority(&req, info.as_ref());
                redirect(
                    StatusCode::FOUND,
                    &format!("{scheme}://{host}/redirect-abs/{}", n - 1),
                )
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad redirect count"),
        },
        ["redirect-303"] => redirect(StatusCode::SEE_OTHER, "/echo"),
        ["redirect-307"] => redirect(StatusCode::TEMPORARY_REDIRECT, "/echo"),
        ["redirect-308"] => redirect(StatusCode::PERMANENT_REDIRECT, "/echo"),
        ["redirect-loop"] => redirect(StatusCode::FOUND, "/redirect-loop"),
        ["redirect-to"] => redirect_to(&req),
        ["echo"] => echo(req, info).await,
        ["delay", ms] => match ms.parse::<u64>() {
            Ok(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                text(StatusCode::OK, "ok")
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad delay"),
        },
        ["bytes", n] => match n.parse::<u64>() {
            Ok(n) => {
                let mut resp = Response::new(PatternBody { offset: 0, len: n }.boxed_unsync());
                resp.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(n));
                resp.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                resp
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad length"),
        },
        ["slow-body", chunks, ms] => match (chunks.parse::<u32>(), ms.parse::<u64>()) {
            (Ok(chunks), Ok(ms)) => Response::new(
                SlowBody {
                    remaining: chunks,
                    interval: Duration::from_millis(ms),
                    sleep: None,
                }
                .boxed_unsync(),
            ),
            _ => text(StatusCode::BAD_REQUEST, "bad slow-body parameters"),
        },
        ["abort-mid-body"] => {
            let mut resp = Response::new(
                AbortBody {
                    sent: false,
                    sleep: None,
                }
                .boxed_unsync(),
            );
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(100_000u32));
            resp
        }
        ["close"] => {
            let mut resp = text(StatusCode::OK, "bye");
            if req.version() < Version::HTTP_2 {
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            resp
        }
        ["continue"] => match read_body(req.into_body()).await {
            Ok(body) => text(StatusCode::OK, body.len().to_string()),
            Err(resp) => resp,
        },
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

const MAX_BODY: usize = 64 * 1024 * 1024;

async fn read_body(body: Incoming) -> Result<Bytes, Response<TestBody>> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))
            } else {
                Err(text(StatusCode::BAD_REQUEST, "failed to read body"))
            }
        }
    }
}

fn redirect_to(req: &Request<Incoming>) -> Response<TestBody> {
    let query = req.uri().query().unwrap_or("");
    let mut target = None;
    let mut status = StatusCode::FOUND;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "url" => target = Some(v.into_owned()),
            "status" => match v
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                Some(s) if s.is_redirection() => status = s,
                _ => return text(StatusCode::BAD_REQUEST, "bad status"),
            },
            _ => {}
        }
    }
    match target {
        Some(t) => redirect(status, &t),
        None => text(StatusCode::BAD_REQUEST, "missing url parameter"),
    }
}

async fn echo(req: Request<Incoming>, info: Option<ConnInfo>) -> Response<TestBody> {
    let (parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let joined = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_string(), serde_json::Value::String(joined));
    }
    let authority = parts.uri.authority().map(|a| a.to_string()).or_else(|| {
        parts
            .headers
            .get(HOST)
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
    });
    let (body_json, encoding) = match std::str::from_utf8(&body) {
        Ok(s) => (s.to_string(), "utf8"),
        Err(_) => (base64_encode(&body), "base64"),
    };
    let json = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query().unwrap_or(""),
        "version": version_str(parts.version),
        "authority": authority,
        "conn": info.map(|i| i.seq),
        "headers": headers,
        "body": body_json,
        "body_encoding": encoding,
    });
    let mut resp = Response::new(full_body(json.to_string()));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `/bytes/{n}`: a deterministic body of known length, produced in 16 KiB frames.
struct PatternBody {
    offset: u64,
    len: u64,
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
struct SlowBody {
    remaining: u32,
    interval: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
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
struct AbortBody {
    sent: bool,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
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

// ---------------------------------------------------------------------------------------
// Raw socket servers
// ---------------------------------------------------------------------------------------

async fn raw_loop<F, Fut>(listener: TcpListener, counters: Arc<Counters>, serve: F)
where
    F: Fn(TcpStream, Arc<Counters>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        counters.connections.fetch_add(1, Ordering::SeqCst);
        conns.spawn(serve(stream, counters.clone()));
    }
}

/// Reads up to the end of a request head (at most 64 KiB); returns it and
/// whatever came after it, or `None` if the peer closed or failed first.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
    }
}

async fn reset_conn(mut stream: TcpStream, counters: &Counters) -> io::Result<()> {
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream)).await;
    if !matches!(head, Ok(Some(_))) {
        return Ok(());
    }
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let mut out = Vec::with_capacity(1100);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: application/octet-stream\r\n\r\n");
    out.extend_from_slice(&[b'x'; 1000]);
    stream.write_all(&out).await?;
    stream.flush().await?;
    // Give the client time to receive the head and the partial body before the RST.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.set_zero_linger()?;
    drop(stream);
    Ok(())
}
