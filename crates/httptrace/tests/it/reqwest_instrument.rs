//! The user's own client: `instrument()` returns a plain `reqwest::Client`
//! on which reqwest still follows redirects (under the configured policy
//! and the total timeout), and `TraceMiddleware` reports every send of a
//! reqwest-middleware stack (retries included) as round trips. The traced
//! `Client`, which follows redirects itself, keeps one deadline too.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{Recorder, kind_of, phases};
use httptrace::reqwest::{ClientBuilderExt as _, Config, RedirectPolicy, TraceMiddleware};
use httptrace::{ClientTrace, ErrorKind, Event};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::{TestServer, full_body, refused_addr};
use httptrace_testkit::tls::TestCa;
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;

/// Sends a GET on an instrumented client through `httptrace::reqwest::execute`
/// with `rec` attached.
async fn instrumented_get(
    client: &reqwest::Client,
    url: &str,
    rec: &Recorder,
) -> Result<reqwest::Response, reqwest::Error> {
    let request = client.get(url).build()?;
    rec.trace()
        .scope(httptrace::reqwest::execute(client, request))
        .await
}

fn statuses(rec: &Recorder) -> Vec<Option<u16>> {
    rec.find(|e| match e {
        Event::RoundTripDone(d) => Some(d.status.map(|s| s.as_u16())),
        _ => None,
    })
}

fn resend_counts(rec: &Recorder) -> Vec<u32> {
    rec.find(|e| match e {
        Event::RoundTripStart(s) => Some(s.resend_count),
        _ => None,
    })
}

#[tokio::test]
async fn reqwest_follows_redirects_and_each_hop_is_a_round_trip() {
    let server = TestServer::http();
    let url = server.url("/redirect/2");
    let plain = reqwest::Client::new().get(&url).send().await.unwrap();
    let client = reqwest::Client::builder()
        .instrument(&Config::new())
        .unwrap();
    let rec = Recorder::new();
    let response = instrumented_get(&client, &url, &rec).await.unwrap();
    assert_eq!(response.status(), plain.status());
    assert_eq!(response.url(), plain.url());
    assert_eq!(response.text().await.unwrap(), "done");
    assert_eq!(statuses(&rec), [Some(302), Some(302), Some(200)]);
    assert_eq!(resend_counts(&rec), [0, 1, 2]);
    let urls = rec.find(|e| match e {
        Event::RoundTripStart(s) => Some(s.url.path().to_string()),
        _ => None,
    });
    assert_eq!(urls, ["/redirect/2", "/redirect/1", "/redirect/0"]);
    // The first hop dialled; the others reused its connection.
    let names = phases(&rec.names());
    assert_eq!(
        &names[..8],
        [
            "round_trip_start",
            "get_conn",
            "connect_start",
            "connect_done",
            "got_conn",
            "wrote_headers",
            "wrote_request",
            "got_first_response_byte"
        ],
        "{names:?}"
    );
    let reused = rec.find(|e| match e {
        Event::GotConn(g) => Some(g.reused),
        _ => None,
    });
    assert_eq!(reused, [false, true, true]);
    assert_eq!(names.last(), Some(&"put_idle_conn"), "{names:?}");
    rec.assert_monotonic();
}

#[tokio::test]
async fn the_redirect_limit_fails_as_plain_reqwest_and_on_the_hop_that_hit_it() {
    let server = TestServer::http();
    let url = server.url("/redirect/3");
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(1))
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap_err();
    let client = reqwest::Client::builder()
        .instrument(&Config::new().redirect(RedirectPolicy::limited(1)))
        .unwrap();
    let rec = Recorder::new();
    let traced = instrumented_get(&client, &url, &rec).await.unwrap_err();
    assert_eq!(kind_of(&traced), kind_of(&plain));
    assert!(traced.is_redirect());
    assert_eq!(statuses(&rec), [Some(302), Some(302)]);
    let last = rec
        .find(|e| match e {
            Event::RoundTripDone(d) => d.error.clone(),
            _ => None,
        })
        .pop()
        .expect("the hop that hit the limit carries the error");
    assert_eq!(last.kind(), ErrorKind::Redirect);

    // The traced Client, which follows redirects itself, reports it alike.
    let rec = Recorder::new();
    let traced = reqwest::Client::builder()
        .traced_with(Config::new().redirect(RedirectPolicy::limited(1)))
        .unwrap()
        .get(&url)
        .trace(rec.trace())
        .send()
        .await
        .unwrap_err();
    assert!(traced.is_redirect());
    assert_eq!(statuses(&rec), [Some(302), Some(302)]);
    let errors = rec.find(|e| match e {
        Event::RoundTripDone(d) => Some(d.error.as_ref().map(|e| e.kind())),
        _ => None,
    });
    assert_eq!(errors, [None, Some(ErrorKind::Redirect)]);
}

