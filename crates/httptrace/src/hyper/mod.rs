//! The hyper-util transport: full fidelity, because the connector and the
//! connection's IO are ours.
//!
//! [`Client`] wraps hyper-util's legacy `Client` with a [`Connector`] that
//! resolves through hickory-resolver, dials the resolved addresses (racing
//! them Happy Eyeballs style when one is slow to answer) and
//! runs the TLS handshake with tokio-rustls, reporting each step as it
//! happens, and wraps the connection's IO to see the first and last write of
//! a request and the first byte of its response. It is a transport in Go's
//! sense (a `RoundTripper`): one request, one round trip; it does not follow
//! redirects, like hyper-util's own client. A caller that does follows them
//! with [`crate::redirect::next_hop`] (the reqwest transport's rules) and
//! marks each hop with [`ResendCount`].
//!
//! | hook | on hyper-util | how |
//! |---|---|---|
//! | `round_trip_start`, `get_conn`, `round_trip_done`, `body_done` | exact | around hyper-util's request future and the response body |
//! | `dns_start` / `dns_done` | exact | hickory-resolver, concurrent lookups coalesced |
//! | `connect_start` / `connect_done` | exact, per address | one pair per attempt; attempts race Happy Eyeballs style, families interleaved, the next starting after 300 ms unanswered; losers end `Cancelled` |
//! | `tls_handshake_start` / `tls_handshake_done` | exact | around tokio-rustls' handshake; version, ALPN, resumption, full chain |
//! | `got_conn` | exact | the instant hyper-util's pool hands the connection over (its connection capture), reused / idle from the connection registry; if the caller captures the connection itself, the time is approx. (the dial's end, or `get_conn` for a pooled one) |
//! | `wrote_header_field` | approx. | the request's headers at `wrote_headers` time (hyper adds `host` and framing headers) |
//! | `wrote_headers` | exact on HTTP/1.1 | the exchange's first write to the socket (head, maybe with the start of the body) |
//! | `wrote_request` | exact on HTTP/1.1 | the exchange's last write before the response's first read |
//! | `got_first_response_byte` | exact on HTTP/1.1 | the first read after the request was written |
//! | `got_1xx_response` | exact, HTTP/1 | hyper's `on_informational` |
//! | `put_idle_conn` | approx. | HTTP/1, when the body was read to the end |
//! | `wait_100_continue` | never | hyper sends the body without waiting for `100 Continue` |
//!
//! A round trip dropped before its response (cancelled, or timed out by the
//! caller) still reports what happened on the connection it got:
//! `got_conn`, `wrote_headers` and `wrote_request` (and the first byte, if
//! one came) from the socket, then `round_trip_done` with a `Cancelled`
//! error.
//!
//! Connections: the builder's [`MakeTrace`] also hears every connection
//! open, turn active (a traced request took it), turn idle and close
//! ([`MakeTrace::on_connection`]), which is what open-connection counts and
//! connection lifetimes are made from. Requests sent without any trace do
//! not move a connection to active.
//!
//! Measured by `benches/timing.rs` against an in-process server sharing the
//! client's clock (loopback, 2-core machine, 300 new connections, median /
//! p90 of hook minus the server's instant): `wrote_headers`, stamped as the
//! bytes are handed to the socket, vs the server having read the head
//! -0.04 / -0.03 ms over HTTP and -0.03 / -0.02 ms over HTTPS (over
//! loopback the write call itself delivers them); `got_first_response_byte`
//! vs the server having written its head +0.04 / +0.05 ms over HTTP and
//! +0.07 / +0.08 ms over HTTPS (loopback delivery and, for HTTPS,
//! decryption); `connect_done` vs accept +0.04 / +0.05 ms. The reqwest
//! transport's errors on the same run are three to four times larger (see
//! its module, `httptrace::reqwest`).
//!
//! On HTTP/2 the socket carries many streams and control frames, so the
//! three socket-level hooks come from the connection's latest write burst and
//! the read after it: approximate.
//!
//! Proxies: [`Builder::proxy`] (`http://` and `https://` proxies; none by
//! default, as in hyper-util). Through one, DNS and connect hooks are the
//! proxy's.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use http_body_util::{BodyExt, Empty};
//! use httptrace::ClientTrace;
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/", listener.local_addr()?);
//! # tokio::spawn(async move {
//! #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! #     let (mut socket, _) = listener.accept().await.unwrap();
//! #     let mut buf = [0u8; 1024];
//! #     let _ = socket.read(&mut buf).await;
//! #     let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
//! # });
//!
//! let client = httptrace::hyper::Client::builder().build::<Empty<bytes::Bytes>>()?;
//! let trace = ClientTrace::new().on_event(|e| println!("{}", e.name()));
//! let request = http::Request::get(url).body(Empty::new())?;
//! let response = client.request_traced(request, trace).await?;
//! let body = response.into_body().collect().await?.to_bytes();
//! assert_eq!(&body[..], b"ok");
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper_util::client::legacy;
use hyper_util::rt::TokioExecutor;

