//! Throw-away certificate authorities and server identities generated at test time.
//!
//! ```no_run
//! use httptrace_testkit::tls::{TestCa, rustls_server_config};
//!
//! let ca = TestCa::new();
//! let identity = ca.server_identity(&["localhost", "127.0.0.1"]);
//! let server_config = rustls_server_config(&identity, &[b"h2", b"http/1.1"]);
//! // Trust `ca.cert_der()` in the client under test.
//! # let _ = server_config;
//! ```
//!
//! A second, independent CA (for "untrusted certificate" tests) is simply another
//! [`TestCa::new()`].
//!
//! All rustls configurations built here use the aws-lc-rs provider explicitly; nothing
//! relies on (or installs) a process-wide default provider.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The crypto provider used for every rustls config built by this crate (aws-lc-rs).
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

static CA_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A certificate authority generated at test time (ECDSA P-256).
///
/// Every call to [`TestCa::new`] creates a brand-new, independent CA: certificates issued by
/// one `TestCa` are *not* trusted by a client that only trusts another.
pub struct TestCa {
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa")
            .field("cert_der_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    /// Generates a new self-signed CA certificate and key.
    ///
    /// # Panics
    /// Only if key generation / signing fails, which does not happen with the built-in
    /// parameters.
    pub fn new() -> TestCa {
        let n = CA_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut params =
            CertificateParams::new(Vec::<String>::new()).expect("empty SAN list is always valid");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            DnType::CommonName,
            format!("httptrace-testkit CA {n} (pid {})", std::process::id()),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationName, "httptrace-testkit");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("generate CA key");
        let cert = params.self_signed(&key).expect("self-sign CA certificate");
        TestCa {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate in DER form (e.g. for `reqwest::Certificate::from_der`).
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// The CA certificate in PEM form (e.g. for `reqwest::Certificate::from_pem`).
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// A rustls root store containing only this CA.
    pub fn root_store(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.cert_der())
            .expect("generated CA certificate is valid");
        roots
    }

    /// A rustls client config (aws-lc-rs provider) that trusts only this CA and offers `alpn`.
    pub fn rustls_client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports the default protocol versions")
            .with_root_certificates(self.root_store())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// Issues a leaf (server) certificate signed by this CA.
    ///
    /// Each entry of `names` becomes a subject alternative name: an IP SAN when it parses as
    /// an IP address (`"127.0.0.1"`, `"::1"`), a DNS SAN otherwise (`"localhost"`,
    /// `"*.example.test"`). The first name is also used as the subject common name.
    ///
    /// # Panics
    /// If a name is not a valid DNS name / IP address (e.g. contains spaces).
    pub fn server_identity(&self, names: &[&str]) -> ServerIdentity {
        let sans: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).expect("valid SAN names");
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, names.iter().map(|s| s.to_string()).collect())
    }

    /// Signs a leaf certificate with a fresh key.
    fn issue(&self, params: CertificateParams, names: Vec<String>) -> ServerIdentity {
        let key = KeyPair::generate().expect("generate leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign leaf certificate");
        ServerIdentity {
            cert_chain: vec![cert.der().clone()],
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
            names,
        }
    }

    /// Issues a client certificate (extended key usage `clientAuth`) for
    /// mutual TLS, subject common name `name`.
    pub fn client_identity(&self, name: &str) -> ServerIdentity {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SAN");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, vec![name.to_string()])
    }
}

/// A leaf certificate chain plus its private key, as issued by [`TestCa::server_identity`].
#[derive(Clone)]
pub struct ServerIdentity {
    cert_chain: Vec<CertificateDer<'static>>,
    cert_pem: String,
    key_der: Vec<u8>,
    key_pem: String,
    names: Vec<String>,
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// The certificate chain presented by the server (currently just the leaf; the CA root is
    /// not included, as real servers do not send it).
    pub fn cert_chain(&self) -> Vec<CertificateDer<'static>> {
        self.cert_chain.clone()
    }

    /// The leaf certificate in DER form.
    pub fn leaf_der(&self) -> CertificateDer<'static> {
        self.cert_chain[0].clone()
    }

    /// The leaf certificate in PEM form.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The private key (PKCS#8).
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// The private key (PKCS#8) in PEM form.
    pub fn key_pem(&self) -> String {
        self.key_pem.clone()
    }

    /// The names the certificate was issued for.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Builds a rustls server config (aws-lc-rs provider, TLS 1.2 + 1.3, no client auth) serving
/// `identity` and offering the ALPN protocols `alpn` in order of preference
/// (e.g. `&[b"h2", b"http/1.1"]`; empty = no ALPN).
pub fn rustls_server_config(
    identity: &ServerIdentity,
    alpn: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(identity.cert_chain(), identity.key_der())
        .expect("generated certificate and key match");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Like [`rustls_server_config`], but the server requires a client
/// certificate issued by `clients` (mutual TLS): a handshake without one
/// fails.
pub fn rustls_server_config_with_client_auth(
    identity: &ServerIdentity,
    alpn: &[&[u8]],
    clients: &TestCa,
) -> Arc<rustls::ServerConfig> {
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(clients.root_store()),
        crypto_provider(),
    )
    .build()
    .expect("client verifier");
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.cert_chain(), identity.key_der())
        .expect("generated certificate and key match");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}
