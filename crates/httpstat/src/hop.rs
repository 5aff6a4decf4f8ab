//! One round trip (hop) summarised from the hook events that the request
//! reported: phase durations, connection facts, outcome.
//!
//! Durations are always computed from each event's `at`, never from when the
//! hook ran, because the transport may deliver some events late.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use httptrace::{BodyOutcome, Event, HookError};

use crate::error::phase_of_kind;
pub use crate::error::{FailurePhase, HopError};
use crate::redact;

/// One round trip: what `--json` prints as one line and the human output as
/// one waterfall.
#[derive(Clone, Debug)]
pub struct HopReport {
    /// Which repetition of the request (`-n`) this hop belongs to, from 0.
    pub request_index: u32,
    /// 0 for the first hop, 1 for the first redirect, and so on.
    pub resend_count: u32,
    /// The hop's method.
    pub method: String,
    /// The hop's URL, credentials redacted.
    pub url: String,
    /// The response status, when the response head arrived.
    pub status: Option<http::StatusCode>,
    /// The response's HTTP version, when known.
    pub version: Option<http::Version>,
    /// The server's address, when known.
    pub remote_addr: Option<SocketAddr>,
    /// Our address, when known.
    pub local_addr: Option<SocketAddr>,
    /// The proxy the hop went through (`host:port`, no credentials), or
    /// `None` for a direct connection.
    pub proxy: Option<String>,
    /// True when the connection served an earlier request.
    pub conn_reused: bool,
    /// How long the reused connection had been idle, when it came from the
    /// idle pool.
    pub idle: Option<Duration>,
    /// `dns_start` → `dns_done`; `None` when no lookup happened.
    pub dns: Option<Duration>,
    /// The first `connect_start` → the `connect_done` of the attempt that
    /// connected (else the last); `None` when no dial happened.
    pub tcp: Option<Duration>,
    /// `tls_handshake_start` → `tls_handshake_done`; `None` when no handshake
    /// happened.
    pub tls: Option<Duration>,
    /// `wrote_request` → `got_first_response_byte` (server processing).
    pub ttfb: Option<Duration>,
    /// `got_first_response_byte` → `body_done` (content transfer).
    pub transfer: Option<Duration>,
    /// `round_trip_start` → `body_done`, or → `round_trip_done` when the
    /// round trip failed.
    pub total: Option<Duration>,
    /// Offsets from the hop's start at which each phase ended (for the
    /// cumulative lines of the waterfall): DNS, TCP, TLS, first byte.
    pub ends: [Option<Duration>; 4],
    /// Offset from the hop's start at which the request began to go out:
    /// `wrote_headers`, else `got_conn` (curl's "pretransfer").
    pub request_start: Option<Duration>,
    /// True when `--resolve`/`--connect-to` pinned the hop's host, so it
    /// had no DNS phase.
    pub dns_pinned: bool,
    /// Response body bytes read; `None` when no response arrived.
    pub body_bytes: Option<u64>,
    /// Why this hop failed, if it did.
    pub error: Option<HopError>,
    /// When the hop started (`round_trip_start`'s `at`).
    pub start: Option<Instant>,
    /// The hop's events, ordered by `at`. Raw: their URLs and error
    /// messages may hold credentials, redact with [`HopReport::redact`].
    pub events: Vec<Event>,
    /// The URLs whose credentials must not be printed (the request's URL as
    /// given and the URL of every hop of the request).
    pub secret_urls: Vec<url::Url>,
    /// The response headers, when the response head arrived. Printed for
    /// people, never in JSON (they may hold cookies).
    pub headers: Option<http::HeaderMap>,
}

/// Splits one request's events into hops, each starting at its
/// `round_trip_start`. Events delivered before the first `round_trip_start`
/// (there should be none) go to the first hop.
pub fn split_hops(events: &[Event]) -> Vec<Vec<Event>> {
    let mut hops: Vec<Vec<Event>> = Vec::new();
    for event in events {
        match (event, hops.last_mut()) {
            (Event::RoundTripStart(_), _) | (_, None) => hops.push(vec![event.clone()]),
            (_, Some(hop)) => hop.push(event.clone()),
        }
    }
    hops
}

/// The request's URL as given and the URL of every round trip in `events`
/// (one request's, all hops): what [`HopReport::redact`] hides credentials of.
pub fn secret_urls(request_url: &url::Url, events: &[Event]) -> Vec<url::Url> {
    let mut urls = vec![request_url.clone()];
    for e in events {
        if let Event::RoundTripStart(s) = e
            && !urls.contains(&s.url)
        {
            urls.push(s.url.clone());
        }
    }
    urls
}

fn since(from: Instant, to: Instant) -> Duration {
    to.saturating_duration_since(from)
}

