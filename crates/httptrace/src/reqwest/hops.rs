//! The send in flight on the reqwest transport, as the round-trip driver,
//! the connector and the redirect-policy hook share it: the hop in flight
//! (ended and restarted by each redirect reqwest follows inside the send),
//! the connection its dial made, and the registry of every connection.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use http::header::{HeaderMap, HeaderValue, LOCATION};

use crate::Traces;
use crate::event::*;
use crate::interest::EventKind;
use crate::redirect::RequestHead;
use crate::transport::registry::ConnRegistry;
use crate::transport::round_trip::{host_port, report_got_conn, report_written};

tokio::task_local! {
    /// The send in flight, set around reqwest's future by the round-trip
    /// driver.
    pub(crate) static ROUND_TRIP: RoundTripCtx;
}

/// The connections of every reqwest client with hooks installed, keyed by
/// local address (unique among open sockets, so clients can share it; it is
/// bounded). Shared because a send that reuses a pooled connection reaches
/// no hook of the client that could name its registry.
pub(crate) fn registry() -> &'static Arc<ConnRegistry> {
    static REGISTRY: LazyLock<Arc<ConnRegistry>> = LazyLock::new(Arc::default);
    &REGISTRY
}

/// What the connector and the redirect hook need to know about the send
/// that asked for a connection.
#[derive(Clone)]
pub(crate) struct RoundTripCtx {
    pub(crate) traces: Traces,
    /// The hop in flight, when a driver reports round trips (not when a
    /// plain `execute` runs inside a [`ClientTrace::scope`](crate::ClientTrace::scope)).
    pub(crate) hops: Option<Arc<Hops>>,
}

impl RoundTripCtx {
    /// The send in flight in this task: the driver's, else the traces of the
    /// enclosing scopes (connection hooks only: nothing marks round trips).
    pub(super) fn current() -> Option<RoundTripCtx> {
        ROUND_TRIP.try_with(RoundTripCtx::clone).ok().or_else(|| {
            let traces = Traces::current();
            (!traces.is_empty()).then_some(RoundTripCtx { traces, hops: None })
        })
    }
}

/// The connection a dial made for the hop in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DialedConn {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) h2: bool,
}

/// The hop in flight within one send, shared by the driver, the connector
/// and the redirect-policy hook (all in the send's task).
pub(crate) struct Hops {
    pub(super) state: Mutex<HopState>,
}

pub(super) struct HopState {
    pub(super) hop: HopInFlight,
    /// Set by the connector when a dial for this hop finished.
    pub(super) dialed: Option<DialedConn>,
    /// The redirect status the policy saw on this hop (an error from the
    /// policy then belongs to a hop with that status).
    pub(super) redirect_status: Option<http::StatusCode>,
    /// Round trips this send has started.
    pub(super) count: u32,
}

pub(super) struct HopInFlight {
    pub(super) started: Instant,
    pub(super) get_conn_at: Instant,
    pub(super) method: http::Method,
    pub(super) url: url::Url,
    pub(super) resend_count: u32,
    /// The request headers as this hop sent them (as far as known).
    pub(super) headers: HeaderMap,
    /// Bytes of a body that can be sent again (`None`: streamed, probed).
    pub(super) body_len: Option<u64>,
    /// The protocol of the previous hop's connection, if known.
    pub(super) protocol: Option<http::Version>,
}

impl Hops {
    pub(super) fn lock(&self) -> MutexGuard<'_, HopState> {
        // A hook that panicked must not poison the send for the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A dial for the current hop finished with this connection.
    pub(crate) fn dialed(&self, conn: DialedConn) {
        self.lock().dialed = Some(conn);
    }

