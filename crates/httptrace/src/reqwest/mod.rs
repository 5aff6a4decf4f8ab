//! The reqwest 0.13 transport.
//!
//! Three ways in, the same hooks:
//!
//! - [`ClientBuilderExt::instrument`] installs the hooks on the user's own
//!   builder and returns a plain `reqwest::Client`: every builder setting is
//!   kept, reqwest keeps following redirects (each hop it follows is its
//!   own round trip) and its total timeout bounds the whole chain. Round
//!   trips are reported for sends through [`TraceMiddleware`] (feature
//!   `reqwest-middleware`: each attempt of a retry middleware outside it is
//!   its own round trip) or [`execute`].
//! - [`ClientBuilderExt::traced`] returns a [`Client`] that follows redirects
//!   itself, one round trip per hop, each with its own propagated context
//!   and response headers.
//!
//! What the transport must own is set through [`Config`]: DNS
//! (hickory-resolver), TLS roots (rustls; reqwest's own TLS options are
//! replaced) and the redirect policy. Responses are plain
//! `reqwest::Response`s; errors are reqwest's own ([`Client`] wraps them in
//! [`Error`]), so a traced request returns what an untraced one would.
//!
//! Redirect hops that reqwest follows inside one send (with `instrument`)
//! are reported as far as reqwest lets them be seen: the hop ends when the
//! redirect policy is asked about its response (status and `Location`
//! known, its response headers not: `round_trip_done` carries no headers),
//! its body is discarded unread (`body_done` with outcome `Dropped`), the
//! next hop's method and headers are reported by the same rules reqwest
//! applies, and its `got_conn` facts are exact only when the hop dialled (a
//! pooled connection is reported as reused, without addresses). Its
//! `traceparent` is the send's: reqwest builds inner hops from the first
//! hop's headers.
//!
//! # How each hook is captured
//!
//! reqwest hides its sockets, so some hooks are seen exactly and some only
//! approximately. The errors below were measured by `benches/timing.rs`
//! (`cargo bench -p httptrace --bench timing`) against an in-process raw
//! server sharing the client's monotonic clock, over loopback on a 2-core
//! machine, 300 new connections each (median / p90, hook minus the server's
//! instant; the server's own instants carry scheduling noise of the same
//! order):
//!
//! | approximated hook | HTTP | HTTPS |
//! |---|---|---|
//! | `connect_done` vs server accept | +0.05 / +0.06 ms | +0.03 / +0.07 ms |
//! | `wrote_headers` vs server finished reading the head | -0.15 / -0.12 ms | -0.16 / -0.11 ms |
//! | `got_first_response_byte` vs server wrote the head | +0.11 / +0.15 ms | +0.12 / +0.16 ms |
//!
//! `wrote_headers` is early (it is the moment the connection was ready, not
//! the write), and first byte is late by reqwest's header parsing; both errors
//! grow with the request and response head sizes, not with network latency.
//!
//! | hook | on reqwest | how |
//! |---|---|---|
//! | `round_trip_start` | exact | before each hop is handed to reqwest |
//! | `get_conn` | exact | right after `round_trip_start` |
//! | `dns_start` / `dns_done` | exact | our hickory resolver; `coalesced` when a concurrent lookup of the name was joined |
//! | `connect_start` | approx. | = `dns_done` (or the dial's start for IP literals); per-address attempts are not visible, `addr` is `None` |
//! | `connect_done` | approx. for HTTPS, exact-ish for HTTP | HTTPS: first TLS session-store lookup (TCP is up, ClientHello being built); HTTP: the connector's completion; `addr` is the address connected to |
//! | `tls_handshake_start` | approx. | = `connect_done` (same callback); delivered with `tls_handshake_done` |
//! | `tls_handshake_done` | exact | connector completion; version from rustls, ALPN `h2` or none, chain from the verifier, `resumed` when a ticket was offered and no chain had to be verified |
//! | `got_conn` | approx. | fresh connection: the dial's end; pooled: `get_conn` time. Delivered when the response headers arrive |
//! | `put_idle_conn` | approx. | HTTP/1, when the body was read to the end (that is when hyper returns the connection) |
//! | `wrote_header_field` | approx. | the request's own headers at `wrote_headers` time; headers reqwest adds (`user-agent`, `host`, defaults) are not seen |
//! | `wrote_headers` | approx. | first poll of a streamed request body, else `got_conn` time |
//! | `wait_100_continue` | never | not visible through reqwest |
//! | `wrote_request` | approx. | a streamed body's last chunk handed to hyper, else `got_conn` time (byte bodies are left as they are, so reqwest can still retry and replay them on 307/308) |
//! | `got_1xx_response` | never | reqwest drops 1xx responses before we can see them |
//! | `got_first_response_byte` | approx. | when reqwest hands over the parsed headers (after the first byte) |
//! | `round_trip_done` | exact | when `send` would resolve |
//! | `body_done` | exact | end, error or drop of the response body |
//!
//! Connection reuse (`reused`, `was_idle`, `idle_time`) comes from a registry
//! of connections keyed by local address: `reused` means the connection
//! existed before this round trip started; idle time counts from the end of
//! the last *traced* response on it (or its creation).
//!
//! Proxies (reqwest's own settings, system proxies included): DNS and
//! connect hooks are the proxy's and `remote_addr` is the proxy's address.
//! `got_conn`'s `proxied` is true only for plain HTTP forwarded by a proxy:
//! reqwest marks only those, and a `CONNECT` tunnel looks like a direct
//! connection from where this transport watches (the hyper transport marks
//! both). Through an `https://` proxy to an HTTPS origin there is one
//! `tls_handshake_start`/`done` pair: it starts with the proxy's handshake
//! and describes the origin's (name, chain, ALPN), spanning the `CONNECT`
//! between; the hyper transport reports the two handshakes apart.
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::{ErrorKind, HookError};
use crate::{ClientTrace, MakeTrace, RequestInfo, Traces};

