//! Transparency: for each bad input a traced request fails exactly as plain
//! reqwest does (same error kind), and the hooks report the failure at the
//! phase where it happened.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::{Recorder, kind_of};
use httptrace::reqwest::{ClientBuilderExt, Config, Tls};
use httptrace::{BodyOutcome, ErrorKind, Event};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::{TestServer, refused_addr};
use httptrace_testkit::tls::TestCa;

fn traced_kind(e: &httptrace::reqwest::Error) -> [bool; 7] {
    [
        e.is_builder(),
        e.is_connect(),
        e.is_timeout(),
        e.is_request(),
        e.is_body(),
        e.is_decode(),
        e.is_redirect(),
    ]
}

/// Sends a GET through a traced client made with `config`, expecting it to
/// fail; returns the error and what the hooks saw.
async fn traced_failure(config: Config, url: &str) -> (httptrace::reqwest::Error, Recorder) {
    let rec = Recorder::new();
    let error = reqwest::Client::builder()
        .traced_with(config)
        .unwrap()
        .get(url)
        .trace(rec.trace())
        .send()
        .await
        .unwrap_err();
    (error, rec)
}

fn first_error(rec: &Recorder, hook: &str) -> httptrace::HookError {
    rec.events()
        .iter()
        .find(|e| e.name() == hook)
        .and_then(|e| e.error().cloned())
        .unwrap_or_else(|| panic!("no {hook} with an error in {:?}", rec.names()))
}