use crate::event::*;
use crate::transport::body::BodyEnd;
use crate::transport::dns::{DnsServers, TracingResolver};
use crate::transport::errors::classify_chain;
use crate::transport::registry::ConnRegistry;
use crate::transport::round_trip::{
    Arrival, PendingRoundTrip, host_port, report_arrival, report_got_conn, report_written,
};
use crate::{ClientTrace, MakeTrace, RequestInfo, Traces};

mod connect;
mod io;

pub use crate::transport::body::ResponseBodyProbe as ResponseBody;
pub use connect::Connector;
pub(crate) use connect::ProxyError;
use connect::ROUND_TRIP;
/// Which proxy, if any, a request goes through: hyper-util's matcher,
/// re-exported so that callers need no hyper-util feature of their own.
pub use hyper_util::client::proxy::matcher::Matcher as ProxyMatcher;
use io::ConnExtra;
pub use io::TracedStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request extension saying the request resends an earlier one for the
/// `n`th time (a redirect hop or a retry the caller makes: this transport
/// sends one round trip per call and cannot know). Its `round_trip_start`
/// carries it as `resend_count`, and the OpenTelemetry adapter as
/// `http.request.resend_count`.
///
/// ```
/// let mut request = http::Request::get("http://example.com/next").body(()).unwrap();
/// request.extensions_mut().insert(httptrace::hyper::ResendCount(1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResendCount(pub u32);

/// Builds a [`Client`].
#[derive(Clone)]
pub struct Builder {
    make_trace: Option<Arc<dyn MakeTrace>>,
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    no_built_in_roots: bool,
    accept_invalid_certs: bool,
    http1_only: bool,
    dns: DnsServers,
    connect_timeout: Option<Duration>,
    happy_eyeballs_delay: Option<Duration>,
    proxy: Option<Arc<ProxyMatcher>>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("make_trace", &self.make_trace.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .field("http1_only", &self.http1_only)
            .field("dns", &self.dns)
            .field("connect_timeout", &self.connect_timeout)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            make_trace: None,
            extra_roots: Vec::new(),
            no_built_in_roots: false,
            accept_invalid_certs: false,
            http1_only: false,
            dns: DnsServers::default(),
            connect_timeout: None,
            happy_eyeballs_delay: Some(DEFAULT_HAPPY_EYEBALLS_DELAY),
            proxy: None,
        }
    }
}

/// How long an unanswered connection attempt holds back the next address:
/// 300 ms, as hyper-util's `HttpConnector` and Go's dialer use.
pub const DEFAULT_HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(300);

impl Builder {
    /// Makes a trace for every request (adapters plug in here).
    pub fn make_trace(mut self, make: impl MakeTrace) -> Self {
        self.make_trace = Some(Arc::new(make));
        self
    }

