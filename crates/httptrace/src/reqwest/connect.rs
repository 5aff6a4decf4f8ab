//! Connect: a connector layer that follows each new connection's dial and
//! records every connection in a registry, so that round trips can tell a
//! fresh connection from a reused one.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use hyper_util::client::legacy::connect::{Connection, HttpInfo};

use super::hops::{DialedConn, RoundTripCtx};
use crate::Traces;
use crate::event::*;
use crate::transport::certs::summarize;
use crate::transport::errors::classify_chain;
use crate::transport::registry::{ConnRecord, ConnRegistry};

tokio::task_local! {
    /// The dial in progress, set around the connector's future.
    static DIAL: Arc<Dial>;
}

/// One dial: shared by the connector, the resolver and the TLS observers,
/// which all run inside the connector's future.
pub(crate) struct Dial {
    pub(crate) traces: Traces,
    started: Instant,
    /// The TLS verifier is ours: it reports the chain, and a handshake that
    /// verified none was resumed.
    verifier_observed: bool,
    state: Mutex<DialState>,
}

#[derive(Default)]
struct DialState {
    /// DNS ended at this instant (connect starts then).
    dns_done: Option<Instant>,
    dns_failed: bool,
    /// First TLS session-store lookup: TCP is connected, ClientHello is built.
    tls_hello: Option<TlsHello>,
    resumable: bool,
    /// Chain seen by the verifier, and its verdict.
    verified: Option<(Vec<CertificateSummary>, Option<String>)>,
    finished: bool,
}

/// The first TLS session-store lookup of a dial.
struct TlsHello {
    /// The lookup was made: TCP is connected.
    connected: Instant,
    /// The handshake starts: after the lookup and, on the process's first
    /// handshake, after its generator was seeded (`certs::seed_random`).
    at: Instant,
    /// The name the lookup was for (a proxy's, then the origin's).
    server_name: String,
}

impl Dial {
    /// Runs `f` with the dial of the current task, if one is traced.
    pub(crate) fn with_current(f: impl FnOnce(&Dial)) {
        let _ = DIAL.try_with(|dial| f(dial));
    }

