//! TLS: a rustls configuration whose certificate verifier and session store
//! report to the dial in progress, without changing what they decide.
//!
//! reqwest hides the TLS stream, so the handshake is observed through the
//! callbacks rustls makes while it runs on the dialling task: the session
//! store is first consulted while the ClientHello is built (handshake start,
//! which is also the moment TCP connected), the verifier sees the chain.

use std::sync::Arc;
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Resumption};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, NamedGroup, SignatureScheme};

use super::builder_settings::BuilderSettings;
use super::config::{Tls, TlsSource};
use super::connect::Dial;
use crate::transport::certs::{self, summarize};

/// A rustls configuration the transport observes.
pub(crate) struct ObservedTls {
    pub(crate) config: ClientConfig,
    /// Whether the verifier is ours (it reports the chain, and a handshake
    /// that verified none was resumed).
    pub(crate) verifier_observed: bool,
}

/// The configuration for [`Tls`]: built from its settings (the user's roots
/// and client certificate; `versions`, and SNI, invalid certificates and
/// `http1_only` carried over from the reqwest `builder`), our observers around the verifier and
/// the session store, ALPN for HTTP/2 and HTTP/1.1; or the user's own with
/// only its session store observed.
pub(crate) fn observed_config(
    tls: &Tls,
    versions: certs::Versions,
    builder: &BuilderSettings,
) -> Result<ObservedTls, rustls::Error> {
    let (mut config, verifier_observed) = match &tls.source {
        TlsSource::Platform(platform) => {
            let identity = certs::Identity {
                client_auth: platform.client_auth.clone(),
                versions,
                no_sni: builder.no_sni,
            };
            let config = certs::client_config(
                platform.extra_roots.clone(),
                !platform.no_built_in_roots,
                platform.accept_invalid_certs || builder.accept_invalid_certs,
                platform.http1_only || builder.http1_only,
                &identity,
                |inner| Arc::new(ObservingVerifier { inner }),
            )?;
            (config, true)
        }
        TlsSource::Rustls(config) => (ClientConfig::clone(config), false),
    };
    config.resumption = Resumption::store(Arc::new(ObservingSessionStore {
        inner: ClientSessionMemoryCache::new(256),
        random: config.crypto_provider().secure_random,
    }));
    Ok(ObservedTls {
        config,
        verifier_observed,
    })
}

/// Delegates every decision to the real verifier and tells the dial what it
/// saw. Never changes the outcome.
#[derive(Debug)]
struct ObservingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for ObservingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        Dial::with_current(|dial| {
            let chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|der| summarize(der))
                .collect();
            dial.tls_verified(chain, result.as_ref().err().map(|e| e.to_string()));
        });
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// rustls's in-memory session cache, plus a note to the dial: the first
/// lookup happens while the ClientHello is built, i.e. the connect is done
/// and the handshake starts.
#[derive(Debug)]
struct ObservingSessionStore {
    inner: ClientSessionMemoryCache,
    /// The configuration's generator, first drawn from just after this
    /// lookup: seeded here first, between the two stamps.
    random: &'static dyn rustls::crypto::SecureRandom,
}

impl ObservingSessionStore {
    fn hello(&self, server_name: &ServerName<'_>, resumable: bool) {
        let connected = Instant::now();
        certs::seed_random(self.random);
        Dial::with_current(|dial| {
            dial.tls_hello(connected, server_name.to_str().into_owned(), resumable)
        });
    }
}

impl ClientSessionStore for ObservingSessionStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(server_name, group)
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.hello(server_name, false);
        self.inner.kx_hint(server_name)
    }

    fn set_tls12_session(
        &self,
        server_name: ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.inner.set_tls12_session(server_name, value)
    }

    fn tls12_session(
        &self,
        server_name: &ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        let session = self.inner.tls12_session(server_name);
        self.hello(server_name, session.is_some());
        session
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.inner.remove_tls12_session(server_name)
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.inner.insert_tls13_ticket(server_name, value)
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        let ticket = self.inner.take_tls13_ticket(server_name);
        self.hello(server_name, ticket.is_some());
        ticket
    }
}
