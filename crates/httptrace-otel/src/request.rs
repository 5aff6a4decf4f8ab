//! One request's state: which hop is open, the hop spans' parent, the
//! `traceparent` injected per hop, dials that outlive their hop, and the
//! end of each hop's span and metrics.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use httptrace::{ErrorKind, Event, Interest, RequestInfo, RoundTripStart, system_time};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, StringValue};

use crate::attrs;
use crate::hop::{HopSpan, hop_status_is_error};
use crate::hop_interest::hop_interest;
use crate::late::LateDial;
use crate::metrics::{self, Instruments};
use crate::phase::{
    PhaseSpan, done_phase, is_dial_event, is_dial_phase, open_phase, scrub_message,
};
use crate::settings::{Propagation, Settings};

pub(crate) struct RequestState {
    pub(crate) settings: Arc<Settings>,
    pub(crate) tracer: Arc<BoxedTracer>,
    pub(crate) instruments: Option<Instruments>,
    pub(crate) parent: Context,
    /// Propagation headers the caller set itself: never overwritten.
    pub(crate) caller_propagation_keys: Vec<String>,
    pub(crate) header_attrs: Vec<KeyValue>,
    /// The caller's low-cardinality path template: the hop spans on the
    /// request's own path are named `{method} {template}` and carry
    /// `url.template` (http-spans.md, Name).
    pub(crate) url_template: Option<StringValue>,
    /// The request's own path (its first hop's), which the caller's
    /// template describes.
    first_path: OnceLock<String>,
    pub(crate) hop: Mutex<Option<HopSpan>>,
    /// Without a caller span, one INTERNAL span for the whole request is the
    /// hops' parent, so that one request (all its redirect hops) is one
    /// trace. Ended when the request's state goes, at the last hop's end.
    pub(crate) request_span: OnceLock<Context>,
    pub(crate) last_end: Mutex<Option<Instant>>,
    /// Dials of finished hops still under way (one per hop at most).
    pub(crate) late_dials: Mutex<Vec<LateDial>>,
    /// The events the open hop reads (`hop_interest`): the transports
    /// build no others.
    pub(crate) interest: Interest,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RequestState {
    /// The state of one request: the settings, where spans go, the parent
    /// context and what the caller's request carries that spans record.
    pub(crate) fn new(
        settings: Arc<Settings>,
        tracer: Arc<BoxedTracer>,
        instruments: Option<Instruments>,
        parent: Context,
        request: &RequestInfo<'_>,
    ) -> Self {
        // Only the keys the caller set (usually none: no allocation).
        let caller_set = |fields: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            fields
                .filter(|f| request.headers.contains_key(*f))
                .map(String::from)
                .collect()
        };
        let caller_propagation_keys = match &settings.propagation {
            // Most requests carry no header of their own at this point
            // (reqwest adds its defaults later): nothing to look up.
            _ if request.headers.is_empty() => Vec::new(),
            Propagation::Global => global::get_text_map_propagator(|p| caller_set(&mut p.fields())),
            Propagation::Fixed(p) => caller_set(&mut p.fields()),
            Propagation::Off => Vec::new(),
        };
        RequestState {
            header_attrs: settings.headers.request_attributes(request.headers),
            url_template: request
                .url_template
                .map(|t| StringValue::from(t.to_string())),
            settings,
            tracer,
            instruments,
            parent,
            caller_propagation_keys,
            hop: Mutex::new(None),
            request_span: OnceLock::new(),
            first_path: OnceLock::new(),
            last_end: Mutex::new(None),
            late_dials: Mutex::new(Vec::new()),
            interest: Interest::default(),
        }
    }

    pub(crate) fn request_headers(&self, start: &RoundTripStart, headers: &mut http::HeaderMap) {
        let mut guard = lock(&self.hop);
        self.ensure_hop(&mut guard, start);
        let Some(hop) = guard.as_ref() else { return };
        crate::inject::inject(
            &self.settings.propagation,
            &hop.cx,
            headers,
            &self.caller_propagation_keys,
        );
    }

    /// Starts the span of the hop `start` describes, unless it is the current
    /// one already (the header hook and the event both announce a hop).
    fn ensure_hop(&self, slot: &mut Option<HopSpan>, start: &RoundTripStart) {
        if let Some(hop) = slot.as_ref()
            && hop.resend_count == start.resend_count
            && hop.started == start.at
        {
            return;
        }
        if let Some(previous) = slot.take() {
            self.finish(previous, None);
        }
        let hop = self.start_hop(start);
        self.interest.set(hop_interest(
            &hop,
            &self.settings,
            self.instruments.as_ref(),
        ));
        *slot = Some(hop);
    }