#[tokio::test]
async fn policy_none_returns_the_redirect_untouched() {
    let server = TestServer::http();
    let url = server.url("/redirect/1");
    let rec = Recorder::new();
    let client = reqwest::Client::builder()
        .instrument(&Config::new().redirect(RedirectPolicy::none()))
        .unwrap();
    let response = instrumented_get(&client, &url, &rec).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/redirect/0");
    assert_eq!(statuses(&rec), [Some(302)]);

    // A policy set on reqwest's builder is kept as it is.
    let rec = Recorder::new();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .instrument(&Config::new())
        .unwrap();
    let response = instrumented_get(&client, &url, &rec).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(statuses(&rec), [Some(302)]);
}

/// `/hop/N` waits 150 ms, then redirects to `/hop/N-1`; `/hop/0` answers 200.
fn slow_hops() -> TestServer {
    TestServer::http_with_handler(|req| {
        let n: u32 = req
            .uri()
            .path()
            .trim_start_matches("/hop/")
            .parse()
            .unwrap_or(0);
        async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            if n == 0 {
                http::Response::new(full_body("done"))
            } else {
                http::Response::builder()
                    .status(302)
                    .header("location", format!("/hop/{}", n - 1))
                    .body(full_body(""))
                    .unwrap()
            }
        }
    })
}

#[tokio::test]
async fn the_total_timeout_bounds_the_whole_chain() {
    let server = slow_hops();
    let url = server.url("/hop/2");
    let timeout = Duration::from_millis(300);
    let plain = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap_err();
    assert!(plain.is_timeout());
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .instrument(&Config::new())
        .unwrap();
    let rec = Recorder::new();
    let started = std::time::Instant::now();
    let traced = instrumented_get(&client, &url, &rec).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "one deadline for all hops"
    );
    assert_eq!(kind_of(&traced), kind_of(&plain));
    // Two hops started; the second ended with the timeout.
    assert_eq!(resend_counts(&rec), [0, 1]);
    assert_eq!(statuses(&rec), [Some(302), None]);
    let errors = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.as_ref().map(|e| e.kind()),
        _ => None,
    });
    assert_eq!(errors, [ErrorKind::Timeout]);
}

#[tokio::test]
async fn the_traced_client_gives_all_its_hops_one_deadline_too() {
    let server = slow_hops();
    let url = server.url("/hop/2");
    let timeout = Duration::from_millis(300);
    let on_builder = reqwest::Client::builder()
        .timeout(timeout)
        .traced()
        .unwrap();
    let on_request = reqwest::Client::builder().traced().unwrap();
    for (client, per_request) in [(on_builder, None), (on_request, Some(timeout))] {
        let rec = Recorder::new();
        let mut request = client.get(&url).trace(rec.trace());
        if let Some(t) = per_request {
            request = request.timeout(t);
        }
        let started = std::time::Instant::now();
        let err = request.send().await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(
            started.elapsed() < Duration::from_millis(450),
            "one deadline for all hops"
        );
        assert_eq!(resend_counts(&rec), [0, 1]);
    }
}

#[tokio::test]
async fn a_plain_send_inside_a_scope_reports_its_dial_but_no_round_trip() {
    let server = TestServer::http();
    let client = reqwest::Client::builder()
        .instrument(&Config::new())
        .unwrap();
    let rec = Recorder::new();
    let response = rec
        .trace()
        .scope(client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "hello");
    assert_eq!(rec.names(), ["connect_start", "connect_done"]);
}

