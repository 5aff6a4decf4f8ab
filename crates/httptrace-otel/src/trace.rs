//! [`OtelTrace`]: one OpenTelemetry CLIENT span per round trip, made from
//! the hooks' own timestamps.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use httptrace::{
    BodyOutcome, ClientTrace, ErrorKind, Event, HookError, MakeTrace, RequestInfo, RoundTripStart,
    system_time,
};
use opentelemetry::global::{self, BoxedSpan, BoxedTracer};
use opentelemetry::metrics::Meter;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, KeyValue, StringValue};

use crate::attrs::{self, HeaderPolicy};
use crate::late::{LateDial, done_phase, is_dial_event, open_phase};
use crate::metrics::{Instruments, OptInMetric, OptIns, base_attributes};

/// The instrumentation scope name of the spans and metrics this crate makes.
pub const SCOPE_NAME: &str = "httptrace-otel";

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .build()
}

#[derive(Clone)]
enum TracerSource {
    Global,
    Fixed(Arc<BoxedTracer>),
}

#[derive(Clone)]
enum MeterSource {
    Global,
    Fixed(Meter),
    Off,
}

#[derive(Clone)]
enum Propagation {
    Global,
    Fixed(Arc<dyn TextMapPropagator + Send + Sync>),
    Off,
}

#[derive(Clone)]
struct Settings {
    tracer: TracerSource,
    meter: MeterSource,
    instruments: Arc<OnceLock<Option<Instruments>>>,
    propagation: Propagation,
    phase_spans: bool,
    record_headers: Vec<String>,
    record_response_headers: Vec<String>,
    sensitive_headers: Vec<String>,
    headers: HeaderPolicy,
    response_headers: HeaderPolicy,
    extra_redacted_params: Vec<String>,
    redacted_params: HashSet<String>,
    opt_ins: OptIns,
}

impl Settings {
    /// The recorded-header policies from the lists, redacting URL-valued
    /// headers with the same parameters as `url.full`.
    fn rebuild_header_policies(&mut self) {
        self.headers = HeaderPolicy::new(&self.record_headers, &self.sensitive_headers)
            .with_redacted_params(self.redacted_params.clone());
        self.response_headers =
            HeaderPolicy::new(&self.record_response_headers, &self.sensitive_headers)
                .with_redacted_params(self.redacted_params.clone());
    }
}

/// Makes OpenTelemetry spans (and metrics) from the hooks of each request:
/// a [`httptrace::MakeTrace`] to give to a traced client.
///
/// Per request it takes the caller's current context as parent (the current
/// `tracing` span's OpenTelemetry context through `tracing-opentelemetry`,
/// else [`opentelemetry::Context::current`]). Per round trip (each redirect
/// hop and retry) it makes one CLIENT span named after the method, with the
/// stable HTTP client semantic-convention attributes, every hook as a span
/// event at the hook's own timestamp, and the W3C `traceparent` of that hop
/// injected into the hop's request headers. When there is no caller span at
/// all, an INTERNAL span `HTTP {method}` covering the whole request becomes
/// the hops' parent, so one request (all its hops) is still one trace.
///
/// ```
/// use httptrace_otel::OtelTrace;
///
/// // Global tracer, meter and propagator (set by `httptrace_otel::init()`):
/// let make = OtelTrace::new()
///     .phase_spans(true)
///     .record_request_headers(["x-request-id"]);
/// # let _ = make;
/// ```
///
/// The span ends at `body_done` (or at a failed `round_trip_done`) with that
/// event's timestamp, and always ends: when the trace is dropped first (the
/// request was cancelled) the span ends then with `error.type = "cancelled"`.
#[derive(Clone)]
pub struct OtelTrace {
    settings: Arc<Settings>,
}

impl fmt::Debug for OtelTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("OtelTrace")
            .field(
                "tracer",
                &matches!(s.tracer, TracerSource::Fixed(_))
                    .then_some("fixed")
                    .unwrap_or("global"),
            )
            .field("phase_spans", &s.phase_spans)
            .field("record_headers", &s.record_headers)
            .field("sensitive_headers", &s.sensitive_headers)
            .field("extra_redacted_params", &s.extra_redacted_params)
            .finish_non_exhaustive()
    }
}

