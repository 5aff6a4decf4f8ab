//! Transparency of the hyper-util transport: a traced request answers and
//! fails exactly as hyper-util's own client with its `HttpConnector` does
//! (status, headers, body; the same kind of error), and the hooks report
//! each failure at its phase.

use crate::support;
use std::time::Duration;

use crate::support::Recorder;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use httptrace::hyper::Client;
use httptrace::{BodyOutcome, ErrorKind, Event};
use httptrace_testkit::http::{TestServer, refused_addr};
use httptrace_testkit::tls::TestCa;
use hyper_util::client::legacy;
use hyper_util::rt::TokioExecutor;

type Plain = legacy::Client<legacy::connect::HttpConnector, Empty<Bytes>>;

fn plain() -> Plain {
    legacy::Client::builder(TokioExecutor::new()).build_http()
}

fn traced() -> Client<Empty<Bytes>> {
    Client::builder().http1_only().build().unwrap()
}

fn get(url: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(url).body(Empty::new()).unwrap()
}

/// What a failed request says about itself, to compare errors by kind: the
/// client's predicate and, where hyper produced the cause, hyper's.
fn kind_of(e: &legacy::Error) -> (bool, Option<[bool; 5]>) {
    let hyper = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<hyper::Error>())
        .map(|h| {
            [
                h.is_parse(),
                h.is_incomplete_message(),
                h.is_closed(),
                h.is_canceled(),
                h.is_timeout(),
            ]
        });
    (e.is_connect(), hyper)
}

/// Hyper's verdict on a failed body read.
fn body_kind(e: &hyper::Error) -> [bool; 3] {
    [
        e.is_incomplete_message(),
        e.is_body_write_aborted(),
        e.is_closed(),
    ]
}

fn error_on(rec: &Recorder, hook: &str) -> ErrorKind {
    rec.events()
        .iter()
        .find(|e| e.name() == hook)
        .and_then(|e| e.error().map(|e| e.kind()))
        .unwrap_or_else(|| panic!("no {hook} with an error in {:?}", rec.names()))
}

/// GETs `url` with plain hyper-util and with the traced client, both of
/// which must fail in the same way; returns the traced error and its events.
async fn fails_alike(url: &str) -> (legacy::Error, Recorder) {
    let a = plain().request(get(url)).await.unwrap_err();
    let rec = Recorder::new();
    let b = traced()
        .request_traced(get(url), rec.trace())
        .await
        .unwrap_err();
    assert_eq!(kind_of(&a), kind_of(&b));
    (b, rec)
}

#[tokio::test]
async fn traced_responses_match_plain_hyper_util() {
    let server = TestServer::http();
    let (plain, traced) = (plain(), traced());
    for path in ["/", "/bytes/100000", "/status/503", "/redirect/1", "/nope"] {
        let url = server.url(path);
        let a = plain.request(get(&url)).await.unwrap();
        let b = traced
            .request_traced(get(&url), Recorder::new().trace())
            .await
            .unwrap();
        assert_eq!(a.status(), b.status(), "{path}");
        assert_eq!(a.version(), b.version(), "{path}");
        let strip = |h: &http::HeaderMap| {
            let mut h = h.clone();
            h.remove("date");
            h.remove("x-served-by-conn");
            h
        };
        assert_eq!(strip(a.headers()), strip(b.headers()), "{path}");
        let a = a.into_body().collect().await.unwrap().to_bytes();
        let b = b.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(a, b, "{path}");
    }
}

#[tokio::test]
async fn refused_connection_fails_like_plain_hyper_util() {
    let (b, rec) = fails_alike(&format!("http://{}/", refused_addr())).await;
    assert!(b.is_connect());
    assert_eq!(ErrorKind::of(&b), ErrorKind::ConnectionRefused, "{b:?}");
    assert_eq!(error_on(&rec, "connect_done"), ErrorKind::ConnectionRefused);
    assert_eq!(
        error_on(&rec, "round_trip_done"),
        ErrorKind::ConnectionRefused
    );
}

