//! Connect: DNS, one TCP attempt per resolved address, and TLS, each
//! reported as it happens, from the connector hyper-util calls.

use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use http::Uri;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::io::{ConnExtra, IoStats, Stream, TracedStream};
use crate::Traces;
use crate::event::*;
use crate::transport::certs::summarize;
use crate::transport::dns::{LookupError, TracingResolver, done_event};
use crate::transport::errors::classify_chain;
use crate::transport::registry::{ConnIdentity, ConnRecord, ConnRegistry};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

tokio::task_local! {
    /// The traces of the round trip being sent, set around hyper-util's
    /// request future so the connector (first polled inside it) sees them.
    pub(crate) static ROUND_TRIP: Traces;
}

/// The connector: a `tower::Service<Uri>` for hyper-util's legacy `Client`.
#[derive(Clone)]
pub struct Connector {
    pub(crate) resolver: Arc<TracingResolver>,
    pub(crate) tls: tokio_rustls::TlsConnector,
    pub(crate) registry: Arc<ConnRegistry>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) happy_eyeballs_delay: Option<Duration>,
    pub(crate) proxy: Option<Proxies>,
}

/// Which proxy a request goes through, and how to greet an `https://` one.
#[derive(Clone)]
pub(crate) struct Proxies {
    pub(crate) matcher: Arc<Matcher>,
    /// The same trust as the origin's, HTTP/1.1 only.
    pub(crate) tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("connect_timeout", &self.connect_timeout)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<TracedStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // Read in the round trip's task; the dial may finish in another.
        let traces = ROUND_TRIP.try_with(Traces::clone).unwrap_or_default();
        let this = self.clone();
        Box::pin(async move { this.connect(uri, traces).await.map(TokioIo::new) })
    }
}

/// The phase a dial is in, so that a dial dropped midway (cancelled, timed
/// out) still closes it with an error.
enum Open {
    None,
    Dns(String),
    Tls,
}

struct PhaseGuard {
    traces: Traces,
    open: Open,
}

impl PhaseGuard {
    fn set(&mut self, open: Open) {
        self.open = open;
    }
}

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        let at = Instant::now();
        let error = Some(HookError::new(
            ErrorKind::Cancelled,
            "dial cancelled before it finished",
        ));
        let event = match std::mem::replace(&mut self.open, Open::None) {
            Open::None => return,
            Open::Dns(host) => Event::DnsDone(DnsDone {
                at,
                host,
                addrs: Vec::new(),
                error,
                coalesced: false,
            }),
            Open::Tls => Event::TlsHandshakeDone(TlsHandshakeDone {
                at,
                state: None,
                error,
            }),
        };
        self.traces.emit(event);
    }
}

