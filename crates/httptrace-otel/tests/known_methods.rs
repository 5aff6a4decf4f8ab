//! `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` replaces the known methods,
//! for real spans. Its own test binary: the variable is read once per
//! process, and is set here before anything reads it.

mod support;

use httptrace_testkit::http::TestServer;
use support::*;

#[tokio::test]
async fn the_variable_replaces_the_known_methods() {
    // SAFETY: set before any thread of this test binary reads the
    // environment (the one test here, at its start).
    unsafe { std::env::set_var("OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS", "QUERY,GET") };
    let server = TestServer::http();
    let cap = Capture::new();
    use httptrace::reqwest::{ClientBuilderExt as _, Config};
    let client = reqwest::Client::builder()
        .traced_with(Config::new().make_trace(cap.otel()))
        .unwrap();
    let query = http::Method::from_bytes(b"QUERY").unwrap();
    for method in [query, http::Method::GET, http::Method::POST] {
        client
            .request(method, server.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let hops = cap.hops();
    let methods: Vec<(String, Option<String>, String)> = hops
        .iter()
        .map(|h| {
            (
                attr_str(h, "http.request.method").unwrap(),
                attr_str(h, "http.request.method_original"),
                h.name.to_string(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            ("QUERY".to_string(), None, "QUERY".to_string()),
            ("GET".to_string(), None, "GET".to_string()),
            (
                "_OTHER".to_string(),
                Some("POST".to_string()),
                "HTTP".to_string()
            ),
        ]
    );
}