#[tokio::test]
async fn malformed_url_fails_as_a_builder_error() {
    let plain = reqwest::Client::new()
        .get("http://[::1")
        .send()
        .await
        .unwrap_err();
    let (traced, rec) = traced_failure(Config::new(), "http://[::1").await;
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    assert!(traced.is_builder());
    assert!(rec.events().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn unknown_host_fails_as_connect_error_reported_on_dns_done() {
    let dns = DnsServer::start(DnsConfig::new()).unwrap();
    let url = "http://no-such-host.test:1/";
    // Plain reqwest with its default resolver: the name does not exist there either.
    let plain = reqwest::Client::new().get(url).send().await.unwrap_err();
    let (traced, rec) = traced_failure(Config::new().dns_server(dns.addr()), url).await;
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    assert_eq!(
        first_error(&rec, "dns_done").kind(),
        ErrorKind::HostNotFound
    );
    assert!(!rec.names().contains(&"connect_start"), "{:?}", rec.names());
    assert_eq!(
        first_error(&rec, "round_trip_done").kind(),
        ErrorKind::HostNotFound
    );
}

#[tokio::test]
async fn refused_connection_is_reported_on_connect_done() {
    let url = format!("http://{}/", refused_addr());
    let plain = reqwest::Client::new().get(&url).send().await.unwrap_err();
    let (traced, rec) = traced_failure(Config::new(), &url).await;
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    assert!(traced.is_connect());
    assert_eq!(
        first_error(&rec, "connect_done").kind(),
        ErrorKind::ConnectionRefused
    );
    assert_eq!(
        first_error(&rec, "round_trip_done").kind(),
        ErrorKind::ConnectionRefused
    );
}

#[tokio::test]
async fn untrusted_and_wrong_host_certificates_are_reported_on_tls_done() {
    let ca = TestCa::new();
    let dns = DnsServer::start(
        DnsConfig::new()
            .record("good.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .record("wrong.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]),
    )
    .unwrap();
    let server = TestServer::https(&ca.server_identity(&["good.test"]), &[b"h2", b"http/1.1"]);
    // Untrusted: the CA is not given to either client.
    let url = server.url_with_host("good.test", "/");
    let plain = reqwest::Client::builder()
        .resolve("good.test", server.addr())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap_err();
    let (traced, rec) = traced_failure(
        Config::new().dns_server(dns.addr()).tls(Tls::platform()),
        &url,
    )
    .await;
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    let tls = first_error(&rec, "tls_handshake_done");
    assert_eq!(tls.kind(), ErrorKind::Certificate, "{tls}");
    let done = first_error(&rec, "round_trip_done");
    assert_eq!(done.kind(), ErrorKind::Certificate, "{done}");
    assert!(rec.names().contains(&"connect_done"));
    assert!(
        rec.find(|e| match e {
            Event::ConnectDone(c) => Some(c.error.is_none()),
            _ => None,
        })[0],
        "TCP connected; TLS failed"
    );

    // Wrong host: trusted CA, but the certificate does not name the host.
    let url = server.url_with_host("wrong.test", "/");
    let plain = reqwest::Client::builder()
        .resolve("wrong.test", server.addr())
        .add_root_certificate(reqwest::Certificate::from_der(&ca.cert_der()).unwrap())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap_err();
    let (traced, rec) = traced_failure(
        Config::new()
            .dns_server(dns.addr())
            .tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        &url,
    )
    .await;
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    assert_eq!(
        first_error(&rec, "tls_handshake_done").kind(),
        ErrorKind::Certificate
    );
}

#[tokio::test]
async fn timeout_fails_as_timeout() {
    let server = TestServer::stall();
    let url = format!("http://{}/", server.addr());
    let timeout = Duration::from_millis(200);
    let plain = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap_err();
    let rec = Recorder::new();
    let traced = reqwest::Client::builder()
        .timeout(timeout)
        .traced()
        .unwrap()
        .get(&url)
        .trace(rec.trace())
        .send()
        .await
        .unwrap_err();
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    assert!(traced.is_timeout());
    let events = rec.events();
    let start = events[0].at();
    let done = events
        .iter()
        .find(|e| e.name() == "round_trip_done")
        .unwrap();
    assert!(done.at() - start >= timeout);
    assert_eq!(done.error().unwrap().kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn reset_mid_body_is_reported_on_body_done() {
    let server = TestServer::raw_reset_mid_body();
    let url = format!("http://{}/", server.addr());
    let plain_response = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(plain_response.status(), 200);
    let plain = plain_response.bytes().await.unwrap_err();
    let rec = Recorder::new();
    let response = reqwest::Client::builder()
        .traced()
        .unwrap()
        .get(&url)
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let traced = response.bytes().await.unwrap_err();
    assert_eq!(kind_of(&traced), kind_of(&plain));
    let body = rec.find(|e| match e {
        Event::BodyDone(b) => Some(b.clone()),
        _ => None,
    });
    assert_eq!(body.len(), 1);
    assert!(
        body[0].bytes >= 1000 && body[0].bytes < 100_000,
        "{}",
        body[0].bytes
    );
    match &body[0].outcome {
        BodyOutcome::Failed(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        other => panic!("expected a failed body, got {other:?}"),
    }
}

#[tokio::test]
async fn traced_responses_match_plain_ones() {
    let server = TestServer::http();
    let traced = reqwest::Client::builder().traced().unwrap();
    let plain = reqwest::Client::new();
    for path in [
        "/",
        "/status/404",
        "/status/503",
        "/bytes/70000",
        "/redirect/2",
    ] {
        let a = plain.get(server.url(path)).send().await.unwrap();
        let b = traced.get(server.url(path)).send().await.unwrap();
        assert_eq!(a.status(), b.status(), "{path}");
        assert_eq!(a.version(), b.version(), "{path}");
        assert_eq!(a.url(), b.url(), "{path}");
        let strip = |h: &http::HeaderMap| {
            let mut h = h.clone();
            h.remove("date");
            h.remove("x-served-by-conn");
            h
        };
        assert_eq!(strip(a.headers()), strip(b.headers()), "{path}");
        assert_eq!(a.bytes().await.unwrap(), b.bytes().await.unwrap(), "{path}");
    }
}

#[tokio::test]
async fn garbage_from_the_server_fails_like_plain_reqwest_without_panicking() {
    let server = TestServer::raw_garbage();
    let url = server.url("/");
    let plain = reqwest::Client::new().get(&url).send().await.unwrap_err();
    let (traced, rec) = traced_failure(Config::new(), &url).await;
    assert_eq!(traced_kind(&traced), kind_of(&plain));
    assert_eq!(
        first_error(&rec, "round_trip_done").kind(),
        ErrorKind::Protocol
    );
}

/// A server whose `/first` redirects to `location`, and whose other paths
/// answer 200 with the request's `authorization` header (or `none`).
fn redirecting_to(location: impl Fn(u16) -> String + Send + Sync + 'static) -> TestServer {
    use std::sync::{Arc, OnceLock};
    let port = Arc::new(OnceLock::<u16>::new());
    let port_in = port.clone();
    let server = TestServer::http_with_handler(move |req| {
        let location = if req.uri().path() == "/first" {
            Some(location(*port_in.get().unwrap()))
        } else {
            None
        };
        let auth = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "none".into());
        async move {
            match location {
                Some(to) => http::Response::builder()
                    .status(302)
                    .header(http::header::LOCATION, to)
                    .body(httptrace_testkit::http::full_body(""))
                    .unwrap(),
                None => http::Response::new(httptrace_testkit::http::full_body(auth)),
            }
        }
    });
    port.set(server.port()).unwrap();
    server
}

#[tokio::test]
async fn credentials_in_a_servers_location_are_never_sent() {
    let server = redirecting_to(|port| format!("http://user:pass@127.0.0.1:{port}/second"));
    let rec = Recorder::new();
    let response = reqwest::Client::builder()
        .traced()
        .unwrap()
        .get(server.url("/first"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.url().as_str(),
        server.url("/second"),
        "no userinfo"
    );
    assert_eq!(response.text().await.unwrap(), "none", "no Authorization");
}

#[tokio::test]
async fn a_location_too_long_for_a_request_target_returns_the_redirect_as_plain_reqwest_does() {
    let server = redirecting_to(|_| format!("/{}", "a".repeat(100_000)));
    let plain = reqwest::Client::new()
        .get(server.url("/first"))
        .send()
        .await
        .unwrap();
    let rec = Recorder::new();
    let traced = reqwest::Client::builder()
        .traced()
        .unwrap()
        .get(server.url("/first"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(traced.status(), plain.status());
    assert_eq!(traced.status(), 302);
    let done = rec
        .names()
        .iter()
        .filter(|n| **n == "round_trip_done")
        .count();
    assert_eq!(done, 1, "one hop: {:?}", rec.names());
}