impl Default for OtelTrace {
    fn default() -> Self {
        Self::new()
    }
}

impl OtelTrace {
    /// Uses the global tracer provider (looked up per request), the global
    /// meter provider (looked up at the first request) and the global text
    /// map propagator.
    pub fn new() -> Self {
        OtelTrace {
            settings: Arc::new(Settings {
                tracer: TracerSource::Global,
                meter: MeterSource::Global,
                instruments: Arc::new(OnceLock::new()),
                propagation: Propagation::Global,
                phase_spans: false,
                record_headers: Vec::new(),
                record_response_headers: Vec::new(),
                sensitive_headers: Vec::new(),
                headers: HeaderPolicy::default(),
                response_headers: HeaderPolicy::default(),
                extra_redacted_params: Vec::new(),
                redacted_params: attrs::redacted_params(&[]),
                opt_ins: OptIns::default(),
            }),
        }
    }

    /// Uses `tracer` instead of the global one: for services that own their
    /// tracer provider.
    pub fn with_tracer<T>(tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        Self::new().tracer(tracer)
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        f(Arc::make_mut(&mut self.settings));
        self
    }

    /// Uses `tracer` for the spans.
    pub fn tracer<T>(self, tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        let boxed = Arc::new(BoxedTracer::new(Box::new(tracer)));
        self.edit(|s| s.tracer = TracerSource::Fixed(boxed))
    }

    /// Records the metrics with `meter` instead of the global meter provider's.
    pub fn meter(self, meter: Meter) -> Self {
        self.edit(|s| {
            s.meter = MeterSource::Fixed(meter);
            s.instruments = Arc::new(OnceLock::new());
        })
    }

    /// Turns the metrics off (on by default).
    pub fn metrics(self, enabled: bool) -> Self {
        self.edit(|s| {
            s.meter = if enabled {
                MeterSource::Global
            } else {
                MeterSource::Off
            };
            s.instruments = Arc::new(OnceLock::new());
        })
    }

    /// Injects context with `propagator` instead of the global one.
    pub fn propagator(self, propagator: impl TextMapPropagator + Send + Sync + 'static) -> Self {
        let p = Arc::new(propagator);
        self.edit(|s| s.propagation = Propagation::Fixed(p))
    }

    /// Whether to inject each hop's context into its request headers (on by
    /// default). Headers the caller set itself (say its own `traceparent`)
    /// are never replaced.
    pub fn propagate(self, enabled: bool) -> Self {
        self.edit(|s| {
            s.propagation = if enabled {
                Propagation::Global
            } else {
                Propagation::Off
            }
        })
    }

    /// Switches on one of the metrics the conventions call optional (all
    /// off by default; see [`OptInMetric`]). `http.client.request.duration`
    /// is always recorded while metrics are on.
    pub fn enable_metric(self, metric: OptInMetric) -> Self {
        self.edit(|s| {
            s.opt_ins.enable(metric);
            s.instruments = Arc::new(OnceLock::new());
        })
    }

    /// Adds child spans of each hop span for its phases (off by default):
    /// `dns`, `connect`, `tls`, `send` (connection obtained → request
    /// written), `wait` (request written → first response byte) and
    /// `receive` (first byte → body done).
    pub fn phase_spans(self, enabled: bool) -> Self {
        self.edit(|s| s.phase_spans = enabled)
    }

