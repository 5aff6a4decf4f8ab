//! Redirects, followed hop by hop so that each hop is its own round trip,
//! by the rules of [`crate::redirect`] (a body is replayed on 307/308 when it
//! can be).

use http::StatusCode;
use http::header::HeaderMap;

use crate::redirect::RequestHead;

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

    /// Whether a redirect is followed after `followed` others (reqwest's
    /// `Policy::limited` rule: at most `max`).
    pub(crate) fn follows(&self, followed: usize) -> bool {
        self.limit.is_some_and(|max| followed < max)
    }

    /// The same policy as reqwest's, for a client on which reqwest follows
    /// redirects itself.
    pub(crate) fn to_reqwest(self) -> reqwest::redirect::Policy {
        match self.limit {
            Some(max) => reqwest::redirect::Policy::limited(max),
            None => reqwest::redirect::Policy::none(),
        }
    }
}

impl Default for RedirectPolicy {
    /// Ten redirects, as reqwest.
    fn default() -> Self {
        Self::limited(10)
    }
}

/// The next hop's request by [`crate::redirect`]'s rules, or `None` when
/// the response is not a redirect to follow.
pub(crate) fn next_hop(
    status: StatusCode,
    response_headers: &HeaderMap,
    previous: reqwest::Request,
    referer: bool,
) -> Option<reqwest::Request> {
    let head = RequestHead {
        method: previous.method().clone(),
        url: previous.url().clone(),
        headers: previous.headers().clone(),
    };
    let next = crate::redirect::next_hop(&head, status, response_headers, referer)?;
    let mut request = previous;
    *request.method_mut() = next.head.method;
    *request.url_mut() = next.head.url;
    *request.headers_mut() = next.head.headers;
    if !next.resend_body {
        *request.body_mut() = None;
    }
    Some(request)
}
