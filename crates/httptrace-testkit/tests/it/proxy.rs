//! The forward proxy, exercised with a real client (reqwest).

use httptrace_testkit::http::TestServer;
use httptrace_testkit::proxy::ForwardProxy;
use httptrace_testkit::tls::TestCa;
use reqwest::{Certificate, Client, Proxy, StatusCode};

fn client_via(proxy: &str, ca: Option<&TestCa>) -> Client {
    let mut builder = Client::builder().proxy(Proxy::all(proxy).unwrap());
    if let Some(ca) = ca {
        builder = builder.tls_certs_only([Certificate::from_der(&ca.cert_der()).unwrap()]);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn tunnels_https_to_any_name_on_loopback() {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = ForwardProxy::start();
    let url = origin.url_with_host("origin.test", "/");
    let response = client_via(&proxy.url(), Some(&ca))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "hello");
    assert_eq!(proxy.heads().len(), 1);
    assert_eq!(
        proxy.connect_targets(),
        [format!("origin.test:{}", origin.port())]
    );
}

#[tokio::test]
async fn forwards_absolute_form_requests() {
    let origin = TestServer::http();
    let proxy = ForwardProxy::start();
    let url = origin.url_with_host("origin.test", "/echo");
    let response = client_via(&proxy.url(), None)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echo: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(echo["path"], "/echo");
    assert!(proxy.heads()[0].starts_with(&format!("GET {url} HTTP/1.1\r\n")));
}

#[tokio::test]
async fn basic_auth_is_required_when_configured() {
    let origin = TestServer::http();
    let proxy = ForwardProxy::with_basic_auth("user", "pass");
    let url = origin.url("/");

    let refused = client_via(&proxy.url(), None)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);
    assert_eq!(origin.requests_served(), 0);

    let with_auth = format!("http://user:pass@{}", proxy.addr());
    let response = client_via(&with_auth, None).get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "hello");
    assert!(
        proxy.heads()[1].contains("Basic dXNlcjpwYXNz"),
        "{:?}",
        proxy.heads()
    );
}
