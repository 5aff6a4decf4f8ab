//! Redirects, followed hop by hop so that each hop is its own round trip.
//!
//! The rules are reqwest's (and browsers'): 303 turns any method but HEAD
//! into GET, 301/302 turn POST into GET, 307/308 keep method and body (when
//! the body can be replayed); sensitive headers are dropped when a hop leaves
//! the origin; `Referer` is set unless leaving HTTPS for HTTP.

use http::header::{self, HeaderMap};
use http::{Method, StatusCode};

/// How many redirects a [`Client`](super::Client) follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectPolicy {
    limit: Option<usize>,
}

impl RedirectPolicy {
    /// Follow at most `max` redirects; one more is an error
    /// ([`Error::is_redirect`](super::Error::is_redirect)).
    pub fn limited(max: usize) -> Self {
        Self { limit: Some(max) }
    }

    /// Follow none: a 3xx response is returned as it is.
    pub fn none() -> Self {
        Self { limit: None }
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit
    }
}

impl Default for RedirectPolicy {
    /// Ten redirects, as reqwest.
    fn default() -> Self {
        Self::limited(10)
    }
}

/// Headers never carried to another origin.
const CROSS_ORIGIN_SENSITIVE: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
    header::WWW_AUTHENTICATE,
];

/// The next hop's request, or `None` when the response is not a redirect to
/// follow (or its body cannot be replayed).
pub(crate) fn next_hop(
    status: StatusCode,
    response_headers: &HeaderMap,
    previous: reqwest::Request,
    referer: bool,
) -> Option<reqwest::Request> {
    let location = response_headers.get(header::LOCATION)?.to_str().ok()?;
    let next_url = previous.url().join(location).ok()?;
    if !matches!(next_url.scheme(), "http" | "https") {
        return None;
    }
    let mut request = previous;
    let to_get = match status {
        StatusCode::SEE_OTHER => request.method() != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => request.method() == Method::POST,
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => false,
        _ => return None,
    };
    if to_get {
        *request.method_mut() = Method::GET;
        *request.body_mut() = None;
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::TRANSFER_ENCODING,
        ] {
            request.headers_mut().remove(name);
        }
    }
    let previous_url = request.url().clone();
    let cross_origin = previous_url.origin() != next_url.origin();
    if cross_origin {
        for name in CROSS_ORIGIN_SENSITIVE {
            request.headers_mut().remove(name);
        }
    }
    request.headers_mut().remove(header::REFERER);
    if referer && !(previous_url.scheme() == "https" && next_url.scheme() == "http") {
        let mut referer = previous_url;
        let _ = referer.set_username("");
        let _ = referer.set_password(None);
        referer.set_fragment(None);
        if let Ok(value) = header::HeaderValue::from_str(referer.as_str()) {
            request.headers_mut().insert(header::REFERER, value);
        }
    }
    *request.url_mut() = next_url;
    Some(request)
}

/// True for the statuses this client follows.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}