    fn start_hop(&self, start: &RoundTripStart) -> HopSpan {
        let (method, original) = attrs::method(&start.method);
        let url_full = StringValue::from(Arc::<str>::from(
            attrs::redact_url(&start.url, &self.settings.redacted_params).as_ref(),
        ));
        let server_address = start
            .url
            .host_str()
            .map(|h| StringValue::from(Arc::<str>::from(h.trim_matches(['[', ']']))));
        let server_port = start.url.port_or_known_default().map(i64::from);
        // Room for what the hooks add later (peer address and port, status
        // code, protocol version, error type): no regrowth.
        let mut a = Vec::with_capacity(12 + self.header_attrs.len());
        a.push(KeyValue::new("http.request.method", method));
        a.push(KeyValue::new("url.full", url_full.clone()));
        if let Some(o) = original {
            a.push(KeyValue::new("http.request.method_original", o));
        }
        if let Some(h) = &server_address {
            a.push(KeyValue::new("server.address", h.clone()));
        }
        if let Some(p) = server_port {
            a.push(KeyValue::new("server.port", p));
        }
        if start.resend_count > 0 {
            a.push(KeyValue::new(
                "http.request.resend_count",
                i64::from(start.resend_count),
            ));
        }
        a.extend(self.header_attrs.iter().cloned());
        let path = start.url.path();
        let template = match &self.url_template {
            Some(t) if self.first_path.get_or_init(|| path.to_string()) == path => Some(t.clone()),
            _ => crate::settings::match_template(&self.settings.url_templates, path)
                .map(|t| StringValue::from(t.to_string())),
        };
        if let Some(t) = &template {
            a.push(KeyValue::new("url.template", t.clone()));
        }
        let parent = if self.parent.span().span_context().is_valid() {
            &self.parent
        } else {
            self.request_span.get_or_init(|| {
                let span = self
                    .tracer
                    .span_builder(format!("HTTP {}", attrs::span_name(method)))
                    .with_kind(SpanKind::Internal)
                    .with_start_time(system_time(start.at))
                    .with_attributes([
                        KeyValue::new("http.request.method", method),
                        KeyValue::new("url.full", url_full.clone()),
                    ])
                    .start_with_context(&*self.tracer, &self.parent);
                self.parent.with_span(span)
            })
        };
        let span = self
            .tracer
            .span_builder(match &template {
                Some(t) => Cow::Owned(format!("{} {}", attrs::span_name(method), t.as_str())),
                None => Cow::Borrowed(attrs::span_name(method)),
            })
            .with_kind(SpanKind::Client)
            .with_start_time(system_time(start.at))
            .with_attributes(a)
            // Room for the events `finish` adds: 11 on a pooled connection
            // (17 on a new HTTPS one regrow it once). 13 events of 72 bytes
            // stay under glibc's large-chunk size (1 KiB), whose requests
            // consolidate the allocator's fast bins first: measurable at
            // one such request per hop.
            .with_events(Vec::with_capacity(13))
            .start_with_context(&*self.tracer, parent);
        let recording = span.is_recording();
        // The histogram's samples are taken whether or not the span is sampled.
        let phase_metric = self
            .instruments
            .as_ref()
            .is_some_and(|m| m.phase_duration.is_some());
        let cx = parent.with_remote_span_context(span.span_context().clone());
        let mut hop = HopSpan {
            resend_count: start.resend_count,
            started: start.at,
            span,
            recording,
            cx,
            url: recording.then(|| start.url.clone()),
            url_full,
            method,
            server_address,
            server_port,
            protocol: None,
            last_at: start.at,
            events: Vec::new(),
            status: None,
            error_type: None,
            error_message: None,
            headers_done: false,
            phase_error: None,
            ended_at: None,
            phases: Vec::new(),
            // Room for the six phases: no regrowth.
            phase_totals: (recording || phase_metric).then(|| Vec::with_capacity(6)),
            conn_reused: None,
            dns_starts: Vec::new(),
            active_counted: false,
            duration_recorded: false,
        };
        if hop.records_events(&self.settings) {
            hop.events.reserve_exact(16); // a hop on a pooled connection has about 11
        }
        if let Some(active) = self
            .instruments
            .as_ref()
            .and_then(|m| m.active_requests.as_ref())
        {
            active.add(1, &hop.metric_base());
            hop.active_counted = true;
        }
        hop
    }