    /// Records these request headers (case-insensitive names) as
    /// `http.request.header.<lowercase name>` string-array attributes.
    /// `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie` and the
    /// names given to [`OtelTrace::sensitive_headers`] are never recorded,
    /// even when listed here. Headers whose values are URLs (`Location`,
    /// `Content-Location`, `Referer`, `Origin`) are recorded with exactly
    /// `url.full`'s redaction (userinfo, signed query values).
    pub fn record_request_headers<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        self.edit(|s| {
            s.record_headers.extend(names);
            s.rebuild_header_policies();
        })
    }

    /// Records these response headers (case-insensitive names) as
    /// `http.response.header.<lowercase name>` string-array attributes, with
    /// the same never-recorded list as request headers (`Set-Cookie`
    /// included).
    pub fn record_response_headers<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        self.edit(|s| {
            s.record_response_headers.extend(names);
            s.rebuild_header_policies();
        })
    }

    /// Headers never to record, on top of the built-in credentials list.
    pub fn sensitive_headers<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        self.edit(|s| {
            s.sensitive_headers.extend(names);
            s.rebuild_header_policies();
        })
    }

    /// Query parameters whose values `url.full` shows as `REDACTED`, on top
    /// of the semantic conventions' list (`AWSAccessKeyId`, `Signature`,
    /// `sig`, `X-Goog-Signature`, `X-Amz-Signature`, `X-Amz-Credential`,
    /// `X-Amz-Security-Token`). Matched case-insensitively.
    pub fn redact_query_params<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        self.edit(|s| {
            s.extra_redacted_params.extend(names);
            s.redacted_params = attrs::redacted_params(&s.extra_redacted_params);
            s.rebuild_header_policies();
        })
    }

    /// The trace for one request, with the caller's current context as parent.
    pub fn trace(&self, request: &RequestInfo<'_>) -> ClientTrace {
        self.trace_with_parent(request, current_context())
    }

    /// The metric instruments, made on first use from the configured meter.
    fn instruments(&self) -> Option<Instruments> {
        let settings = &self.settings;
        settings
            .instruments
            .get_or_init(|| match &settings.meter {
                MeterSource::Global => Some(Instruments::new(
                    &global::meter_with_scope(scope()),
                    settings.opt_ins,
                )),
                MeterSource::Fixed(m) => Some(Instruments::new(m, settings.opt_ins)),
                MeterSource::Off => None,
            })
            .clone()
    }

    /// The trace for one request under an explicit parent context.
    pub fn trace_with_parent(&self, request: &RequestInfo<'_>, parent: Context) -> ClientTrace {
        let settings = self.settings.clone();
        let tracer = match &settings.tracer {
            TracerSource::Fixed(t) => t.clone(),
            TracerSource::Global => Arc::new(global::tracer_with_scope(scope())),
        };
        let instruments = self.instruments();
        // Only the keys the caller set (usually none: no allocation).
        let caller_set = |fields: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            fields
                .filter(|f| request.headers.contains_key(*f))
                .map(String::from)
                .collect()
        };
        let caller_propagation_keys = match &settings.propagation {
            Propagation::Global => global::get_text_map_propagator(|p| caller_set(&mut p.fields())),
            Propagation::Fixed(p) => caller_set(&mut p.fields()),
            Propagation::Off => Vec::new(),
        };
        let state = Arc::new(RequestState {
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
            last_end: Mutex::new(None),
            late_dials: Mutex::new(Vec::new()),
        });
        let for_headers = state.clone();
        ClientTrace::new()
            .on_event(move |e| state.on_event(e))
            .on_request_headers(move |start, headers| for_headers.request_headers(start, headers))
    }
}

impl MakeTrace for OtelTrace {
    fn make_trace(&self, request: &RequestInfo<'_>) -> Option<ClientTrace> {
        Some(self.trace(request))
    }