impl Connector {
    async fn connect(&self, uri: Uri, traces: Traces) -> Result<TracedStream, BoxError> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => return Err(format!("unsupported scheme {other:?}").into()),
        };
        let host = bare_host(&uri).ok_or("URL has no host")?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        // Through a proxy, DNS and connect are the proxy's, as in Go; only
        // TLS (through the tunnel) is the origin's.
        let intercept = self.proxy.as_ref().and_then(|p| p.matcher.intercept(&uri));
        let (dial_host, dial_port, proxy_tls) = match (&intercept, &self.proxy) {
            (Some(intercept), Some(proxies)) => proxy_endpoint(intercept.uri(), &proxies.tls)?,
            _ => (host.clone(), port, None),
        };
        let mut guard = PhaseGuard {
            traces: traces.clone(),
            open: Open::None,
        };

        let ips: Vec<IpAddr> = match dial_host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                traces.emit(Event::DnsStart(DnsStart {
                    at: Instant::now(),
                    host: dial_host.clone(),
                }));
                guard.set(Open::Dns(dial_host.clone()));
                let (lookup, coalesced) = self.resolver.lookup(&dial_host);
                let result = lookup.await;
                guard.set(Open::None);
                traces.emit(done_event(
                    dial_host.clone(),
                    &result,
                    coalesced,
                    Instant::now(),
                ));
                match result {
                    Ok(ips) => ips.to_vec(),
                    Err(e) => return Err(Box::new(LookupError::clone(&e))),
                }
            }
        };

        let addrs = interleave_families(ips)
            .into_iter()
            .map(|ip| SocketAddr::new(ip, dial_port))
            .collect();
        let tcp = self.race(&traces, addrs).await?;
        let _ = tcp.set_nodelay(true);
        let local_addr = tcp.local_addr()?;
        let remote_addr = tcp.peer_addr()?;
        let mut io: Box<dyn Stream> = Box::new(tcp);
        if let Some(tls) = proxy_tls {
            // An https:// proxy: its own handshake first, reported like the
            // origin's (as Go does), offering only HTTP/1.1.
            io = self
                .handshake(tls, &traces, &mut guard, &dial_host, io)
                .await?
                .0;
        }
        if let (Some(proxy), true) = (&intercept, https) {
            io = tunnel(io, proxy, &uri, self.connect_timeout).await?;
        }

        let (inner, h2) = if https {
            self.handshake(&self.tls, &traces, &mut guard, &host, io)
                .await?
        } else {
            (io, false)
        };

        let ready = Instant::now();
        self.registry.insert(
            local_addr,
            ConnRecord {
                ready_at: ready,
                proxied: intercept.is_some(),
                uses: 0,
                active: 0,
                idle_since: ready,
                identity: Some(ConnIdentity {
                    server_address: host,
                    server_port: port,
                    scheme: if https { "https" } else { "http" },
                    remote_addr,
                    protocol: if h2 {
                        http::Version::HTTP_2
                    } else {
                        http::Version::HTTP_11
                    },
                }),
                closed: false,
            },
        );
        Ok(TracedStream {
            inner,
            extra: ConnExtra {
                local_addr,
                remote_addr,
                stats: Arc::new(IoStats::default()),
            },
            h2,
            forwarding: intercept.is_some() && !https,
            registry: self.registry.clone(),
        })
    }
}

/// The URI's host without the brackets of an IPv6 literal.
fn bare_host(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
}

/// The proxy's host and port, and for an `https://` proxy the TLS connector
/// to greet it with. The message of an unsupported scheme names the proxy
/// without its credentials.
fn proxy_endpoint<'a>(
    proxy: &Uri,
    tls: &'a tokio_rustls::TlsConnector,
) -> Result<(String, u16, Option<&'a tokio_rustls::TlsConnector>), BoxError> {
    let host = bare_host(proxy).ok_or("proxy URL has no host")?;
    match proxy.scheme_str() {
        Some("http") => Ok((host, proxy.port_u16().unwrap_or(80), None)),
        Some("https") => Ok((host, proxy.port_u16().unwrap_or(443), Some(tls))),
        other => Err(format!(
            "proxy {}://{host}: only http:// and https:// proxies are supported by the hyper transport",
            other.unwrap_or("")
        )
        .into()),
    }
}

/// Runs `work` within `limit`, if any; past it, a `TimedOut` error with
/// `message`.
async fn within<T, E: From<std::io::Error>>(
    limit: Option<Duration>,
    message: &str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let Some(limit) = limit else {
        return work.await;
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, message).into()))
}

