//! The service's own behaviour, in whichever build this is: it calls a real
//! local server (through a redirect) and gets the body. With the `httptrace`
//! feature the call is also traced: the request carries a W3C `traceparent`
//! and the client is the same type.

use httptrace_testkit::TestServer;

#[tokio::test]
async fn fetches_the_body_through_a_redirect() {
    let server = TestServer::http();
    let client = example_service::client().expect("client");
    let body = example_service::fetch(&client, &server.url("/redirect/1"))
        .await
        .expect("fetch");
    assert_eq!(body, "done");
    assert_eq!(server.requests_served(), 2, "the redirect was followed");
}

#[tokio::test]
async fn error_statuses_are_errors() {
    let server = TestServer::http();
    let client = example_service::client().expect("client");
    let err = example_service::fetch(&client, &server.url("/status/503"))
        .await
        .expect_err("503 is an error");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(
        server.requests_served(),
        3,
        "retried twice, as the stack says"
    );
}

#[cfg(not(feature = "httptrace"))]
#[tokio::test]
async fn plain_build_sends_no_trace_context() {
    let _: &reqwest_middleware::ClientWithMiddleware = &example_service::client().expect("client");
    let server = TestServer::http();
    let client = example_service::client().expect("client");
    let echo = example_service::fetch(&client, &server.url("/echo"))
        .await
        .expect("fetch");
    assert!(echo.contains("\"path\":\"/echo\""), "{echo}");
    assert!(
        !echo.contains("traceparent"),
        "plain build sent trace context: {echo}"
    );
}

#[cfg(feature = "httptrace")]
#[tokio::test]
async fn traced_build_propagates_trace_context() {
    use std::time::Duration;

    let _: &reqwest_middleware::ClientWithMiddleware = &example_service::client().expect("client");
    // The pipeline `httptrace_otel::init()` installs, pointed at a port where
    // nothing listens: spans are made and propagated, export quietly fails.
    let otel = httptrace_otel::Setup::with_env(|_| None)
        .service_name("example-service-test")
        .endpoint("http://127.0.0.1:9")
        .metrics(false)
        .fmt(false)
        .shutdown_timeout(Duration::from_secs(1))
        .try_install()
        .expect("pipeline");
    let server = TestServer::http();
    let client = example_service::client().expect("client");
    let echo = example_service::fetch(&client, &server.url("/redirect-307"))
        .await
        .expect("fetch");
    // /redirect-307 → /echo: the second hop's request shows its headers.
    assert!(echo.contains("\"path\":\"/echo\""), "{echo}");
    assert!(
        echo.contains("\"traceparent\":\"00-"),
        "no traceparent on the hop: {echo}"
    );
    let _ = otel.shutdown();
}