#[tokio::test]
async fn garbage_from_the_server_fails_like_plain_hyper_util_without_panicking() {
    let server = TestServer::raw_garbage();
    let (b, rec) = fails_alike(&server.url("/")).await;
    assert_eq!(kind_of(&b).1.map(|k| k[0]), Some(true), "a parse error");
    assert_eq!(error_on(&rec, "round_trip_done"), ErrorKind::Protocol);
    assert_eq!(ErrorKind::of(&b), ErrorKind::Protocol);
}

#[tokio::test]
async fn reset_mid_body_fails_like_plain_hyper_util_and_is_reported_on_body_done() {
    let server = TestServer::raw_reset_mid_body();
    let url = server.url("/");
    let a = plain().request(get(&url)).await.unwrap();
    let a = a.into_body().collect().await.unwrap_err();
    let rec = Recorder::new();
    let b = traced()
        .request_traced(get(&url), rec.trace())
        .await
        .unwrap();
    assert_eq!(b.status(), 200);
    let b = b.into_body().collect().await.unwrap_err();
    // The traced body's error is boxed: hyper's own error inside it.
    let b = b
        .downcast_ref::<hyper::Error>()
        .expect("hyper's error, boxed");
    assert_eq!(body_kind(&a), body_kind(b));
    let outcome = rec.find(|e| match e {
        Event::BodyDone(d) => Some(d.outcome.clone()),
        _ => None,
    });
    assert!(
        matches!(&outcome[..], [BodyOutcome::Failed(_)]),
        "{outcome:?}"
    );
    // What was read before the reset is counted.
    let bytes = rec.find(|e| match e {
        Event::BodyDone(d) => Some(d.bytes),
        _ => None,
    });
    assert!(bytes[0] > 0, "{bytes:?}");
}

#[tokio::test]
async fn a_wrong_host_certificate_fails_at_tls_done_and_no_request_is_sent() {
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["other.test"]), &[b"http/1.1"]);
    let client = Client::builder()
        .built_in_roots(false)
        .root_certificate_der(ca.cert_der().to_vec())
        .build::<Empty<Bytes>>()
        .unwrap();
    let rec = Recorder::new();
    let e = client
        .request_traced(
            get(&format!("https://127.0.0.1:{}/", server.port())),
            rec.trace(),
        )
        .await
        .unwrap_err();
    assert!(e.is_connect());
    assert_eq!(error_on(&rec, "tls_handshake_done"), ErrorKind::Certificate);
    assert!(!rec.names().contains(&"wrote_headers"));
    assert_eq!(server.requests_served(), 0);
}

#[tokio::test]
async fn a_deadline_cancels_like_plain_hyper_util_and_the_round_trip_says_cancelled() {
    let server = TestServer::stall();
    let url = server.url("/");
    let limit = Duration::from_millis(150);
    assert!(
        tokio::time::timeout(limit, plain().request(get(&url)))
            .await
            .is_err()
    );
    let rec = Recorder::new();
    let client = traced();
    let pending = client.request_traced(get(&url), rec.trace());
    assert!(tokio::time::timeout(limit, pending).await.is_err());
    assert_eq!(error_on(&rec, "round_trip_done"), ErrorKind::Cancelled);
    // It got a connection and was written; no answer came.
    let names = support::phases(&rec.names());
    assert_eq!(
        names,
        [
            "round_trip_start",
            "get_conn",
            "connect_start",
            "connect_done",
            "got_conn",
            "wrote_headers",
            "wrote_request",
            "round_trip_done"
        ]
    );
    rec.assert_monotonic();
}

#[tokio::test]
async fn a_callers_own_connection_capture_keeps_working_with_a_trace() {
    let server = TestServer::http();
    let client = traced();
    let mut request = get(&server.url("/"));
    let capture = legacy::connect::capture_connection(&mut request);
    let rec = Recorder::new();
    let response = client.request_traced(request, rec.trace()).await.unwrap();
    response.into_body().collect().await.unwrap();
    assert!(capture.connection_metadata().is_some());
    // The trace still learnt its connection.
    assert_eq!(
        rec.find(|e| match e {
            Event::GotConn(c) => c.remote_addr,
            _ => None,
        }),
        [server.addr()]
    );
}