/// `/flaky` answers 503 twice, then redirects to `/done` (200).
fn flaky() -> TestServer {
    let calls = Arc::new(AtomicUsize::new(0));
    TestServer::http_with_handler(move |req| {
        let call = if req.uri().path() == "/flaky" {
            calls.fetch_add(1, Ordering::SeqCst)
        } else {
            usize::MAX
        };
        async move {
            match call {
                0 | 1 => http::Response::builder()
                    .status(503)
                    .body(full_body("busy"))
                    .unwrap(),
                usize::MAX => http::Response::new(full_body("done")),
                _ => http::Response::builder()
                    .status(302)
                    .header("location", "/done")
                    .body(full_body(""))
                    .unwrap(),
            }
        }
    })
}

/// A reqwest-middleware stack as services build it: retries outside, the
/// trace innermost (`None`: the same stack without it).
fn stack_with(client: reqwest::Client, trace: Option<&Config>) -> ClientWithMiddleware {
    let retries = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(2);
    let builder = reqwest_middleware::ClientBuilder::new(client)
        .with(RetryTransientMiddleware::new_with_policy(retries));
    match trace {
        Some(config) => builder.with(TraceMiddleware::new(config)).build(),
        None => builder.build(),
    }
}

fn stack(client: reqwest::Client, config: &Config) -> ClientWithMiddleware {
    stack_with(client, Some(config))
}

/// What a stack's error is, to compare a traced stack with an untraced one:
/// reqwest's error kind, or the middleware's message.
fn stack_error(e: &reqwest_middleware::Error) -> String {
    match e {
        reqwest_middleware::Error::Reqwest(e) => format!("reqwest {:?}", kind_of(e)),
        reqwest_middleware::Error::Middleware(e) => format!("middleware {e}"),
    }
}

#[tokio::test]
async fn every_retry_and_redirect_hop_is_a_round_trip_counting_resends() {
    let server = flaky();
    let rec = Recorder::new();
    let config = Config::new().make_trace({
        let rec = rec.clone();
        move |_: &httptrace::RequestInfo<'_>| Some(rec.trace())
    });
    let client = stack(
        reqwest::Client::builder().instrument(&config).unwrap(),
        &config,
    );
    let response = client.get(server.url("/flaky")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "done");
    assert_eq!(statuses(&rec), [Some(503), Some(503), Some(302), Some(200)]);
    assert_eq!(resend_counts(&rec), [0, 1, 2, 3]);
    let body_done = rec.names().iter().filter(|n| **n == "body_done").count();
    assert_eq!(body_done, 4, "every hop's body ends: {:?}", rec.names());
}

#[tokio::test]
async fn concurrent_requests_through_one_stack_each_get_their_own_events() {
    let server = TestServer::http();
    let config = Config::new();
    let client = stack(
        reqwest::Client::builder().instrument(&config).unwrap(),
        &config,
    );
    let tasks = (0..200).map(|i| {
        let client = client.clone();
        let url = server.url(&format!("/status/{}", 200 + i % 7));
        async move {
            let rec = Recorder::new();
            let status = rec
                .trace()
                .scope(async {
                    client
                        .get(&url)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .map(|_| ())
                })
                .await;
            status.unwrap();
            (url, rec)
        }
    });
    for (url, rec) in futures_util::future::join_all(tasks).await {
        let starts = rec.find(|e| match e {
            Event::RoundTripStart(s) => Some(s.url.to_string()),
            _ => None,
        });
        assert_eq!(starts, std::slice::from_ref(&url));
        let expected: u16 = url.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(statuses(&rec), [Some(expected)]);
        let names = rec.names();
        assert_eq!(names.iter().filter(|n| **n == "body_done").count(), 1);
        assert_eq!(names.iter().filter(|n| **n == "got_conn").count(), 1);
        rec.assert_monotonic();
    }
}

