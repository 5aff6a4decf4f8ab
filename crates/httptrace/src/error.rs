//! The failures hooks report: [`HookError`] and its [`ErrorKind`], the one
//! classification shared by every transport (with a transport's feature on,
//! `ErrorKind::of` also classifies the errors the transports return).

use std::fmt;
use std::sync::Arc;

/// A failure reported by a hook: what kind, and the transport's message.
///
/// Cheap to clone. The message is the transport's own description of the
/// error chain and never contains request headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookError {
    kind: ErrorKind,
    message: Arc<str>,
}

impl HookError {
    /// Creates an error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The transport's description of the failure.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for HookError {}

/// The kinds of failure hooks report. `as_str` gives a low-cardinality name
/// suitable for OpenTelemetry's `error.type`.
///
/// They are also the kinds to match on for the errors the transports
/// return, whatever their type: `ErrorKind::of(&error)` (with a transport's
/// feature on) gives the kind the hooks reported for that error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The name could not be resolved (the lookup failed: no server
    /// answered, a server failed, a bad configuration).
    Dns,
    /// DNS answered that the name has no address (NXDOMAIN, or no A/AAAA
    /// records): `host_not_found`, the value the OpenTelemetry DNS
    /// conventions name for it (getaddrinfo's EAI_NONAME).
    HostNotFound,
    /// The server refused the connection.
    ConnectionRefused,
    /// Connecting failed for another reason.
    Connect,
    /// The peer's certificate was rejected.
    Certificate,
    /// The TLS handshake failed for another reason.
    Tls,
    /// A timeout elapsed.
    Timeout,
    /// The connection was reset or closed early.
    ConnectionReset,
    /// The peer broke the HTTP protocol.
    Protocol,
    /// The request was cancelled (its future was dropped).
    Cancelled,
    /// A redirect could not be followed.
    Redirect,
    /// The request could not be built (bad URL, bad header).
    InvalidRequest,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A stable snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::HostNotFound => "host_not_found",
            ErrorKind::ConnectionRefused => "connection_refused",
            ErrorKind::Connect => "connect",
            ErrorKind::Certificate => "certificate",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionReset => "connection_reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Redirect => "redirect",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
