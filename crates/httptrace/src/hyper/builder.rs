//! [`Builder`]: the hyper transport's settings (trust, DNS, timeouts, Happy
//! Eyeballs, proxies) and the client they build.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy;
use hyper_util::client::proxy::matcher::Matcher as ProxyMatcher;
use hyper_util::rt::TokioExecutor;

use super::client::Client;
use super::connect::Connector;
use super::proxy::Proxies;
use crate::MakeTrace;
use crate::transport::certs::Identity;
use crate::transport::dns::{DnsServers, TracingResolver};
use crate::transport::errors::BoxError;
use crate::transport::registry::ConnRegistry;

/// Builds a [`Client`].
#[derive(Clone)]
pub struct Builder {
    make_trace: Option<Arc<dyn MakeTrace>>,
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    no_built_in_roots: bool,
    accept_invalid_certs: bool,
    http1_only: bool,
    identity: Identity,
    dns: DnsServers,
    connect_timeout: Option<Duration>,
    happy_eyeballs_delay: Option<Duration>,
    proxy: Option<Arc<ProxyMatcher>>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("make_trace", &self.make_trace.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .field("http1_only", &self.http1_only)
            .field("client_auth", &self.identity.client_auth.is_some())
            .field("dns", &self.dns)
            .field("connect_timeout", &self.connect_timeout)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            make_trace: None,
            extra_roots: Vec::new(),
            no_built_in_roots: false,
            accept_invalid_certs: false,
            http1_only: false,
            identity: Identity::default(),
            dns: DnsServers::default(),
            connect_timeout: None,
            happy_eyeballs_delay: Some(DEFAULT_HAPPY_EYEBALLS_DELAY),
            proxy: None,
        }
    }
}

/// How long an unanswered connection attempt holds back the next address:
/// 300 ms, as hyper-util's `HttpConnector` and Go's dialer use.
pub const DEFAULT_HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(300);

impl Builder {
    /// Makes a trace for every request (adapters plug in here).
    pub fn make_trace(mut self, make: impl MakeTrace) -> Self {
        self.make_trace = Some(Arc::new(make));
        self
    }

    /// Trusts this DER certificate as a root, besides the platform's.
    pub fn root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots
            .push(rustls::pki_types::CertificateDer::from(der.into()));
        self
    }

    /// Trusts every certificate in this PEM bundle as a root; an unreadable
    /// or certificate-less bundle is an error.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, BoxError> {
        self.extra_roots
            .extend(crate::transport::certs::pem_roots(pem)?);
        Ok(self)
    }

    /// Whether to trust the platform's roots (default true).
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.no_built_in_roots = !enabled;
        self
    }

    /// Accepts any server certificate (curl's `-k`); signatures are still checked.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Presents this client certificate to servers that ask for one
    /// (mutual TLS): the chain in PEM (leaf first) and its private key in
    /// PEM (PKCS#8, PKCS#1 or SEC1, not encrypted; may be the same input as
    /// the chain).
    pub fn client_auth_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, BoxError> {
        self.identity.client_auth = Some(crate::transport::certs::client_auth_pem(
            chain_pem, key_pem,
        )?);
        Ok(self)
    }

    /// Speaks only HTTP/1.1 (ALPN offers only `http/1.1`).
    pub fn http1_only(mut self) -> Self {
        self.http1_only = true;
        self
    }

    /// Sends DNS lookups to this server instead of the system's.
    pub fn dns_server(mut self, server: std::net::SocketAddr) -> Self {
        self.dns = DnsServers::Custom(vec![server]);
        self
    }

    /// Gives up on each connection attempt after this long, and on a
    /// proxy's answer to `CONNECT` after as long again.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long a connection attempt may go unanswered before the next
    /// resolved address is tried alongside it (Happy Eyeballs, RFC 8305);
    /// the first to connect wins. Default [`DEFAULT_HAPPY_EYEBALLS_DELAY`];
    /// `None` tries addresses strictly one after another, each until it
    /// fails (or [`Builder::connect_timeout`] passes).
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> Self {
        self.happy_eyeballs_delay = delay;
        self
    }

    /// Sends requests through the proxy `matcher` picks for each URL, none by
    /// default (as hyper-util's own client). [`ProxyMatcher::from_env`] reads
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` as curl does.
    ///
    /// `http://` and `https://` proxies are supported (SOCKS is not: a
    /// request one would carry fails with an error saying so). HTTPS goes
    /// through a `CONNECT` tunnel, with TLS to the origin through it; plain
    /// HTTP is forwarded in absolute form, with the proxy's
    /// `Proxy-Authorization` added to each request (hooks report it
    /// redacted). DNS and connect hooks are the proxy's, as in Go; an
    /// `https://` proxy's own handshake is reported as a first
    /// `tls_handshake_start`/`done` pair (HTTP/1.1 only, the builder's trust),
    /// as Go does. The `CONNECT` exchange has no hook of its own and shows as
    /// the gap before the origin's `tls_handshake_start`.
    ///
    /// ```
    /// use httptrace::hyper::{Client, ProxyMatcher};
    ///
    /// let matcher = ProxyMatcher::builder()
    ///     .all("http://proxy.internal:3128")
    ///     .no("localhost, .svc.cluster.local")
    ///     .build();
    /// let builder = Client::builder().proxy(matcher);
    /// ```
    pub fn proxy(mut self, matcher: ProxyMatcher) -> Self {
        self.proxy = Some(Arc::new(matcher));
        self
    }

    /// Builds the client for request bodies of type `B`. The TLS random
    /// generator's one-time seeding (about 30 ms with aws-lc) starts on its
    /// own thread when the process's first `https://` dial begins, beside
    /// DNS and connect; what is left of it when the connect is done is a gap
    /// before `tls_handshake_start`, part of neither phase. A process that
    /// makes no TLS handshake never pays it.
    pub fn build<B>(self) -> Result<Client<B>, BoxError>
    where
        B: http_body::Body + Send + 'static + Unpin,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // A proxy is spoken to over HTTP/1.1 only, with the same trust.
        let proxies = match &self.proxy {
            Some(matcher) => Some(Proxies {
                matcher: matcher.clone(),
                tls: tokio_rustls::TlsConnector::from(Arc::new(
                    crate::transport::certs::client_config(
                        self.extra_roots.clone(),
                        !self.no_built_in_roots,
                        self.accept_invalid_certs,
                        true,
                        &self.identity,
                        |verifier| verifier,
                    )?,
                )),
            }),
            None => None,
        };
        let tls = crate::transport::certs::client_config(
            self.extra_roots,
            !self.no_built_in_roots,
            self.accept_invalid_certs,
            self.http1_only,
            &self.identity,
            |verifier| verifier,
        )?;
        let registry = Arc::new(ConnRegistry::observed(self.make_trace.clone()));
        let connector = Connector {
            resolver: Arc::new(TracingResolver::new(&self.dns)?),
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            registry: registry.clone(),
            connect_timeout: self.connect_timeout,
            happy_eyeballs_delay: self.happy_eyeballs_delay,
            proxy: proxies,
        };
        let mut inner = legacy::Client::builder(TokioExecutor::new());
        if self.http1_only {
            inner.http2_only(false);
        }
        Ok(Client {
            inner: inner.build(connector),
            registry,
            make_trace: self.make_trace,
            proxy: self.proxy,
        })
    }
}

impl Client<()> {
    /// A builder with the defaults: system DNS, platform roots, HTTP/2 by ALPN.
    pub fn builder() -> Builder {
        Builder::default()
    }
}
