//! What the client brings to a handshake: a client certificate for servers
//! that require one (mutual TLS), on both transports, and the TLS settings
//! of a reqwest builder carried over by `instrument` (versions never weaker
//! than the builder said).

use std::net::{IpAddr, Ipv4Addr};

use crate::support::Recorder;
use httptrace::{ErrorKind, Event};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::{TestCa, rustls_server_config_with_client_auth};

struct MtlsServer {
    ca: TestCa,
    clients: TestCa,
    server: TestServer,
    dns: DnsServer,
}

fn mtls_server() -> MtlsServer {
    let ca = TestCa::new();
    let clients = TestCa::new();
    let config = rustls_server_config_with_client_auth(
        &ca.server_identity(&["mtls.test"]),
        &[b"http/1.1"],
        &clients,
    );
    let server = TestServer::https_with_config(config);
    let dns =
        DnsServer::start(DnsConfig::new().record("mtls.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
    MtlsServer {
        ca,
        clients,
        server,
        dns,
    }
}

fn tls_outcome(rec: &Recorder) -> Vec<Result<Option<String>, ErrorKind>> {
    rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => Some(match &t.error {
            Some(err) => Err(err.kind()),
            None => Ok(t.state.as_ref().and_then(|s| s.version.clone())),
        }),
        _ => None,
    })
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_presents_the_client_certificate_the_config_names() {
    use httptrace::reqwest::{ClientBuilderExt as _, Config, Tls};
    let s = mtls_server();
    let url = s.server.url_with_host("mtls.test", "/");
    let me = s.clients.client_identity("me");
    let tls = || {
        Tls::platform()
            .root_certificates_pem(s.ca.cert_pem().as_bytes())
            .unwrap()
    };
    let base = || Config::new().dns_server(s.dns.addr()).tls(tls());

    // Without a certificate the server refuses it (with TLS 1.3 after the
    // client's side of the handshake is done: the request fails).
    let client = reqwest::Client::builder().traced_with(base()).unwrap();
    let rec = Recorder::new();
    client
        .get(&url)
        .trace(rec.trace())
        .send()
        .await
        .unwrap_err();

    // With one, the request goes through; chain and key from one PEM input
    // as curl allows, or from two.
    let both = format!("{}{}", me.cert_pem(), me.key_pem());
    for (chain, key) in [(me.cert_pem(), me.key_pem()), (both.clone(), both.clone())] {
        let client = reqwest::Client::builder()
            .traced_with(
                Config::new().dns_server(s.dns.addr()).tls(
                    tls()
                        .client_auth_pem(chain.as_bytes(), key.as_bytes())
                        .unwrap(),
                ),
            )
            .unwrap();
        let rec = Recorder::new();
        let response = client.get(&url).trace(rec.trace()).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            matches!(tls_outcome(&rec)[..], [Ok(Some(_))]),
            "{:?}",
            tls_outcome(&rec)
        );
    }

    // Bad input is a configuration error that never shows the key.
    let err = Tls::platform()
        .client_auth_pem(me.cert_pem().as_bytes(), b"not a key")
        .unwrap_err()
        .to_string();
    assert!(err.contains("private key"), "{err}");
    let err = Tls::platform()
        .client_auth_pem(b"", me.key_pem().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("certificate"), "{err}");
    assert!(!err.contains(&me.key_pem()[40..80]));
    // Encrypted keys, in both PEM forms, say so (not "no key", not base64).
    for encrypted in [
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
         DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nMIIB\n\
         -----END RSA PRIVATE KEY-----\n",
    ] {
        let err = Tls::platform()
            .client_auth_pem(me.cert_pem().as_bytes(), encrypted.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("private key is encrypted"), "{err}");
    }
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper_presents_the_client_certificate_the_builder_names() {
    use bytes::Bytes;
    use http_body_util::{BodyExt as _, Empty};
    use httptrace::hyper::Client;
    let s = mtls_server();
    let url = s.server.url_with_host("mtls.test", "/");
    let get = || {
        http::Request::get(url.as_str())
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let base = || {
        Client::builder()
            .dns_server(s.dns.addr())
            .root_certificate_der(s.ca.cert_der().to_vec())
    };

    let client = base().build::<Empty<Bytes>>().unwrap();
    let rec = Recorder::new();
    client.request_traced(get(), rec.trace()).await.unwrap_err();

    let me = s.clients.client_identity("me");
    let client = base()
        .client_auth_pem(me.cert_pem().as_bytes(), me.key_pem().as_bytes())
        .unwrap()
        .build::<Empty<Bytes>>()
        .unwrap();
    let rec = Recorder::new();
    let response = client.request_traced(get(), rec.trace()).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap();
    assert!(
        matches!(tls_outcome(&rec)[..], [Ok(Some(_))]),
        "{:?}",
        tls_outcome(&rec)
    );
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn instrument_keeps_the_builders_tls_versions() {
    use httptrace::reqwest::{ClientBuilderExt as _, Config, Tls};
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["v.test"]), &[b"http/1.1"]);
    let dns =
        DnsServer::start(DnsConfig::new().record("v.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
    let url = server.url_with_host("v.test", "/");
    let config = Config::new().dns_server(dns.addr()).tls(
        Tls::platform()
            .root_certificates_pem(ca.cert_pem().as_bytes())
            .unwrap(),
    );
    for (builder, want) in [
        (reqwest::Client::builder(), "TLSv1.3"),
        (
            reqwest::Client::builder().tls_version_max(reqwest::tls::Version::TLS_1_2),
            "TLSv1.2",
        ),
        (
            reqwest::Client::builder().tls_version_min(reqwest::tls::Version::TLS_1_3),
            "TLSv1.3",
        ),
    ] {
        let client = builder.instrument(&config).unwrap();
        let rec = Recorder::new();
        let request = client.get(&url).build().unwrap();
        let response = rec
            .trace()
            .scope(httptrace::reqwest::execute(&client, request))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(tls_outcome(&rec), [Ok(Some(want.to_string()))]);
    }
    // A maximum rustls cannot meet is refused, not silently raised.
    assert!(
        reqwest::Client::builder()
            .tls_version_max(reqwest::tls::Version::TLS_1_1)
            .instrument(&config)
            .is_err()
    );
}
