//! [`Config`]: what the transport adds to a reqwest builder (the trace made
//! for every request, the redirect policy it observes) and what the user
//! explicitly hands it to observe exactly: TLS ([`Tls`]) and DNS ([`Dns`]).

use std::sync::Arc;

use super::{Error, RedirectPolicy};
use crate::MakeTrace;
use crate::transport::certs::ClientAuth;
use crate::transport::dns::DnsServers;

/// What the transport adds to a reqwest builder.
///
/// By default it takes nothing over: the builder's TLS (backend, roots,
/// client certificate, versions) and DNS resolver stay exactly as the
/// builder has them, and the hooks observe each dial from outside reqwest's
/// connector, so DNS, TCP connect and TLS are one phase, reported as
/// `connect_start` / `connect_done` (see the module docs). For an exact
/// split, hand that part of the setup to the transport in one line:
/// [`Config::tls`] and [`Config::dns`].
#[derive(Clone, Default)]
pub struct Config {
    pub(super) make_trace: Option<Arc<dyn MakeTrace>>,
    pub(super) redirect: RedirectPolicy,
    pub(super) tls: Option<Tls>,
    pub(super) dns: Option<Dns>,
}

impl Config {
    /// The defaults: the builder's own TLS and DNS, ten redirects.
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

    /// Hands TLS to the transport, which then sees the handshake exactly
    /// (`tls_handshake_start` / `_done` apart from the TCP connect). It
    /// replaces the builder's TLS: a preconfigured backend or
    /// `tls_danger_accept_invalid_hostnames` on the builder is then an error
    /// at build time, and roots or a client certificate added on the
    /// builder (which reqwest does not show) are not used: put them in
    /// `tls`. The builder's TLS versions, SNI and `http1_only` are carried
    /// over.
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Hands DNS to the transport, which then reports each lookup
    /// (`dns_start` / `dns_done`). It replaces a resolver set on the
    /// builder (which reqwest does not show): hand yours over with
    /// [`Dns::resolver`] instead. `resolve` overrides on the builder stay.
    pub fn dns(mut self, dns: Dns) -> Self {
        self.dns = Some(dns);
        self
    }

    /// Shorthand for `.dns(Dns::servers(servers))`.
    pub fn dns_servers(self, servers: impl IntoIterator<Item = std::net::SocketAddr>) -> Self {
        self.dns(Dns::servers(servers))
    }

    /// Shorthand for `.dns(Dns::servers([server]))`.
    pub fn dns_server(self, server: std::net::SocketAddr) -> Self {
        self.dns_servers([server])
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("make_trace", &self.make_trace.is_some())
            .field("redirect", &self.redirect)
            .field("tls", &self.tls)
            .field("dns", &self.dns)
            .finish()
    }
}

/// TLS handed to the transport ([`Config::tls`]): rustls with aws-lc,
/// observed through its certificate verifier and session store, which
/// decide nothing differently for being observed.
#[derive(Clone)]
pub struct Tls {
    pub(super) source: TlsSource,
    misused: Option<&'static str>,
}

#[derive(Clone)]
pub(super) enum TlsSource {
    /// Built by the transport ([`Tls::platform`]).
    Platform(PlatformTls),
    /// The user's own configuration.
    Rustls(Box<rustls::ClientConfig>),
}

/// What [`Tls::platform`]'s methods set: roots, a client certificate, ALPN.
#[derive(Clone, Debug, Default)]
pub(super) struct PlatformTls {
    pub(super) extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub(super) no_built_in_roots: bool,
    pub(super) accept_invalid_certs: bool,
    pub(super) http1_only: bool,
    pub(super) client_auth: Option<ClientAuth>,
}

impl Tls {
    /// The platform's roots and verifier (the same as reqwest's default),
    /// ALPN offering HTTP/2 and HTTP/1.1. The methods below add to it.
    pub fn platform() -> Self {
        Tls {
            source: TlsSource::Platform(PlatformTls::default()),
            misused: None,
        }
    }

    /// Your own rustls configuration (roots, verifier, client certificate,
    /// ALPN, versions), used as it is but for its session store: rustls
    /// cannot hand a store back, and the first lookup in it is how the
    /// handshake's start is seen, so `resumption` gets an observed
    /// in-memory store of 256 entries (rustls's default; a `Resumption`
    /// you set there is not kept). Its verifier cannot be wrapped either:
    /// the peer's certificate is reported from reqwest's `TlsInfo` (the
    /// leaf only), and `resumed` is always false. Build it on the aws-lc
    /// provider reqwest uses, and set ALPN yourself (`h2`, `http/1.1`).
    pub fn rustls(config: rustls::ClientConfig) -> Self {
        Tls {
            source: TlsSource::Rustls(Box::new(config)),
            misused: None,
        }
    }

