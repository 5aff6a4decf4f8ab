//! The information each hook receives.
//!
//! Every event carries `at`: the instant the thing happened, which is not
//! always the instant the hook runs (a dial that finishes in a background task
//! is reported late, a reused connection is only known once the response
//! headers arrive). Place events by `at`, never by delivery time.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub use crate::error::{ErrorKind, HookError};

/// One hook invocation: which hook, and what it reports.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A round trip (one hop of a redirect chain, or a retry) is about to start.
    RoundTripStart(RoundTripStart),
    /// A connection is about to be taken from the pool or created.
    GetConn(GetConn),
    /// A DNS lookup begins.
    DnsStart(DnsStart),
    /// A DNS lookup ended.
    DnsDone(DnsDone),
    /// A new connection's dial begins.
    ConnectStart(ConnectStart),
    /// A new connection's dial ended.
    ConnectDone(ConnectDone),
    /// A TLS handshake begins.
    TlsHandshakeStart(TlsHandshakeStart),
    /// A TLS handshake ended.
    TlsHandshakeDone(TlsHandshakeDone),
    /// The round trip has a connection.
    GotConn(GotConn),
    /// A connection went back to the idle pool (or could not).
    PutIdleConn(PutIdleConn),
    /// One request header field was written.
    WroteHeaderField(WroteHeaderField),
    /// All request headers were written.
    WroteHeaders(WroteHeaders),
    /// The request carries `Expect: 100-continue` and waits for the server's go-ahead.
    Wait100Continue(Wait100Continue),
    /// The whole request (headers and body) was written, or writing it failed.
    WroteRequest(WroteRequest),
    /// An informational (1xx) response arrived, `100 Continue` included.
    Got1xxResponse(Got1xxResponse),
    /// The first byte of the response arrived.
    GotFirstResponseByte(GotFirstResponseByte),
    /// The response headers arrived, or the round trip failed before they did.
    RoundTripDone(RoundTripDone),
    /// The response body was read to its end, failed, or was dropped unread.
    BodyDone(BodyDone),
}

impl Event {
    /// The instant the event happened.
    pub fn at(&self) -> Instant {
        match self {
            Event::RoundTripStart(e) => e.at,
            Event::GetConn(e) => e.at,
            Event::DnsStart(e) => e.at,
            Event::DnsDone(e) => e.at,
            Event::ConnectStart(e) => e.at,
            Event::ConnectDone(e) => e.at,
            Event::TlsHandshakeStart(e) => e.at,
            Event::TlsHandshakeDone(e) => e.at,
            Event::GotConn(e) => e.at,
            Event::PutIdleConn(e) => e.at,
            Event::WroteHeaderField(e) => e.at,
            Event::WroteHeaders(e) => e.at,
            Event::Wait100Continue(e) => e.at,
            Event::WroteRequest(e) => e.at,
            Event::Got1xxResponse(e) => e.at,
            Event::GotFirstResponseByte(e) => e.at,
            Event::RoundTripDone(e) => e.at,
            Event::BodyDone(e) => e.at,
        }
    }

    /// The hook's name in snake case (`dns_start`, `got_conn`, ...), stable for
    /// use as an event or log field name.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The error this event reports, if it reports one.
    pub fn error(&self) -> Option<&HookError> {
        match self {
            Event::DnsDone(e) => e.error.as_ref(),
            Event::ConnectDone(e) => e.error.as_ref(),
            Event::TlsHandshakeDone(e) => e.error.as_ref(),
            Event::PutIdleConn(e) => e.error.as_ref(),
            Event::WroteRequest(e) => e.error.as_ref(),
            Event::RoundTripDone(e) => e.error.as_ref(),
            Event::BodyDone(BodyDone {
                outcome: BodyOutcome::Failed(e),
                ..
            }) => Some(e),
            _ => None,
        }
    }
}