impl HopReport {
    /// The URL the hop requested, with its credentials (from its
    /// `round_trip_start`): for deciding things, never for printing.
    pub fn requested_url(&self) -> Option<&url::Url> {
        self.events.iter().find_map(|e| match e {
            Event::RoundTripStart(s) => Some(&s.url),
            _ => None,
        })
    }

    /// A hop for a request that failed before any round trip started.
    pub fn not_started(
        request_index: u32,
        method: &http::Method,
        url: &url::Url,
        error: HopError,
    ) -> Self {
        HopReport {
            request_index,
            resend_count: 0,
            method: method.to_string(),
            url: redact::url(url),
            status: None,
            version: None,
            remote_addr: None,
            local_addr: None,
            conn_reused: false,
            idle: None,
            dns: None,
            tcp: None,
            tls: None,
            ttfb: None,
            transfer: None,
            total: None,
            ends: [None; 4],
            request_start: None,
            dns_pinned: false,
            body_bytes: None,
            error: Some(error),
            start: None,
            events: Vec::new(),
            secret_urls: vec![url.clone()],
            headers: None,
            proxy: None,
        }
    }

    /// Summarises one hop's events (as delivered; they are re-ordered by `at`
    /// here). `fallback_url` is the request's URL as given (shown, redacted,
    /// for the first hop); `fallback_method` is used if the hop has no
    /// `round_trip_start`. `secret_urls` are the URLs whose credentials must
    /// not appear in messages: those of every hop of the request (see
    /// [`secret_urls`]).
    pub fn from_events(
        request_index: u32,
        events: &[Event],
        fallback_method: &http::Method,
        fallback_url: &url::Url,
        secret_urls: &[url::Url],
    ) -> Self {
        let mut events = events.to_vec();
        // Stable: events with the same `at` keep their delivery order.
        events.sort_by_key(Event::at);

        let mut hop = HopReport::not_started(
            request_index,
            fallback_method,
            fallback_url,
            HopError {
                phase: FailurePhase::Request,
                kind: "other",
                message: String::new(),
            },
        );
        hop.error = None;

        let mut start = None;
        let mut dns_start = None;
        let mut dns_done = None;
        let mut connect_start = None;
        // The first attempt that connected, else the last that failed (the
        // hyper transport reports one attempt per address tried).
        let mut connect_done: Option<(Instant, bool)> = None;
        // From the first handshake's start to the last one's end: through an
        // https:// proxy, the proxy's, the CONNECT and the origin's.
        let mut tls_start = None;
        let mut tls_open = 0u32;
        let mut got_conn = None;
        let mut wrote_headers = None;
        let mut wrote_request = None;
        let mut first_byte = None;
        let mut rt_done: Option<(Instant, Option<HookError>)> = None;
        let mut body_done = None;
        let mut body_error = None;
        // The last phase event (dns/connect/tls/write) that carried an error.
        let mut phase_error: Option<(FailurePhase, HookError)> = None;

        for event in &events {
            match event {
                Event::RoundTripStart(e) if start.is_none() => {
                    start = Some(e.at);
                    hop.resend_count = e.resend_count;
                    hop.method = e.method.to_string();
                    // reqwest moves the first hop's userinfo into an
                    // Authorization header: show the URL as given.
                    if e.resend_count > 0 {
                        hop.url = redact::url(&e.url);
                    }
                }
                Event::DnsStart(e) => {
                    dns_start.get_or_insert(e.at);
                }
                Event::DnsDone(e) => {
                    if dns_done.is_none() && dns_start.is_some() {
                        dns_done = Some(e.at);
                    }
                    if let Some(err) = &e.error {
                        phase_error = Some((FailurePhase::Dns, err.clone()));
                    }
                }
                Event::ConnectStart(e) => {
                    connect_start.get_or_insert(e.at);
                }
                Event::ConnectDone(e) => {
                    if connect_start.is_some() && !connect_done.is_some_and(|(_, ok)| ok) {
                        connect_done = Some((e.at, e.error.is_none()));
                    }
                    // The server's address: where a dial succeeded, not an
                    // address that refused.
                    if hop.remote_addr.is_none() && e.error.is_none() {
                        hop.remote_addr = e.addr;
                    }
                    match &e.error {
                        Some(err) => phase_error = Some((FailurePhase::Connect, err.clone())),
                        // An earlier address failed, this one connected.
                        None if matches!(phase_error, Some((FailurePhase::Connect, _))) => {
                            phase_error = None;
                        }
                        None => {}
                    }
                }
                Event::TlsHandshakeStart(e) => {
                    tls_start.get_or_insert(e.at);
                    tls_open += 1;
                }
                Event::TlsHandshakeDone(e) => {
                    if tls_start.is_some() {
                        tls_open = tls_open.saturating_sub(1);
                    }
                    if let Some(err) = &e.error {
                        phase_error = Some((FailurePhase::Tls, err.clone()));
                    }
                }
                Event::GotConn(e) => {
                    got_conn.get_or_insert(e.at);
                    hop.conn_reused = e.reused;
                    hop.idle = if e.was_idle { e.idle_time } else { None };
                    if e.remote_addr.is_some() {
                        hop.remote_addr = e.remote_addr;
                    }
                    hop.local_addr = e.local_addr;
                    hop.version.get_or_insert(e.protocol);
                }
                Event::WroteHeaders(e) => {
                    wrote_headers.get_or_insert(e.at);
                }
                Event::WroteRequest(e) => {
                    wrote_request.get_or_insert(e.at);
                    if let Some(err) = &e.error {
                        phase_error = Some((FailurePhase::Request, err.clone()));
                    }
                }
                Event::GotFirstResponseByte(e) => {
                    first_byte.get_or_insert(e.at);
                }
                Event::RoundTripDone(e) if rt_done.is_none() => {
                    rt_done = Some((e.at, e.error.clone()));
                    hop.status = e.status;
                    hop.headers = e.headers.clone();
                    if e.version.is_some() {
                        hop.version = e.version;
                    }
                }
                Event::BodyDone(e) if body_done.is_none() => {
                    body_done = Some(e.at);
                    hop.body_bytes = Some(e.bytes);
                    if let BodyOutcome::Failed(err) = &e.outcome {
                        body_error = Some(err.clone());
                    }
                }
                _ => {}
            }
        }

        // The phase intervals as the core computes them for every consumer
        // (a phase cut short by the round trip's failure ends there: the
        // time it took until then shows).
        let phases = httptrace::Phases::from_events(&events);
        let connect_done = connect_done.map(|(at, _)| at);
        let duration = |i: &Option<httptrace::Interval>| i.as_ref().and_then(|i| i.duration());
        let end = |i: &Option<httptrace::Interval>| i.as_ref().and_then(|i| i.end);
        hop.dns = duration(&phases.dns);
        hop.tcp = duration(&phases.connect);
        hop.tls = duration(&phases.tls);
        hop.ttfb = duration(&phases.wait);
        hop.transfer = duration(&phases.receive);
        hop.start = start;
        let offset = |t: Option<Instant>| Some(since(start?, t?));
        hop.ends = [
            offset(end(&phases.dns)),
            offset(end(&phases.connect)),
            offset(end(&phases.tls)),
            offset(first_byte),
        ];
        hop.request_start = offset(wrote_headers.or(got_conn));

        let round_trip_error = rt_done.as_ref().and_then(|(_, e)| e.clone());
        hop.total = match (&round_trip_error, body_done) {
            (None, Some(end)) => offset(Some(end)),
            _ => offset(rt_done.map(|(at, _)| at)),
        };

        hop.error = match (body_error, round_trip_error, phase_error) {
            (Some(err), _, _) => Some(HopError::from_hook(FailurePhase::Body, &err)),
            // The hook event that carried the error decides the phase, and its
            // error is the most specific description.
            (None, Some(_), Some((phase, err))) => Some(HopError::from_hook(phase, &err)),
            (None, Some(err), None) => {
                let phase = phase_of_kind(err.kind()).unwrap_or(
                    // Timeouts, resets and the like: the phase in progress.
                    if dns_start.is_some() && dns_done.is_none() {
                        FailurePhase::Dns
                    } else if connect_start.is_some() && connect_done.is_none() {
                        FailurePhase::Connect
                    } else if tls_open > 0 {
                        FailurePhase::Tls
                    } else {
                        FailurePhase::Response
                    },
                );
                Some(HopError::from_hook(phase, &err))
            }
            (None, None, _) => None,
        };
        hop.secret_urls = secret_urls.to_vec();
        if !hop.secret_urls.contains(fallback_url) {
            hop.secret_urls.push(fallback_url.clone());
        }
        if let Some(mut error) = hop.error.take() {
            error.message = hop.redact(&error.message);
            hop.error = Some(error);
        }
        hop.events = events;
        hop
    }

    /// `text` with the credentials of [`HopReport::secret_urls`] redacted.
    pub fn redact(&self, text: &str) -> String {
        redact::message(text, &self.secret_urls)
    }

    /// The hop's HTTP version as printed: `HTTP/1.1`, `HTTP/2`, ...
    pub fn http_version(&self) -> Option<&'static str> {
        self.version.map(version_str)
    }
}

/// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/3` (and `HTTP/0.9`).
pub fn version_str(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_events_make_no_hops() {
        assert!(split_hops(&[]).is_empty());
    }
}