    /// The current task's dial, if one is traced.
    pub(crate) fn current() -> Option<Arc<Dial>> {
        DIAL.try_with(Arc::clone).ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DialState> {
        // A hook that panicked must not poison the dial for everyone else.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// DNS answered (or failed): connect starts now.
    pub(crate) fn dns_done(&self, at: Instant, failed: bool) {
        let mut state = self.lock();
        state.dns_done = Some(at);
        state.dns_failed = failed;
        drop(state);
        if !failed {
            self.traces.emit(Event::ConnectStart(ConnectStart {
                at,
                network: "tcp",
                addr: None,
            }));
        }
    }

    /// A ClientHello is being built for `server_name`. The first one marks
    /// the handshake's start; the name is the latest one's: through an
    /// `https://` proxy the proxy's handshake comes first, and the pair that
    /// is reported describes the origin's (whose chain and ALPN it carries).
    pub(crate) fn tls_hello(&self, connected: Instant, server_name: String, resumable: bool) {
        let mut state = self.lock();
        let (connected, started, next_handshake) = match &state.tls_hello {
            None => (connected, Instant::now(), false),
            Some(hello) => (hello.connected, hello.at, hello.server_name != server_name),
        };
        if next_handshake {
            // What the proxy's handshake verified or resumed is not the origin's.
            state.verified = None;
            state.resumable = false;
        }
        state.tls_hello = Some(TlsHello {
            connected,
            at: started,
            server_name,
        });
        state.resumable |= resumable;
    }

    pub(crate) fn tls_verified(&self, chain: Vec<CertificateSummary>, error: Option<String>) {
        self.lock().verified = Some((chain, error));
    }

    /// Emits the events of a dial that ended at `at`: connect done, and the
    /// TLS handshake if one started. They are emitted only now because the
    /// address connected to is only known at the end.
    fn finish(&self, at: Instant, conn: Option<&ConnFacts>, error: Option<HookError>) {
        let mut state = self.lock();
        if std::mem::replace(&mut state.finished, true) {
            return;
        }
        let connect_started = state.dns_done.unwrap_or(self.started);
        if state.dns_done.is_none() {
            // No lookup (IP literal, or the resolver was not ours): the dial
            // itself is the connect.
            self.traces.emit(Event::ConnectStart(ConnectStart {
                at: connect_started,
                network: "tcp",
                addr: None,
            }));
        } else if state.dns_failed {
            return; // DnsDone already carries the error; nothing was dialled.
        }
        let addr = conn.map(|c| c.remote_addr);
        match state.tls_hello.take() {
            None => {
                self.traces.emit(Event::ConnectDone(ConnectDone {
                    at,
                    network: "tcp",
                    addr,
                    error,
                }));
            }
            Some(TlsHello {
                connected,
                at: hello_at,
                server_name,
            }) => {
                self.traces.emit(Event::ConnectDone(ConnectDone {
                    at: connected,
                    network: "tcp",
                    addr,
                    error: None,
                }));
                self.traces
                    .emit(Event::TlsHandshakeStart(TlsHandshakeStart {
                        at: hello_at,
                        server_name,
                    }));
                let verified = state.verified.take();
                let (tls_state, error) = match (conn, error) {
                    (Some(conn), None) => {
                        let (chain, resumed) = if self.verifier_observed {
                            let chain = verified.map(|(chain, _)| chain).unwrap_or_default();
                            // No chain to verify: the server accepted our ticket.
                            let resumed = state.resumable && chain.is_empty();
                            (chain, resumed)
                        } else {
                            // The user's verifier: the leaf from reqwest's
                            // TlsInfo; resumption is not seen.
                            let leaf = conn.peer_certificate.as_deref().map(summarize);
                            (leaf.into_iter().collect(), false)
                        };
                        let state = TlsState {
                            version: conn.tls_version.clone(),
                            alpn: conn.h2.then(|| "h2".to_string()),
                            resumed,
                            peer_certificates: chain,
                        };
                        (Some(state), None)
                    }
                    (_, error) => {
                        let error = match verified {
                            Some((_, Some(message))) => {
                                HookError::new(ErrorKind::Certificate, message)
                            }
                            _ => error.unwrap_or_else(|| {
                                HookError::new(ErrorKind::Tls, "handshake failed")
                            }),
                        };
                        let error = if error.kind() == ErrorKind::Connect {
                            HookError::new(ErrorKind::Tls, error.message())
                        } else {
                            error
                        };
                        (None, Some(error))
                    }
                };
                self.traces.emit(Event::TlsHandshakeDone(TlsHandshakeDone {
                    at,
                    state: tls_state,
                    error,
                }));
            }
        }
    }
}

/// What the connector learns about a connection once it is established.
pub(crate) struct ConnFacts {
    pub(crate) local_addr: SocketAddr,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) h2: bool,
    pub(crate) proxied: bool,
    pub(crate) tls_version: Option<String>,
    /// The leaf certificate (DER), when the transport owns TLS.
    pub(crate) peer_certificate: Option<Vec<u8>>,
}

/// The connector layer installed with `ClientBuilder::connector_layer`.
#[derive(Clone)]
pub(crate) struct TraceConnectLayer {
    pub(crate) registry: Arc<ConnRegistry>,
    /// See [`Dial`]'s field of the same name.
    pub(crate) verifier_observed: bool,
    /// With [`Config::tls`](super::Config::tls): its generator, seeded in
    /// the background from the first dial for an `https://` hop on
    /// (`certs::start_seeding`).
    pub(crate) tls_random: Option<&'static dyn rustls::crypto::SecureRandom>,
}

impl<S> tower_layer::Layer<S> for TraceConnectLayer {
    type Service = TraceConnect<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceConnect {
            inner: Arc::new(inner),
            registry: self.registry.clone(),
            verifier_observed: self.verifier_observed,
            tls_random: self.tls_random,
        }
    }
}

/// The connector service: see [`TraceConnectLayer`].
///
/// reqwest boxes a layered connector, and the client under it clones the
/// connector for every request (about six times), pooled connection or
/// not: a clone of the service below us is a chain of boxes. Holding it in
/// an `Arc` and cloning it only for a dial makes our clone an `Arc`
/// increment (measured: 6 allocations per request fewer).
pub(crate) struct TraceConnect<S> {
    inner: Arc<S>,
    registry: Arc<ConnRegistry>,
    verifier_observed: bool,
    tls_random: Option<&'static dyn rustls::crypto::SecureRandom>,
}