    pub(crate) fn on_event(&self, event: &Event) {
        let mut guard = lock(&self.hop);
        if let Event::RoundTripStart(start) = event {
            self.ensure_hop(&mut guard, start);
        }
        if is_dial_event(event) && self.to_late_dial(guard.as_ref(), event) {
            return;
        }
        let Some(hop) = guard.as_mut() else {
            return; // no hop open: a late event from a finished one
        };
        let at = event.at();
        if let Some(end) = hop.ended_at {
            // Finished: only what happened by its end still belongs to it
            // (the put_idle_conn that comes with body_done).
            if at <= end {
                self.record_event(hop, event);
            }
            if let Some(hop) = guard.take() {
                self.finish(hop, None);
            }
            if at > end && is_dial_event(event) {
                self.to_late_dial(None, event);
            }
            return;
        }
        self.record_event(hop, event);
        if at > hop.last_at {
            hop.last_at = at;
        }
        // The latest phase failure is the cause of a failed round trip: an
        // address refused before another one connected is not. A connect
        // attempt abandoned because another address won the race is none.
        if let Some(err) = match event {
            Event::DnsDone(e) => e.error.as_ref(),
            Event::ConnectDone(e) => e.error.as_ref(),
            Event::TlsHandshakeDone(e) => e.error.as_ref(),
            Event::WroteRequest(e) => e.error.as_ref(),
            _ => None,
        } && err.kind() != ErrorKind::Cancelled
        {
            hop.phase_error = Some(err.clone());
        }
        let finish_now = hop.apply(event, at, &self.settings, self.instruments.as_ref());
        if self.settings.phase_spans && hop.recording {
            hop.emit_complete_phases(&self.tracer);
        }
        if finish_now && let Some(hop) = guard.take() {
            self.finish(hop, None);
        }
    }

    fn record_event(&self, hop: &mut HopSpan, event: &Event) {
        if !hop.records_events(&self.settings) {
            return;
        }
        let Some(url) = &hop.url else { return };
        let a = self.event_attributes(event, url, &hop.url_full);
        hop.events
            .push((event.at(), crate::conventions::event_name(event), a));
    }

    /// An event's attributes, credentials taken out of URLs and messages.
    fn event_attributes(
        &self,
        event: &Event,
        url: &url::Url,
        url_full: &StringValue,
    ) -> Vec<KeyValue> {
        let redacted = &self.settings.redacted_params;
        attrs::event_attributes(
            event,
            &self.settings.headers,
            &|u| {
                if u == url {
                    url_full.clone()
                } else {
                    attrs::redact_url(u, redacted).into_owned().into()
                }
            },
            &|m| scrub_message(m, url, url_full.as_str()),
        )
    }

    /// Hands a connection-setup hook to the unfinished dial of an earlier
    /// hop when it belongs there: no hop is open, or the open one started
    /// after the hook happened, or the hook ends a phase only that dial has
    /// open. Returns whether it took the hook.
    fn to_late_dial(&self, current: Option<&HopSpan>, event: &Event) -> bool {
        let mut dials = lock(&self.late_dials);
        if dials.is_empty() {
            return false;
        }
        let at = event.at();
        let expected = dials.iter().rposition(|d| d.expects(event));
        let target = match current.filter(|hop| hop.ended_at.is_none()) {
            None => expected.unwrap_or(dials.len() - 1),
            Some(hop) if at < hop.started => expected.unwrap_or(dials.len() - 1),
            Some(hop) => {
                let hop_expects = done_phase(event).is_some_and(|(name, peer)| {
                    open_phase(&hop.phases, name, peer.as_deref(), at).is_some()
                });
                match expected {
                    Some(i) if !hop_expects => i,
                    _ => return false,
                }
            }
        };
        let dial = &mut dials[target];
        let a = self.event_attributes(event, &dial.url, &dial.url_full);
        dial.record(event, a);
        true
    }