/// Opens an HTTP `CONNECT` tunnel to `origin` through the proxy connection
/// `tcp`. Written here rather than with hyper-util's `Tunnel` because its
/// error type is not public and drops the proxy's status, which is what a
/// user debugging a proxy needs to see.
async fn tunnel(
    mut tcp: Box<dyn Stream>,
    proxy: &Intercept,
    origin: &Uri,
    limit: Option<Duration>,
) -> Result<Box<dyn Stream>, BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = origin.host().ok_or("URL has no host")?;
    let port = origin.port_u16().unwrap_or(443);
    let mut head = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some(auth) = proxy.basic_auth().and_then(|v| v.to_str().ok()) {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        tcp.write_all(head.as_bytes()).await?;
        let mut buf = Vec::with_capacity(512);
        let mut chunk = [0u8; 512];
        loop {
            let n = tcp.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "proxy closed the connection before answering CONNECT",
                )
                .into());
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let code = response.code.unwrap_or_default();
                    let reason = response.reason.unwrap_or_default().to_string();
                    return match (code, len == buf.len()) {
                        (200..=299, true) => Ok(()),
                        (200..=299, false) => Err(ProxyError(
                            "proxy sent data after its CONNECT response".into(),
                        )
                        .into()),
                        _ => Err(ProxyError(format!(
                            "proxy refused CONNECT {host}:{port}: {code} {reason}"
                        ))
                        .into()),
                    };
                }
                Ok(httparse::Status::Partial) if buf.len() < 16 * 1024 => {}
                Ok(httparse::Status::Partial) => {
                    return Err(ProxyError("proxy's CONNECT response head too long".into()).into());
                }
                Err(e) => {
                    return Err(ProxyError(format!("proxy's CONNECT response: {e}")).into());
                }
            }
        }
    };
    within::<(), BoxError>(limit, "proxy did not answer CONNECT in time", exchange).await?;
    Ok(tcp)
}

/// A proxy that would not open a tunnel, or answered it with something
/// other than HTTP.
#[derive(Debug)]
pub(crate) struct ProxyError(String);

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProxyError {}

impl Connector {
    /// A TLS handshake with `host` over `io`, reported from start to done;
    /// returns the stream and whether ALPN chose HTTP/2.
    async fn handshake(
        &self,
        connector: &tokio_rustls::TlsConnector,
        traces: &Traces,
        guard: &mut PhaseGuard,
        host: &str,
        io: Box<dyn Stream>,
    ) -> Result<(Box<dyn Stream>, bool), BoxError> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))?;
        traces.emit(Event::TlsHandshakeStart(TlsHandshakeStart {
            at: Instant::now(),
            server_name: host.to_string(),
        }));
        guard.set(Open::Tls);
        let result = connector.connect(name, io).await;
        guard.set(Open::None);
        let at = Instant::now();
        match result {
            Ok(stream) => {
                let (_, session) = stream.get_ref();
                let alpn = session
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                let state = TlsState {
                    version: session.protocol_version().map(|v| match v {
                        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                        other => format!("{other:?}"),
                    }),
                    resumed: session.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
                    peer_certificates: session
                        .peer_certificates()
                        .unwrap_or_default()
                        .iter()
                        .map(|der| summarize(der))
                        .collect(),
                    alpn: alpn.clone(),
                };
                traces.emit(Event::TlsHandshakeDone(TlsHandshakeDone {
                    at,
                    state: Some(state),
                    error: None,
                }));
                Ok((Box::new(stream), alpn.as_deref() == Some("h2")))
            }
            Err(e) => {
                let mut error = classify_chain(&e);
                if !matches!(error.kind(), ErrorKind::Certificate | ErrorKind::Timeout) {
                    error = HookError::new(ErrorKind::Tls, error.message());
                }
                traces.emit(Event::TlsHandshakeDone(TlsHandshakeDone {
                    at,
                    state: None,
                    error: Some(error),
                }));
                Err(Box::new(e))
            }
        }
    }

    /// Connects to the first address that answers, Happy Eyeballs style
    /// (RFC 8305, like Go's dialer and hyper-util's `HttpConnector`): attempts
    /// start in order, the next one when the previous fails or after
    /// `happy_eyeballs_delay` without an answer, whichever comes first; the
    /// first to connect wins and the others are abandoned. Every attempt is
    /// its own `connect_start`/`connect_done` pair; abandoned ones end with a
    /// `Cancelled` error, as Go reports them.
    async fn race(&self, traces: &Traces, addrs: Vec<SocketAddr>) -> std::io::Result<TcpStream> {
        let mut waiting = addrs.into_iter();
        let mut running = FuturesUnordered::new();
        let mut last_error = None;
        let lost = Arc::new(AtomicBool::new(false));
        loop {
            if running.is_empty() {
                let Some(addr) = waiting.next() else {
                    return Err(last_error.unwrap_or_else(|| {
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no address to connect to",
                        )
                    }));
                };
                running.push(self.attempt(traces.clone(), addr, lost.clone()));
            }
            let stagger = self.happy_eyeballs_delay.filter(|_| waiting.len() > 0);
            tokio::select! {
                biased;
                Some(result) = running.next() => match result {
                    Ok(stream) => {
                        // Dropping `running` ends the other attempts.
                        lost.store(true, Ordering::Relaxed);
                        return Ok(stream);
                    }
                    Err(e) => {
                        last_error = Some(e);
                        if let Some(addr) = waiting.next() {
                            running.push(self.attempt(traces.clone(), addr, lost.clone()));
                        }
                    }
                },
                () = tokio::time::sleep(stagger.unwrap_or_default()), if stagger.is_some() => {
                    if let Some(addr) = waiting.next() {
                        running.push(self.attempt(traces.clone(), addr, lost.clone()));
                    }
                }
            }
        }
    }

    /// One TCP connection attempt, reported from start to done.
    fn attempt(
        &self,
        traces: Traces,
        addr: SocketAddr,
        lost: Arc<AtomicBool>,
    ) -> impl Future<Output = std::io::Result<TcpStream>> + Send + use<> {
        let limit = self.connect_timeout;
        async move {
            traces.emit(Event::ConnectStart(ConnectStart {
                at: Instant::now(),
                network: "tcp",
                addr: Some(addr),
            }));
            let mut guard = AttemptGuard {
                traces,
                addr,
                lost,
                finished: false,
            };
            let result = within(limit, "connect timed out", TcpStream::connect(addr)).await;
            guard.finished = true;
            guard.traces.emit(Event::ConnectDone(ConnectDone {
                at: Instant::now(),
                network: "tcp",
                addr: Some(addr),
                error: result.as_ref().err().map(|e| classify_chain(e)),
            }));
            result
        }
    }
}