    /// Trusts this DER certificate as a root, besides the platform's.
    pub fn root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots
            .push(rustls::pki_types::CertificateDer::from(der.into()));
        self
    }

    /// Trusts every certificate in this PEM bundle as a root; an unreadable
    /// or certificate-less bundle is an error.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, BoxError> {
        self.extra_roots
            .extend(crate::transport::certs::pem_roots(pem)?);
        Ok(self)
    }

    /// Whether to trust the platform's roots (default true).
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.no_built_in_roots = !enabled;
        self
    }

    /// Accepts any server certificate (curl's `-k`); signatures are still checked.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Speaks only HTTP/1.1 (ALPN offers only `http/1.1`).
    pub fn http1_only(mut self) -> Self {
        self.http1_only = true;
        self
    }

    /// Sends DNS lookups to this server instead of the system's.
    pub fn dns_server(mut self, server: std::net::SocketAddr) -> Self {
        self.dns = DnsServers::Custom(vec![server]);
        self
    }

    /// Gives up on each connection attempt after this long, and on a
    /// proxy's answer to `CONNECT` after as long again.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long a connection attempt may go unanswered before the next
    /// resolved address is tried alongside it (Happy Eyeballs, RFC 8305);
    /// the first to connect wins. Default [`DEFAULT_HAPPY_EYEBALLS_DELAY`];
    /// `None` tries addresses strictly one after another, each until it
    /// fails (or [`Builder::connect_timeout`] passes).
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> Self {
        self.happy_eyeballs_delay = delay;
        self
    }

    /// Sends requests through the proxy `matcher` picks for each URL, none by
    /// default (as hyper-util's own client). [`ProxyMatcher::from_env`] reads
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` as curl does.
    ///
    /// `http://` and `https://` proxies are supported (SOCKS is not: a
    /// request one would carry fails with an error saying so). HTTPS goes
    /// through a `CONNECT` tunnel, with TLS to the origin through it; plain
    /// HTTP is forwarded in absolute form, with the proxy's
    /// `Proxy-Authorization` added to each request (hooks report it
    /// redacted). DNS and connect hooks are the proxy's, as in Go; an
    /// `https://` proxy's own handshake is reported as a first
    /// `tls_handshake_start`/`done` pair (HTTP/1.1 only, the builder's trust),
    /// as Go does. The `CONNECT` exchange has no hook of its own and shows as
    /// the gap before the origin's `tls_handshake_start`.
    ///
    /// ```
    /// use httptrace::hyper::{Client, ProxyMatcher};
    ///
    /// let matcher = ProxyMatcher::builder()
    ///     .all("http://proxy.internal:3128")
    ///     .no("localhost, .svc.cluster.local")
    ///     .build();
    /// let builder = Client::builder().proxy(matcher);
    /// ```
    pub fn proxy(mut self, matcher: ProxyMatcher) -> Self {
        self.proxy = Some(Arc::new(matcher));
        self
    }

    /// Builds the client for request bodies of type `B`. The first client in
    /// a process also seeds the TLS random generator (about 30 ms with
    /// aws-lc), so that one-time cost is not counted as the first handshake.
    pub fn build<B>(self) -> Result<Client<B>, BoxError>
    where
        B: http_body::Body + Send + 'static + Unpin,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // A proxy is spoken to over HTTP/1.1 only, with the same trust.
        let proxies = match &self.proxy {
            Some(matcher) => Some(connect::Proxies {
                matcher: matcher.clone(),
                tls: tokio_rustls::TlsConnector::from(Arc::new(
                    crate::transport::certs::client_config(
                        self.extra_roots.clone(),
                        !self.no_built_in_roots,
                        self.accept_invalid_certs,
                        true,
                        |verifier| verifier,
                    )?,
                )),
            }),
            None => None,
        };
        let tls = crate::transport::certs::client_config(
            self.extra_roots,
            !self.no_built_in_roots,
            self.accept_invalid_certs,
            self.http1_only,
            |verifier| verifier,
        )?;
        let registry = Arc::new(ConnRegistry::observed(self.make_trace.clone()));
        let connector = Connector {
            resolver: Arc::new(TracingResolver::new(&self.dns)?),
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            registry: registry.clone(),
            connect_timeout: self.connect_timeout,
            happy_eyeballs_delay: self.happy_eyeballs_delay,
            proxy: proxies,
        };
        let mut inner = legacy::Client::builder(TokioExecutor::new());
        if self.http1_only {
            inner.http2_only(false);
        }
        Ok(Client {
            inner: inner.build(connector),
            registry,
            make_trace: self.make_trace,
            proxy: self.proxy,
        })
    }
}

/// hyper-util's `Client` with every hook reported. Cheap to clone.
#[derive(Clone)]
pub struct Client<B> {
    inner: legacy::Client<Connector, B>,
    registry: Arc<ConnRegistry>,
    make_trace: Option<Arc<dyn MakeTrace>>,
    proxy: Option<Arc<ProxyMatcher>>,
}

