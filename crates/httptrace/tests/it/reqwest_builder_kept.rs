//! Nothing the user set on their reqwest builder is lost: its TLS (a
//! private CA, a preconfigured rustls backend) and its resolver stay in
//! force by default, observed from outside reqwest's connector; the same
//! handed to `Config` gives exact DNS and TLS hooks; what cannot be kept is
//! refused with a message naming the setting.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::support::{Recorder, phases};
use httptrace::Event;
use httptrace::reqwest::{ClientBuilderExt as _, Config, Dns, RedirectPolicy, Tls};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;

/// A service-discovery resolver: knows `internal.test`, nothing else.
#[derive(Clone)]
struct Discovery(SocketAddr);

impl reqwest::dns::Resolve for Discovery {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let answer = (name.as_str() == "internal.test").then_some(self.0);
        Box::pin(async move {
            match answer {
                Some(addr) => Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs),
                None => Err("not in the registry".into()),
            }
        })
    }
}

/// An HTTPS server for `internal.test` signed by a private CA, which no
/// platform trusts.
fn internal_service() -> (TestCa, TestServer) {
    httptrace_testkit::init_crypto();
    let ca = TestCa::new();
    let server = TestServer::https(
        &ca.server_identity(&["internal.test"]),
        &[b"h2", b"http/1.1"],
    );
    (ca, server)
}

fn discovery(server: &TestServer) -> Discovery {
    Discovery(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        server.port(),
    ))
}

/// GETs `url` on `client` through `execute`, reporting to a new recorder.
async fn get(client: &reqwest::Client, url: &str) -> (reqwest::Response, Recorder) {
    let rec = Recorder::new();
    let request = client.get(url).build().unwrap();
    let response = rec
        .trace()
        .scope(httptrace::reqwest::execute(client, request))
        .await
        .expect("the request the builder was set up for succeeds");
    (response, rec)
}

/// The dial as one connect phase: no DNS or TLS hooks, the address known.
fn assert_one_connect_phase(rec: &Recorder, server: &TestServer) {
    let names = phases(&rec.names());
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("dns_") || n.starts_with("tls_")),
        "{names:?}"
    );
    let connect = names.iter().position(|n| *n == "connect_start").unwrap();
    assert_eq!(names[connect + 1], "connect_done", "{names:?}");
    let addrs = rec.find(|e| match e {
        Event::ConnectDone(c) => Some((c.addr, c.error.is_none())),
        _ => None,
    });
    assert_eq!(addrs, [(Some(server.addr()), true)]);
    rec.assert_monotonic();
}

#[tokio::test]
async fn a_private_ca_and_a_resolver_on_the_builder_are_kept() {
    let (ca, server) = internal_service();
    let url = server.url_with_host("internal.test", "/");
    let builder = || {
        reqwest::Client::builder()
            .no_proxy()
            .add_root_certificate(reqwest::Certificate::from_der(&ca.cert_der()).unwrap())
            .dns_resolver(discovery(&server))
    };
    let client = builder().instrument(&Config::new()).unwrap();
    let (response, rec) = get(&client, &url).await;
    assert_eq!(response.status(), 200);
    assert_one_connect_phase(&rec, &server);

    // The traced client keeps them too.
    let client = builder().traced().unwrap();
    let rec = Recorder::new();
    let response = client.get(&url).trace(rec.trace()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_one_connect_phase(&rec, &server);
}

#[tokio::test]
async fn a_preconfigured_rustls_backend_on_the_builder_is_kept() {
    let (ca, server) = internal_service();
    let url = server.url_with_host("internal.test", "/");
    let tls = ca.rustls_client_config(&[b"http/1.1"]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls))
        .resolve("internal.test", server.addr())
        .instrument(&Config::new())
        .unwrap();
    let (response, rec) = get(&client, &url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11, "its ALPN");
    assert_one_connect_phase(&rec, &server);
    // Nothing was added to the responses either (tls_info stays off).
    assert!(
        response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .is_none()
    );
}

/// DNS, connect and TLS apart, in order, with the chain the verifier saw.
fn assert_exact_phases(rec: &Recorder, chain_len: usize) {
    let names = phases(&rec.names());
    let at = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("no {name} in {names:?}"))
    };
    assert!(at("dns_start") < at("dns_done"), "{names:?}");
    assert!(at("dns_done") < at("connect_start"), "{names:?}");
    assert!(at("connect_start") < at("connect_done"), "{names:?}");
    assert!(at("connect_done") < at("tls_handshake_start"), "{names:?}");
    assert!(
        at("tls_handshake_start") < at("tls_handshake_done"),
        "{names:?}"
    );
    let dns = rec.find(|e| match e {
        Event::DnsDone(d) => Some((d.host.clone(), d.addrs.clone())),
        _ => None,
    });
    assert_eq!(
        dns,
        [(
            "internal.test".to_string(),
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        )]
    );
    let tls = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => t.state.clone(),
        _ => None,
    });
    assert_eq!(tls.len(), 1, "{names:?}");
    assert_eq!(tls[0].peer_certificates.len(), chain_len);
    assert!(
        tls[0].peer_certificates[0]
            .subject
            .contains("internal.test"),
        "{:?}",
        tls[0].peer_certificates[0]
    );
    assert!(tls[0].version.is_some());
    rec.assert_monotonic();
}

