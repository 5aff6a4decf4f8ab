//! [`RequestBuilder`]: reqwest's request builder plus the traces to attach
//! to that one request.

use std::time::Duration;

#[cfg(doc)]
use super::Config;
use super::{Client, Error};
use crate::ClientTrace;

/// A request under construction: reqwest's builder plus the traces to attach.
#[must_use = "a RequestBuilder does nothing until sent"]
pub struct RequestBuilder {
    pub(super) client: Client,
    pub(super) inner: reqwest::RequestBuilder,
    pub(super) traces: Vec<ClientTrace>,
    pub(super) url_template: Option<crate::UrlTemplate>,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("inner", &self.inner)
            .field("traces", &self.traces.len())
            .finish()
    }
}

impl RequestBuilder {
    /// Attaches a trace to this request only. Several may be attached; the
    /// last attached is called first, then the earlier ones, then those of
    /// enclosing scopes.
    pub fn trace(mut self, trace: ClientTrace) -> Self {
        self.traces.push(trace);
        self
    }

    /// The low-cardinality template of this request's path
    /// (`/users/{id}`), for [`Config::make_trace`] (the OpenTelemetry
    /// adapter names the spans `{method} {template}` with it).
    pub fn url_template(mut self, template: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self.url_template = Some(crate::UrlTemplate::new(template));
        self
    }

    /// Applies any `reqwest::RequestBuilder` method not mirrored here.
    pub fn map(
        mut self,
        f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Self {
        self.inner = f(self.inner);
        self
    }

    /// Adds a header (as reqwest).
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        http::HeaderName: TryFrom<K>,
        <http::HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        http::HeaderValue: TryFrom<V>,
        <http::HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|b| b.header(key, value))
    }

    /// Adds headers (as reqwest).
    pub fn headers(self, headers: http::HeaderMap) -> Self {
        self.map(|b| b.headers(headers))
    }

    /// Sets the body (as reqwest).
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.map(|b| b.body(body))
    }

    /// Sets basic authentication (as reqwest; the header is marked sensitive).
    pub fn basic_auth(
        self,
        username: impl std::fmt::Display,
        password: Option<impl std::fmt::Display>,
    ) -> Self {
        self.map(|b| b.basic_auth(username, password))
    }

    /// Sets bearer authentication (as reqwest; the header is marked sensitive).
    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        self.map(|b| b.bearer_auth(token))
    }

    /// Sets the timeout of this request, all its redirect hops together (as
    /// reqwest).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// Sets the HTTP version (as reqwest).
    pub fn version(self, version: http::Version) -> Self {
        self.map(|b| b.version(version))
    }

    /// Builds the `reqwest::Request`.
    pub fn build(self) -> Result<reqwest::Request, Error> {
        Ok(self.inner.build()?)
    }

    /// Sends the request, following redirects.
    pub async fn send(self) -> Result<reqwest::Response, Error> {
        let request = self.inner.build()?;
        self.client
            .execute_traced(request, self.traces, self.url_template.as_ref())
            .await
    }
}
