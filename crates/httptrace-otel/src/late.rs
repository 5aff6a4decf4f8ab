//! Dials that outlive their round trip. A pool may serve a waiting request
//! with a connection another request freed while the request's own dial is
//! still under way; the dial then finishes in the background (its connection
//! goes to the pool) and its last hooks arrive after the hop's span ended.
//! They are placed, at their own timestamps, on a `dial` span: a child of
//! the hop that started the dial, from the dial's first open phase to its
//! last event.

use std::time::Instant;

use httptrace::{ConnectDone, ErrorKind, Event, HookError, system_time};
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, StringValue};

use crate::attrs;
use crate::phase::{PhaseSpan, done_phase, emit_phases, open_phase, scrub_message};

/// What is left of one hop's unfinished dial.
pub(crate) struct LateDial {
    /// The hop's context: the dial span's parent.
    pub(crate) cx: Context,
    pub(crate) server_address: Option<StringValue>,
    pub(crate) server_port: Option<i64>,
    /// The hop's end: hooks up to it are on the hop's span already.
    pub(crate) hop_end: Instant,
    /// Phases open at the hop's end, then those started after it.
    pub(crate) phases: Vec<PhaseSpan>,
    /// The dial's hooks after the hop's end.
    pub(crate) events: Vec<(Instant, &'static str, Vec<KeyValue>)>,
    /// The dial's outcome so far: the latest `*_done` that was not an
    /// attempt abandoned in a race, and whether any attempt was abandoned.
    pub(crate) outcome: Option<Option<HookError>>,
    pub(crate) abandoned: Option<HookError>,
    /// The hop's URL and its redacted form: credentials never reach the
    /// events' attributes or an error message.
    pub(crate) url: url::Url,
    pub(crate) url_full: StringValue,
}

impl LateDial {
    /// Takes credentials out of an error message.
    fn scrub(&self) -> impl Fn(&str) -> String + '_ {
        |m| scrub_message(m, &self.url, self.url_full.as_str())
    }

    /// Whether a done hook ends one of this dial's open phases.
    pub(crate) fn expects(&self, event: &Event) -> bool {
        done_phase(event).is_some_and(|(name, peer)| {
            open_phase(&self.phases, name, peer.as_deref(), event.at()).is_some()
        })
    }

    /// Books one of the dial's hooks, with its span-event attributes.
    pub(crate) fn record(&mut self, event: &Event, attrs: Vec<KeyValue>) {
        let at = event.at();
        match event {
            Event::DnsStart(_) | Event::ConnectStart(_) | Event::TlsHandshakeStart(_) => {
                let name = match event {
                    Event::DnsStart(_) => "dns",
                    Event::ConnectStart(_) => "connect",
                    _ => "tls",
                };
                let peer = attrs
                    .iter()
                    .filter(|kv| kv.key.as_str().starts_with("network.peer."))
                    .cloned()
                    .collect();
                self.phases.push(PhaseSpan {
                    name,
                    start: Some(at),
                    end: None,
                    error: None,
                    attrs: peer,
                });
            }
            _ => {
                if let Some((name, peer)) = done_phase(event) {
                    let error = event.error().cloned();
                    if let Some(i) = open_phase(&self.phases, name, peer.as_deref(), at) {
                        let phase = &mut self.phases[i];
                        phase.end = Some(at);
                        phase.error = error.clone();
                        // A connect whose address was unknown at its start.
                        if let Event::ConnectDone(ConnectDone {
                            addr: Some(addr), ..
                        }) = event
                            && !phase
                                .attrs
                                .iter()
                                .any(|kv| kv.key.as_str() == "network.peer.address")
                        {
                            phase.attrs.extend([
                                KeyValue::new("network.peer.address", attrs::ip_value(addr.ip())),
                                KeyValue::new("network.peer.port", i64::from(addr.port())),
                            ]);
                        }
                    }
                    match error {
                        Some(e) if e.kind() == ErrorKind::Cancelled => self.abandoned = Some(e),
                        other => self.outcome = Some(other),
                    }
                }
            }
        }
        self.events
            .push((at, crate::conventions::event_name(event), attrs));
    }

    /// Makes the `dial` span with its phases. When nothing came after the
    /// hop's end, there is no dial span: the open phases end with the hop.
    pub(crate) fn emit(mut self, tracer: &BoxedTracer, phase_spans: bool) {
        if self.events.is_empty() {
            if phase_spans {
                let phases = std::mem::take(&mut self.phases);
                emit_phases(tracer, &self.cx, phases, self.hop_end, &self.scrub());
            }
            return;
        }
        let start = self
            .phases
            .iter()
            .filter_map(|p| p.start)
            .min()
            .unwrap_or(self.hop_end);
        self.events.sort_by_key(|(at, _, _)| *at);
        let end = self
            .events
            .last()
            .map_or(start, |(at, _, _)| *at)
            .max(start);
        let mut attributes = vec![KeyValue::new("httptrace.dial.outlived_round_trip", true)];
        if let Some(h) = &self.server_address {
            attributes.push(KeyValue::new("server.address", h.clone()));
        }
        if let Some(p) = self.server_port {
            attributes.push(KeyValue::new("server.port", p));
        }
        let mut span = tracer
            .span_builder("dial")
            .with_kind(SpanKind::Internal)
            .with_start_time(system_time(start))
            .with_attributes(attributes)
            .start_with_context(tracer, &self.cx);
        let failure = match (self.outcome.take(), self.abandoned.take()) {
            (Some(outcome), _) => outcome,
            (None, abandoned) => abandoned,
        };
        if let Some(e) = failure {
            span.set_attribute(KeyValue::new("error.type", e.kind().as_str()));
            span.set_status(Status::error(self.scrub()(e.message())));
        }
        for (at, name, attrs) in std::mem::take(&mut self.events) {
            span.add_event_with_timestamp(name, system_time(at), attrs);
        }
        let dial_cx = self
            .cx
            .with_remote_span_context(span.span_context().clone());
        if phase_spans {
            let phases = std::mem::take(&mut self.phases);
            let scrub = self.scrub();
            emit_phases(tracer, &dial_cx, phases, end, &scrub);
        }
        span.end_with_timestamp(system_time(end));
    }
}
