//! The hyper-util transport against real local servers: per-address connect
//! attempts, socket-level write/read hooks, 1xx responses, TLS with HTTP/2,
//! reuse, and failures at their phase.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::support::{Recorder, phases};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use httptrace::hyper::Client;
use httptrace::{BodyOutcome, ErrorKind, Event};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::{BlackHole, TestServer, refused_addr};
use httptrace_testkit::tls::TestCa;

fn get(url: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(url).body(Empty::new()).unwrap()
}

#[tokio::test]
async fn each_address_is_its_own_connect_attempt_and_socket_hooks_are_ordered() {
    // The name resolves to an address with nothing listening, then the server.
    let server = TestServer::http();
    let dns = DnsServer::start(DnsConfig::new().record(
        "two.test",
        [
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        ],
    ))
    .unwrap();
    let client = Client::builder().dns_server(dns.addr()).build().unwrap();
    let rec = Recorder::new();
    let url = server.url_with_host("two.test", "/delay/50");
    let response = client.request_traced(get(&url), rec.trace()).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");

    assert_eq!(
        phases(&rec.names()),
        [
            "round_trip_start",
            "get_conn",
            "dns_start",
            "dns_done",
            "connect_start",
            "connect_done",
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
    let attempts = rec.find(|e| match e {
        Event::ConnectDone(c) => Some((c.addr.unwrap().ip(), c.error.as_ref().map(|e| e.kind()))),
        _ => None,
    });
    assert_eq!(
        attempts,
        [
            (
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
                Some(ErrorKind::ConnectionRefused)
            ),
            (IpAddr::V4(Ipv4Addr::LOCALHOST), None),
        ]
    );
    let events = rec.events();
    let at = |name: &str| events.iter().find(|e| e.name() == name).unwrap().at();
    assert!(at("wrote_headers") >= at("got_conn"));
    assert!(at("wrote_request") >= at("wrote_headers"));
    // The server waits 50 ms before answering: the first byte comes at least
    // that long after the request was written, and before the parsed headers.
    assert!(at("got_first_response_byte") - at("wrote_request") >= Duration::from_millis(50));
    assert!(at("got_first_response_byte") <= at("round_trip_done"));
}

/// Sends `GET /` to a name resolving to a black-holed address first and the
/// server second, with this race delay and connect timeout. Returns the
/// recorded events, the server and the black hole's address.
async fn get_past_a_black_hole(
    race: Option<Duration>,
    timeout: Duration,
) -> (Recorder, TestServer, IpAddr) {
    let server = TestServer::http();
    let hole = BlackHole::bind((Ipv4Addr::new(127, 0, 0, 3), server.port()).into()).unwrap();
    let dns = DnsServer::start(DnsConfig::new().record(
        "slow.test",
        [hole.addr().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST)],
    ))
    .unwrap();
    let client = Client::builder()
        .dns_server(dns.addr())
        .happy_eyeballs_delay(race)
        .connect_timeout(timeout)
        .build()
        .unwrap();
    let rec = Recorder::new();
    let url = server.url_with_host("slow.test", "/");
    let response = client.request_traced(get(&url), rec.trace()).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap();
    (rec, server, hole.addr().ip())
}

/// Each connect attempt as (address, start, done, error kind), in start order.
fn attempts(rec: &Recorder) -> Vec<(IpAddr, Instant, Instant, Option<ErrorKind>)> {
    let events = rec.events();
    let starts = rec.find(|e| match e {
        Event::ConnectStart(c) => Some((c.addr.unwrap().ip(), c.at)),
        _ => None,
    });
    starts
        .into_iter()
        .map(|(ip, start)| {
            let done = events
                .iter()
                .find_map(|e| match e {
                    Event::ConnectDone(c) if c.addr.unwrap().ip() == ip => {
                        Some((c.at, c.error.as_ref().map(|e| e.kind())))
                    }
                    _ => None,
                })
                .expect("every connect_start has its connect_done");
            (ip, start, done.0, done.1)
        })
        .collect()
}

#[tokio::test]
async fn an_unanswered_address_is_raced_by_the_next_after_the_happy_eyeballs_delay() {
    let delay = Duration::from_millis(150);
    // Without racing the hole would time out first: a failure, not a hang.
    let (rec, server, hole) = get_past_a_black_hole(Some(delay), Duration::from_secs(5)).await;

    let tried = attempts(&rec);
    assert_eq!(tried.len(), 2, "{tried:?}");
    let (hole_ip, hole_start, hole_done, hole_error) = tried[0];
    let (good_ip, good_start, good_done, good_error) = tried[1];
    assert_eq!(hole_ip, hole);
    assert_eq!(good_ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
    // The second attempt waited for the delay, no longer than the hole hangs.
    assert!(good_start - hole_start >= delay);
    assert_eq!(good_error, None);
    // The loser is abandoned once the winner connects, and says so.
    assert_eq!(hole_error, Some(ErrorKind::Cancelled));
    assert!(hole_done >= good_done);
    let names = phases(&rec.names());
    let got_conn = names.iter().position(|n| *n == "got_conn").unwrap();
    let last_connect_done = names.iter().rposition(|n| *n == "connect_done").unwrap();
    assert!(last_connect_done < got_conn, "{names:?}");
    assert_eq!(server.connections_accepted(), 1);
}

#[tokio::test]
async fn without_racing_an_unanswered_address_holds_the_dial_until_its_timeout() {
    let timeout = Duration::from_millis(200);
    let (rec, _server, _) = get_past_a_black_hole(None, timeout).await;

    let tried = attempts(&rec);
    assert_eq!(tried.len(), 2, "{tried:?}");
    assert_eq!(tried[0].3, Some(ErrorKind::Timeout));
    assert!(tried[0].2 - tried[0].1 >= timeout);
    // Strictly one after another: the second starts after the first gave up.
    assert!(tried[1].1 >= tried[0].2);
    assert_eq!(tried[1].3, None);
}

#[tokio::test]
async fn https_h2_reports_the_full_handshake() {
    let ca = TestCa::new();
    let dns =
        DnsServer::start(DnsConfig::new().record("api.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
    let server = TestServer::https(&ca.server_identity(&["api.test"]), &[b"h2", b"http/1.1"]);
    let client = Client::builder()
        .dns_server(dns.addr())
        .root_certificate_der(ca.cert_der().to_vec())
        .build()
        .unwrap();
    let rec = Recorder::new();
    let response = client
        .request_traced(get(&server.url_with_host("api.test", "/")), rec.trace())
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    response.into_body().collect().await.unwrap();
    let names = phases(&rec.names());
    let tls_start = names
        .iter()
        .position(|n| *n == "tls_handshake_start")
        .unwrap();
    assert_eq!(names[tls_start - 1], "connect_done");
    assert_eq!(names[tls_start + 1], "tls_handshake_done");
    rec.assert_monotonic();
    let tls = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => t.state.clone(),
        _ => None,
    });
    assert_eq!(tls[0].version.as_deref(), Some("TLSv1.3"));
    assert_eq!(tls[0].alpn.as_deref(), Some("h2"));
    assert!(
        tls[0].peer_certificates[0]
            .subject_alt_names
            .contains(&"api.test".to_string())
    );
    let got = rec.find(|e| match e {
        Event::GotConn(g) => Some(g.protocol),
        _ => None,
    });
    assert_eq!(got, [http::Version::HTTP_2]);
}

#[tokio::test]
async fn informational_100_continue_is_reported() {
    let server = TestServer::http();
    let client = Client::builder().build::<Full<Bytes>>().unwrap();
    let rec = Recorder::new();
    let request = http::Request::post(server.url("/continue"))
        .header("expect", "100-continue")
        .body(Full::new(Bytes::from_static(b"hello")))
        .unwrap();
    let response = client.request_traced(request, rec.trace()).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"5");
    let informational = rec.find(|e| match e {
        Event::Got1xxResponse(g) => Some(g.status.as_u16()),
        _ => None,
    });
    assert_eq!(informational, [100]);
    let names = phases(&rec.names());
    let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(at("got_1xx_response") < at("round_trip_done"));
}

#[tokio::test]
async fn reuse_and_idle_time_on_a_kept_alive_connection() {
    let server = TestServer::http();
    let client = Client::builder().build::<Empty<Bytes>>().unwrap();
    let pause = Duration::from_millis(40);
    let mut got = Vec::new();
    for _ in 0..2 {
        let rec = Recorder::new();
        let response = client
            .request_traced(get(&server.url("/")), rec.trace())
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
        got.extend(rec.find(|e| match e {
            Event::GotConn(g) => Some(g.clone()),
            _ => None,
        }));
        let start = rec.events()[0].at();
        let wrote = rec
            .events()
            .iter()
            .find(|e| e.name() == "wrote_headers")
            .unwrap()
            .at();
        assert!(
            wrote >= start,
            "a request's writes are its own, not the previous one's"
        );
        tokio::time::sleep(pause).await;
    }
    assert_eq!(server.connections_accepted(), 1);
    assert!(!got[0].reused);
    assert!(got[1].reused && got[1].was_idle);
    assert!(got[1].idle_time.unwrap() >= pause);
    assert_eq!(got[0].local_addr, got[1].local_addr);
}

#[tokio::test]
async fn failures_are_reported_at_their_phase() {
    let client = Client::builder().build::<Empty<Bytes>>().unwrap();
    // Refused.
    let rec = Recorder::new();
    let err = client
        .request_traced(get(&format!("http://{}/", refused_addr())), rec.trace())
        .await
        .unwrap_err();
    assert!(err.is_connect());
    let refused = rec.find(|e| match e {
        Event::ConnectDone(c) => c.error.as_ref().map(|e| e.kind()),
        _ => None,
    });
    assert_eq!(refused, [ErrorKind::ConnectionRefused]);
    assert_eq!(
        rec.find(|e| match e {
            Event::RoundTripDone(d) => d.error.as_ref().map(|e| e.kind()),
            _ => None,
        }),
        [ErrorKind::ConnectionRefused]
    );

    // Untrusted certificate.
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["127.0.0.1"]), &[b"http/1.1"]);
    let rec = Recorder::new();
    client
        .request_traced(
            get(&format!("https://127.0.0.1:{}/", server.port())),
            rec.trace(),
        )
        .await
        .unwrap_err();
    let tls = rec.find(|e| match e {
        Event::TlsHandshakeDone(t) => t.error.as_ref().map(|e| e.kind()),
        _ => None,
    });
    assert_eq!(tls, [ErrorKind::Certificate]);

    // Unknown name.
    let dns = DnsServer::start(DnsConfig::new()).unwrap();
    let client = Client::builder()
        .dns_server(dns.addr())
        .build::<Empty<Bytes>>()
        .unwrap();
    let rec = Recorder::new();
    client
        .request_traced(get("http://nowhere.test/"), rec.trace())
        .await
        .unwrap_err();
    let dns_error = rec.find(|e| match e {
        Event::DnsDone(d) => d.error.as_ref().map(|e| e.kind()),
        _ => None,
    });
    assert_eq!(dns_error, [ErrorKind::HostNotFound]);
    assert!(!rec.names().contains(&"connect_start"));

    // Cancelled mid-response, and a body dropped unread.
    let server = TestServer::http();
    let client = Client::builder().build::<Empty<Bytes>>().unwrap();
    let rec = Recorder::new();
    let pending = client.request_traced(get(&server.url("/delay/2000")), rec.trace());
    assert!(
        tokio::time::timeout(Duration::from_millis(100), pending)
            .await
            .is_err()
    );
    let cancelled = rec.find(|e| match e {
        Event::RoundTripDone(d) => d.error.as_ref().map(|e| e.kind()),
        _ => None,
    });
    assert_eq!(cancelled, [ErrorKind::Cancelled]);
    let rec = Recorder::new();
    let response = client
        .request_traced(get(&server.url("/bytes/1000000")), rec.trace())
        .await
        .unwrap();
    drop(response);
    let body = rec.find(|e| match e {
        Event::BodyDone(b) => Some(b.outcome.clone()),
        _ => None,
    });
    assert!(matches!(body[..], [BodyOutcome::Dropped]));
}