    fn record_duration(&self, hop: &mut HopSpan, at: Instant) {
        if hop.duration_recorded {
            return;
        }
        hop.duration_recorded = true;
        if let Some(m) = &self.instruments {
            let mut a = hop.metric_base();
            if let Some(code) = hop.status {
                a.push(KeyValue::new("http.response.status_code", i64::from(code)));
            }
            if let Some(v) = hop.protocol.and_then(attrs::protocol_version) {
                a.push(KeyValue::new("network.protocol.version", v));
            }
            if let Some(t) = &hop.error_type {
                a.push(KeyValue::new("error.type", t.clone()));
            }
            m.request_duration
                .record(at.saturating_duration_since(hop.started).as_secs_f64(), &a);
        }
    }

    /// Ends the hop's span (and open phases) at its final event's time, or,
    /// when it never had one, now and as cancelled (`cancelled_at`).
    fn finish(&self, mut hop: HopSpan, cancelled_at: Option<Instant>) {
        let end = match hop.ended_at {
            Some(end) => end,
            None => {
                // No final event: the request was cancelled (or abandoned).
                let end = cancelled_at.unwrap_or(hop.last_at).max(hop.last_at);
                if hop.error_type.is_none() {
                    hop.error_type = Some(Cow::Borrowed("cancelled"));
                    hop.error_message = Some(if hop.headers_done {
                        "response body abandoned before its end was reported".to_string()
                    } else {
                        "request cancelled before the response arrived".to_string()
                    });
                }
                end
            }
        }
        .max(hop.started);
        // The metric measures what the span does (http-metrics.md,
        // `http.client.request.duration`: "SHOULD be the same as the HTTP
        // client span duration"): start to the end of the body.
        self.record_duration(&mut hop, end);
        if let (Some(reused), Some(c)) = (
            hop.conn_reused,
            self.instruments
                .as_ref()
                .and_then(|m| m.round_trips.as_ref()),
        ) {
            metrics::record_round_trip(c, reused, hop.server_address.as_ref(), hop.server_port);
        }
        // A dial still under way at a successful hop's end (the pool served
        // another connection) goes on; its last hooks are still to come.
        let failed = hop.error_type.is_some() && !hop_status_is_error(hop.status);
        if cancelled_at.is_none()
            && !failed
            && let Some(url) = &hop.url
        {
            let open: Vec<PhaseSpan> = hop
                .phases
                .extract_if(.., |p| {
                    is_dial_phase(p.name) && p.start.is_some() && p.end.is_none()
                })
                .collect();
            if !open.is_empty() {
                lock(&self.late_dials).push(LateDial {
                    cx: hop.cx.clone(),
                    server_address: hop.server_address.clone(),
                    server_port: hop.server_port,
                    hop_end: end,
                    phases: open,
                    events: Vec::new(),
                    outcome: None,
                    abandoned: None,
                    url: url.clone(),
                    url_full: hop.url_full.clone(),
                });
            }
        }
        if self.settings.phase_spans && hop.recording {
            hop.close_open_phases(&self.tracer, end);
        }
        if let Some(v) = hop.protocol.and_then(attrs::protocol_version) {
            hop.span
                .set_attribute(KeyValue::new("network.protocol.version", v));
        }
        if let Some(t) = &hop.error_type {
            hop.span
                .set_attribute(KeyValue::new("error.type", t.clone()));
            // Status codes need no description; transport errors get theirs.
            hop.span
                .set_status(Status::error(hop.error_message.clone().unwrap_or_default()));
        }
        hop.add_phase_durations_and_events(
            self.instruments
                .as_ref()
                .and_then(|m| m.phase_duration.as_ref()),
        );
        hop.span.end_with_timestamp(system_time(end));
        let mut last_end = lock(&self.last_end);
        *last_end = Some(last_end.map_or(end, |t| t.max(end)));
        drop(last_end);
        if hop.active_counted
            && let Some(active) = self
                .instruments
                .as_ref()
                .and_then(|m| m.active_requests.as_ref())
        {
            active.add(-1, &hop.metric_base());
        }
    }
}

impl Drop for RequestState {
    fn drop(&mut self) {
        let hop = self.hop.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(hop) = hop {
            self.finish(hop, Some(Instant::now()));
        }
        let dials = std::mem::take(self.late_dials.get_mut().unwrap_or_else(|e| e.into_inner()));
        for dial in dials {
            dial.emit(&self.tracer, self.settings.phase_spans);
        }
        if let Some(cx) = self.request_span.get() {
            let end = lock(&self.last_end).unwrap_or_else(Instant::now);
            cx.span().end_with_timestamp(system_time(end));
        }
    }
}