/// Closes a connect attempt dropped before it finished: it lost the race to
/// another address, or the whole dial was cancelled.
struct AttemptGuard {
    traces: Traces,
    addr: SocketAddr,
    lost: Arc<AtomicBool>,
    finished: bool,
}

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let message = if self.lost.load(Ordering::Relaxed) {
            "connect attempt abandoned: another address connected first"
        } else {
            "dial cancelled before it finished"
        };
        self.traces.emit(Event::ConnectDone(ConnectDone {
            at: Instant::now(),
            network: "tcp",
            addr: Some(self.addr),
            error: Some(HookError::new(ErrorKind::Cancelled, message)),
        }));
    }
}

/// Orders addresses for Happy Eyeballs (RFC 8305 section 4): alternating
/// families, starting with the family of the resolver's first answer, each
/// family in the resolver's order.
fn interleave_families(ips: Vec<IpAddr>) -> Vec<IpAddr> {
    let Some(first) = ips.first() else {
        return ips;
    };
    let first_is_v6 = first.is_ipv6();
    let (mut preferred, mut other): (VecDeque<IpAddr>, VecDeque<IpAddr>) =
        ips.iter().partition(|ip| ip.is_ipv6() == first_is_v6);
    let mut ordered = Vec::with_capacity(ips.len());
    while !preferred.is_empty() || !other.is_empty() {
        ordered.extend(preferred.pop_front());
        ordered.extend(other.pop_front());
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first_answer() {
        let v4 = |n| IpAddr::from([10, 0, 0, n]);
        let v6 = |n| IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, n]);
        assert_eq!(
            interleave_families(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleave_families(vec![v4(1), v6(1), v4(2)]),
            [v4(1), v6(1), v4(2)]
        );
        assert_eq!(interleave_families(vec![v4(1), v4(2)]), [v4(1), v4(2)]);
        assert!(interleave_families(Vec::new()).is_empty());
    }
}