impl<B> std::fmt::Debug for Client<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client<()> {
    /// A builder with the defaults: system DNS, platform roots, HTTP/2 by ALPN.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl<B> Client<B>
where
    B: http_body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Sends a request with the traces of the enclosing scopes and of the
    /// builder's `make_trace`.
    pub async fn request(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<ResponseBody<Incoming>>, legacy::Error> {
        self.send(request, None).await
    }

    /// Sends a request with `trace` attached to it as well.
    pub async fn request_traced(
        &self,
        request: http::Request<B>,
        trace: ClientTrace,
    ) -> Result<http::Response<ResponseBody<Incoming>>, legacy::Error> {
        self.send(request, Some(trace)).await
    }

    async fn send(
        &self,
        mut request: http::Request<B>,
        extra: Option<ClientTrace>,
    ) -> Result<http::Response<ResponseBody<Incoming>>, legacy::Error> {
        self.add_proxy_authorization(&mut request);
        let mut traces = Traces::current();
        // The URL is only needed for traces: parse it only if any may exist.
        let url = (self.make_trace.is_some() || extra.is_some() || !traces.is_empty())
            .then(|| url::Url::parse(&request.uri().to_string()).ok())
            .flatten();
        if let (Some(make), Some(url)) = (&self.make_trace, &url) {
            let template = request.extensions().get::<crate::UrlTemplate>();
            let info = RequestInfo::new(request.method(), url, request.headers())
                .with_url_template(template.map(crate::UrlTemplate::as_str));
            if let Some(trace) = make.make_trace(&info) {
                traces = traces.with(trace);
            }
        }
        if let Some(trace) = extra {
            traces = traces.with(trace);
        }
        let (true, Some(url)) = (!traces.is_empty(), url) else {
            let response = self.inner.request(request).await?;
            return Ok(response.map(ResponseBody::passthrough));
        };

        let start = RoundTripStart {
            at: Instant::now(),
            method: request.method().clone(),
            url: url.clone(),
            resend_count: request.extensions().get::<ResendCount>().map_or(0, |r| r.0),
        };
        let started = start.at;
        traces.request_headers(&start, request.headers_mut());
        traces.emit(Event::RoundTripStart(start));
        let get_conn_at = Instant::now();
        traces.emit(Event::GetConn(GetConn {
            at: get_conn_at,
            host_port: host_port(&url),
        }));
        let informational = traces.clone();
        hyper::ext::on_informational(&mut request, move |res| {
            informational.emit(Event::Got1xxResponse(Got1xxResponse {
                at: Instant::now(),
                status: res.status(),
                headers: res.headers().clone(),
            }));
        });
        let sent_headers = request.headers().clone();
        let body_bytes = http_body::Body::size_hint(request.body())
            .exact()
            .unwrap_or(0);
        let capture = capture_connection(&mut request);
        let mut pending = Pending {
            round_trip: PendingRoundTrip(Some(traces.clone())),
            conn: None,
            registry: &self.registry,
            started,
            get_conn_at,
            sent_headers: &sent_headers,
            body_bytes,
        };
        let sending = ROUND_TRIP.scope(traces.clone(), self.inner.request(request));
        let result = match capture {
            None => sending.await,
            Some(mut capture) => {
                let mut sending = std::pin::pin!(sending);
                let answered = tokio::select! {
                    biased;
                    result = &mut sending => Some(result),
                    connected = capture.wait_for_connection_metadata() => {
                        // The pool handed the connection over just now: Go's
                        // GotConn instant.
                        let at = Instant::now();
                        pending.conn = connected.as_ref().and_then(|c| {
                            let mut extensions = http::Extensions::new();
                            c.get_extras(&mut extensions);
                            Some(Captured {
                                at,
                                conn: extensions.remove::<ConnExtra>()?,
                                h2: c.is_negotiated_h2(),
                            })
                        });
                        None
                    }
                };
                match answered {
                    Some(result) => result,
                    None => sending.await,
                }
            }
        };
        pending.round_trip.0 = None;
        let captured = pending.conn.take();
        drop(pending);
        let headers_at = Instant::now();
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                traces.emit(Event::RoundTripDone(RoundTripDone {
                    at: headers_at,
                    status: None,
                    version: None,
                    headers: None,
                    error: Some(classify_chain(&e)),
                }));
                return Err(e);
            }
        };
        let extra = response.extensions().get::<ConnExtra>().cloned();
        let local_addr = extra.as_ref().map(|x| x.local_addr);
        let mut reuse = self.registry.take(local_addr, started, get_conn_at);
        if let Some(captured) = captured {
            reuse.at = captured.at;
        }
        // The socket's own record of this exchange; anything from before
        // this round trip started belongs to an earlier one.
        let exchange = extra.as_ref().map(|x| x.stats.latest()).unwrap_or_default();
        let after_start = |t: Option<Instant>| t.filter(|t| *t >= started);
        let wrote_headers = after_start(exchange.first_write).unwrap_or(reuse.at);
        let wrote_request = after_start(exchange.last_write).unwrap_or(wrote_headers);
        let first_byte = after_start(exchange.first_read)
            .unwrap_or(headers_at)
            .max(wrote_request)
            .min(headers_at);
        let keep_alive = report_arrival(
            &traces,
            Arrival {
                reuse: &reuse,
                local_addr,
                remote_addr: extra.as_ref().map(|x| x.remote_addr),
                sent_headers: &sent_headers,
                wrote_headers,
                wrote_request,
                body_bytes,
                write_error: None,
                first_byte,
                headers_at,
                error: None,
                status: response.status(),
                version: response.version(),
                headers: response.headers(),
            },
        );
        let end = BodyEnd {
            traces,
            registry: self.registry.clone(),
            local_addr: local_addr.filter(|_| reuse.known),
            keep_alive,
        };
        Ok(response.map(|body| ResponseBody::new(body, end)))
    }
}

