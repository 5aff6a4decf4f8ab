//! The reqwest transport against real local servers: plain HTTP/1.1, HTTPS
//! with HTTP/2 by ALPN, a real DNS server with an injected delay, keep-alive,
//! redirects, and per-request attribution under concurrency.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::{Recorder, phases};
use httptrace::reqwest::{ClientBuilderExt, Config, RedirectPolicy, Tls};
use httptrace::{BodyOutcome, ClientTrace, ErrorKind, Event};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::hooks::HTTPS_NEW_CONNECTION;
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn client() -> httptrace::reqwest::Client {
    reqwest::Client::builder().traced().expect("client")
}

#[tokio::test]
async fn plain_http_reports_every_phase_in_order() {
    let server = TestServer::http();
    let rec = Recorder::new();
    let response = client()
        .get(server.url("/"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "hello");

    assert_eq!(
        phases(&rec.names()),
        [
            "round_trip_start",
            "get_conn",
            "connect_start",
            "connect_done",
            "got_conn",
            "wrote_headers",
            "wrote_request",
            "got_first_response_byte",
            "round_trip_done",
            "body_done",
            "put_idle_conn",
        ]
    );
    rec.assert_monotonic();
    let got = rec.find(|e| match e {
        Event::GotConn(g) => Some(g.clone()),
        _ => None,
    });
    assert!(!got[0].reused);
    assert_eq!(got[0].remote_addr, Some(server.addr()));
    assert_eq!(got[0].protocol, http::Version::HTTP_11);
    let connect = rec.find(|e| match e {
        Event::ConnectDone(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(connect[0].addr, Some(server.addr()));
    assert!(connect[0].error.is_none());
    let body = rec.find(|e| match e {
        Event::BodyDone(b) => Some(b.clone()),
        _ => None,
    });
    assert_eq!(body[0].bytes, 5);
    assert!(matches!(body[0].outcome, BodyOutcome::Completed));
}

/// GETs `url` with `rec`'s trace; the body must be `hello` over HTTP/2.
async fn get_hello_h2(client: &httptrace::reqwest::Client, url: &str, rec: &Recorder) {
    let response = client.get(url).trace(rec.trace()).send().await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "hello");
}

#[tokio::test]
async fn https_h2_with_delayed_dns_reports_dns_tls_and_alpn() {
    let delay = Duration::from_millis(80);
    let dns = DnsServer::start(DnsConfig::new().record("api.test", [LOCAL]).delay(delay)).unwrap();
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["api.test"]), &[b"h2", b"http/1.1"]);
    let client = reqwest::Client::builder()
        .traced_with(
            Config::new()
                .dns_server(dns.addr())
                .tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        )
        .unwrap();
    let rec = Recorder::new();
    get_hello_h2(&client, &server.url_with_host("api.test", "/"), &rec).await;

    assert_eq!(
        phases(&rec.names()),
        HTTPS_NEW_CONNECTION,
        "HTTP/2 connections are never put idle, so no put_idle_conn"
    );
    rec.assert_monotonic();
    let events = rec.events();
    let at = |name: &str| events.iter().find(|e| e.name() == name).unwrap().at();
    assert!(
        at("dns_done") - at("dns_start") >= delay,
        "DNS took {:?}, the server delays {delay:?}",
        at("dns_done") - at("dns_start")
    );
    let dns_done = rec.find(|e| match e {
        Event::DnsDone(d) => Some(d.clone()),
        _ => None,
    });
    assert_eq!(dns_done[0].host, "api.test");
    assert_eq!(dns_done[0].addrs, vec![LOCAL]);
    assert!(!dns_done[0].coalesced);
    let tls = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => Some(t.clone()),
        _ => None,
    });
    let state = tls[0].state.as_ref().expect("handshake succeeded");
    assert_eq!(state.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(state.alpn.as_deref(), Some("h2"));
    assert!(!state.resumed);
    assert!(
        state.peer_certificates[0]
            .subject_alt_names
            .contains(&"api.test".to_string())
    );
    let start = rec.find(|e| match e {
        Event::TlsHandshakeStart(t) => Some(t.server_name.clone()),
        _ => None,
    });
    assert_eq!(start, ["api.test"]);
    let queries = dns.queries_for("api.test");
    assert!(
        (1..=2).contains(&queries),
        "one lookup (A, maybe AAAA): {queries} queries"
    );
}