mod connect;
mod dns;
mod error;
#[cfg(feature = "reqwest-middleware")]
mod middleware;
mod redirect;
mod round_trip;
mod tls;
mod upload;

pub use error::Error;
#[cfg(feature = "reqwest-middleware")]
pub use middleware::TraceMiddleware;
pub use redirect::RedirectPolicy;

use crate::transport::dns::{DnsServers, TracingResolver};
use connect::TraceConnectLayer;
use dns::ResolveHook;

/// What the traced client owns: DNS, TLS roots, redirects, and the trace
/// made for every request.
#[derive(Clone, Default)]
pub struct Config {
    make_trace: Option<Arc<dyn MakeTrace>>,
    redirect: RedirectPolicy,
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    no_built_in_roots: bool,
    accept_invalid_certs: bool,
    http1_only: bool,
    dns: DnsServers,
    no_referer: bool,
}

impl Config {
    /// The defaults: system DNS configuration, platform roots, ten redirects,
    /// HTTP/2 offered by ALPN, `Referer` set on redirects (as reqwest).
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a trace for every request this client sends (adapters plug in
    /// here, like tower-http's `MakeSpan`).
    pub fn make_trace(mut self, make: impl MakeTrace) -> Self {
        self.make_trace = Some(Arc::new(make));
        self
    }

    /// Sets the redirect policy.
    pub fn redirect(mut self, policy: RedirectPolicy) -> Self {
        self.redirect = policy;
        self
    }

    /// Trusts this DER certificate as a root, in addition to the platform's.
    pub fn root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots
            .push(rustls::pki_types::CertificateDer::from(der.into()));
        self
    }

    /// Trusts every certificate in this PEM bundle as a root.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let roots = crate::transport::certs::pem_roots(pem).map_err(Error::config)?;
        self.extra_roots.extend(roots);
        Ok(self)
    }

    /// Whether to trust the platform's roots (default true). With `false`
    /// only the certificates added here are trusted.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.no_built_in_roots = !enabled;
        self
    }

    /// Accepts any server certificate (curl's `-k`). Handshake signatures are
    /// still checked. Never turned on by tracing itself.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Offers only HTTP/1.1 in ALPN. Use together with reqwest's
    /// `http1_only()`.
    pub fn http1_only(mut self) -> Self {
        self.http1_only = true;
        self
    }

    /// Sends DNS lookups to these servers (UDP, then TCP) instead of the
    /// system's.
    pub fn dns_servers(mut self, servers: impl IntoIterator<Item = std::net::SocketAddr>) -> Self {
        self.dns = DnsServers::Custom(servers.into_iter().collect());
        self
    }

    /// Sends DNS lookups to this server: shorthand for [`Config::dns_servers`].
    pub fn dns_server(self, server: std::net::SocketAddr) -> Self {
        self.dns_servers([server])
    }

    /// Whether to set `Referer` when following redirects (default true, as
    /// reqwest). Set false if you turned it off on the reqwest builder.
    pub fn referer(mut self, enabled: bool) -> Self {
        self.no_referer = !enabled;
        self
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("make_trace", &self.make_trace.is_some())
            .field("redirect", &self.redirect)
            .field("extra_roots", &self.extra_roots.len())
            .field("built_in_roots", &!self.no_built_in_roots)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("http1_only", &self.http1_only)
            .field("dns", &self.dns)
            .finish()
    }
}