impl<B> Client<B> {
    /// A plain-HTTP request forwarded by an authenticating proxy carries the
    /// proxy's credentials itself (an HTTPS one sends them in the `CONNECT`).
    fn add_proxy_authorization(&self, request: &mut http::Request<B>) {
        if request.uri().scheme_str() != Some("http") {
            return;
        }
        let Some(proxy) = self
            .proxy
            .as_deref()
            .and_then(|m| m.intercept(request.uri()))
        else {
            return;
        };
        if let Some(auth) = proxy.basic_auth() {
            let mut auth = auth.clone();
            auth.set_sensitive(true);
            request
                .headers_mut()
                .entry(http::header::PROXY_AUTHORIZATION)
                .or_insert(auth);
        }
    }
}

/// Asks hyper-util to say which connection the request gets, the moment
/// the pool hands it over, unless the caller asked already: a request holds
/// one capture, and the caller's must keep working.
fn capture_connection<B>(
    request: &mut http::Request<B>,
) -> Option<legacy::connect::CaptureConnection> {
    let mut probe = http::Request::new(());
    let capture = legacy::connect::capture_connection(&mut probe);
    let ours = std::mem::take(probe.extensions_mut());
    // The capture's type is private: a clone with ours merged in that gains
    // no entry already had one.
    let mut merged = request.extensions().clone();
    let before = merged.len();
    merged.extend(ours.clone());
    if merged.len() == before {
        return None;
    }
    request.extensions_mut().extend(ours);
    Some(capture)
}

/// The connection the pool handed a round trip, and when.
struct Captured {
    at: Instant,
    conn: ConnExtra,
    h2: bool,
}

/// A round trip in flight. Dropped before its response arrived (cancelled,
/// or timed out by the caller), it still reports what happened on the
/// connection it got, then the cancellation.
struct Pending<'a> {
    round_trip: PendingRoundTrip,
    /// The connection, once the pool handed it over.
    conn: Option<Captured>,
    registry: &'a ConnRegistry,
    started: Instant,
    get_conn_at: Instant,
    sent_headers: &'a http::HeaderMap,
    body_bytes: u64,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let (Some(traces), Some(Captured { at, conn, h2 })) = (&self.round_trip.0, &self.conn)
        else {
            return; // answered, or no connection yet: PendingRoundTrip says it
        };
        let mut reuse = self
            .registry
            .take(Some(conn.local_addr), self.started, self.get_conn_at);
        reuse.at = *at;
        let now = Instant::now();
        if reuse.known {
            self.registry.release(conn.local_addr, now);
        }
        let protocol = if *h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        report_got_conn(
            traces,
            &reuse,
            Some(conn.local_addr),
            Some(conn.remote_addr),
            protocol,
        );
        // What the socket did for this round trip before it was dropped.
        let exchange = conn.stats.latest();
        let after_start = |t: Option<Instant>| t.filter(|t| *t >= self.started);
        if let Some(first_write) = after_start(exchange.first_write) {
            let last_write = after_start(exchange.last_write).unwrap_or(first_write);
            report_written(
                traces,
                self.sent_headers,
                first_write,
                (last_write, self.body_bytes, None),
            );
            if let Some(first_read) = after_start(exchange.first_read) {
                traces.emit(Event::GotFirstResponseByte(GotFirstResponseByte {
                    at: first_read,
                }));
            }
        }
    }
}