/// A round trip is about to start.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RoundTripStart {
    /// When the round trip started.
    pub at: Instant,
    /// The request method of this hop (a 303 turns it into `GET`).
    pub method: http::Method,
    /// The full URL of this hop, as sent. It may hold credentials: redact
    /// before recording it anywhere.
    pub url: url::Url,
    /// How many times this request was re-sent before this round trip:
    /// 0 for the first hop, 1 for the first redirect or retry, and so on.
    pub resend_count: u32,
}

/// A connection is about to be taken from the pool or created.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GetConn {
    /// When the connection was asked for.
    pub at: Instant,
    /// `host:port` of the target (or of the proxy).
    pub host_port: String,
}

/// A DNS lookup begins.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DnsStart {
    /// When the lookup began.
    pub at: Instant,
    /// The name being looked up.
    pub host: String,
}

/// A DNS lookup ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DnsDone {
    /// When the answer (or the error) arrived.
    pub at: Instant,
    /// The name that was looked up.
    pub host: String,
    /// The addresses found, in the resolver's order. Empty on error.
    pub addrs: Vec<IpAddr>,
    /// Why the lookup failed, if it did.
    pub error: Option<HookError>,
    /// True when this lookup shared the answer of a concurrent lookup of the
    /// same name instead of asking the DNS server itself.
    pub coalesced: bool,
}

/// A new connection's dial begins.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectStart {
    /// When the dial began.
    pub at: Instant,
    /// The network: `"tcp"`.
    pub network: &'static str,
    /// The address being dialled, when the transport reveals it before the
    /// dial ends (reqwest does not: see the crate docs).
    pub addr: Option<SocketAddr>,
}

/// A new connection's dial ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectDone {
    /// When the connection was established (or failed).
    pub at: Instant,
    /// The network: `"tcp"`.
    pub network: &'static str,
    /// The address connected to, when known.
    pub addr: Option<SocketAddr>,
    /// Why the dial failed, if it did.
    pub error: Option<HookError>,
}

/// A TLS handshake begins.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TlsHandshakeStart {
    /// When the handshake began.
    pub at: Instant,
    /// The server name sent in SNI and checked against the certificate.
    pub server_name: String,
}

/// A TLS handshake ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TlsHandshakeDone {
    /// When the handshake finished (or failed).
    pub at: Instant,
    /// What was negotiated. `None` when the handshake failed.
    pub state: Option<TlsState>,
    /// Why the handshake failed, if it did.
    pub error: Option<HookError>,
}

/// What a TLS handshake negotiated.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TlsState {
    /// Protocol version, e.g. `"TLSv1.3"`.
    pub version: Option<String>,
    /// The ALPN protocol the server chose, e.g. `"h2"`.
    pub alpn: Option<String>,
    /// True when the session was resumed (no certificate exchange).
    pub resumed: bool,
    /// The server's certificate chain, leaf first. Empty on resumption.
    pub peer_certificates: Vec<CertificateSummary>,
}

/// The parts of a certificate worth showing when debugging.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CertificateSummary {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses from the subject alternative name extension.
    pub subject_alt_names: Vec<String>,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// Serial number, hex.
    pub serial: String,
}

/// The round trip has a connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GotConn {
    /// When the connection was handed to the round trip.
    pub at: Instant,
    /// True when the connection served an earlier request.
    pub reused: bool,
    /// True when the connection came from the idle pool.
    pub was_idle: bool,
    /// How long it had been idle, when `was_idle`.
    pub idle_time: Option<Duration>,
    /// Our end of the connection.
    pub local_addr: Option<SocketAddr>,
    /// The server's (or proxy's) end of the connection.
    pub remote_addr: Option<SocketAddr>,
    /// The HTTP version spoken on it.
    pub protocol: http::Version,
    /// True when the connection goes through a proxy. The reqwest
    /// transport can only tell for plain HTTP forwarded by one, not for a
    /// `CONNECT` tunnel (see `httptrace::reqwest`).
    pub proxied: bool,
}