/// Installs the hooks on a `reqwest::ClientBuilder`.
///
/// [`instrument`](ClientBuilderExt::instrument) returns the plain
/// `reqwest::Client` a service already passes around, with every builder
/// setting kept but what the hooks must own (below); reqwest keeps following
/// redirects itself. [`traced_with`](ClientBuilderExt::traced_with) returns
/// a [`Client`], which follows redirects itself so that every hop carries
/// its own `traceparent` and reports its own response headers.
///
/// Kept from the builder (tested): timeouts (a total `timeout` bounds the
/// whole redirect chain with `instrument`), default headers, user agent,
/// proxies, HTTP/2 prior knowledge and HTTP/2 options, pool settings,
/// reqwest's own retries. Replaced, because the transport must own them to
/// observe them and reqwest cannot hand them back: the DNS resolver and the
/// TLS configuration (`add_root_certificate`, `tls_built_in_root_certs`,
/// `danger_accept_invalid_certs` and other `tls_*` settings on the reqwest
/// builder have no effect: set them on [`Config`] instead). The redirect
/// policy is [`Config::redirect`]; with `instrument`, a policy already set
/// on the reqwest builder is kept untouched instead, unobserved (a send is
/// then reported as one round trip however many hops reqwest follows).
pub trait ClientBuilderExt: Sized {
    /// Builds a traced client with the default [`Config`].
    fn traced(self) -> Result<Client, Error> {
        self.traced_with(Config::default())
    }

    /// Builds a traced client with `config`. The first client in a process
    /// also seeds the TLS random generator (about 30 ms with aws-lc), so
    /// that one-time cost is not counted as the first handshake.
    fn traced_with(self, config: Config) -> Result<Client, Error>;

    /// Builds a plain `reqwest::Client` with the hooks installed: DNS
    /// (hickory-resolver), connect and TLS hooks for every dial, and
    /// reqwest's redirect policy ([`Config::redirect`]) wrapped so that each
    /// hop reqwest follows is its own round trip.
    ///
    /// Round trips are reported for sends that go through a driver that
    /// sees the request: [`TraceMiddleware`] (feature `reqwest-middleware`;
    /// it uses [`Config::make_trace`] and the traces of the enclosing
    /// [`ClientTrace::scope`]s) or [`execute`] (the enclosing scopes' traces). A plain `client.get(..).send()`
    /// inside a scope reports the DNS, connect and TLS hooks of the
    /// connections it dials, but no round trips: reqwest calls nothing of
    /// ours when a request starts on a pooled connection. Errors are
    /// reqwest's own; [`Error`] here is only a configuration error.
    ///
    /// Where `tracing::Instrument` is in scope too (it gives every type an
    /// `instrument` method), name the trait:
    /// `ClientBuilderExt::instrument(builder, &config)`.
    fn instrument(self, config: &Config) -> Result<reqwest::Client, Error>;
}

impl ClientBuilderExt for reqwest::ClientBuilder {
    fn traced_with(self, config: Config) -> Result<Client, Error> {
        let timeout = builder_timeout(&format!("{self:?}"));
        let inner = install(self, &config)?
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            inner,
            shared: Arc::new(Shared {
                redirect: config.redirect,
                referer: !config.no_referer,
                timeout,
                make_trace: config.make_trace,
            }),
        })
    }

    fn instrument(self, config: &Config) -> Result<reqwest::Client, Error> {
        // reqwest cannot hand back a policy set on its builder; its Debug
        // form names one that is not the default. Such a policy is kept as
        // it is (unobserved: a send is then one round trip however many
        // hops reqwest follows), rather than replaced.
        let own_policy = format!("{self:?}").contains("redirect_policy");
        let builder = install(self, config)?;
        let builder = if own_policy {
            builder
        } else {
            builder.redirect(round_trip::observed_policy(config.redirect.to_reqwest()))
        };
        Ok(builder.build()?)
    }
}

