//! [`Client`]: a reqwest client that follows redirects itself, one traced
//! round trip per hop, within one deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(doc)]
use super::Config;
use super::request::RequestBuilder;
use super::{Error, RedirectPolicy, redirect, round_trip};
use crate::event::{ErrorKind, HookError};
use crate::{ClientTrace, MakeTrace, RequestInfo, Traces};

pub(super) struct Shared {
    pub(super) redirect: RedirectPolicy,
    pub(super) referer: bool,
    /// The builder's total timeout: one deadline for all hops of a request.
    pub(super) timeout: Option<Duration>,
    pub(super) make_trace: Option<Arc<dyn MakeTrace>>,
}

/// A reqwest client whose requests report [`ClientTrace`] hooks. Cheap to
/// clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    pub(super) inner: reqwest::Client,
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("inner", &self.inner)
            .field("redirect", &self.shared.redirect)
            .finish()
    }
}

impl Client {
    /// Starts a request.
    pub fn request(&self, method: reqwest::Method, url: impl reqwest::IntoUrl) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            inner: self.inner.request(method, url),
            traces: Vec::new(),
            url_template: None,
        }
    }

    /// Starts a GET request.
    pub fn get(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(reqwest::Method::GET, url)
    }

    /// Starts a POST request.
    pub fn post(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(reqwest::Method::POST, url)
    }

    /// Starts a PUT request.
    pub fn put(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(reqwest::Method::PUT, url)
    }

    /// Starts a PATCH request.
    pub fn patch(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(reqwest::Method::PATCH, url)
    }

    /// Starts a DELETE request.
    pub fn delete(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(reqwest::Method::DELETE, url)
    }

    /// Starts a HEAD request.
    pub fn head(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(reqwest::Method::HEAD, url)
    }

    /// The underlying reqwest client (redirects off, hooks installed).
    /// Requests sent through it directly still report DNS, connect and TLS
    /// hooks to an enclosing [`ClientTrace::scope`], but no round trips.
    pub fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Sends a request, following redirects, with the traces of the enclosing
    /// scopes and of the client's [`Config::make_trace`].
    pub async fn execute(&self, request: reqwest::Request) -> Result<reqwest::Response, Error> {
        self.execute_traced(request, Vec::new(), None).await
    }

    pub(super) async fn execute_traced(
        &self,
        request: reqwest::Request,
        extra: Vec<ClientTrace>,
        url_template: Option<&crate::UrlTemplate>,
    ) -> Result<reqwest::Response, Error> {
        let mut traces = Traces::current();
        if let Some(make) = &self.shared.make_trace {
            let info = RequestInfo::new(request.method(), request.url(), request.headers())
                .with_url_template(url_template.map(crate::UrlTemplate::as_str));
            if let Some(trace) = make.make_trace(&info) {
                traces = traces.with(trace);
            }
        }
        for trace in extra {
            traces = traces.with(trace);
        }
        let mut request = request;
        let mut resend_count = 0u32;
        // reqwest times each `execute`; this client calls it once per hop, so
        // each hop gets what is left of the request's one deadline (zero
        // left makes reqwest fail it with its own timeout error).
        let deadline = request
            .timeout()
            .copied()
            .or(self.shared.timeout)
            .map(|t| Instant::now() + t);
        loop {
            if let Some(deadline) = deadline {
                *request.timeout_mut() = Some(deadline.saturating_duration_since(Instant::now()));
            }
            let follow = self.shared.redirect.limit();
            let replay = follow.and_then(|_| request.try_clone());
            // On the last hop the limit allows, a redirect to follow fails
            // the request: that hop reports the failure.
            let over_limit = follow
                .filter(|&limit| replay.is_some() && resend_count as usize >= limit)
                .map(|limit| {
                    let head = crate::redirect::RequestHead {
                        method: request.method().clone(),
                        url: request.url().clone(),
                        headers: request.headers().clone(),
                    };
                    (head, limit)
                });
            let referer = self.shared.referer;
            let judge = move |response: &reqwest::Response| {
                let (head, limit) = over_limit?;
                crate::redirect::next_hop(&head, response.status(), response.headers(), referer)
                    .map(|_| {
                        HookError::new(
                            ErrorKind::Redirect,
                            format!("too many redirects (limit {limit})"),
                        )
                    })
            };
            let (result, _) = round_trip::send(request, &traces, resend_count, judge, |r| {
                self.inner.execute(r)
            })
            .await;
            let response = result?;
            let status = response.status();
            let Some(limit) = follow.filter(|_| crate::redirect::is_redirect(status)) else {
                return Ok(response);
            };
            let Some(replay) = replay else {
                return Ok(response); // a streamed body cannot be sent again
            };
            let Some(next) =
                redirect::next_hop(status, response.headers(), replay, self.shared.referer)
            else {
                return Ok(response);
            };
            if resend_count as usize >= limit {
                let url = response.url().clone();
                drain(response).await;
                return Err(Error::too_many_redirects(url, limit));
            }
            drain(response).await;
            request = next;
            resend_count += 1;
        }
    }
}

/// Reads and drops a redirect's body (bounded), so its connection can be
/// reused and its `body_done` fires.
async fn drain(mut response: reqwest::Response) {
    const LIMIT: usize = 64 * 1024;
    let mut read = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while read < LIMIT {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => read += chunk.len(),
            _ => break,
        }
    }
}
