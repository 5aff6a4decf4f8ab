//! PhaseSpan sub-spans (`dns`, `connect`, `tls`, `send`, `wait`, `receive`)
//! in the making, what the transport hooks say about them, and taking
//! credentials out of the messages they carry. Shared by the hop's state
//! ([`crate::hop`]) and dials that outlive their hop ([`crate::late`]).
//!
//! Why not `httptrace::Phases`, which httpstat and the demo use: that type
//! summarises a finished round trip (one `connect` interval however many
//! addresses were tried). The spans here are paired as the hooks arrive,
//! one `connect` span per address tried (Happy Eyeballs), each with its
//! peer address, and a dial that outlives its round trip keeps its open
//! phases for a later `dial` span: both need the pairing kept per attempt
//! and across the hop's end.

use std::borrow::Cow;
use std::time::Instant;

use httptrace::{Event, HookError, system_time};
use opentelemetry::Context;
use opentelemetry::KeyValue;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer};

/// One phase sub-span in the making. Either end may be learnt first, since
/// hooks are delivered late; the span is made once both are known.
pub(crate) struct PhaseSpan {
    pub(crate) name: &'static str,
    pub(crate) start: Option<Instant>,
    pub(crate) end: Option<Instant>,
    pub(crate) error: Option<HookError>,
    pub(crate) attrs: Vec<KeyValue>,
}

/// Whether `event` is a connection-setup hook (what a dial reports).
/// The phases of a dial: what a spare or outlived dial consists of.
pub(crate) fn is_dial_phase(name: &str) -> bool {
    matches!(name, "dns" | "connect" | "tls")
}

pub(crate) fn is_dial_event(event: &Event) -> bool {
    matches!(
        event,
        Event::DnsStart(_)
            | Event::DnsDone(_)
            | Event::ConnectStart(_)
            | Event::ConnectDone(_)
            | Event::TlsHandshakeStart(_)
            | Event::TlsHandshakeDone(_)
    )
}

/// The phase a done hook ends, and the peer address that tells concurrent
/// connect attempts apart.
pub(crate) fn done_phase(event: &Event) -> Option<(&'static str, Option<String>)> {
    match event {
        Event::DnsDone(_) => Some(("dns", None)),
        Event::ConnectDone(e) => Some(("connect", e.addr.map(|a| a.ip().to_string()))),
        Event::TlsHandshakeDone(_) => Some(("tls", None)),
        _ => None,
    }
}

/// The open phase `name` that an end at `at` closes: for a connect attempt,
/// the one to `peer`, else one whose address was not known at its start.
pub(crate) fn open_phase(
    phases: &[PhaseSpan],
    name: &str,
    peer: Option<&str>,
    at: Instant,
) -> Option<usize> {
    let peer_of = |p: &PhaseSpan| {
        p.attrs
            .iter()
            .find(|kv| kv.key.as_str() == "network.peer.address")
            .map(|kv| kv.value.as_str().into_owned())
    };
    let open =
        |p: &PhaseSpan| p.name == name && p.end.is_none() && p.start.is_some_and(|s| s <= at);
    let exact = peer.and_then(|peer| {
        phases
            .iter()
            .position(|p| open(p) && peer_of(p).as_deref() == Some(peer))
    });
    exact.or_else(|| phases.iter().position(|p| open(p) && peer_of(p).is_none()))
}

/// Takes credentials out of a transport's error message: the raw URL (which
/// may carry userinfo or signed query values) becomes `url.full`.
pub(crate) fn scrub_message(msg: &str, url: &url::Url, url_full: &str) -> String {
    let mut out = msg.replace(url.as_str(), url_full);
    if let Some(pw) = url.password()
        && !pw.is_empty()
    {
        out = out.replace(&format!("{}:{}@", url.username(), pw), "REDACTED:REDACTED@");
    }
    out
}

/// PhaseSpan spans under `parent`; a phase never closed ends at `end`.
pub(crate) fn emit_phases(
    tracer: &BoxedTracer,
    parent: &Context,
    phases: Vec<PhaseSpan>,
    end: Instant,
    scrub: &dyn Fn(&str) -> String,
) {
    for p in phases {
        let Some(start) = p.start else { continue };
        let until = p.end.unwrap_or(end);
        emit_phase(tracer, parent, p, (start, until), scrub, None);
    }
}

/// One phase span under `parent`, from `start` to `end` (never before its
/// start). A phase that failed carries its own error, its message
/// scrubbed; else `cut_short` (an `error.type` and message) marks a phase
/// the hop's failure ended.
pub(crate) fn emit_phase(
    tracer: &BoxedTracer,
    parent: &Context,
    p: PhaseSpan,
    (start, end): (Instant, Instant),
    scrub: &dyn Fn(&str) -> String,
    cut_short: Option<(Cow<'static, str>, String)>,
) {
    let mut span = tracer
        .span_builder(p.name)
        .with_kind(SpanKind::Internal)
        .with_start_time(system_time(start))
        .with_attributes(p.attrs)
        .start_with_context(tracer, parent);
    if let Some(e) = &p.error {
        span.set_attribute(KeyValue::new("error.type", e.kind().as_str()));
        span.set_status(Status::error(scrub(e.message())));
    } else if let Some((error_type, message)) = cut_short {
        span.set_attribute(KeyValue::new("error.type", error_type));
        span.set_status(Status::error(message));
    }
    span.end_with_timestamp(system_time(end.max(start)));
}
