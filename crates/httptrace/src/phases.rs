//! Phase timings of one round trip (dns, connect, tls, send, wait,
//! receive), computed from its events: the one place that turns hooks into
//! the intervals a waterfall, a span per phase or a summary line shows.
//!
//! ```
//! use httptrace::{Event, Phase, Phases};
//!
//! fn print(events: &[Event]) {
//!     let phases = Phases::from_events(events);
//!     for (phase, interval) in phases.iter() {
//!         match interval.duration() {
//!             Some(d) => println!("{:>8} {:?}", phase.as_str(), d),
//!             None => println!("{:>8} did not end", phase.as_str()),
//!         }
//!     }
//! }
//! # print(&[]);
//! ```

use std::time::{Duration, Instant};

use crate::event::{Event, HookError};

/// One phase of a round trip, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// `dns_start` → `dns_done`.
    Dns,
    /// The first `connect_start` → the `connect_done` of the attempt that
    /// connected (else of the last attempt).
    Connect,
    /// The first `tls_handshake_start` → the last `tls_handshake_done`
    /// (through an `https://` proxy: the proxy's handshake, the `CONNECT`
    /// and the origin's).
    Tls,
    /// Writing the request: `got_conn` → `wrote_request`.
    Send,
    /// The server's time: `wrote_request` → `got_first_response_byte`.
    Wait,
    /// Reading the response: `got_first_response_byte` → `body_done`.
    Receive,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 6] = [
        Phase::Dns,
        Phase::Connect,
        Phase::Tls,
        Phase::Send,
        Phase::Wait,
        Phase::Receive,
    ];

    /// `dns`, `connect`, `tls`, `send`, `wait` or `receive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Send => "send",
            Phase::Wait => "wait",
            Phase::Receive => "receive",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a phase started and ended. `T` is the clock: [`Instant`] for live
/// events, or whatever time the events were read back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval<T = Instant> {
    /// When the phase started.
    pub start: T,
    /// When it ended; `None` when no event ended it (the events seen so far
    /// stop inside it).
    pub end: Option<T>,
    /// Why it failed, if its closing event (or the failed round trip that
    /// cut it short) reported an error.
    pub error: Option<HookError>,
}

impl Interval<Instant> {
    /// `end - start`, when the phase ended.
    pub fn duration(&self) -> Option<Duration> {
        Some(self.end?.saturating_duration_since(self.start))
    }
}

/// The phases of one round trip, from its events: each `None` when the
/// round trip had no such phase.
///
/// - A round trip on a pooled connection has no `dns`, `connect` or `tls`
///   ([`Phases::reused`] is `Some(true)`). If dial phases do show up on such
///   a round trip, they belong to a spare dial the pool started and the
///   round trip did not use.
/// - Several connect attempts (one per address, raced Happy Eyeballs style
///   by the hyper transport) make one `connect` phase, from the first
///   attempt's start to the end of the one that connected, or of the last
///   one if none did; [`Phases::connect_attempts`] counts them.
/// - A phase that failed ends at its failing event, with its error. A phase
///   still open when the round trip failed (`round_trip_done` or
///   `body_done` with an error) ends there, with that error. A phase no
///   event ended has `end: None`.
///
/// Events are placed by their `at`, not by delivery order. Give the events
/// of one round trip: from its `round_trip_start` up to the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phases<T = Instant> {
    /// `round_trip_start`, if seen.
    pub start: Option<T>,
    /// The round trip's last event: `body_done`, else `round_trip_done`.
    pub end: Option<T>,
    /// DNS lookup.
    pub dns: Option<Interval<T>>,
    /// TCP connect, all attempts together.
    pub connect: Option<Interval<T>>,
    /// TLS handshake(s).
    pub tls: Option<Interval<T>>,
    /// Writing the request.
    pub send: Option<Interval<T>>,
    /// Waiting for the response's first byte (server processing).
    pub wait: Option<Interval<T>>,
    /// Reading the response body.
    pub receive: Option<Interval<T>>,
    /// How many `connect_start`s the round trip saw.
    pub connect_attempts: u32,
    /// Whether `got_conn` said the connection served an earlier request;
    /// `None` without a `got_conn`.
    pub reused: Option<bool>,
}