    /// `http.client.open_connections` (by `http.connection.state`) and, when a
    /// connection closes, `http.client.connection.duration`. Only transports
    /// that see connections close report them (the hyper-util one).
    fn on_connection(&self, event: &httptrace::ConnectionEvent) {
        let Some(m) = self.instruments() else { return };
        if m.open_connections.is_none() && m.connection_duration.is_none() {
            return;
        }
        let mut a = vec![
            KeyValue::new("server.address", event.server_address.clone()),
            KeyValue::new("server.port", i64::from(event.server_port)),
            KeyValue::new("network.peer.address", event.remote_addr.ip().to_string()),
            KeyValue::new("url.scheme", event.scheme),
        ];
        if let Some(v) = attrs::protocol_version(event.protocol) {
            a.push(KeyValue::new("network.protocol.version", v));
        }
        let with_state = |state: httptrace::ConnectionState| {
            let mut a = a.clone();
            a.push(KeyValue::new("http.connection.state", state.as_str()));
            a
        };
        if let (Some(previous), Some(open)) = (event.previous, &m.open_connections) {
            open.add(-1, &with_state(previous));
        }
        if event.state == httptrace::ConnectionState::Closed {
            if let Some(duration) = &m.connection_duration {
                let lifetime = event.at.saturating_duration_since(event.opened_at);
                duration.record(lifetime.as_secs_f64(), &a);
            }
        } else if let Some(open) = &m.open_connections {
            open.add(1, &with_state(event.state));
        }
    }
}

/// The current `tracing` span's OpenTelemetry context when it has a valid
/// span, else [`Context::current`].
pub fn current_context() -> Context {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    if cx.span().span_context().is_valid() {
        cx
    } else {
        Context::current()
    }
}

struct RequestState {
    settings: Arc<Settings>,
    tracer: Arc<BoxedTracer>,
    instruments: Option<Instruments>,
    parent: Context,
    /// Propagation headers the caller set itself: never overwritten.
    caller_propagation_keys: Vec<String>,
    header_attrs: Vec<KeyValue>,
    /// The caller's low-cardinality path template: the hop spans are named
    /// `{method} {template}` and carry `url.template` (http-spans.md, Name).
    url_template: Option<StringValue>,
    hop: Mutex<Option<Hop>>,
    /// Without a caller span, one INTERNAL span for the whole request is the
    /// hops' parent, so that one request (all its redirect hops) is one
    /// trace. Ended when the request's state goes, at the last hop's end.
    request_span: OnceLock<Context>,
    last_end: Mutex<Option<Instant>>,
    /// Dials of finished hops still under way (one per hop at most).
    late_dials: Mutex<Vec<LateDial>>,
}

/// One phase sub-span in the making. Either end may be learnt first, since
/// hooks are delivered late; the span is made once both are known.
pub(crate) struct Phase {
    pub(crate) name: &'static str,
    pub(crate) start: Option<Instant>,
    pub(crate) end: Option<Instant>,
    pub(crate) error: Option<HookError>,
    pub(crate) attrs: Vec<KeyValue>,
}

