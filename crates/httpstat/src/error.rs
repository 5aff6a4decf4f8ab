//! Why a round trip failed: the phase it is blamed on ([`FailurePhase`]) and the
//! one-line report ([`HopError`]) printed as `httpstat: <phase> failed: ...`.

use std::fmt;

use httptrace::{ErrorKind, HookError};

/// The phase a failure is attributed to (the `<phase>` of
/// `httpstat: <phase> failed: ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePhase {
    /// Name resolution.
    Dns,
    /// The TCP dial.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Building or writing the request.
    Request,
    /// Waiting for the response head.
    Response,
    /// Reading the response body.
    Body,
    /// Following a redirect.
    Redirect,
}

impl FailurePhase {
    /// The phase's name as printed: `dns`, `connect`, `tls`, `request`,
    /// `response`, `body` or `redirect`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePhase::Dns => "dns",
            FailurePhase::Connect => "connect",
            FailurePhase::Tls => "tls",
            FailurePhase::Request => "request",
            FailurePhase::Response => "response",
            FailurePhase::Body => "body",
            FailurePhase::Redirect => "redirect",
        }
    }
}

impl fmt::Display for FailurePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a hop (or the whole request) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopError {
    /// The phase the failure is attributed to.
    pub phase: FailurePhase,
    /// The transport's low-cardinality error kind (`connection_refused`,
    /// `certificate`, `dns`, ...).
    pub kind: &'static str,
    /// The transport's message, on one line, with URL credentials redacted.
    pub message: String,
}

impl HopError {
    /// An error attributed to `phase`, from a hook's error.
    pub fn from_hook(phase: FailurePhase, error: &HookError) -> Self {
        Self {
            phase,
            kind: error.kind().as_str(),
            message: one_line(error.message()),
        }
    }

    /// An error from the client's own `Error` (one no hook reported, such as
    /// too many redirects).
    pub fn from_client(error: &httptrace::reqwest::Error) -> Self {
        let phase = if error.is_redirect() {
            FailurePhase::Redirect
        } else if error.is_builder() {
            FailurePhase::Request
        } else {
            phase_of_kind(error.kind()).unwrap_or(FailurePhase::Request)
        };
        Self {
            phase,
            kind: error.kind().as_str(),
            message: one_line(&chain(error)),
        }
    }

    /// An error attributed to `phase` from any error (one that no hook
    /// reported), with its sources joined into the message.
    pub fn from_error(phase: FailurePhase, error: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            phase,
            kind: ErrorKind::Other.as_str(),
            message: one_line(&chain(error)),
        }
    }

    /// The one-line report printed on stderr, without the `httpstat: ` prefix.
    pub fn line(&self) -> String {
        format!("{} failed: {}: {}", self.phase, self.kind, self.message)
    }
}

pub(crate) fn one_line(message: &str) -> String {
    message
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The phase a hook error kind points at, when it points at one.
pub(crate) fn phase_of_kind(kind: ErrorKind) -> Option<FailurePhase> {
    Some(match kind {
        ErrorKind::Dns | ErrorKind::HostNotFound => FailurePhase::Dns,
        ErrorKind::ConnectionRefused | ErrorKind::Connect => FailurePhase::Connect,
        ErrorKind::Certificate | ErrorKind::Tls => FailurePhase::Tls,
        ErrorKind::Redirect => FailurePhase::Redirect,
        ErrorKind::InvalidRequest => FailurePhase::Request,
        _ => return None,
    })
}

/// An error and its sources, joined with `: `.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n b\r\n\nc"), "a b c");
    }

    #[test]
    fn kinds_map_to_phases() {
        assert_eq!(phase_of_kind(ErrorKind::Dns), Some(FailurePhase::Dns));
        assert_eq!(
            phase_of_kind(ErrorKind::HostNotFound),
            Some(FailurePhase::Dns)
        );
        assert_eq!(
            phase_of_kind(ErrorKind::ConnectionRefused),
            Some(FailurePhase::Connect)
        );
        assert_eq!(
            phase_of_kind(ErrorKind::Certificate),
            Some(FailurePhase::Tls)
        );
        assert_eq!(phase_of_kind(ErrorKind::Timeout), None);
    }
}