/// A connection went back to the idle pool, or could not.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PutIdleConn {
    /// When the connection became idle.
    pub at: Instant,
    /// Why the connection could not be kept, if it could not.
    pub error: Option<HookError>,
}

/// One request header field was written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WroteHeaderField {
    /// When the field was written.
    pub at: Instant,
    /// The field name.
    pub name: http::HeaderName,
    /// The field's values. Sensitive values (those marked sensitive, and
    /// `Authorization`, `Proxy-Authorization`, `Cookie`) are replaced by
    /// `"REDACTED"`.
    pub values: Vec<String>,
}

/// All request headers were written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WroteHeaders {
    /// When the headers were written.
    pub at: Instant,
}

/// The request waits for `100 Continue` before sending its body.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Wait100Continue {
    /// When the wait began.
    pub at: Instant,
}

/// The whole request was written, or writing it failed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WroteRequest {
    /// When the last byte of the request was written (or writing failed).
    pub at: Instant,
    /// Body bytes written.
    pub body_bytes: u64,
    /// Why writing failed, if it did.
    pub error: Option<HookError>,
}

/// An informational (1xx) response arrived.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Got1xxResponse {
    /// When it arrived.
    pub at: Instant,
    /// Its status, e.g. `100` or `103`.
    pub status: http::StatusCode,
    /// Its headers.
    pub headers: http::HeaderMap,
}

/// The first byte of the response arrived.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GotFirstResponseByte {
    /// When it arrived.
    pub at: Instant,
}

/// The response headers arrived, or the round trip failed before they did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RoundTripDone {
    /// When the headers arrived (or the round trip failed).
    pub at: Instant,
    /// The response status, if headers arrived.
    pub status: Option<http::StatusCode>,
    /// The response's HTTP version, if headers arrived.
    pub version: Option<http::Version>,
    /// The response headers, if they arrived. They may hold credentials
    /// (`Set-Cookie`): record only names you opted in.
    pub headers: Option<http::HeaderMap>,
    /// Why the round trip failed, if it did.
    pub error: Option<HookError>,
}

/// The response body was read to its end, failed, or was dropped unread.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BodyDone {
    /// When the body ended.
    pub at: Instant,
    /// Body bytes read (after any content decoding the transport applies).
    pub bytes: u64,
    /// How the body ended.
    pub outcome: BodyOutcome,
}

/// How a response body ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BodyOutcome {
    /// Read to its end.
    Completed,
    /// Reading failed (for example the connection was reset mid-body).
    Failed(HookError),
    /// Dropped before its end.
    Dropped,
}

/// A connection changed state: reported once per client (to its
/// [`MakeTrace`](crate::MakeTrace)), not per request, by transports that see
/// connections open and close. The hyper-util transport does; reqwest hides
/// when its connections close, so its transport reports none.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionEvent {
    /// When the change happened.
    pub at: Instant,
    /// The state before, `None` when the connection was just opened.
    pub previous: Option<ConnectionState>,
    /// The state now.
    pub state: ConnectionState,
    /// When the connection was opened (for its lifetime).
    pub opened_at: Instant,
    /// The host the connection was made for.
    pub server_address: String,
    /// The port it was made for.
    pub server_port: u16,
    /// `"http"` or `"https"`.
    pub scheme: &'static str,
    /// The server's end.
    pub remote_addr: SocketAddr,
    /// The HTTP version spoken on it.
    pub protocol: http::Version,
}

/// The states of a pooled connection, as the HTTP semantic conventions
/// count them (`http.connection.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// In the pool, serving no request.
    Idle,
    /// Serving at least one request.
    Active,
    /// Closed: its last event.
    Closed,
}

impl ConnectionState {
    /// `"idle"`, `"active"` or `"closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Active => "active",
            ConnectionState::Closed => "closed",
        }
    }
}