/// The same GET through plain reqwest and an instrumented client (through
/// `execute`), and through the middleware stack with and without the trace:
/// the same error each time. Returns the error kinds the instrumented
/// client's hooks reported.
async fn fails_alike(config: Config, plain: reqwest::Client, url: &str) -> Vec<ErrorKind> {
    let expected = kind_of(&plain.get(url).send().await.unwrap_err());
    let untraced_stack = stack_with(plain, None).get(url).send().await.unwrap_err();
    let client = reqwest::Client::builder().instrument(&config).unwrap();
    let rec = Recorder::new();
    let direct = instrumented_get(&client, url, &rec).await.unwrap_err();
    assert_eq!(kind_of(&direct), expected, "instrument: {direct}");
    let stack_rec = Recorder::new();
    let traced_stack = stack_rec
        .trace()
        .scope(stack(client, &config).get(url).send())
        .await
        .unwrap_err();
    assert_eq!(stack_error(&traced_stack), stack_error(&untraced_stack));
    assert!(
        stack_rec.names().contains(&"round_trip_done"),
        "{:?}",
        stack_rec.names()
    );
    rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.as_ref().map(|e| e.kind()),
        _ => None,
    })
}

#[tokio::test]
async fn failures_are_reqwests_own_on_the_instrumented_client_and_the_stack() {
    // Bad URL: reqwest refuses to build the request.
    let client = reqwest::Client::builder()
        .instrument(&Config::new())
        .unwrap();
    let plain = reqwest::Client::new()
        .get("http://[::1")
        .send()
        .await
        .unwrap_err();
    let err = client.get("http://[::1").send().await.unwrap_err();
    assert_eq!(kind_of(&err), kind_of(&plain));

    // Unknown host.
    let dns = DnsServer::start(DnsConfig::new()).unwrap();
    let kinds = fails_alike(
        Config::new().dns_server(dns.addr()),
        reqwest::Client::new(),
        "http://no-such-host.test:1/",
    )
    .await;
    assert_eq!(kinds, [ErrorKind::HostNotFound]);

    // Refused.
    let url = format!("http://{}/", refused_addr());
    let kinds = fails_alike(Config::new(), reqwest::Client::new(), &url).await;
    assert_eq!(kinds, [ErrorKind::ConnectionRefused]);

    // Untrusted certificate.
    let ca = TestCa::new();
    let dns =
        DnsServer::start(DnsConfig::new().record("good.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
    let server = TestServer::https(&ca.server_identity(&["good.test"]), &[b"h2", b"http/1.1"]);
    let url = server.url_with_host("good.test", "/");
    let plain = reqwest::Client::builder()
        .resolve("good.test", server.addr())
        .build()
        .unwrap();
    let kinds = fails_alike(Config::new().dns_server(dns.addr()), plain, &url).await;
    assert_eq!(kinds, [ErrorKind::Certificate]);
}

#[tokio::test]
async fn a_body_reset_mid_way_fails_alike_and_is_reported_on_body_done() {
    let server = TestServer::raw_reset_mid_body();
    let url = format!("http://{}/", server.addr());
    let plain = reqwest::Client::new().get(&url).send().await.unwrap();
    let plain_err = plain.bytes().await.unwrap_err();
    let config = Config::new();
    let client = reqwest::Client::builder().instrument(&config).unwrap();
    let rec = Recorder::new();
    let response = instrumented_get(&client, &url, &rec).await.unwrap();
    let err = response.bytes().await.unwrap_err();
    assert_eq!(kind_of(&err), kind_of(&plain_err));
    let stack_rec = Recorder::new();
    let response = stack_rec
        .trace()
        .scope(stack(client, &config).get(&url).send())
        .await
        .unwrap();
    let err = response.bytes().await.unwrap_err();
    assert_eq!(kind_of(&err), kind_of(&plain_err));
    for rec in [rec, stack_rec] {
        let failed = rec.find(|e| match e {
            Event::BodyDone(b) => Some(matches!(b.outcome, httptrace::BodyOutcome::Failed(_))),
            _ => None,
        });
        assert_eq!(failed, [true]);
    }
}

#[test]
fn the_middleware_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<TraceMiddleware>();
    let _ = ClientTrace::new();
}
