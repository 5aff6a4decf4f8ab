//! The hyper transport through a real forward proxy: DNS and connect are the
//! proxy's, TLS is the origin's through a `CONNECT` tunnel, plain HTTP goes
//! in absolute form, and the proxy's credentials never reach a hook.

use std::net::{IpAddr, Ipv4Addr};

use crate::support::{Recorder, phases};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use httptrace::hyper::{Client, ProxyMatcher};
use httptrace::{ErrorKind, Event};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::hooks::HTTPS_NEW_CONNECTION;
use httptrace_testkit::http::TestServer;
use httptrace_testkit::proxy::ForwardProxy;
use httptrace_testkit::tls::TestCa;

fn get(url: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(url).body(Empty::new()).unwrap()
}

/// A test DNS server that knows only the proxy's name, so a lookup of the
/// origin's name would fail the request.
fn proxy_dns() -> DnsServer {
    DnsServer::start(DnsConfig::new().record("proxy.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
        .unwrap()
}

fn all_via(proxy_url: &str) -> ProxyMatcher {
    ProxyMatcher::builder().all(proxy_url).build()
}

/// A client sending everything through `proxy_url` (whose name `dns`
/// knows), trusting `ca`.
fn client_via(proxy_url: &str, dns: &DnsServer, ca: &TestCa) -> Client<Empty<Bytes>> {
    Client::builder()
        .dns_server(dns.addr())
        .root_certificate_der(ca.cert_der().to_vec())
        .proxy(all_via(proxy_url))
        .build()
        .unwrap()
}

/// GETs `url` with `rec`'s trace; the body must be `hello` over HTTP/2.
async fn get_hello_h2(client: &Client<Empty<Bytes>>, url: &str, rec: &Recorder) {
    let response = client.request_traced(get(url), rec.trace()).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
}

/// Every hook's debug form, to check that no secret reached one.
fn everything(rec: &Recorder) -> String {
    format!("{:?}", rec.events())
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_the_origins_tls() {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = ForwardProxy::with_basic_auth("agent", "s3cret-proxy-pass");
    let dns = proxy_dns();
    let proxy_url = format!(
        "http://agent:s3cret-proxy-pass@proxy.test:{}",
        proxy.addr().port()
    );
    let client = client_via(&proxy_url, &dns, &ca);
    let rec = Recorder::new();
    get_hello_h2(&client, &origin.url_with_host("origin.test", "/"), &rec).await;

    assert_eq!(phases(&rec.names()), HTTPS_NEW_CONNECTION);
    rec.assert_monotonic();
    // DNS and connect are the proxy's; TLS is the origin's.
    let looked_up = rec.find(|e| match e {
        Event::DnsStart(d) => Some(d.host.clone()),
        _ => None,
    });
    assert_eq!(looked_up, ["proxy.test"]);
    let dialed = rec.find(|e| match e {
        Event::ConnectDone(c) => c.addr,
        _ => None,
    });
    assert_eq!(dialed, [proxy.addr()]);
    let tls_name = rec.find(|e| match e {
        Event::TlsHandshakeStart(t) => Some(t.server_name.clone()),
        _ => None,
    });
    assert_eq!(tls_name, ["origin.test"]);
    let got_conn = rec.find(|e| match e {
        Event::GotConn(g) => Some((g.proxied, g.remote_addr)),
        _ => None,
    });
    assert_eq!(got_conn, [(true, Some(proxy.addr()))]);

    assert_eq!(proxy.heads().len(), 1);
    assert_eq!(
        proxy.connect_targets(),
        [format!("origin.test:{}", origin.port())]
    );
    assert!(!everything(&rec).contains("s3cret-proxy-pass"));
    assert!(!everything(&rec).contains("YWdlbnQ6czNjcmV0")); // base64 of the credentials
}

#[tokio::test]
async fn plain_http_is_forwarded_in_absolute_form_with_the_proxys_credentials() {
    let origin = TestServer::http();
    let proxy = ForwardProxy::with_basic_auth("agent", "s3cret-proxy-pass");
    let proxy_url = format!("http://agent:s3cret-proxy-pass@{}", proxy.addr());
    let client = Client::builder()
        .proxy(all_via(&proxy_url))
        .build()
        .unwrap();
    let url = origin.url_with_host("origin.test", "/echo");

    for round in 0..2 {
        let rec = Recorder::new();
        let response = client.request_traced(get(&url), rec.trace()).await.unwrap();
        assert_eq!(response.status(), 200);
        let echo = response.into_body().collect().await.unwrap().to_bytes();
        let echo: serde_json::Value = serde_json::from_slice(&echo).unwrap();
        assert_eq!(echo["path"], "/echo");

        // No lookup of the origin's name: the proxy is an address.
        assert!(!rec.names().contains(&"dns_start"), "{:?}", rec.names());
        let got_conn = rec.find(|e| match e {
            Event::GotConn(g) => Some((g.reused, g.proxied, g.remote_addr)),
            _ => None,
        });
        assert_eq!(got_conn, [(round == 1, true, Some(proxy.addr()))]);
        let auth = rec.find(|e| match e {
            Event::WroteHeaderField(f) if f.name == http::header::PROXY_AUTHORIZATION => {
                Some(f.values.clone())
            }
            _ => None,
        });
        assert_eq!(auth, [vec!["REDACTED".to_string()]]);
        assert!(!everything(&rec).contains("s3cret-proxy-pass"));
        assert!(!everything(&rec).contains("YWdlbnQ6czNjcmV0"));
    }
    // One connection to the proxy, kept alive; its first head in absolute form.
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("GET {url} HTTP/1.1\r\n")),
        "{heads:?}"
    );
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic ywdlbnq6cznjcmv0lxbyb3h5lxbhc3m=")
    );
}