#[tokio::test]
async fn keep_alive_reuse_reports_idle_time() {
    let server = TestServer::http();
    let client = client();
    let pause = Duration::from_millis(60);
    let mut recs = Vec::new();
    for _ in 0..3 {
        let rec = Recorder::new();
        let body = client
            .get(server.url("/"))
            .trace(rec.trace())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], b"hello");
        recs.push(rec);
        tokio::time::sleep(pause).await;
    }
    assert_eq!(server.connections_accepted(), 1);
    for (i, rec) in recs.iter().enumerate() {
        let got = rec.find(|e| match e {
            Event::GotConn(g) => Some(g.clone()),
            _ => None,
        });
        let connects = rec
            .names()
            .iter()
            .filter(|n| **n == "connect_start")
            .count();
        if i == 0 {
            assert!(!got[0].reused);
            assert_eq!(connects, 1);
        } else {
            assert!(got[0].reused, "request {i} reused the connection");
            assert!(got[0].was_idle);
            assert!(
                got[0].idle_time.unwrap() >= pause,
                "idle {:?}",
                got[0].idle_time
            );
            assert_eq!(connects, 0, "no dial on a reused connection");
            assert_eq!(
                got[0].local_addr,
                recs[0].find(|e| match e {
                    Event::GotConn(g) => g.local_addr,
                    _ => None,
                })[0]
                    .into()
            );
        }
    }
}

#[tokio::test]
async fn redirect_chain_is_one_round_trip_per_hop() {
    let server = TestServer::http();
    let rec = Recorder::new();
    let response = client()
        .get(server.url("/redirect/3"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.url().path().ends_with("/redirect/0"));
    assert_eq!(response.text().await.unwrap(), "done");

    let starts = rec.find(|e| match e {
        Event::RoundTripStart(s) => Some((s.resend_count, s.url.path().to_string())),
        _ => None,
    });
    assert_eq!(
        starts,
        [
            (0, "/redirect/3".to_string()),
            (1, "/redirect/2".to_string()),
            (2, "/redirect/1".to_string()),
            (3, "/redirect/0".to_string()),
        ]
    );
    let statuses = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.status.map(|s| s.as_u16()),
        _ => None,
    });
    assert_eq!(statuses, [302, 302, 302, 200]);
    // Each hop ends its body before the next one starts.
    let names = phases(&rec.names());
    let hops: Vec<_> = names.split(|n| *n == "round_trip_start").skip(1).collect();
    assert_eq!(hops.len(), 4);
    for hop in &hops {
        assert!(
            hop.contains(&"round_trip_done") && hop.contains(&"body_done"),
            "{hop:?}"
        );
    }
    rec.assert_monotonic();
    assert_eq!(
        server.connections_accepted(),
        1,
        "hops share the connection"
    );
}

