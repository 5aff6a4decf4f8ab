//! How a transport error maps to the phase-level [`ErrorKind`] hooks report,
//! and the transport errors of our own that it recognises.

use crate::event::{ErrorKind, HookError};

/// The boxed error transports pass around.
#[cfg(feature = "hyper")]
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Walks an error's source chain for the most telling cause. The message is
/// the whole chain, so nothing the transport said is lost.
pub(crate) fn classify_chain(error: &(dyn std::error::Error + 'static)) -> HookError {
    let mut kind = ErrorKind::Other;
    let mut message = String::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&e.to_string());
        if kind == ErrorKind::Other {
            kind = kind_of(e);
        }
        next = e.source();
    }
    HookError::new(kind, message)
}

fn kind_of(e: &(dyn std::error::Error + 'static)) -> ErrorKind {
    use std::io::ErrorKind as Io;
    if let Some(lookup) = e.downcast_ref::<crate::transport::dns::LookupError>() {
        return lookup.kind();
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        let kind = match io.kind() {
            Io::ConnectionRefused => ErrorKind::ConnectionRefused,
            Io::TimedOut => ErrorKind::Timeout,
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                ErrorKind::ConnectionReset
            }
            _ => ErrorKind::Other,
        };
        // `io::Error::source` skips the wrapped error, so look inside it
        // (rustls errors arrive wrapped, sometimes twice).
        return match (kind, io.get_ref()) {
            (ErrorKind::Other, Some(inner)) => kind_of(inner),
            (kind, _) => kind,
        };
    }
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return tls_kind(Some(tls));
    }
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_timeout() {
            return ErrorKind::Timeout;
        }
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return ErrorKind::ConnectionReset;
        }
        if h.is_parse() || h.is_parse_status() {
            return ErrorKind::Protocol;
        }
    }
    #[cfg(feature = "hyper")]
    if e.is::<ProxyError>() {
        return ErrorKind::Connect;
    }
    if e.to_string().contains("timed out") {
        return ErrorKind::Timeout;
    }
    ErrorKind::Other
}

fn tls_kind(e: Option<&rustls::Error>) -> ErrorKind {
    match e {
        Some(rustls::Error::InvalidCertificate(_)) => ErrorKind::Certificate,
        _ => ErrorKind::Tls,
    }
}

/// A proxy that would not open a tunnel, or answered it with something
/// other than HTTP.
#[cfg(feature = "hyper")]
#[derive(Debug)]
pub(crate) struct ProxyError(pub(crate) String);

#[cfg(feature = "hyper")]
impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "hyper")]
impl std::error::Error for ProxyError {}