#[tokio::test]
async fn a_refused_connect_fails_at_the_tunnel_with_the_proxys_status() {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"http/1.1"]);
    let proxy = ForwardProxy::with_basic_auth("agent", "right");
    let client = Client::builder()
        .root_certificate_der(ca.cert_der().to_vec())
        .proxy(all_via(&format!("http://agent:wrong@{}", proxy.addr())))
        .build()
        .unwrap();
    let rec = Recorder::new();
    let url = origin.url_with_host("origin.test", "/");
    let error = client
        .request_traced(get(&url), rec.trace())
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    let chain = format!("{:?}", std::error::Error::source(&error));
    assert!(
        chain.contains("407 Proxy Authentication Required"),
        "{chain}"
    );

    // Connected to the proxy, never to the origin: no TLS, no request.
    let names = phases(&rec.names());
    assert_eq!(
        names,
        [
            "round_trip_start",
            "get_conn",
            "connect_start",
            "connect_done",
            "round_trip_done"
        ]
    );
    let done = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.clone(),
        _ => None,
    });
    assert_eq!(done[0].kind(), ErrorKind::Connect);
    assert!(done[0].message().contains("407"), "{}", done[0].message());
    assert!(!done[0].message().contains("wrong"));
    assert_eq!(origin.connections_accepted(), 0);
}

#[tokio::test]
async fn no_proxy_hosts_and_unsupported_proxies() {
    let origin = TestServer::http();
    let proxy = ForwardProxy::start();
    let matcher = ProxyMatcher::builder()
        .all(proxy.url())
        .no("127.0.0.1")
        .build();
    let client = Client::builder().proxy(matcher).build().unwrap();
    let rec = Recorder::new();
    let response = client
        .request_traced(get(&origin.url("/")), rec.trace())
        .await
        .unwrap();
    response.into_body().collect().await.unwrap();
    assert!(proxy.heads().is_empty());
    let direct = rec.find(|e| match e {
        Event::GotConn(g) => Some((g.proxied, g.remote_addr)),
        _ => None,
    });
    assert_eq!(direct, [(false, Some(origin.addr()))]);

    // A SOCKS proxy is refused with a message that says so, not a panic.
    let socks = ProxyMatcher::builder()
        .all("socks5://user:pw@127.0.0.1:1080")
        .build();
    let client = Client::builder().proxy(socks).build().unwrap();
    let rec = Recorder::new();
    let error = client
        .request_traced(get(&origin.url("/")), rec.trace())
        .await
        .unwrap_err();
    let chain = format!("{:?}", std::error::Error::source(&error));
    assert!(
        chain.contains("only http:// and https:// proxies"),
        "{chain}"
    );
    assert!(!chain.contains("pw"), "{chain}");
}