#[tokio::test]
async fn redirect_policy_none_and_limit() {
    let server = TestServer::http();
    let none = reqwest::Client::builder()
        .traced_with(Config::new().redirect(RedirectPolicy::none()))
        .unwrap();
    let response = none.get(server.url("/redirect/2")).send().await.unwrap();
    assert_eq!(response.status(), 302);

    let limited = reqwest::Client::builder()
        .traced_with(Config::new().redirect(RedirectPolicy::limited(2)))
        .unwrap();
    let rec = Recorder::new();
    let err = limited
        .get(server.url("/redirect/5"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    // Plain reqwest with the same limit fails the same way.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(2))
        .build()
        .unwrap();
    let plain_err = plain
        .get(server.url("/redirect/5"))
        .send()
        .await
        .unwrap_err();
    assert!(plain_err.is_redirect());
    assert_eq!(
        rec.names()
            .iter()
            .filter(|n| **n == "round_trip_start")
            .count(),
        3
    );
}

#[tokio::test]
async fn redirect_rules_303_307_and_cross_origin_headers() {
    let a = TestServer::http();
    let b = TestServer::http();
    let client = client();
    let echo = |r: reqwest::Response| async move {
        serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).unwrap()
    };
    // 303: POST becomes GET without body.
    let v = echo(
        client
            .post(a.url("/redirect-303"))
            .body("hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["method"], "GET");
    assert_eq!(v["body"], "");
    assert!(v["headers"].get("content-length").is_none());
    // 307: method and body replayed.
    let v = echo(
        client
            .post(a.url("/redirect-307"))
            .body("hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["method"], "POST");
    assert_eq!(v["body"], "hello");
    assert_eq!(v["headers"]["content-length"], "5");
    // Same origin keeps Authorization; another origin (other port) drops it.
    let same = a.url("/echo");
    let v = echo(
        client
            .get(a.url(&format!("/redirect-to?url={}", urlencode(&same))))
            .bearer_auth("secret")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["headers"]["authorization"], "Bearer secret");
    let other = b.url("/echo");
    let v = echo(
        client
            .get(a.url(&format!("/redirect-to?url={}", urlencode(&other))))
            .bearer_auth("secret")
            .header("cookie", "a=b")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(v["headers"].get("authorization").is_none(), "{v}");
    assert!(v["headers"].get("cookie").is_none(), "{v}");
    assert!(
        v["headers"]["referer"]
            .as_str()
            .unwrap()
            .contains("/redirect-to")
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn traces_compose_newest_first_and_scope_to_one_request() {
    use std::sync::{Arc, Mutex};
    let server = TestServer::http();
    let client = client();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let tag = |name: &'static str| {
        let log = log.clone();
        ClientTrace::new().on_round_trip_start(move |_| log.lock().unwrap().push(name.into()))
    };
    let scoped = tag("scope");
    let c = client.clone();
    let url = server.url("/");
    let first = tag("first");
    let second = tag("second");
    scoped
        .scope(async move {
            c.get(url).trace(first).trace(second).send().await.unwrap();
        })
        .await;
    assert_eq!(*log.lock().unwrap(), ["second", "first", "scope"]);
    // A request outside the scope sees none of those traces.
    log.lock().unwrap().clear();
    client.get(server.url("/")).send().await.unwrap();
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn dropped_body_and_cancelled_request_are_reported() {
    let server = TestServer::http();
    let client = client();
    let rec = Recorder::new();
    let response = client
        .get(server.url("/bytes/1000000"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    drop(response);
    let body = rec.find(|e| match e {
        Event::BodyDone(b) => Some(b.clone()),
        _ => None,
    });
    assert!(matches!(body[0].outcome, BodyOutcome::Dropped));
    assert!(!rec.names().contains(&"put_idle_conn"));

    let rec = Recorder::new();
    let request = client
        .get(server.url("/delay/2000"))
        .trace(rec.trace())
        .send();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), request)
            .await
            .is_err()
    );
    let done = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.clone(),
        _ => None,
    });
    assert_eq!(done[0].kind(), ErrorKind::Cancelled);
}

#[tokio::test]
async fn request_body_keeps_its_framing_and_is_reported() {
    let server = TestServer::http();
    let rec = Recorder::new();
    let response = client()
        .post(server.url("/echo"))
        .body(vec![b'x'; 100_000])
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(v["headers"]["content-length"], "100000");
    assert!(v["headers"].get("transfer-encoding").is_none());
    let wrote = rec.find(|e| match e {
        Event::WroteRequest(w) => Some(w.clone()),
        _ => None,
    });
    assert_eq!(wrote[0].body_bytes, 100_000);
    rec.assert_monotonic();
}

#[tokio::test]
async fn sensitive_headers_are_redacted_in_wrote_header_field() {
    let server = TestServer::http();
    let rec = Recorder::new();
    client()
        .get(server.url("/"))
        .bearer_auth("topsecret")
        .header("cookie", "session=abc")
        .header("x-request-id", "r1")
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    let fields = rec.find(|e| match e {
        Event::WroteHeaderField(f) => Some((f.name.to_string(), f.values.join(","))),
        _ => None,
    });
    assert!(fields.contains(&("authorization".into(), "REDACTED".into())));
    assert!(fields.contains(&("cookie".into(), "REDACTED".into())));
    assert!(fields.contains(&("x-request-id".into(), "r1".into())));
    assert!(!format!("{fields:?}").contains("topsecret"));
}

#[tokio::test]
async fn tls_session_resumption_is_reported() {
    let ca = TestCa::new();
    let server = TestServer::https(
        &ca.server_identity(&["localhost", "127.0.0.1"]),
        &[b"http/1.1"],
    );
    let client = reqwest::Client::builder()
        .traced_with(
            Config::new().tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        )
        .unwrap();
    let url = format!("https://127.0.0.1:{}/close", server.port());
    let mut resumed = Vec::new();
    for _ in 0..2 {
        let rec = Recorder::new();
        client
            .get(&url)
            .trace(rec.trace())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        // The server closes after each response, so each request dials anew.
        resumed.extend(rec.find(|e| {
            match e {
                Event::TlsHandshakeDone(t) => t
                    .state
                    .as_ref()
                    .map(|s| (s.resumed, s.peer_certificates.len())),
                _ => None,
            }
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(resumed.len(), 2);
    assert_eq!(resumed[0], (false, 1));
    assert!(
        resumed[1].0,
        "second handshake resumed the session: {resumed:?}"
    );
    assert_eq!(resumed[1].1, 0, "no chain is exchanged on resumption");
}

#[tokio::test]
async fn builder_settings_are_kept() {
    let server = TestServer::http();
    let mut defaults = http::HeaderMap::new();
    defaults.insert("x-default", "kept".parse().unwrap());
    // Default headers, user agent and timeout.
    let client = reqwest::Client::builder()
        .default_headers(defaults)
        .user_agent("settings-test/1")
        .timeout(Duration::from_millis(300))
        .traced()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(
        &client
            .get(server.url("/echo"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["headers"]["x-default"], "kept");
    assert_eq!(v["headers"]["user-agent"], "settings-test/1");
    let err = client
        .get(server.url("/delay/2000"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    // HTTP/2 with prior knowledge over plain TCP.
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .traced()
        .unwrap();
    let rec = Recorder::new();
    let response = h2c
        .get(server.url("/"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let got = rec.find(|e| match e {
        Event::GotConn(g) => Some(g.protocol),
        _ => None,
    });
    assert_eq!(got, [http::Version::HTTP_2]);

    // A proxy: the request goes to the proxy, whatever the target host.
    let proxy = TestServer::http();
    let proxied = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(proxy.url("/")).unwrap())
        .traced()
        .unwrap();
    let rec = Recorder::new();
    let v: serde_json::Value = serde_json::from_slice(
        &proxied
            .get("http://target.invalid/echo")
            .trace(rec.trace())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["authority"], "target.invalid");
    let got = rec.find(|e| match e {
        Event::GotConn(g) => Some((g.proxied, g.remote_addr)),
        _ => None,
    });
    assert_eq!(got, [(true, Some(proxy.addr()))]);
}

#[tokio::test]
async fn https_through_an_authenticating_connect_proxy() {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = httptrace_testkit::proxy::ForwardProxy::with_basic_auth("agent", "s3cret-pass");
    let proxy_url = format!("http://agent:s3cret-pass@{}", proxy.addr());
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::https(&proxy_url).unwrap())
        .traced_with(
            Config::new().tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        )
        .unwrap();
    let rec = Recorder::new();
    // The origin's name resolves nowhere: only the proxy may look it up.
    get_hello_h2(&client, &origin.url_with_host("origin.test", "/"), &rec).await;

    assert!(!rec.names().contains(&"dns_start"), "{:?}", rec.names());
    let got = rec.find(|e| match e {
        Event::GotConn(g) => Some((g.proxied, g.remote_addr)),
        _ => None,
    });
    // reqwest marks only forwarding proxies: a tunnel reads as not proxied
    // (documented in `httptrace::reqwest`), yet the peer is the proxy.
    assert_eq!(got, [(false, Some(proxy.addr()))]);
    let tls = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => t.state.as_ref().map(|s| s.alpn.clone()),
        _ => None,
    });
    assert_eq!(tls, [Some("h2".to_string())]);
    assert_eq!(
        proxy.connect_targets(),
        [format!("origin.test:{}", origin.port())]
    );
    let everything = format!("{:?}", rec.events());
    assert!(!everything.contains("s3cret-pass"));
    assert!(!everything.contains("YWdlbnQ6czNjcmV0LXBhc3M")); // base64 of agent:s3cret-pass
}
