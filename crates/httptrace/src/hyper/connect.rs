//! The connector hyper-util calls: DNS, the dial (`dial`), an optional
//! proxy (`proxy`) and TLS, each reported as it happens.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

use super::dial::{bare_host, interleave_families, race};
use super::io::{ConnExtra, IoStats, Stream, TracedStream};
use super::proxy::{Proxies, proxy_endpoint, tunnel};
use crate::Traces;
use crate::event::*;
use crate::transport::certs::summarize;
use crate::transport::dns::{LookupError, TracingResolver, done_event};
use crate::transport::errors::{BoxError, classify_chain};
use crate::transport::registry::{ConnIdentity, ConnRecord, ConnRegistry};

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
        if https {
            // Overlaps the generator's one-time seeding with DNS and connect.
            crate::transport::certs::start_seeding(
                self.tls.config().crypto_provider().secure_random,
            );
        }
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
        let tcp = race(
            &traces,
            addrs,
            self.happy_eyeballs_delay,
            self.connect_timeout,
        )
        .await?;
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
        // The process's first handshake seeds the generator first: a gap
        // after the connect, not part of the handshake.
        crate::transport::certs::seed_random(connector.config().crypto_provider().secure_random);
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
}
