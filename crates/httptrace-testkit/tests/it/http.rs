//! The HTTP/TLS fixtures, exercised with a real client (reqwest).

use std::time::{Duration, Instant};

use httptrace_testkit::http::{TestServer, refused_addr};
use httptrace_testkit::tls::TestCa;
use reqwest::{Certificate, Client, StatusCode, Version};

fn plain_client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

fn tls_client(ca: &TestCa, server: &TestServer) -> Client {
    Client::builder()
        .no_proxy()
        .add_root_certificate(Certificate::from_der(&ca.cert_der()).unwrap())
        // `localhost` may resolve to ::1 first; the server listens on 127.0.0.1 only.
        .resolve("localhost", server.addr())
        .build()
        .unwrap()
}

fn conn_of(resp: &reqwest::Response) -> usize {
    resp.headers()["x-served-by-conn"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn http_hello_and_connection_reuse() {
    let server = TestServer::http();
    assert!(server.url("/").starts_with("http://127.0.0.1:"));
    let client = plain_client();

    let resp = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(conn_of(&resp), 1);
    assert_eq!(resp.text().await.unwrap(), "hello");

    let resp = client.get(server.url("status/418")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(conn_of(&resp), 1, "keep-alive connection reused");
    resp.bytes().await.unwrap();

    let resp = client.get(server.url("/close")).send().await.unwrap();
    assert_eq!(conn_of(&resp), 1);
    resp.bytes().await.unwrap();
    let resp = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(
        conn_of(&resp),
        2,
        "Connection: close forces a new connection"
    );
    resp.bytes().await.unwrap();

    assert_eq!(server.connections_accepted(), 2);
    assert_eq!(server.requests_served(), 4);

    let resp = client.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn https_h2_and_http11_alpn() {
    let ca = TestCa::new();
    let identity = ca.server_identity(&["localhost", "127.0.0.1"]);

    let h2 = TestServer::https(&identity, &[b"h2", b"http/1.1"]);
    assert!(h2.url("/x").starts_with("https://localhost:"));
    let resp = tls_client(&ca, &h2).get(h2.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(resp.text().await.unwrap(), "hello");

    let h1 = TestServer::https(&identity, &[b"http/1.1"]);
    let resp = tls_client(&ca, &h1).get(h1.url("/")).send().await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(resp.text().await.unwrap(), "hello");

    // IP SAN works too.
    let client = Client::builder()
        .no_proxy()
        .tls_certs_only([Certificate::from_der(&ca.cert_der()).unwrap()])
        .build()
        .unwrap();
    let resp = client
        .get(h2.url_with_host("127.0.0.1", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn https_untrusted_ca_fails_handshake() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["localhost"]), &[b"h2", b"http/1.1"]);
    let client = Client::builder()
        .no_proxy()
        .tls_certs_only([Certificate::from_der(&other.cert_der()).unwrap()])
        .resolve("localhost", server.addr())
        .build()
        .unwrap();
    let err = client.get(server.url("/")).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(server.requests_served(), 0);
}

#[tokio::test]
async fn redirects() {
    let server = TestServer::http();
    let client = plain_client();
    let resp = client.get(server.url("/redirect/2")).send().await.unwrap();
    assert_eq!(resp.url().path(), "/redirect/0");
    assert_eq!(resp.text().await.unwrap(), "done");

    let resp = client
        .get(server.url("/redirect-abs/3"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.url().as_str(), server.url("/redirect-abs/0"));

    let no_follow = Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, code) in [
        ("/redirect-303", 303),
        ("/redirect-307", 307),
        ("/redirect-308", 308),
    ] {
        let resp = no_follow.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), code);
        assert_eq!(resp.headers()["location"], "/echo");
    }
    let target = "http://example.invalid/a?b=c";
    let resp = no_follow
        .get(server.url(&format!(
            "/redirect-to?url={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()["location"], target);

    let err = client
        .get(server.url("/redirect-loop"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err:?}");

    // 303 turns a POST into a GET on /echo.
    let resp = client
        .post(server.url("/redirect-303"))
        .body("x")
        .send()
        .await
        .unwrap();
    let echo: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/echo");
}

#[tokio::test]
async fn echo_bytes_and_continue() {
    let server = TestServer::http();
    let client = plain_client();

    let resp = client
        .put(server.url("/echo?a=1&b=2"))
        .header("X-Custom", "yes")
        .body("payload")
        .send()
        .await
        .unwrap();
    let echo: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path"], "/echo");
    assert_eq!(echo["query"], "a=1&b=2");
    assert_eq!(echo["headers"]["x-custom"], "yes");
    assert_eq!(echo["body"], "payload");
    assert_eq!(echo["body_encoding"], "utf8");
    assert_eq!(echo["version"], "HTTP/1.1");

    let resp = client
        .post(server.url("/echo"))
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    let echo: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(echo["body"], "//4A");
    assert_eq!(echo["body_encoding"], "base64");

    let resp = client
        .get(server.url("/bytes/100000"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.content_length(), Some(100_000));
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 100_000);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 256) as u8));

    let resp = client
        .post(server.url("/continue"))
        .header("Expect", "100-continue")
        .body("12345")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "5");
}

#[tokio::test]
async fn continue_is_sent_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::http();
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(
        b"POST /continue HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 256];
    let n = s.read(&mut buf).await.unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(got.starts_with("HTTP/1.1 100 Continue"), "{got}");
    s.write_all(b"abc").await.unwrap();
    let mut rest = String::new();
    while !rest.contains("\r\n\r\n3") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "{rest}");
        rest.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(rest.starts_with("HTTP/1.1 200 OK"), "{rest}");
}

#[tokio::test]
async fn delay_and_slow_body() {
    let server = TestServer::http();
    let client = plain_client();
    let start = Instant::now();
    let resp = client.get(server.url("/delay/200")).send().await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(resp.text().await.unwrap(), "ok");

    let start = Instant::now();
    let resp = client
        .get(server.url("/slow-body/3/150"))
        .send()
        .await
        .unwrap();
    let head_time = start.elapsed();
    assert!(head_time < Duration::from_millis(150), "{head_time:?}");
    assert_eq!(resp.content_length(), None);
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 3 * 1024);
    assert!(start.elapsed() >= Duration::from_millis(450));
}

#[tokio::test]
async fn reset_mid_body_fails_the_body() {
    let server = TestServer::raw_reset_mid_body();
    let resp = plain_client()
        .get(server.url("/reset-mid-body"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(100_000));
    let err = resp.bytes().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    // The failure is a real TCP reset, not a clean EOF.
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    let mut reset = false;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            reset |= io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = e.source();
    }
    assert!(reset, "expected ECONNRESET somewhere in {err:?}");
    assert_eq!(server.requests_served(), 1);
}

#[tokio::test]
async fn abort_mid_body_on_h1_and_h2() {
    let plain = TestServer::http();
    let resp = plain_client()
        .get(plain.url("/abort-mid-body"))
        .send()
        .await
        .unwrap();
    assert!(resp.bytes().await.is_err());

    let ca = TestCa::new();
    let h2 = TestServer::https(&ca.server_identity(&["localhost"]), &[b"h2"]);
    let resp = tls_client(&ca, &h2)
        .get(h2.url("/abort-mid-body"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    assert!(resp.bytes().await.is_err());
}

#[tokio::test]
async fn refused_and_stall() {
    let refused = refused_addr();
    let err = plain_client()
        .get(format!("http://{refused}/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    let stall = TestServer::stall();
    let err = Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .get(stall.url("/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(stall.connections_accepted(), 1);
}

#[tokio::test]
async fn custom_handler() {
    use httptrace_testkit::http::{ConnInfo, full_body};
    let server =
        TestServer::http_with_handler(|req: hyper::Request<hyper::body::Incoming>| async move {
            let seq = req.extensions().get::<ConnInfo>().unwrap().seq;
            hyper::Response::new(full_body(format!("custom {} on {seq}", req.uri().path())))
        });
    let resp = plain_client().get(server.url("/zzz")).send().await.unwrap();
    assert_eq!(conn_of(&resp), 1);
    assert_eq!(resp.text().await.unwrap(), "custom /zzz on 1");
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_runtime_and_drop_stops_server() {
    let server = TestServer::http();
    let addr = server.addr();
    let resp = plain_client().get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "hello");
    drop(server);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn h2c_prior_knowledge() {
    let server = TestServer::http();
    let client = Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = client.get(server.url("/echo")).send().await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    let echo: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(echo["version"], "HTTP/2.0");
    assert_eq!(echo["authority"], format!("127.0.0.1:{}", server.port()));
}

#[tokio::test]
async fn garbage_input_does_not_kill_servers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ca = TestCa::new();
    let plain = TestServer::http();
    let tls = TestServer::https(&ca.server_identity(&["localhost"]), &[b"h2", b"http/1.1"]);
    let reset = TestServer::raw_reset_mid_body();
    for addr in [plain.addr(), tls.addr(), reset.addr()] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"\x16\x03\x01\xff\xff garbage \0\0\r\n\r\n\xff\xfe")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        // The server answers with an error or closes; either way it must not hang or die.
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
    }
    let resp = plain_client().get(plain.url("/")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "hello");
    let resp = tls_client(&ca, &tls)
        .get(tls.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "hello");
}

#[tokio::test]
async fn a_refused_addr_keeps_its_port_until_dropped() {
    let refused = refused_addr();
    // Held: no listener can take the port, not even one asking for SO_REUSEADDR.
    let taken = std::net::TcpListener::bind(refused.addr());
    assert!(taken.is_err(), "another listener bound {refused}");
    let err = tokio::net::TcpStream::connect(refused.addr())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    // A service that comes back on the same port.
    let listener = refused.listen().unwrap();
    let addr = listener.local_addr().unwrap();
    let (connected, accepted) =
        tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    connected.unwrap();
    accepted.unwrap();
}