impl Phases<Instant> {
    /// The phases of one round trip's events.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut reused = None;
        let hooks = events
            .into_iter()
            .map(|e| {
                if let Event::GotConn(g) = e {
                    reused.get_or_insert(g.reused);
                }
                (e.name(), e.at(), e.error())
            })
            .collect();
        let mut phases = Self::build(hooks);
        phases.reused = reused;
        phases
    }
}

impl<T: Copy + Ord> Phases<T> {
    /// The same from hook names ([`Event::name`]) and times, for events
    /// read back as data (the events of an exported span): without errors,
    /// and with [`Phases::reused`] unknown.
    pub fn from_names<'a>(hooks: impl IntoIterator<Item = (&'a str, T)>) -> Self {
        Self::build(hooks.into_iter().map(|(n, at)| (n, at, None)).collect())
    }

    /// The phases the round trip had, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Phase, &Interval<T>)> {
        Phase::ALL
            .into_iter()
            .filter_map(|p| Some((p, self.get(p)?)))
    }

    /// One phase, if the round trip had it.
    pub fn get(&self, phase: Phase) -> Option<&Interval<T>> {
        match phase {
            Phase::Dns => self.dns.as_ref(),
            Phase::Connect => self.connect.as_ref(),
            Phase::Tls => self.tls.as_ref(),
            Phase::Send => self.send.as_ref(),
            Phase::Wait => self.wait.as_ref(),
            Phase::Receive => self.receive.as_ref(),
        }
    }

    fn build(mut hooks: Vec<(&str, T, Option<&HookError>)>) -> Self {
        // Stable: events stamped alike keep their delivery order.
        hooks.sort_by_key(|&(_, at, _)| at);
        let first = |name: &str| hooks.iter().find(|h| h.0 == name).map(|h| h.1);
        let ends = |name: &'static str, start: T| {
            hooks
                .iter()
                .filter(move |h| h.0 == name && h.1 >= start)
                .map(|&(_, at, error)| (at, error))
        };
        let interval = |start: T, end: Option<(T, Option<&HookError>)>| Interval {
            start,
            end: end.map(|(at, _)| at),
            error: end.and_then(|(_, e)| e.cloned()),
        };
        let pair = |from: &str, to: &'static str| {
            let start = first(from)?;
            Some(interval(start, ends(to, start).next()))
        };
        let connect = first("connect_start").map(|start| {
            let mut done = ends("connect_done", start);
            let end = done.clone().find(|(_, e)| e.is_none()).or(done.next_back());
            interval(start, end)
        });
        let tls = first("tls_handshake_start")
            .map(|start| interval(start, ends("tls_handshake_done", start).next_back()));
        let round_trip_done = hooks.iter().find(|h| h.0 == "round_trip_done");
        let body_done = hooks.iter().find(|h| h.0 == "body_done");
        let failed = [round_trip_done, body_done]
            .into_iter()
            .flatten()
            .find(|h| h.2.is_some());
        let mut phases = Phases {
            start: first("round_trip_start"),
            end: body_done.or(round_trip_done).map(|h| h.1),
            dns: pair("dns_start", "dns_done"),
            connect,
            tls,
            send: pair("got_conn", "wrote_request"),
            wait: pair("wrote_request", "got_first_response_byte"),
            receive: pair("got_first_response_byte", "body_done"),
            connect_attempts: hooks.iter().filter(|h| h.0 == "connect_start").count() as u32,
            reused: None,
        };
        if let Some(&(_, at, error)) = failed {
            for p in Phase::ALL {
                if let Some(open) = phases
                    .get_mut(p)
                    .filter(|i| i.end.is_none() && i.start <= at)
                {
                    open.end = Some(at);
                    open.error = error.cloned();
                }
            }
        }
        phases
    }

    fn get_mut(&mut self, phase: Phase) -> Option<&mut Interval<T>> {
        match phase {
            Phase::Dns => self.dns.as_mut(),
            Phase::Connect => self.connect.as_mut(),
            Phase::Tls => self.tls.as_mut(),
            Phase::Send => self.send.as_mut(),
            Phase::Wait => self.wait.as_mut(),
            Phase::Receive => self.receive.as_mut(),
        }
    }
}

// The tests replay recorded event sequences through `Phases`.
#[cfg(test)]
mod tests;
