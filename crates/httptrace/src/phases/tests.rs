//! `Phases` from event sequences: every phase, failures, late and
//! overlapping events.

use super::*;
use crate::event::*;
use std::net::SocketAddr;

/// `t(n)`: n milliseconds after a common origin.
fn clock() -> impl Fn(u64) -> Instant {
    let t0 = Instant::now();
    move |ms| t0 + Duration::from_millis(ms)
}

fn start(at: Instant) -> Event {
    Event::RoundTripStart(RoundTripStart {
        at,
        method: http::Method::GET,
        url: url::Url::parse("https://example.test/").unwrap(),
        resend_count: 0,
    })
}

fn connect_start(at: Instant) -> Event {
    Event::ConnectStart(ConnectStart {
        at,
        network: "tcp",
        addr: None,
    })
}

fn connect_done(at: Instant, error: Option<ErrorKind>) -> Event {
    Event::ConnectDone(ConnectDone {
        at,
        network: "tcp",
        addr: Some(SocketAddr::from(([127, 0, 0, 1], 443))),
        error: error.map(|k| HookError::new(k, "refused")),
    })
}

fn got_conn(at: Instant, reused: bool) -> Event {
    Event::GotConn(GotConn {
        at,
        reused,
        was_idle: reused,
        idle_time: None,
        local_addr: None,
        remote_addr: None,
        protocol: http::Version::HTTP_11,
        proxied: false,
    })
}

fn wrote_request(at: Instant) -> Event {
    Event::WroteRequest(WroteRequest {
        at,
        body_bytes: 0,
        error: None,
    })
}

fn first_byte(at: Instant) -> Event {
    Event::GotFirstResponseByte(GotFirstResponseByte { at })
}

fn round_trip_done(at: Instant, error: Option<ErrorKind>) -> Event {
    Event::RoundTripDone(RoundTripDone {
        at,
        status: error.is_none().then_some(http::StatusCode::OK),
        version: None,
        headers: None,
        error: error.map(|k| HookError::new(k, "failed")),
    })
}

fn body_done(at: Instant, outcome: BodyOutcome) -> Event {
    Event::BodyDone(BodyDone {
        at,
        bytes: 0,
        outcome,
    })
}

#[test]
fn a_fresh_https_round_trip_has_every_phase() {
    let t = clock();
    let events = [
        start(t(0)),
        Event::DnsStart(DnsStart {
            at: t(1),
            host: "example.test".into(),
        }),
        Event::DnsDone(DnsDone {
            at: t(3),
            host: "example.test".into(),
            addrs: Vec::new(),
            error: None,
            coalesced: false,
        }),
        connect_start(t(3)),
        connect_done(t(6), None),
        Event::TlsHandshakeStart(TlsHandshakeStart {
            at: t(6),
            server_name: "example.test".into(),
        }),
        Event::TlsHandshakeDone(TlsHandshakeDone {
            at: t(10),
            state: None,
            error: None,
        }),
        got_conn(t(10), false),
        wrote_request(t(11)),
        first_byte(t(20)),
        round_trip_done(t(21), None),
        body_done(t(25), BodyOutcome::Completed),
    ];
    let p = Phases::from_events(&events);
    let durations: Vec<(&str, u64)> = p
        .iter()
        .map(|(phase, i)| (phase.as_str(), i.duration().unwrap().as_millis() as u64))
        .collect();
    assert_eq!(
        durations,
        [
            ("dns", 2),
            ("connect", 3),
            ("tls", 4),
            ("send", 1),
            ("wait", 9),
            ("receive", 5)
        ]
    );
    assert_eq!((p.start, p.end), (Some(t(0)), Some(t(25))));
    assert_eq!((p.reused, p.connect_attempts), (Some(false), 1));
    assert!(p.iter().all(|(_, i)| i.error.is_none()));
}