/// Sends `request` on `client` (made with
/// [`instrument`](ClientBuilderExt::instrument)) and reports it to the traces
/// of the enclosing [`ClientTrace::scope`]s as round trips: one per redirect
/// hop reqwest follows. What `client.execute(request)` returns, unchanged.
///
/// ```no_run
/// # async fn demo(client: reqwest::Client) -> Result<(), reqwest::Error> {
/// use httptrace::ClientTrace;
///
/// let trace = ClientTrace::new().on_got_conn(|e| println!("reused={}", e.reused));
/// let request = client.get("https://example.com/").build()?;
/// let response = trace.scope(httptrace::reqwest::execute(&client, request)).await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
pub async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<reqwest::Response, reqwest::Error> {
    round_trip::send(
        request,
        &Traces::current(),
        0,
        |_| None,
        |r| client.execute(r),
    )
    .await
    .0
}

/// The total timeout set on a reqwest builder, read from its Debug form
/// (`timeout: 300ms`): reqwest cannot hand it back otherwise.
fn builder_timeout(debug: &str) -> Option<Duration> {
    let at = ["{ timeout: ", ", timeout: "]
        .iter()
        .find_map(|field| debug.find(field).map(|i| i + field.len()))?;
    parse_duration_debug(&debug[at..])
}

/// Parses the start of a `Duration`'s Debug form: `300ms`, `1.5s`, `10µs`.
fn parse_duration_debug(text: &str) -> Option<Duration> {
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let value: f64 = text[..number_len].parse().ok()?;
    let unit = &text[number_len..];
    let seconds = if unit.starts_with("ms") {
        value / 1e3
    } else if unit.starts_with("µs") {
        value / 1e6
    } else if unit.starts_with("ns") {
        value / 1e9
    } else if unit.starts_with('s') {
        value
    } else {
        return None;
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// Installs what every client with hooks needs: the resolver, the connector
/// layer and the observed TLS configuration.
fn install(
    builder: reqwest::ClientBuilder,
    config: &Config,
) -> Result<reqwest::ClientBuilder, Error> {
    let resolver = TracingResolver::new(&config.dns)
        .map_err(|e| Error::config(format!("DNS configuration: {e}")))?;
    let tls = tls::client_config(
        config.extra_roots.clone(),
        !config.no_built_in_roots,
        config.accept_invalid_certs,
        config.http1_only,
    )
    .map_err(|e| Error::config(format!("TLS configuration: {e}")))?;
    Ok(builder
        .dns_resolver(ResolveHook(Arc::new(resolver)))
        .connector_layer(TraceConnectLayer {
            registry: round_trip::registry().clone(),
        })
        .tls_backend_preconfigured(tls)
        .tls_info(true))
}

struct Shared {
    redirect: RedirectPolicy,
    referer: bool,
    /// The builder's total timeout: one deadline for all hops of a request.
    timeout: Option<Duration>,
    make_trace: Option<Arc<dyn MakeTrace>>,
}

/// A reqwest client whose requests report [`ClientTrace`] hooks. Cheap to
/// clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    shared: Arc<Shared>,
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

    async fn execute_traced(
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

/// A request under construction: reqwest's builder plus the traces to attach.
#[must_use = "a RequestBuilder does nothing until sent"]
pub struct RequestBuilder {
    client: Client,
    inner: reqwest::RequestBuilder,
    traces: Vec<ClientTrace>,
    url_template: Option<crate::UrlTemplate>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_timeout_is_read_from_its_debug_form() {
        let debug = |b: reqwest::ClientBuilder| format!("{b:?}");
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(7))
            .timeout(Duration::from_millis(300));
        assert_eq!(
            builder_timeout(&debug(builder)),
            Some(Duration::from_millis(300))
        );
        let builder = reqwest::Client::builder().timeout(Duration::from_secs_f64(1.5));
        assert_eq!(
            builder_timeout(&debug(builder)),
            Some(Duration::from_millis(1500))
        );
        let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(7));
        assert_eq!(
            builder_timeout(&debug(builder)),
            None,
            "connect_timeout is not it"
        );
        assert_eq!(
            parse_duration_debug("250µs"),
            Some(Duration::from_micros(250))
        );
    }
}
