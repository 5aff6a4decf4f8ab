//! Errors: the client's error type, and how a transport error maps to the
//! phase-level [`ErrorKind`] hooks report.

use std::fmt;

use crate::event::{ErrorKind, HookError};

/// The error a traced request returns: reqwest's own error, untouched, or a
/// redirect this client refused to follow.
#[derive(Debug)]
pub struct Error {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Reqwest(reqwest::Error),
    TooManyRedirects { url: url::Url, limit: usize },
    Config(String),
}

impl Error {
    pub(crate) fn too_many_redirects(url: url::Url, limit: usize) -> Self {
        Error {
            inner: Inner::TooManyRedirects { url, limit },
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error {
            inner: Inner::Config(message.into()),
        }
    }

    /// The underlying reqwest error, if this is one.
    pub fn as_reqwest(&self) -> Option<&reqwest::Error> {
        match &self.inner {
            Inner::Reqwest(e) => Some(e),
            _ => None,
        }
    }

    /// Converts into the underlying reqwest error, if this is one.
    pub fn into_reqwest(self) -> Result<reqwest::Error, Self> {
        match self.inner {
            Inner::Reqwest(e) => Ok(e),
            inner => Err(Error { inner }),
        }
    }

    /// The URL the error relates to, if known.
    pub fn url(&self) -> Option<&url::Url> {
        match &self.inner {
            Inner::Reqwest(e) => e.url(),
            Inner::TooManyRedirects { url, .. } => Some(url),
            Inner::Config(_) => None,
        }
    }

    /// True for a redirect loop or too many redirects (as reqwest's `is_redirect`).
    pub fn is_redirect(&self) -> bool {
        match &self.inner {
            Inner::Reqwest(e) => e.is_redirect(),
            Inner::TooManyRedirects { .. } => true,
            Inner::Config(_) => false,
        }
    }

    /// As [`reqwest::Error::is_timeout`].
    pub fn is_timeout(&self) -> bool {
        self.as_reqwest().is_some_and(reqwest::Error::is_timeout)
    }

    /// As [`reqwest::Error::is_connect`].
    pub fn is_connect(&self) -> bool {
        self.as_reqwest().is_some_and(reqwest::Error::is_connect)
    }

    /// As [`reqwest::Error::is_builder`]; also true for a bad [`Config`](super::Config).
    pub fn is_builder(&self) -> bool {
        matches!(self.inner, Inner::Config(_))
            || self.as_reqwest().is_some_and(reqwest::Error::is_builder)
    }

    /// As [`reqwest::Error::is_request`].
    pub fn is_request(&self) -> bool {
        self.as_reqwest().is_some_and(reqwest::Error::is_request)
    }

    /// As [`reqwest::Error::is_body`].
    pub fn is_body(&self) -> bool {
        self.as_reqwest().is_some_and(reqwest::Error::is_body)
    }

    /// As [`reqwest::Error::is_decode`].
    pub fn is_decode(&self) -> bool {
        self.as_reqwest().is_some_and(reqwest::Error::is_decode)
    }

    /// As [`reqwest::Error::is_status`].
    pub fn is_status(&self) -> bool {
        self.as_reqwest().is_some_and(reqwest::Error::is_status)
    }

    /// As [`reqwest::Error::status`].
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        self.as_reqwest().and_then(reqwest::Error::status)
    }

    /// The phase-level kind hooks reported for this error (as
    /// [`ErrorKind::of`], which also takes a plain `reqwest::Error`).
    pub fn kind(&self) -> ErrorKind {
        match &self.inner {
            Inner::Reqwest(e) => classify(e).kind(),
            Inner::TooManyRedirects { .. } => ErrorKind::Redirect,
            Inner::Config(_) => ErrorKind::InvalidRequest,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Reqwest(e) => fmt::Display::fmt(e, f),
            Inner::TooManyRedirects { url, limit } => {
                write!(
                    f,
                    "error following redirect for url ({url}): too many redirects (limit {limit})"
                )
            }
            Inner::Config(message) => write!(f, "builder error: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner {
            Inner::Reqwest(e) => e.source(),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error {
            inner: Inner::Reqwest(e),
        }
    }
}

/// Maps a reqwest error to the phase kind hooks report.
pub(crate) fn classify(e: &reqwest::Error) -> HookError {
    use crate::transport::errors::classify_chain;
    let chained = classify_chain(e);
    if chained.kind() != ErrorKind::Other {
        return chained;
    }
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_builder() {
        ErrorKind::InvalidRequest
    } else if e.is_redirect() {
        ErrorKind::Redirect
    } else if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Other
    };
    HookError::new(kind, chained.message())
}