    /// The settings of [`Tls::platform`], or `None` on a [`Tls::rustls`],
    /// noting that `method` was called on it (an error at build time).
    fn built(&mut self, method: &'static str) -> Option<&mut PlatformTls> {
        match &mut self.source {
            TlsSource::Platform(platform) => Some(platform),
            TlsSource::Rustls(_) => {
                self.misused.get_or_insert(method);
                None
            }
        }
    }

    /// Trusts this DER certificate as a root, in addition to the platform's.
    /// (On a [`Tls::rustls`], this and the methods below are refused when
    /// the client is built: set them on your own configuration.)
    pub fn root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        if let Some(b) = self.built("root_certificate_der") {
            b.extra_roots
                .push(rustls::pki_types::CertificateDer::from(der.into()));
        }
        self
    }

    /// Trusts every certificate in this PEM bundle as a root.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let roots = crate::transport::certs::pem_roots(pem).map_err(Error::config)?;
        if let Some(b) = self.built("root_certificates_pem") {
            b.extra_roots.extend(roots);
        }
        Ok(self)
    }

    /// Whether to trust the platform's roots (default true). With `false`
    /// only the certificates added here are trusted.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        if let Some(b) = self.built("built_in_roots") {
            b.no_built_in_roots = !enabled;
        }
        self
    }

    /// Accepts any server certificate (curl's `-k`). Handshake signatures are
    /// still checked. Never turned on by tracing itself.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        if let Some(b) = self.built("danger_accept_invalid_certs") {
            b.accept_invalid_certs = accept;
        }
        self
    }

    /// Presents this client certificate to servers that ask for one
    /// (mutual TLS): the chain in PEM (leaf first) and its private key in
    /// PEM (PKCS#8, PKCS#1 or SEC1, not encrypted; may be the same input as
    /// the chain).
    pub fn client_auth_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let auth =
            crate::transport::certs::client_auth_pem(chain_pem, key_pem).map_err(Error::config)?;
        if let Some(b) = self.built("client_auth_pem") {
            b.client_auth = Some(auth);
        }
        Ok(self)
    }

    /// Offers only HTTP/1.1 in ALPN (also the case when the reqwest builder
    /// is `http1_only`).
    pub fn http1_only(mut self) -> Self {
        if let Some(b) = self.built("http1_only") {
            b.http1_only = true;
        }
        self
    }

    /// The error for a [`Tls::platform`] method called on a [`Tls::rustls`].
    pub(super) fn check(&self) -> Result<(), Error> {
        match self.misused {
            None => Ok(()),
            Some(method) => Err(Error::config(format!(
                "TLS configuration: Tls::{method} on Tls::rustls would be ignored; \
                 set it on your own rustls::ClientConfig, which is used as it is"
            ))),
        }
    }
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            TlsSource::Platform(p) => f
                .debug_struct("Tls::platform")
                .field("extra_roots", &p.extra_roots.len())
                .field("built_in_roots", &!p.no_built_in_roots)
                .field("accept_invalid_certs", &p.accept_invalid_certs)
                .field("http1_only", &p.http1_only)
                .field("client_auth", &p.client_auth.is_some())
                .finish(),
            TlsSource::Rustls(_) => f.write_str("Tls::rustls"),
        }
    }
}

/// DNS handed to the transport ([`Config::dns`]).
#[derive(Clone)]
pub struct Dns {
    pub(super) source: DnsSource,
}

#[derive(Clone)]
pub(super) enum DnsSource {
    /// hickory-resolver, with the system's or these servers.
    Hickory(DnsServers),
    /// The user's own resolver, observed around each lookup.
    Resolver(Arc<dyn reqwest::dns::Resolve>),
}

impl Dns {
    /// hickory-resolver with the system configuration (`/etc/resolv.conf`
    /// on Unix); concurrent lookups of one name are joined and reported as
    /// `coalesced`.
    pub fn system() -> Self {
        Dns {
            source: DnsSource::Hickory(DnsServers::System),
        }
    }

    /// hickory-resolver sending lookups to these servers (UDP, then TCP).
    pub fn servers(servers: impl IntoIterator<Item = std::net::SocketAddr>) -> Self {
        Dns {
            source: DnsSource::Hickory(DnsServers::Custom(servers.into_iter().collect())),
        }
    }

    /// Your own resolver (service discovery, a cache), used as it is: each
    /// lookup it makes is reported from its call to its answer.
    pub fn resolver(resolver: impl reqwest::dns::Resolve + 'static) -> Self {
        Dns {
            source: DnsSource::Resolver(Arc::new(resolver)),
        }
    }
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            DnsSource::Hickory(servers) => f.debug_tuple("Dns::hickory").field(servers).finish(),
            DnsSource::Resolver(_) => f.write_str("Dns::resolver"),
        }
    }
}
