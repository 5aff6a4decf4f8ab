//! Certificates: the verifier a transport trusts (platform roots plus extra
//! ones, only extra ones, or, on explicit request, any), and the summary of a
//! certificate that hooks report.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::SignatureScheme;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::event::CertificateSummary;

/// The generators seeded so far in this process, by address (one or two).
static SEEDED: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

fn generator_id(random: &'static dyn rustls::crypto::SecureRandom) -> usize {
    random as *const dyn rustls::crypto::SecureRandom as *const () as usize
}

/// Draws once from `random` the first time a handshake in this process uses
/// it, and returns when it is ready. With aws-lc the first draw seeds its
/// generator from CPU jitter, about 30 ms (measured 32 ms here) of
/// computation and no network: the transports call this after the connect
/// and before they stamp `tls_handshake_start`, so that whatever is left of
/// that wait is a gap between the two phases rather than part of either. A
/// process that never makes a TLS handshake never pays it (httpstat on a
/// plain-HTTP URL, a service whose upstreams are all `http://`).
pub(crate) fn seed_random(random: &'static dyn rustls::crypto::SecureRandom) {
    let id = generator_id(random);
    // Held while seeding: a handshake that needs the generator waits here
    // for a seeding already under way (`start_seeding`).
    let mut seeded = SEEDED.lock().unwrap_or_else(|p| p.into_inner());
    if !seeded.contains(&id) {
        // A failure here fails the handshake too, and is reported there.
        let _ = random.fill(&mut [0u8; 1]);
        seeded.push(id);
    }
}

/// Starts seeding `random` on a thread of its own, when a dial that will
/// need TLS begins: the seeding then overlaps the dial's DNS lookup and
/// connect (tens of milliseconds to a remote host; the handshake waits in
/// [`seed_random`] only for what is left). Once per generator and process.
pub(crate) fn start_seeding(random: &'static dyn rustls::crypto::SecureRandom) {
    static STARTED: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
    let id = generator_id(random);
    let mut started = STARTED.lock().unwrap_or_else(|p| p.into_inner());
    if started.contains(&id) {
        return;
    }
    started.push(id);
    drop(started);
    // Without a thread, the handshake seeds inline, as before.
    let _ = std::thread::Builder::new()
        .name("httptrace-tls-seed".into())
        .spawn(move || seed_random(random));
}

/// The TLS client configuration both transports use: aws-lc (its generator
/// seeded at the first handshake, see [`seed_random`]), the TLS
/// versions and client certificate of `identity`, the verifier for these roots (passed through `observe`, which
/// may wrap it but must delegate every decision), and ALPN for HTTP/2 and
/// HTTP/1.1, or HTTP/1.1 only.
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
    built_in_roots: bool,
    accept_invalid: bool,
    http1_only: bool,
    identity: &Identity,
    observe: impl FnOnce(Arc<dyn ServerCertVerifier>) -> Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = verifier(extra_roots, built_in_roots, accept_invalid, &provider)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(identity.versions.protocols())?
        .dangerous()
        .with_custom_certificate_verifier(observe(verifier));
    let mut config = match &identity.client_auth {
        Some(auth) => builder.with_client_auth_cert(auth.chain.clone(), auth.key.clone_key())?,
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = !identity.no_sni;
    config.alpn_protocols = if http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// The verifier for these roots. Never weaker than asked: `accept_invalid`
/// is only ever the user's explicit choice.
fn verifier(
    extra_roots: Vec<CertificateDer<'static>>,
    built_in_roots: bool,
    accept_invalid: bool,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, rustls::Error> {
    Ok(if accept_invalid {
        Arc::new(AcceptAnyCert(provider.clone()))
    } else if built_in_roots {
        // The same platform verifier reqwest uses by default.
        Arc::new(rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra_roots,
            provider.clone(),
        )?)
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for root in extra_roots {
            roots.add(root)?;
        }
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?
    })
}

/// `--insecure`: accepts any certificate but still checks handshake
/// signatures. Only built when the user asks for it explicitly.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Subject, issuer, names and validity of a DER certificate; an unparsable
/// certificate gives an empty summary rather than an error (the verifier
/// decides about validity, not us).
pub(crate) fn summarize(der: &[u8]) -> CertificateSummary {
    use x509_parser::prelude::*;
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return CertificateSummary::default();
    };
    let mut summary = CertificateSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        subject_alt_names: Vec::new(),
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => summary.subject_alt_names.push((*n).to_string()),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => summary.subject_alt_names.push(
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default())
                            .to_string(),
                    ),
                    16 => summary.subject_alt_names.push(
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default())
                            .to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    summary
}

/// What the client itself brings to a handshake, beyond what it trusts:
/// a certificate for servers that ask for one (mutual TLS), the versions
/// it speaks, whether it sends SNI.
#[derive(Clone, Debug, Default)]
pub(crate) struct Identity {
    pub(crate) client_auth: Option<ClientAuth>,
    pub(crate) versions: Versions,
    pub(crate) no_sni: bool,
}

/// The TLS versions offered. rustls speaks 1.2 and 1.3 only; an older
/// minimum is met by offering these (never weaker than asked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
// Only the reqwest transport reads versions from its builder so far.
#[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
pub(crate) enum Versions {
    /// TLS 1.2 and 1.3.
    #[default]
    Both,
    /// TLS 1.3 only (a minimum of 1.3).
    Tls13,
    /// TLS 1.2 only (a maximum of 1.2).
    Tls12,
}

impl Versions {
    fn protocols(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static TLS13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        static TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        match self {
            Versions::Both => rustls::DEFAULT_VERSIONS,
            Versions::Tls13 => &TLS13,
            Versions::Tls12 => &TLS12,
        }
    }
}

/// A client certificate chain and its private key (mutual TLS). Its Debug
/// form never shows the key.
pub(crate) struct ClientAuth {
    chain: Vec<CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl Clone for ClientAuth {
    fn clone(&self) -> Self {
        ClientAuth {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// A client certificate from PEM: the chain (leaf first) and its private
/// key (PKCS#8, PKCS#1 or SEC1; not encrypted), which may be in the same
/// input. Errors name what is missing, never the key's bytes.
pub(crate) fn client_auth_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<ClientAuth, String> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM certificate: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate found in the client certificate PEM".to_string());
    }
    if is_encrypted_key(key_pem) {
        return Err(
            "the private key is encrypted and encrypted keys are not supported; \
                    decrypt it first, e.g. openssl pkey -in KEY -out PLAIN"
                .to_string(),
        );
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "no private key found in the key PEM".to_string()
        }
        other => format!("bad PEM private key: {other}"),
    })?;
    Ok(ClientAuth { chain, key })
}

/// An encrypted key in either PEM form: PKCS#8 (`ENCRYPTED PRIVATE KEY`)
/// or the legacy OpenSSL one (`Proc-Type: 4,ENCRYPTED` headers), which
/// would otherwise read as no key or as bad base64.
fn is_encrypted_key(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
}

/// Every certificate of a PEM bundle, for trusting as roots; an unreadable
/// or certificate-less bundle is an error.
pub(crate) fn pem_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let roots = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM certificate: {e}"))?;
    if roots.is_empty() {
        return Err("no certificate found in PEM input".to_string());
    }
    Ok(roots)
}