    /// reqwest's redirect policy was asked about a `status` redirect to
    /// `next` and `follows` it: the current hop ends (its response headers
    /// arrived now) and the next one starts.
    fn redirected(
        &self,
        traces: &Traces,
        status: http::StatusCode,
        next: &url::Url,
        follows: bool,
    ) {
        let now = Instant::now();
        let mut state = self.lock();
        state.redirect_status = Some(status);
        if !follows {
            return; // the send ends with this hop's response or error
        }
        let dialed = state.dialed.take();
        let hop = &state.hop;
        let registry = registry();
        let reuse = registry.take(dialed.map(|d| d.local), hop.started, hop.get_conn_at);
        let protocol = match dialed {
            Some(d) if d.h2 => http::Version::HTTP_2,
            Some(_) => http::Version::HTTP_11,
            None => hop.protocol.unwrap_or(http::Version::HTTP_11),
        };
        let body_bytes = hop.body_len.unwrap_or(0);
        let previous = RequestHead {
            method: hop.method.clone(),
            url: hop.url.clone(),
            headers: hop.headers.clone(),
        };
        let mut location = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(next.as_str()) {
            location.insert(LOCATION, value);
        }
        // The same rules reqwest applies (method, body, headers dropped
        // across origins, Referer), for what the next hop is reported to send.
        let (method, headers, resend_body) =
            match crate::redirect::next_hop(&previous, status, &location, true) {
                Some(n) => (n.head.method, n.head.headers, n.resend_body),
                None => (hop.method.clone(), hop.headers.clone(), true),
            };
        let next_hop = HopInFlight {
            started: now,
            get_conn_at: now,
            method,
            url: next.clone(),
            resend_count: hop.resend_count + 1,
            headers,
            body_len: hop.body_len.filter(|_| resend_body).or(Some(0)),
            protocol: Some(protocol),
        };
        let start = RoundTripStart {
            at: now,
            method: next_hop.method.clone(),
            url: next_hop.url.clone(),
            resend_count: next_hop.resend_count,
        };
        let sent = std::mem::replace(&mut state.hop, next_hop);
        state.redirect_status = None;
        state.count += 1;
        drop(state);

        report_got_conn(
            traces,
            &reuse,
            dialed.map(|d| d.local),
            dialed.map(|d| d.remote),
            protocol,
        );
        report_written(
            traces,
            &sent.headers,
            reuse.at,
            (reuse.at, body_bytes, None),
        );
        traces.emit_with(EventKind::GotFirstResponseByte, || {
            Event::GotFirstResponseByte(GotFirstResponseByte { at: now })
        });
        traces.emit(Event::RoundTripDone(RoundTripDone {
            at: now,
            status: Some(status),
            version: Some(protocol),
            headers: None,
            error: None,
        }));
        if let (true, Some(d)) = (reuse.known, dialed) {
            registry.release(d.local, now);
        }
        // reqwest discards a followed redirect's body unread.
        traces.emit(Event::BodyDone(BodyDone {
            at: now,
            bytes: 0,
            outcome: BodyOutcome::Dropped,
        }));
        // The next hop's trace may want other events than this one's.
        let start = traces.emit_round_trip_start(start);
        traces.emit_with(EventKind::GetConn, || {
            Event::GetConn(GetConn {
                at: now,
                host_port: host_port(&start.url),
            })
        });
    }
}

/// reqwest's policy for `policy`, wrapped so that, inside a send driven by
/// [`send`], every redirect reqwest follows ends one round trip and starts
/// the next. The answer is reqwest's own policy's, unchanged; whether it
/// follows is known from `policy`'s limit (reqwest's `Action` is opaque).
pub(crate) fn observed_policy(policy: super::RedirectPolicy) -> reqwest::redirect::Policy {
    let answer = policy.to_reqwest();
    reqwest::redirect::Policy::custom(move |attempt| {
        let status = attempt.status();
        let next = attempt.url().clone();
        // `previous` holds the first URL and each one followed since.
        let follows = policy.follows(attempt.previous().len().saturating_sub(1));
        let action = answer.redirect(attempt);
        if let Ok(ctx) = ROUND_TRIP.try_with(RoundTripCtx::clone)
            && let Some(hops) = &ctx.hops
        {
            hops.redirected(&ctx.traces, status, &next, follows);
        }
        action
    })
}
