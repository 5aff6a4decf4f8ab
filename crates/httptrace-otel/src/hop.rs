//! One round trip's span in the making: the [`HopSpan`] state the hooks of
//! that round trip update, its phases, status and error.

use std::borrow::Cow;
use std::time::Instant;

use httptrace::{BodyOutcome, ErrorKind, Event, HookError};
use opentelemetry::global::{BoxedSpan, BoxedTracer};
use opentelemetry::trace::Span as _;
use opentelemetry::{Context, KeyValue, StringValue};

use crate::attrs;
use crate::metrics::{Instruments, base_attributes};
use crate::phase::{self, PhaseSpan, open_phase, scrub_message};
use crate::settings::Settings;

pub(crate) struct HopSpan {
    pub(crate) resend_count: u32,
    pub(crate) started: Instant,
    pub(crate) span: BoxedSpan,
    pub(crate) recording: bool,
    /// The parent context with this hop's span: parent of the phase spans,
    /// and what is propagated.
    pub(crate) cx: Context,
    /// The hop's URL, to scrub from messages and for events' attributes:
    /// `None` when the span is not recorded (nothing reads it then).
    pub(crate) url: Option<url::Url>,
    /// Shared by the span's attribute and the events' (one allocation).
    pub(crate) url_full: StringValue,
    pub(crate) method: &'static str,
    pub(crate) server_address: Option<StringValue>,
    pub(crate) server_port: Option<i64>,
    pub(crate) protocol: Option<http::Version>,
    pub(crate) last_at: Instant,
    pub(crate) events: Vec<(Instant, &'static str, Vec<KeyValue>)>,
    pub(crate) status: Option<u16>,
    pub(crate) error_type: Option<Cow<'static, str>>,
    pub(crate) error_message: Option<String>,
    pub(crate) headers_done: bool,
    /// The first error a phase event (DNS, connect, TLS, write) reported:
    /// it names the cause more precisely than the round trip's error.
    pub(crate) phase_error: Option<HookError>,
    /// Set by the final event (`body_done`, failed `round_trip_done`):
    /// the span's end time. The span itself may be ended a moment later,
    /// when a `put_idle_conn` stamped at the same instant may still follow.
    pub(crate) ended_at: Option<Instant>,
    pub(crate) phases: Vec<PhaseSpan>,
    /// Each finished phase's first start and last end, for the span's
    /// duration attributes and `httptrace.client.phase.duration`'s samples
    /// at its end (`None` when neither is taken).
    pub(crate) phase_totals: Option<Vec<(&'static str, Instant, Instant)>>,
    /// Whether the connection `got_conn` handed over served an earlier
    /// round trip; `None` until then. On a reused connection, DNS, connect
    /// and TLS belong to a spare dial the pool started and did not use.
    pub(crate) conn_reused: Option<bool>,
    pub(crate) dns_starts: Vec<(String, Instant)>,
    pub(crate) active_counted: bool,
    pub(crate) duration_recorded: bool,
}

impl HopSpan {
    /// Whether the hooks become events on this hop's span: it is recorded
    /// and [`hook_events`](crate::OtelTrace::hook_events) is on.
    pub(crate) fn records_events(&self, settings: &Settings) -> bool {
        self.recording && settings.hook_events
    }

    pub(crate) fn metric_base(&self) -> Vec<KeyValue> {
        base_attributes(self.method, self.server_address.as_ref(), self.server_port)
    }

    /// The protocol the hop used; the span gets `network.protocol.version`
    /// once, when it ends (`got_conn` and `round_trip_done` both report the
    /// version, and the SDK appends every attribute it is given: setting it
    /// at each would export the key twice).
    pub(crate) fn set_protocol(&mut self, v: http::Version) {
        self.protocol = Some(v);
    }

    pub(crate) fn set_error(&mut self, err: &HookError) {
        if hop_status_is_error(self.status) {
            return; // the status code already names the error
        }
        self.error_type = Some(Cow::Borrowed(err.kind().as_str()));
        // Only the span's status shows the message.
        self.error_message = self
            .url
            .as_ref()
            .map(|url| scrub_message(err.message(), url, self.url_full.as_str()));
    }

    pub(crate) fn phase_start(&mut self, name: &'static str, at: Instant, attrs: Vec<KeyValue>) {
        // An end learnt before its start (late delivery) pairs with it.
        if let Some(p) = self
            .phases
            .iter_mut()
            .find(|p| p.name == name && p.start.is_none() && p.end.is_some_and(|e| e >= at))
        {
            p.start = Some(at);
            p.attrs.extend(attrs);
            if let Some(end) = p.end {
                add_phase_time(&mut self.phase_totals, name, at, end);
            }
            return;
        }
        self.phases.push(PhaseSpan {
            name,
            start: Some(at),
            end: None,
            error: None,
            attrs,
        });
    }

    pub(crate) fn phase_end(&mut self, name: &'static str, at: Instant, error: Option<HookError>) {
        if let Some(i) = self
            .phases
            .iter()
            .position(|p| p.name == name && p.end.is_none() && p.start.is_some_and(|s| s <= at))
        {
            self.end_phase(i, at, error);
            return;
        }
        self.phases.push(PhaseSpan {
            name,
            start: None,
            end: Some(at),
            error,
            attrs: Vec::new(),
        });
    }

    /// Ends the open phase at `i` (its start is known).
    fn end_phase(&mut self, i: usize, at: Instant, error: Option<HookError>) {
        let p = &mut self.phases[i];
        p.end = Some(at);
        p.error = error;
        if let Some(start) = p.start {
            add_phase_time(&mut self.phase_totals, p.name, start, at);
        }
    }

    /// Makes the spans of the phases whose both ends are known.
    pub(crate) fn emit_complete_phases(&mut self, tracer: &BoxedTracer) {
        let (done, open): (Vec<PhaseSpan>, Vec<PhaseSpan>) = std::mem::take(&mut self.phases)
            .into_iter()
            .partition(|p| p.start.is_some() && p.end.is_some());
        self.phases = open;
        for p in done {
            self.emit_phase(tracer, p, None);
        }
    }

    /// Ends the phases still open at the hop's end; drops ends without start.
    pub(crate) fn close_open_phases(&mut self, tracer: &BoxedTracer, end: Instant) {
        self.emit_complete_phases(tracer);
        let error = self
            .error_type
            .clone()
            .filter(|_| !hop_status_is_error(self.status));
        for mut p in std::mem::take(&mut self.phases) {
            let Some(start) = p.start else { continue };
            p.end = Some(end.max(start));
            self.emit_phase(tracer, p, error.clone());
        }
    }

    pub(crate) fn emit_phase(
        &self,
        tracer: &BoxedTracer,
        p: PhaseSpan,
        hop_error: Option<Cow<'static, str>>,
    ) {
        let (Some(start), Some(end), Some(url)) = (p.start, p.end, &self.url) else {
            return;
        };
        let cut_short = hop_error.map(|t| (t, self.error_message.clone().unwrap_or_default()));
        phase::emit_phase(
            tracer,
            &self.cx,
            p,
            (start, end),
            &|m| scrub_message(m, url, self.url_full.as_str()),
            cut_short,
        );
    }

    /// Puts on the span, as it ends, each phase's duration and the hook
    /// events in time order, and gives `phase_histogram` (when on) one
    /// sample per phase. On a reused connection, a dial's phases belong to a
    /// spare dial the pool started and did not use: marked
    /// `httptrace.dial.spare`, and not counted as this hop's time.
    pub(crate) fn add_phase_durations_and_events(
        &mut self,
        phase_histogram: Option<&opentelemetry::metrics::Histogram<f64>>,
    ) {
        let reused = self.conn_reused == Some(true);
        let mut spare = false;
        if let Some(mut totals) = self.phase_totals.take() {
            let before = totals.len();
            if reused {
                totals.retain(|(name, _, _)| !phase::is_dial_phase(name));
            }
            spare = totals.len() < before;
            if self.recording {
                for &(name, start, end) in &totals {
                    if let Some(kv) = phase_duration(name, start, end) {
                        self.span.set_attribute(kv);
                    }
                }
            }
            if let Some(h) = phase_histogram {
                crate::metrics::record_phases(
                    h,
                    &totals,
                    self.server_address.as_ref(),
                    self.server_port,
                );
            }
        }
        if self.recording {
            let mut events = std::mem::take(&mut self.events);
            events.sort_by_key(|(at, _, _)| *at); // stable: delivery order on ties
            for (at, name, mut a) in events {
                let dial = ["httptrace.dns.", "httptrace.connect.", "httptrace.tls."];
                if reused && dial.iter().any(|p| name.starts_with(p)) {
                    spare = true;
                    a.push(KeyValue::new("httptrace.dial.spare", true));
                }
                self.span
                    .add_event_with_timestamp(name, httptrace::system_time(at), a);
            }
        }
        if spare {
            self.span
                .set_attribute(KeyValue::new("httptrace.dial.spare", true));
        }
    }

    /// What one of the hop's own events does to it: phases, attributes,
    /// status, error and end. Returns whether the hop is over (no event of
    /// it can follow), so its span can end now.
    pub(crate) fn apply(
        &mut self,
        event: &Event,
        at: Instant,
        settings: &Settings,
        instruments: Option<&Instruments>,
    ) -> bool {
        let hop = self;
        let mut finish_now = false;
        match event {
            Event::DnsStart(e) => {
                hop.phase_start(
                    "dns",
                    at,
                    vec![KeyValue::new("dns.question.name", e.host.clone())],
                );
                hop.dns_starts.push((e.host.clone(), at));
            }
            Event::DnsDone(e) => {
                hop.phase_end("dns", at, e.error.clone());
                let started = hop
                    .dns_starts
                    .iter()
                    .position(|(h, _)| *h == e.host)
                    .map(|i| hop.dns_starts.remove(i).1);
                // A coalesced lookup did not ask DNS itself: not a lookup.
                let lookups = instruments.and_then(|m| m.dns_lookup_duration.as_ref());
                if let (Some(lookups), Some(s), false) = (lookups, started, e.coalesced) {
                    let mut a = vec![KeyValue::new("dns.question.name", e.host.clone())];
                    if let Some(err) = &e.error {
                        a.push(KeyValue::new("error.type", err.kind().as_str()));
                    }
                    lookups.record(at.saturating_duration_since(s).as_secs_f64(), &a);
                }
            }
            Event::ConnectStart(e) => {
                let mut a = vec![KeyValue::new("network.transport", e.network)];
                if let Some(addr) = e.addr {
                    a.push(KeyValue::new(
                        "network.peer.address",
                        attrs::ip_value(addr.ip()),
                    ));
                    a.push(KeyValue::new("network.peer.port", i64::from(addr.port())));
                }
                hop.phase_start("connect", at, a);
            }
            Event::ConnectDone(e) => {
                // Attempts to several addresses may overlap (Happy Eyeballs):
                // each done ends the attempt to its own address.
                let peer = e.addr.map(|a| a.ip().to_string());
                match open_phase(&hop.phases, "connect", peer.as_deref(), at) {
                    Some(i) => hop.end_phase(i, at, e.error.clone()),
                    None => hop.phase_end("connect", at, e.error.clone()),
                }
                if let Some(addr) = e.addr
                    && let Some(p) = hop.phases.iter_mut().rev().find(|p| p.name == "connect")
                    && !p
                        .attrs
                        .iter()
                        .any(|kv| kv.key.as_str() == "network.peer.address")
                {
                    p.attrs.push(KeyValue::new(
                        "network.peer.address",
                        attrs::ip_value(addr.ip()),
                    ));
                    p.attrs
                        .push(KeyValue::new("network.peer.port", i64::from(addr.port())));
                }
            }
            Event::TlsHandshakeStart(e) => {
                hop.phase_start(
                    "tls",
                    at,
                    vec![KeyValue::new("server.address", e.server_name.clone())],
                );
            }
            Event::TlsHandshakeDone(e) => hop.phase_end("tls", at, e.error.clone()),
            Event::GotConn(e) => {
                if let Some(remote) = e.remote_addr {
                    hop.span.set_attribute(KeyValue::new(
                        "network.peer.address",
                        attrs::ip_value(remote.ip()),
                    ));
                    hop.span.set_attribute(KeyValue::new(
                        "network.peer.port",
                        i64::from(remote.port()),
                    ));
                }
                hop.set_protocol(e.protocol);
                hop.span
                    .set_attribute(KeyValue::new("httptrace.conn.reused", e.reused));
                hop.conn_reused = Some(e.reused);
                hop.phase_start("send", at, Vec::new());
            }
            Event::WroteRequest(e) => {
                hop.phase_end("send", at, e.error.clone());
                hop.phase_start("wait", at, Vec::new());
            }
            Event::GotFirstResponseByte(_) => {
                hop.phase_end("wait", at, None);
                hop.phase_start("receive", at, Vec::new());
            }
            Event::RoundTripDone(e) => {
                hop.headers_done = true;
                if let Some(v) = e.version {
                    hop.set_protocol(v);
                }
                if let Some(headers) = &e.headers {
                    for kv in settings.response_headers.response_attributes(headers) {
                        hop.span.set_attribute(kv);
                    }
                }
                if let Some(status) = e.status {
                    let code = status.as_u16();
                    hop.status = Some(code);
                    hop.span
                        .set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
                    if code >= 400 {
                        hop.error_type = Some(Cow::Owned(code.to_string()));
                    }
                }
                if let Some(err) = &e.error {
                    // The failing phase names the cause (`certificate` rather
                    // than `connect`), unless the request was cut short.
                    let cause = match (&hop.phase_error, err.kind()) {
                        (_, ErrorKind::Cancelled | ErrorKind::Timeout) => err.clone(),
                        (Some(phase), _) => HookError::new(phase.kind(), err.message()),
                        (None, _) => err.clone(),
                    };
                    hop.set_error(&cause);
                    finish_now = true;
                }
                if finish_now {
                    hop.ended_at = Some(at);
                }
            }
            Event::BodyDone(e) => {
                let error = match &e.outcome {
                    BodyOutcome::Failed(err) => Some(err.clone()),
                    _ => None,
                };
                hop.phase_end("receive", at, error.clone());
                if let Some(err) = &error
                    && hop.status.is_none_or(|s| s < 400)
                {
                    hop.set_error(err);
                }
                hop.ended_at = Some(at);
                // An HTTP/1 connection goes back to the pool when its body was
                // read to the end, and the transport reports that right after:
                // keep the span for that event. Otherwise nothing follows.
                // Only a span that records events waits for it (it is not
                // delivered otherwise: `hop_interest`).
                let put_idle_may_follow = matches!(e.outcome, BodyOutcome::Completed)
                    && hop.protocol.is_none_or(|v| v < http::Version::HTTP_2)
                    && hop.records_events(settings);
                finish_now = !put_idle_may_follow;
            }
            _ => {}
        }
        finish_now
    }
}

/// Notes a finished phase for the span's duration attributes and for
/// `httptrace.client.phase.duration`: a phase that happened more than once
/// (connection attempts to
/// several addresses, in parallel or one after another) spans from its
/// first start to its last end.
fn add_phase_time(
    totals: &mut Option<Vec<(&'static str, Instant, Instant)>>,
    name: &'static str,
    start: Instant,
    end: Instant,
) {
    let Some(totals) = totals else { return };
    match totals.iter_mut().find(|(n, _, _)| *n == name) {
        Some((_, first, last)) => {
            *first = (*first).min(start);
            *last = (*last).max(end);
        }
        None => totals.push((name, start, end)),
    }
}

/// A phase's duration attribute on the hop span.
pub(crate) fn phase_duration(name: &'static str, start: Instant, end: Instant) -> Option<KeyValue> {
    let key = match name {
        "dns" => "httptrace.dns.duration",
        "connect" => "httptrace.connect.duration",
        "tls" => "httptrace.tls.duration",
        "send" => "httptrace.send.duration",
        "wait" => "httptrace.wait.duration",
        "receive" => "httptrace.receive.duration",
        _ => return None,
    };
    Some(KeyValue::new(
        key,
        end.saturating_duration_since(start).as_secs_f64(),
    ))
}

pub(crate) fn hop_status_is_error(status: Option<u16>) -> bool {
    status.is_some_and(|s| s >= 400)
}