#[tokio::test]
async fn a_proxy_answering_garbage_or_nothing_fails_cleanly() {
    let origin = "https://origin.test:443/";

    // Not HTTP at all: a clear error at the tunnel, no panic.
    let garbage = TestServer::raw_garbage();
    let client = Client::builder()
        .proxy(all_via(&format!("http://{}", garbage.addr())))
        .build()
        .unwrap();
    let rec = Recorder::new();
    let error = client
        .request_traced(get(origin), rec.trace())
        .await
        .unwrap_err();
    let chain = format!("{:?}", std::error::Error::source(&error));
    assert!(chain.contains("proxy's CONNECT response"), "{chain}");
    let done = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.clone(),
        _ => None,
    });
    assert_eq!(done[0].kind(), ErrorKind::Connect);

    // Silent: the connect timeout bounds the CONNECT exchange too.
    let silent = TestServer::stall();
    let client = Client::builder()
        .connect_timeout(std::time::Duration::from_millis(200))
        .proxy(all_via(&format!("http://{}", silent.addr())))
        .build()
        .unwrap();
    let rec = Recorder::new();
    let started = std::time::Instant::now();
    let error = client
        .request_traced(get(origin), rec.trace())
        .await
        .unwrap_err();
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    let chain = format!("{:?}", std::error::Error::source(&error));
    assert!(chain.contains("did not answer CONNECT"), "{chain}");
    let done = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.clone(),
        _ => None,
    });
    assert_eq!(done[0].kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn an_https_proxy_gets_its_own_handshake_before_the_origins() {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = ForwardProxy::https(
        &ca.server_identity(&["proxy.test"]),
        Some(("agent", "s3cret-proxy-pass")),
    );
    let dns = proxy_dns();
    let proxy_url = format!(
        "https://agent:s3cret-proxy-pass@proxy.test:{}",
        proxy.addr().port()
    );
    let client = client_via(&proxy_url, &dns, &ca);

    // HTTPS through it: the proxy's handshake (HTTP/1.1), the tunnel, then
    // the origin's (HTTP/2), as Go reports them.
    let rec = Recorder::new();
    get_hello_h2(&client, &origin.url_with_host("origin.test", "/"), &rec).await;
    let mut order = HTTPS_NEW_CONNECTION.to_vec();
    order.splice(6..6, ["tls_handshake_start", "tls_handshake_done"]);
    assert_eq!(phases(&rec.names()), order);
    rec.assert_monotonic();
    let handshakes = rec.find(|e| match e {
        Event::TlsHandshakeStart(t) => Some(t.server_name.clone()),
        _ => None,
    });
    assert_eq!(handshakes, ["proxy.test", "origin.test"]);
    let alpn = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => t.state.as_ref().map(|s| s.alpn.clone()),
        _ => None,
    });
    assert_eq!(alpn, [Some("http/1.1".into()), Some("h2".into())]);
    assert_eq!(
        proxy.connect_targets(),
        [format!("origin.test:{}", origin.port())]
    );
    assert!(!everything(&rec).contains("s3cret-proxy-pass"));

    // Plain HTTP through it: forwarded over the proxy's TLS.
    let plain = TestServer::http();
    let rec = Recorder::new();
    let url = plain.url_with_host("origin.test", "/echo");
    let response = client.request_traced(get(&url), rec.trace()).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap();
    let handshakes = rec.find(|e| match e {
        Event::TlsHandshakeStart(t) => Some(t.server_name.clone()),
        _ => None,
    });
    assert_eq!(handshakes, ["proxy.test"]);
    assert!(proxy.heads()[1].starts_with(&format!("GET {url} HTTP/1.1\r\n")));
    assert!(!everything(&rec).contains("s3cret-proxy-pass"));
}

#[tokio::test]
async fn an_https_proxys_certificate_is_checked() {
    let ours = TestCa::new();
    let theirs = TestCa::new();
    let origin = TestServer::https(&ours.server_identity(&["origin.test"]), &[b"http/1.1"]);
    let proxy = ForwardProxy::https(&theirs.server_identity(&["127.0.0.1"]), None);
    let client = Client::builder()
        .root_certificate_der(ours.cert_der().to_vec())
        .proxy(all_via(&proxy.url()))
        .build()
        .unwrap();
    let rec = Recorder::new();
    let url = origin.url_with_host("origin.test", "/");
    client
        .request_traced(get(&url), rec.trace())
        .await
        .unwrap_err();
    let tls = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => Some((t.state.is_some(), t.error.as_ref().map(|e| e.kind()))),
        _ => None,
    });
    assert_eq!(tls, [(false, Some(ErrorKind::Certificate))]);
    assert!(
        proxy.heads().is_empty(),
        "nothing was sent to an untrusted proxy"
    );
    assert_eq!(origin.connections_accepted(), 0);
}