struct Hop {
    resend_count: u32,
    started: Instant,
    span: BoxedSpan,
    recording: bool,
    /// The parent context with this hop's span: parent of the phase spans,
    /// and what is propagated.
    cx: Context,
    url: url::Url,
    url_full: String,
    method: &'static str,
    server_address: Option<String>,
    server_port: Option<i64>,
    protocol: Option<http::Version>,
    last_at: Instant,
    events: Vec<(Instant, &'static str, Vec<KeyValue>)>,
    status: Option<u16>,
    error_type: Option<Cow<'static, str>>,
    error_message: Option<String>,
    headers_done: bool,
    /// The first error a phase event (DNS, connect, TLS, write) reported:
    /// it names the cause more precisely than the round trip's error.
    phase_error: Option<HookError>,
    /// Set by the final event (`body_done`, failed `round_trip_done`):
    /// the span's end time. The span itself may be ended a moment later,
    /// when a `put_idle_conn` stamped at the same instant may still follow.
    ended_at: Option<Instant>,
    phases: Vec<Phase>,
    dns_starts: Vec<(String, Instant)>,
    active_counted: bool,
    duration_recorded: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

impl RequestState {
    fn request_headers(&self, start: &RoundTripStart, headers: &mut http::HeaderMap) {
        let mut guard = lock(&self.hop);
        self.ensure_hop(&mut guard, start);
        let Some(hop) = guard.as_ref() else { return };
        let mut injector = HeaderInjector {
            headers,
            keep: &self.caller_propagation_keys,
        };
        match &self.settings.propagation {
            Propagation::Global => {
                global::get_text_map_propagator(|p| p.inject_context(&hop.cx, &mut injector))
            }
            Propagation::Fixed(p) => p.inject_context(&hop.cx, &mut injector),
            Propagation::Off => {}
        }
    }

    /// Starts the span of the hop `start` describes, unless it is the current
    /// one already (the header hook and the event both announce a hop).
    fn ensure_hop(&self, slot: &mut Option<Hop>, start: &RoundTripStart) {
        if let Some(hop) = slot.as_ref()
            && hop.resend_count == start.resend_count
            && hop.started == start.at
        {
            return;
        }
        if let Some(previous) = slot.take() {
            self.finish(previous, None);
        }
        *slot = Some(self.start_hop(start));
    }

    fn start_hop(&self, start: &RoundTripStart) -> Hop {
        let (method, original) = attrs::method(&start.method);
        let url_full = attrs::redact_url(&start.url, &self.settings.redacted_params);
        let server_address = start
            .url
            .host_str()
            .map(|h| h.trim_matches(['[', ']']).to_string());
        let server_port = start.url.port_or_known_default().map(i64::from);
        let mut a = Vec::with_capacity(6 + self.header_attrs.len());
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
        if let Some(t) = &self.url_template {
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
            .span_builder(match &self.url_template {
                Some(t) => Cow::Owned(format!("{} {}", attrs::span_name(method), t.as_str())),
                None => Cow::Borrowed(attrs::span_name(method)),
            })
            .with_kind(SpanKind::Client)
            .with_start_time(system_time(start.at))
            .with_attributes(a)
            .start_with_context(&*self.tracer, parent);
        let recording = span.is_recording();
        let cx = parent.with_remote_span_context(span.span_context().clone());
        let mut hop = Hop {
            resend_count: start.resend_count,
            started: start.at,
            span,
            recording,
            cx,
            url: start.url.clone(),
            url_full,
            method,
            server_address,
            server_port,
            protocol: None,
            last_at: start.at,
            events: Vec::with_capacity(16), // a hop on a pooled connection has about 11
            status: None,
            error_type: None,
            error_message: None,
            headers_done: false,
            phase_error: None,
            ended_at: None,
            phases: Vec::new(),
            dns_starts: Vec::new(),
            active_counted: false,
            duration_recorded: false,
        };
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

    fn on_event(&self, event: &Event) {
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
                let lookups = self
                    .instruments
                    .as_ref()
                    .and_then(|m| m.dns_lookup_duration.as_ref());
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
                    a.push(KeyValue::new("network.peer.address", addr.ip().to_string()));
                    a.push(KeyValue::new("network.peer.port", i64::from(addr.port())));
                }
                hop.phase_start("connect", at, a);
            }
            Event::ConnectDone(e) => {
                // Attempts to several addresses may overlap (Happy Eyeballs):
                // each done ends the attempt to its own address.
                let peer = e.addr.map(|a| a.ip().to_string());
                let attempt = open_phase(&hop.phases, "connect", peer.as_deref(), at)
                    .map(|i| &mut hop.phases[i]);
                match attempt {
                    Some(p) => {
                        p.end = Some(at);
                        p.error = e.error.clone();
                    }
                    None => hop.phase_end("connect", at, e.error.clone()),
                }
                if let Some(addr) = e.addr
                    && let Some(p) = hop.phases.iter_mut().rev().find(|p| p.name == "connect")
                    && !p
                        .attrs
                        .iter()
                        .any(|kv| kv.key.as_str() == "network.peer.address")
                {
                    p.attrs
                        .push(KeyValue::new("network.peer.address", addr.ip().to_string()));
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
                        remote.ip().to_string(),
                    ));
                    hop.span.set_attribute(KeyValue::new(
                        "network.peer.port",
                        i64::from(remote.port()),
                    ));
                }
                hop.set_protocol(e.protocol);
                // send, wait and receive exist only as phase spans (dns,
                // connect and tls are also what a late dial continues).
                if self.settings.phase_spans {
                    hop.phase_start("send", at, Vec::new());
                }
            }
            Event::WroteRequest(e) if self.settings.phase_spans => {
                hop.phase_end("send", at, e.error.clone());
                hop.phase_start("wait", at, Vec::new());
            }
            Event::GotFirstResponseByte(_) if self.settings.phase_spans => {
                hop.phase_end("wait", at, None);
                hop.phase_start("receive", at, Vec::new());
            }
            Event::RoundTripDone(e) => {
                hop.headers_done = true;
                if let Some(v) = e.version {
                    hop.set_protocol(v);
                }
                if let Some(headers) = &e.headers {
                    for kv in self.settings.response_headers.response_attributes(headers) {
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
                if self.settings.phase_spans {
                    hop.phase_end("receive", at, error.clone());
                }
                if let Some(err) = &error
                    && hop.status.is_none_or(|s| s < 400)
                {
                    hop.set_error(err);
                }
                hop.ended_at = Some(at);
                // An HTTP/1 connection goes back to the pool when its body was
                // read to the end, and the transport reports that right after:
                // keep the span for that event. Otherwise nothing follows.
                let put_idle_may_follow = matches!(e.outcome, BodyOutcome::Completed)
                    && hop.protocol.is_none_or(|v| v < http::Version::HTTP_2);
                finish_now = !put_idle_may_follow;
            }
            _ => {}
        }
        if self.settings.phase_spans && hop.recording {
            hop.emit_complete_phases(&self.tracer);
        }
        if finish_now && let Some(hop) = guard.take() {
            self.finish(hop, None);
        }
    }

    fn record_event(&self, hop: &mut Hop, event: &Event) {
        if !hop.recording {
            return;
        }
        let a = self.event_attributes(event, &hop.url, &hop.url_full);
        hop.events.push((event.at(), event.name(), a));
    }

    /// An event's attributes, credentials taken out of URLs and messages.
    fn event_attributes(&self, event: &Event, url: &url::Url, url_full: &str) -> Vec<KeyValue> {
        let redacted = &self.settings.redacted_params;
        attrs::event_attributes(
            event,
            &self.settings.headers,
            &|u| {
                if u == url {
                    url_full.to_string()
                } else {
                    attrs::redact_url(u, redacted)
                }
            },
            &|m| scrub_message(m, url, url_full),
        )
    }

    /// Hands a connection-setup hook to the unfinished dial of an earlier
    /// hop when it belongs there: no hop is open, or the open one started
    /// after the hook happened, or the hook ends a phase only that dial has
    /// open. Returns whether it took the hook.
    fn to_late_dial(&self, current: Option<&Hop>, event: &Event) -> bool {
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

    fn record_duration(&self, hop: &mut Hop, at: Instant) {
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
    fn finish(&self, mut hop: Hop, cancelled_at: Option<Instant>) {
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
        // A dial still under way at a successful hop's end (the pool served
        // another connection) goes on; its last hooks are still to come.
        let failed = hop.error_type.is_some() && !hop_status_is_error(hop.status);
        if hop.recording && cancelled_at.is_none() && !failed {
            let open: Vec<Phase> = hop
                .phases
                .extract_if(.., |p| {
                    matches!(p.name, "dns" | "connect" | "tls")
                        && p.start.is_some()
                        && p.end.is_none()
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
                    url: hop.url.clone(),
                    url_full: hop.url_full.clone(),
                });
            }
        }
        if self.settings.phase_spans && hop.recording {
            hop.close_open_phases(&self.tracer, end);
        }
        if let Some(t) = &hop.error_type {
            hop.span
                .set_attribute(KeyValue::new("error.type", t.clone()));
            // Status codes need no description; transport errors get theirs.
            hop.span
                .set_status(Status::error(hop.error_message.clone().unwrap_or_default()));
        }
        if hop.recording {
            let mut events = std::mem::take(&mut hop.events);
            events.sort_by_key(|(at, _, _)| *at); // stable: delivery order on ties
            for (at, name, a) in events {
                hop.span.add_event_with_timestamp(name, system_time(at), a);
            }
        }
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

impl Hop {
    fn metric_base(&self) -> Vec<KeyValue> {
        base_attributes(
            self.method,
            self.server_address.as_deref(),
            self.server_port,
        )
    }

    fn set_protocol(&mut self, v: http::Version) {
        self.protocol = Some(v);
        if let Some(s) = attrs::protocol_version(v) {
            self.span
                .set_attribute(KeyValue::new("network.protocol.version", s));
        }
    }

    fn set_error(&mut self, err: &HookError) {
        if hop_status_is_error(self.status) {
            return; // the status code already names the error
        }
        self.error_type = Some(Cow::Borrowed(err.kind().as_str()));
        self.error_message = Some(scrub_message(err.message(), &self.url, &self.url_full));
    }

    fn phase_start(&mut self, name: &'static str, at: Instant, attrs: Vec<KeyValue>) {
        // An end learnt before its start (late delivery) pairs with it.
        if let Some(p) = self
            .phases
            .iter_mut()
            .find(|p| p.name == name && p.start.is_none() && p.end.is_some_and(|e| e >= at))
        {
            p.start = Some(at);
            p.attrs.extend(attrs);
            return;
        }
        self.phases.push(Phase {
            name,
            start: Some(at),
            end: None,
            error: None,
            attrs,
        });
    }

    fn phase_end(&mut self, name: &'static str, at: Instant, error: Option<HookError>) {
        if let Some(p) = self
            .phases
            .iter_mut()
            .find(|p| p.name == name && p.end.is_none() && p.start.is_some_and(|s| s <= at))
        {
            p.end = Some(at);
            p.error = error;
            return;
        }
        self.phases.push(Phase {
            name,
            start: None,
            end: Some(at),
            error,
            attrs: Vec::new(),
        });
    }

    /// Makes the spans of the phases whose both ends are known.
    fn emit_complete_phases(&mut self, tracer: &BoxedTracer) {
        let (done, open): (Vec<Phase>, Vec<Phase>) = std::mem::take(&mut self.phases)
            .into_iter()
            .partition(|p| p.start.is_some() && p.end.is_some());
        self.phases = open;
        for p in done {
            self.emit_phase(tracer, p, None);
        }
    }

    /// Ends the phases still open at the hop's end; drops ends without start.
    fn close_open_phases(&mut self, tracer: &BoxedTracer, end: Instant) {
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

    fn emit_phase(&self, tracer: &BoxedTracer, p: Phase, hop_error: Option<Cow<'static, str>>) {
        let (Some(start), Some(end)) = (p.start, p.end) else {
            return;
        };
        let mut span = tracer
            .span_builder(p.name)
            .with_kind(SpanKind::Internal)
            .with_start_time(system_time(start))
            .with_attributes(p.attrs)
            .start_with_context(tracer, &self.cx);
        if let Some(err) = &p.error {
            span.set_attribute(KeyValue::new("error.type", err.kind().as_str()));
            span.set_status(Status::error(scrub_message(
                err.message(),
                &self.url,
                &self.url_full,
            )));
        } else if let Some(t) = hop_error {
            span.set_attribute(KeyValue::new("error.type", t));
            span.set_status(Status::error(
                self.error_message.clone().unwrap_or_default(),
            ));
        }
        span.end_with_timestamp(system_time(end.max(start)));
    }
}

fn hop_status_is_error(status: Option<u16>) -> bool {
    status.is_some_and(|s| s >= 400)
}

/// Injects straight into the hop's request headers, leaving the
/// propagation headers the caller set itself as they are.
struct HeaderInjector<'a> {
    headers: &'a mut http::HeaderMap,
    keep: &'a [String],
}

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if self.keep.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            // Replaces what an earlier hop of this request injected.
            self.headers.insert(name, value);
        }
    }
}
