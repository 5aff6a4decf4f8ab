//! [`Config`]: what the traced client owns (DNS, TLS roots, redirects, the
//! trace made for every request).

use std::sync::Arc;

use super::{Error, RedirectPolicy};
use crate::MakeTrace;
use crate::transport::certs::Identity;
use crate::transport::dns::DnsServers;

/// What the traced client owns: DNS, TLS roots, redirects, and the trace
/// made for every request.
#[derive(Clone, Default)]
pub struct Config {
    pub(super) make_trace: Option<Arc<dyn MakeTrace>>,
    pub(super) redirect: RedirectPolicy,
    pub(super) extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub(super) no_built_in_roots: bool,
    pub(super) accept_invalid_certs: bool,
    pub(super) http1_only: bool,
    pub(super) identity: Identity,
    pub(super) dns: DnsServers,
    pub(super) no_referer: bool,
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

    /// Presents this client certificate to servers that ask for one
    /// (mutual TLS): the chain in PEM (leaf first) and its private key in
    /// PEM (PKCS#8, PKCS#1 or SEC1, not encrypted; may be the same input as
    /// the chain). reqwest's own `ClientBuilder::identity` is not seen by
    /// the traced transport (it owns the TLS configuration): set it here.
    pub fn client_auth_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let auth =
            crate::transport::certs::client_auth_pem(chain_pem, key_pem).map_err(Error::config)?;
        self.identity.client_auth = Some(auth);
        Ok(self)
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
            .field("client_auth", &self.identity.client_auth.is_some())
            .field("dns", &self.dns)
            .finish()
    }
}