#[test]
fn a_pooled_connection_has_no_dial_phases() {
    let t = clock();
    // Delivered out of order (got_conn late), placed by `at`.
    let events = [
        start(t(0)),
        wrote_request(t(1)),
        got_conn(t(0), true),
        first_byte(t(4)),
        round_trip_done(t(4), None),
        body_done(t(5), BodyOutcome::Completed),
    ];
    let p = Phases::from_events(&events);
    assert_eq!(p.reused, Some(true));
    let names: Vec<Phase> = p.iter().map(|(phase, _)| phase).collect();
    assert_eq!(names, [Phase::Send, Phase::Wait, Phase::Receive]);
    assert_eq!(
        p.wait.as_ref().and_then(Interval::duration),
        Some(Duration::from_millis(3))
    );
}

#[test]
fn connect_spans_every_attempt_up_to_the_winner() {
    let t = clock();
    let events = [
        start(t(0)),
        connect_start(t(1)),
        connect_start(t(301)),
        connect_done(t(302), Some(ErrorKind::ConnectionRefused)),
        connect_done(t(305), None),
        // The loser of the race, cancelled after the winner.
        connect_done(t(306), Some(ErrorKind::Cancelled)),
        got_conn(t(305), false),
    ];
    let p = Phases::from_events(&events);
    let connect = p.connect.unwrap();
    assert_eq!((connect.start, connect.end), (t(1), Some(t(305))));
    assert_eq!(connect.error, None);
    assert_eq!(p.connect_attempts, 2);
}

#[test]
fn a_failed_dial_ends_with_the_last_attempts_error() {
    let t = clock();
    let events = [
        start(t(0)),
        connect_start(t(1)),
        connect_done(t(2), Some(ErrorKind::ConnectionRefused)),
        round_trip_done(t(3), Some(ErrorKind::ConnectionRefused)),
    ];
    let p = Phases::from_events(&events);
    let connect = p.connect.unwrap();
    assert_eq!(connect.end, Some(t(2)));
    assert_eq!(
        connect.error.map(|e| e.kind()),
        Some(ErrorKind::ConnectionRefused)
    );
    assert!(p.send.is_none() && p.wait.is_none() && p.receive.is_none());
    assert_eq!(p.end, Some(t(3)));
}

#[test]
fn a_phase_open_when_the_round_trip_failed_ends_there() {
    let t = clock();
    let events = [
        start(t(0)),
        got_conn(t(1), true),
        wrote_request(t(2)),
        round_trip_done(t(50), Some(ErrorKind::Timeout)),
    ];
    let p = Phases::from_events(&events);
    let wait = p.wait.unwrap();
    assert_eq!(wait.end, Some(t(50)));
    assert_eq!(wait.error.map(|e| e.kind()), Some(ErrorKind::Timeout));

    // A body that failed midway ends `receive` with its error.
    let events = [
        start(t(0)),
        got_conn(t(1), true),
        wrote_request(t(2)),
        first_byte(t(3)),
        round_trip_done(t(3), None),
        body_done(
            t(9),
            BodyOutcome::Failed(HookError::new(ErrorKind::ConnectionReset, "reset")),
        ),
    ];
    let receive = Phases::from_events(&events).receive.unwrap();
    assert_eq!(receive.end, Some(t(9)));
    assert_eq!(
        receive.error.map(|e| e.kind()),
        Some(ErrorKind::ConnectionReset)
    );
}

#[test]
fn a_phase_no_event_ended_stays_open() {
    let t = clock();
    let events = [
        start(t(0)),
        Event::DnsStart(DnsStart {
            at: t(1),
            host: "example.test".into(),
        }),
    ];
    let dns = Phases::from_events(&events).dns.unwrap();
    assert_eq!((dns.end, dns.duration()), (None, None));
}

#[test]
fn names_and_any_clock_give_the_same_phases() {
    let hooks = [
        ("round_trip_start", 0u64),
        ("got_conn", 1),
        ("wrote_request", 2),
        ("got_first_response_byte", 7),
        ("round_trip_done", 7),
        ("body_done", 8),
    ];
    let p = Phases::from_names(hooks);
    let wait = p.wait.as_ref().unwrap();
    assert_eq!((wait.start, wait.end), (2, Some(7)));
    assert_eq!(p.receive.as_ref().unwrap().end, Some(8));
    assert_eq!((p.reused, p.end), (None, Some(8)));
}