impl<S> Clone for TraceConnect<S> {
    fn clone(&self) -> Self {
        TraceConnect {
            inner: self.inner.clone(),
            registry: self.registry.clone(),
            verifier_observed: self.verifier_observed,
            tls_random: self.tls_random,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, Req> tower_service::Service<Req> for TraceConnect<S>
where
    S: tower_service::Service<Req> + Clone + Send + Sync + 'static,
    S::Response: Connection + Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    S::Future: Send + 'static,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    /// Ready: the clone of the inner service that makes the dial is polled
    /// for readiness before its call (in the returned future).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let started = Instant::now();
        // Read in the task of the round trip that asked for the connection;
        // the dial may later finish in a background task.
        let round_trip = RoundTripCtx::current();
        // A dial for an `https://` hop on a client with our TLS: the
        // generator's seeding starts now, beside DNS and connect (reqwest
        // hides the scheme from a connector layer; the hop knows it).
        if let Some(random) = self.tls_random
            && round_trip
                .as_ref()
                .and_then(|rt| rt.hops.as_ref())
                .is_some_and(|hops| hops.lock().hop.url.scheme() == "https")
        {
            crate::transport::certs::start_seeding(random);
        }
        let registry = self.registry.clone();
        let mut inner = S::clone(&self.inner);
        let future = async move {
            std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            inner.call(req).await
        };
        let Some(round_trip) = round_trip.filter(|rt| !rt.traces.is_empty()) else {
            return Box::pin(async move {
                let conn = future.await.map_err(Into::into)?;
                if let Some(facts) = facts(&conn) {
                    register(&registry, &facts, Instant::now());
                }
                Ok(conn)
            });
        };
        let dial = Arc::new(Dial {
            traces: round_trip.traces.clone(),
            started,
            verifier_observed: self.verifier_observed,
            state: Mutex::default(),
        });
        let guard = DialGuard(dial.clone());
        Box::pin(DIAL.scope(dial, async move {
            let result = future.await.map_err(Into::into);
            let at = Instant::now();
            match &result {
                Ok(conn) => {
                    let facts = facts(conn);
                    guard.0.finish(at, facts.as_ref(), None);
                    if let Some(facts) = facts {
                        register(&registry, &facts, at);
                        if let Some(hops) = &round_trip.hops {
                            hops.dialed(DialedConn {
                                local: facts.local_addr,
                                remote: facts.remote_addr,
                                h2: facts.h2,
                            });
                        }
                    }
                }
                Err(error) => guard.0.finish(at, None, Some(classify_chain(&**error))),
            }
            result
        }))
    }
}

/// Ends the dial's events if its future is dropped before it finished (the
/// request was cancelled or timed out mid-dial), so no phase stays open.
struct DialGuard(Arc<Dial>);

impl Drop for DialGuard {
    fn drop(&mut self) {
        self.0.finish(
            Instant::now(),
            None,
            Some(HookError::new(
                ErrorKind::Cancelled,
                "dial cancelled before it finished",
            )),
        );
    }
}

fn facts<C: Connection>(conn: &C) -> Option<ConnFacts> {
    let connected = conn.connected();
    let mut extensions = http::Extensions::new();
    connected.get_extras(&mut extensions);
    let info = extensions.get::<HttpInfo>()?;
    let tls = extensions.get::<reqwest::tls::TlsInfo>();
    let tls_version = tls
        .and_then(|tls| tls.version())
        .map(|v| tls_version_name(v).to_string());
    let peer_certificate = tls
        .and_then(|tls| tls.peer_certificate())
        .map(<[u8]>::to_vec);
    Some(ConnFacts {
        local_addr: info.local_addr(),
        remote_addr: info.remote_addr(),
        h2: connected.is_negotiated_h2(),
        proxied: connected.is_proxied(),
        tls_version,
        peer_certificate,
    })
}

fn tls_version_name(v: reqwest::tls::Version) -> &'static str {
    use reqwest::tls::Version;
    match v {
        Version::TLS_1_3 => "TLSv1.3",
        Version::TLS_1_2 => "TLSv1.2",
        Version::TLS_1_1 => "TLSv1.1",
        Version::TLS_1_0 => "TLSv1.0",
        _ => "TLS",
    }
}

fn register(registry: &ConnRegistry, facts: &ConnFacts, at: Instant) {
    registry.insert(
        facts.local_addr,
        ConnRecord {
            ready_at: at,
            proxied: facts.proxied,
            uses: 0,
            active: 0,
            idle_since: at,
            identity: None,
            closed: false,
        },
    );
}