/// A client-level observer of connection states.
#[derive(Clone, Default)]
struct ConnLog(std::sync::Arc<std::sync::Mutex<Vec<httptrace::ConnectionEvent>>>);

impl httptrace::MakeTrace for ConnLog {
    fn make_trace(&self, _: &httptrace::RequestInfo<'_>) -> Option<httptrace::ClientTrace> {
        Some(httptrace::ClientTrace::new())
    }

    fn on_connection(&self, event: &httptrace::ConnectionEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

#[tokio::test]
async fn connection_states_are_reported_from_open_to_close() {
    use httptrace::ConnectionState::{Active, Closed, Idle};
    let server = TestServer::http();
    let log = ConnLog::default();
    let client = Client::builder()
        .make_trace(log.clone())
        .build::<Empty<Bytes>>()
        .unwrap();
    for _ in 0..2 {
        let response = client.request(get(&server.url("/"))).await.unwrap();
        response.into_body().collect().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Dropping the client drops its pool, which closes the idle connection.
    drop(client);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !log.0.lock().unwrap().iter().any(|e| e.state == Closed) {
        assert!(tokio::time::Instant::now() < deadline, "no close reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let events = log.0.lock().unwrap().clone();
    let states: Vec<_> = events.iter().map(|e| (e.previous, e.state)).collect();
    assert_eq!(
        states,
        [
            (None, Idle),
            (Some(Idle), Active),
            (Some(Active), Idle),
            (Some(Idle), Active),
            (Some(Active), Idle),
            (Some(Idle), Closed),
        ]
    );
    for e in &events {
        assert_eq!(e.remote_addr, server.addr());
        assert_eq!(e.server_port, server.port());
        assert_eq!(e.scheme, "http");
        assert_eq!(e.opened_at, events[0].opened_at);
    }
    for pair in events.windows(2) {
        assert!(pair[1].at >= pair[0].at, "states in time order");
    }
}

#[tokio::test]
async fn a_resend_count_extension_is_the_round_trips_resend_count() {
    let server = TestServer::http();
    let client = Client::builder().build().unwrap();
    for resend in [None, Some(3)] {
        let rec = Recorder::new();
        let mut request = get(&server.url("/"));
        if let Some(n) = resend {
            request
                .extensions_mut()
                .insert(httptrace::hyper::ResendCount(n));
        }
        let response = client.request_traced(request, rec.trace()).await.unwrap();
        response.into_body().collect().await.unwrap();
        let counts = rec.find(|e| match e {
            Event::RoundTripStart(s) => Some(s.resend_count),
            _ => None,
        });
        assert_eq!(counts, [resend.unwrap_or(0)]);
    }
}

#[tokio::test]
async fn pem_roots_are_trusted_and_a_bad_bundle_is_a_clear_error() {
    let ca = TestCa::new();
    let dns =
        DnsServer::start(DnsConfig::new().record("pem.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
    let server = TestServer::https(&ca.server_identity(&["pem.test"]), &[b"http/1.1"]);
    let client = Client::builder()
        .dns_server(dns.addr())
        .built_in_roots(false)
        .root_certificates_pem(ca.cert_pem().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let response = client
        .request(get(&server.url_with_host("pem.test", "/")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let error = Client::builder()
        .root_certificates_pem(b"not a certificate")
        .unwrap_err();
    assert!(error.to_string().contains("no certificate"), "{error}");
}

#[tokio::test]
async fn request_futures_are_send_so_they_can_be_spawned() {
    fn spawnable<T: Send + 'static>(_: T) {}
    let client = Client::builder().build::<Empty<Bytes>>().unwrap();
    let url = format!("http://{}/", refused_addr());
    spawnable({
        let client = client.clone();
        let request = get(&url);
        async move { client.request(request).await }
    });
    spawnable({
        let request = get(&url);
        async move {
            client
                .request_traced(request, httptrace::ClientTrace::new())
                .await
        }
    });
    use httptrace::reqwest::ClientBuilderExt as _;
    let traced = reqwest::Client::builder().traced().unwrap();
    spawnable(async move {
        traced
            .get(url)
            .trace(httptrace::ClientTrace::new())
            .send()
            .await
    });
}
