//! [`OtelTrace`]: the [`MakeTrace`] that turns each request's hooks into
//! one OpenTelemetry CLIENT span per round trip (made from the hooks' own
//! timestamps) and HTTP client metrics; its builder, and where a request's
//! parent context comes from.

use std::fmt;
use std::sync::{Arc, OnceLock};

use httptrace::{ClientTrace, MakeTrace, RequestInfo};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::Meter;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

use crate::attrs::{self, HeaderPolicy};
use crate::metrics::{self, Instruments, OptInMetric, OptIns};
use crate::request::RequestState;
use crate::settings::{MeterSource, Propagation, Settings, TracerSource};

/// The instrumentation scope name of the spans and metrics this crate makes.
pub const SCOPE_NAME: &str = "httptrace-otel";

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .build()
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
/// The global tracer and meter providers are read at the first traced
/// request and kept (making a tracer per request costs allocations on
/// every call): install them (`httptrace_otel::init`) before the first request, or
/// give the tracer and meter explicitly.
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
/// A hop whose span the sampler drops still records its metrics and still
/// propagates its context (with the sampled flag off), and costs little
/// else: the transports build only the events the metrics read (its start,
/// end, status and failures; the phases too while
/// [`OptInMetric::PhaseDuration`] is on), and no event or attribute is built
/// for the span. The metrics come out the same whether the hop was sampled
/// or not (tested on both transports).
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
            .field("hook_events", &s.hook_events)
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
                global_tracer: Arc::new(OnceLock::new()),
                propagation: Propagation::Global,
                phase_spans: false,
                hook_events: true,
                record_headers: Vec::new(),
                record_response_headers: Vec::new(),
                sensitive_headers: Vec::new(),
                headers: HeaderPolicy::default(),
                response_headers: HeaderPolicy::default(),
                extra_redacted_params: Vec::new(),
                url_templates: Arc::from([]),
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

    /// Switches on one of the opt-in metrics (all off by default; see
    /// [`OptInMetric`]): those the conventions call optional and the
    /// project's `httptrace.client.*` aggregates. The environment variable
    /// [`METRICS_ENV`](crate::METRICS_ENV) (`HTTPTRACE_METRICS`) switches
    /// them on without a rebuild, in addition to these.
    /// `http.client.request.duration` is always recorded while metrics are
    /// on.
    pub fn enable_metric(self, metric: OptInMetric) -> Self {
        self.edit(|s| {
            s.opt_ins.enable(metric);
            s.instruments = Arc::new(OnceLock::new());
        })
    }

    /// The routes of the upstreams this client calls, as low-cardinality
    /// templates (`/users/{id}`; a `{name}` segment matches any one
    /// segment): a hop whose path matches one is named `{method}
    /// {template}` and carries `url.template`, as the conventions allow.
    /// A template the caller gives for a request
    /// ([`httptrace::UrlTemplate`]) names the hops on that request's own
    /// path; a redirect hop elsewhere is named by these routes, or by its
    /// method alone. Never derived from the path itself (unbounded).
    pub fn url_templates<I, S>(self, routes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let routes: Arc<[String]> = routes.into_iter().map(Into::into).collect();
        self.edit(|s| s.url_templates = routes)
    }

    /// Adds child spans of each hop span for its phases (off by default):
    /// `dns`, `connect`, `tls`, `send` (connection obtained → request
    /// written), `wait` (request written → first response byte) and
    /// `receive` (first byte → body done).
    pub fn phase_spans(self, enabled: bool) -> Self {
        self.edit(|s| s.phase_spans = enabled)
    }

    /// Records every hook of a hop as an event on its span (on by default).
    ///
    /// Either way the hop span carries, when it ends, how long each phase
    /// it went through took, in seconds (from its first start to its last
    /// end when it happened more than once, as connection attempts to
    /// several addresses do): `httptrace.dns.duration`,
    /// `httptrace.connect.duration`, `httptrace.tls.duration`,
    /// `httptrace.send.duration`, `httptrace.wait.duration` and
    /// `httptrace.receive.duration` (the phases of
    /// [`phase_spans`](Self::phase_spans)), and `httptrace.conn.reused`; a
    /// spare dial's phases (the pool dialled, then handed over a pooled
    /// connection) are marked `httptrace.dial.spare` instead of counted.
    /// Off, the events are left out: what only they carry is not recorded
    /// (their timestamps, DNS answers, local addresses, the TLS
    /// certificate, the names of the headers written, body sizes). In the
    /// project's pipeline benchmark the export is about half the size, and
    /// with 64 requests in flight the pipeline costs the service and its
    /// collector less than reqwest-tracing's one span per request
    /// (BENCHMARKS.md). The `dial` span of a dial that outlived its round
    /// trip keeps its events.
    pub fn hook_events(self, enabled: bool) -> Self {
        self.edit(|s| s.hook_events = enabled)
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
            .get_or_init(|| {
                // What the code switched on, and what HTTPTRACE_METRICS names.
                let on = settings.opt_ins.union(metrics::from_env());
                match &settings.meter {
                    MeterSource::Global => {
                        Some(Instruments::new(&global::meter_with_scope(scope()), on))
                    }
                    MeterSource::Fixed(m) => Some(Instruments::new(m, on)),
                    MeterSource::Off => None,
                }
            })
            .clone()
    }

    /// The trace for one request under an explicit parent context.
    pub fn trace_with_parent(&self, request: &RequestInfo<'_>, parent: Context) -> ClientTrace {
        let settings = self.settings.clone();
        let tracer = match &settings.tracer {
            TracerSource::Fixed(t) => t.clone(),
            TracerSource::Global => settings
                .global_tracer
                .get_or_init(|| Arc::new(global::tracer_with_scope(scope())))
                .clone(),
        };
        let instruments = self.instruments();
        let state = Arc::new(RequestState::new(
            settings,
            tracer,
            instruments,
            parent,
            request,
        ));
        let for_headers = state.clone();
        let interest = state.interest.clone();
        ClientTrace::new()
            .on_event(move |e| state.on_event(e))
            .event_interest(interest)
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
            KeyValue::new(
                "network.peer.address",
                attrs::ip_value(event.remote_addr.ip()),
            ),
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