#[tokio::test]
async fn the_same_handed_to_config_gives_exact_dns_and_tls_hooks() {
    let (ca, server) = internal_service();
    let url = server.url_with_host("internal.test", "/");

    // The private CA through Tls::platform, the resolver through Dns::resolver.
    let instrumented = |tls: Tls| {
        let config = Config::new()
            .tls(tls)
            .dns(Dns::resolver(discovery(&server)));
        reqwest::Client::builder()
            .no_proxy()
            .instrument(&config)
            .unwrap()
    };
    let client = instrumented(Tls::platform().root_certificate_der(ca.cert_der().to_vec()));
    let (response, rec) = get(&client, &url).await;
    assert_eq!(response.status(), 200);
    // Our verifier sees the whole chain the server sent (its leaf only here).
    assert_exact_phases(&rec, 1);

    // The user's own rustls configuration, its ALPN kept.
    let tls = ca.rustls_client_config(&[b"http/1.1"]);
    let client = instrumented(Tls::rustls(rustls::ClientConfig::clone(&tls)));
    let (response, rec) = get(&client, &url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11, "its ALPN");
    assert_exact_phases(&rec, 1);

    // A name the user's resolver does not know fails as it would without
    // tracing, and the lookup is reported with its error.
    let rec = Recorder::new();
    let request = client.get("https://elsewhere.test/").build().unwrap();
    rec.trace()
        .scope(httptrace::reqwest::execute(&client, request))
        .await
        .unwrap_err();
    let failed = rec.find(|e| match e {
        Event::DnsDone(d) => d.error.as_ref().map(|e| e.message().to_string()),
        _ => None,
    });
    assert_eq!(failed.len(), 1, "{:?}", rec.names());
    assert!(failed[0].contains("not in the registry"), "{failed:?}");
}

fn build_error(result: Result<impl std::fmt::Debug, httptrace::reqwest::Error>) -> String {
    result.expect_err("refused").to_string()
}

#[tokio::test]
async fn what_cannot_be_kept_is_refused_with_its_setting_named() {
    let (ca, _server) = internal_service();
    let user_tls = || rustls::ClientConfig::clone(&ca.rustls_client_config(&[b"http/1.1"]));
    let owned = Config::new().tls(Tls::platform());

    let err = build_error(
        reqwest::Client::builder()
            .tls_backend_preconfigured(user_tls())
            .instrument(&owned),
    );
    assert!(
        err.contains("preconfigured TLS backend") && err.contains("Tls::rustls"),
        "{err}"
    );
    let err = build_error(
        reqwest::Client::builder()
            .tls_danger_accept_invalid_hostnames(true)
            .traced_with(owned.clone()),
    );
    assert!(err.contains("tls_danger_accept_invalid_hostnames"), "{err}");
    let err = build_error(
        reqwest::Client::builder()
            .tls_version_min(reqwest::tls::Version::TLS_1_3)
            .instrument(&Config::new().tls(Tls::rustls(user_tls()))),
    );
    assert!(err.contains("set them there"), "{err}");
    let err = build_error(reqwest::Client::builder().instrument(
        &Config::new().tls(Tls::rustls(user_tls()).root_certificate_der(ca.cert_der().to_vec())),
    ));
    assert!(
        err.contains("Tls::root_certificate_der on Tls::rustls"),
        "{err}"
    );
    let err = build_error(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .traced(),
    );
    assert!(err.contains("Config::redirect"), "{err}");
    let err = build_error(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .instrument(&Config::new().redirect(RedirectPolicy::limited(2))),
    );
    assert!(
        err.contains("both on the reqwest builder and with"),
        "{err}"
    );

    // Without Config::tls the same builders are kept as they are.
    for builder in [
        reqwest::Client::builder().tls_backend_preconfigured(user_tls()),
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()),
    ] {
        builder.instrument(&Config::new()).unwrap();
    }
    // reqwest's own verdict on its own settings stands, word for word.
    let hostnames = || reqwest::Client::builder().tls_danger_accept_invalid_hostnames(true);
    assert_eq!(
        build_error(hostnames().instrument(&Config::new())),
        build_error(hostnames().build().map_err(httptrace::reqwest::Error::from)),
    );
}

#[tokio::test]
async fn a_builders_own_redirect_policy_is_kept_by_instrument() {
    let server = TestServer::http();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .instrument(&Config::new())
        .unwrap();
    let (response, _) = get(&client, &server.url("/redirect/1")).await;
    assert_eq!(response.status(), 302, "the builder's policy follows none");
}

#[test]
fn config_says_what_it_owns() {
    let shown = format!(
        "{:?}",
        Config::new()
            .tls(Tls::platform())
            .dns(Dns::resolver(Discovery(([127, 0, 0, 1], 1).into())))
    );
    assert!(
        shown.contains("Tls::platform") && shown.contains("Dns::resolver"),
        "{shown}"
    );
}
