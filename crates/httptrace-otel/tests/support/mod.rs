//! Shared helpers: in-process span/metric capture, real local servers, and a
//! recorder of real hook events (the event structs are `#[non_exhaustive]`,
//! so synthetic sequences are made by recording real ones and editing them).
#![allow(dead_code)]

#[cfg(feature = "setup")]
pub mod e2e;
#[cfg(feature = "setup")]
pub mod otlp;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use httptrace::reqwest::{ClientBuilderExt, Config, Tls};
use httptrace::{ClientTrace, Event};
use httptrace_otel::OtelTrace;
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};

pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A tracer provider exporting synchronously into memory, plus a meter
/// provider exporting into memory on flush.
pub struct Capture {
    pub provider: SdkTracerProvider,
    pub exporter: InMemorySpanExporter,
    pub meter_provider: SdkMeterProvider,
    pub metric_exporter: InMemoryMetricExporter,
}

impl Capture {
    pub fn new() -> Self {
        Self::with_sampler(opentelemetry_sdk::trace::Sampler::ParentBased(Box::new(
            opentelemetry_sdk::trace::Sampler::AlwaysOn,
        )))
    }

    /// A capture whose tracer provider samples with `sampler`.
    pub fn with_sampler(sampler: opentelemetry_sdk::trace::Sampler) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_simple_exporter(exporter.clone())
            .build();
        let metric_exporter = InMemoryMetricExporter::default();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metric_exporter.clone()).build())
            .build();
        Capture {
            provider,
            exporter,
            meter_provider,
            metric_exporter,
        }
    }

    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("test")
    }

    /// An `OtelTrace` on this capture's tracer, meter and the W3C propagator.
    pub fn otel(&self) -> OtelTrace {
        use opentelemetry::metrics::MeterProvider as _;
        OtelTrace::with_tracer(self.tracer())
            .meter(self.meter_provider.meter("test"))
            .propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new())
    }

    /// The finished spans, by start time. Every span's (and event's)
    /// attribute keys are checked to be unique: the SDK appends whatever it
    /// is given, and a key set twice is exported twice.
    pub fn spans(&self) -> Vec<SpanData> {
        let mut s = self.exporter.get_finished_spans().unwrap();
        s.sort_by_key(|s| s.start_time);
        for span in &s {
            assert_unique_keys(&span.name, &span.attributes);
            for e in span.events.iter() {
                assert_unique_keys(&e.name, &e.attributes);
            }
        }
        s
    }

    /// The CLIENT (hop) spans, by start time.
    pub fn hops(&self) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.span_kind == SpanKind::Client)
            .collect()
    }

    /// The sum of a histogram's recorded values after a flush.
    pub fn histogram_sum(&self, name: &str) -> f64 {
        self.meter_provider.force_flush().unwrap();
        let mut sum = 0.0;
        for rm in self.metric_exporter.get_finished_metrics().unwrap() {
            for sm in rm.scope_metrics() {
                for m in sm.metrics().filter(|m| m.name() == name) {
                    if let AggregatedMetrics::F64(MetricData::Histogram(h)) = m.data() {
                        sum += h.data_points().map(|dp| dp.sum()).sum::<f64>();
                    }
                }
            }
        }
        self.metric_exporter.reset();
        sum
    }

    /// Metric data points by instrument name after a flush: (attributes, value or count).
    pub fn metric_points(&self, name: &str) -> Vec<(Vec<KeyValue>, f64)> {
        self.meter_provider.force_flush().unwrap();
        let mut out = Vec::new();
        for rm in self.metric_exporter.get_finished_metrics().unwrap() {
            for sm in rm.scope_metrics() {
                for m in sm.metrics().filter(|m| m.name() == name) {
                    match m.data() {
                        AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                            for dp in h.data_points() {
                                out.push((dp.attributes().cloned().collect(), dp.count() as f64));
                            }
                        }
                        AggregatedMetrics::I64(MetricData::Sum(s)) => {
                            for dp in s.data_points() {
                                out.push((dp.attributes().cloned().collect(), dp.value() as f64));
                            }
                        }
                        AggregatedMetrics::U64(MetricData::Sum(s)) => {
                            for dp in s.data_points() {
                                out.push((dp.attributes().cloned().collect(), dp.value() as f64));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        self.metric_exporter.reset();
        out
    }
}

fn assert_unique_keys(owner: &str, attrs: &[KeyValue]) {
    let mut keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(
        before,
        keys.len(),
        "{owner}: an attribute key set twice: {attrs:?}"
    );
}

pub fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn attr_str(span: &SpanData, key: &str) -> Option<String> {
    attr(&span.attributes, key).map(|v| v.as_str().into_owned())
}

pub fn attr_i64(span: &SpanData, key: &str) -> Option<i64> {
    match attr(&span.attributes, key)? {
        Value::I64(i) => Some(*i),
        _ => None,
    }
}

pub fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

pub fn event_names(span: &SpanData) -> Vec<String> {
    span.events.iter().map(|e| e.name.to_string()).collect()
}

/// Event names without the repeated header fields.
pub fn phases(span: &SpanData) -> Vec<String> {
    event_names(span)
        .into_iter()
        .filter(|n| n != "httptrace.request.header_field")
        .collect()
}

/// Panics unless the events are in time order and inside the span's range.
pub fn assert_events_in_range(span: &SpanData) {
    let mut prev = span.start_time;
    for e in span.events.iter() {
        assert!(
            e.timestamp >= prev,
            "{} out of order in {}",
            e.name,
            span.name
        );
        assert!(
            e.timestamp <= span.end_time,
            "{} after the end of {}",
            e.name,
            span.name
        );
        prev = e.timestamp;
    }
    assert!(span.end_time >= span.start_time);
}

/// Every string anywhere in a span (name, attributes, events, status).
pub fn all_text(span: &SpanData) -> String {
    let mut s = format!("{} {:?}", span.name, span.status);
    for kv in &span.attributes {
        s.push_str(&format!(" {}={}", kv.key, kv.value));
    }
    for e in span.events.iter() {
        s.push_str(&format!(" {}", e.name));
        for kv in &e.attributes {
            s.push_str(&format!(" {}={}", kv.key, kv.value));
        }
    }
    s
}

/// Records every event delivered to its trace, in delivery order.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Event>>>);

impl Recorder {
    pub fn trace(&self) -> ClientTrace {
        let log = self.0.clone();
        ClientTrace::new().on_event(move |e| log.lock().unwrap().push(e.clone()))
    }

    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
}

/// A DNS server naming `svc.test`, a CA, an HTTPS server (h2 + http/1.1)
/// and a plain HTTP server with the testkit's routes.
pub struct Net {
    pub dns: DnsServer,
    pub ca: TestCa,
    pub https: TestServer,
    pub http: TestServer,
}

impl Net {
    pub fn start() -> Self {
        httptrace_testkit::init_crypto();
        let dns = DnsServer::start(DnsConfig::new().record("svc.test", [LOCAL])).unwrap();
        let ca = TestCa::new();
        let https = TestServer::https(&ca.server_identity(&["svc.test"]), &[b"http/1.1"]);
        let http = TestServer::http();
        Net {
            dns,
            ca,
            https,
            http,
        }
    }

    pub fn config(&self) -> Config {
        Config::new()
            .dns_server(self.dns.addr())
            .tls(Tls::platform().root_certificate_der(self.ca.cert_der().to_vec()))
    }

    /// A traced client making its traces with `make`.
    pub fn client(&self, make: impl httptrace::MakeTrace) -> httptrace::reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .traced_with(self.config().make_trace(make))
            .unwrap()
    }

    /// A traced client without a trace maker (traces attached per request).
    pub fn plain_client(&self) -> httptrace::reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .traced_with(self.config())
            .unwrap()
    }

    pub fn https_url(&self, path: &str) -> String {
        format!("https://svc.test:{}{path}", self.https.port())
    }
}

pub fn nanos(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos()
}

/// What keeps [`outlived_dial`]'s servers up until its dial is over.
pub struct OutlivedDial {
    _server: TestServer,
    _hole: httptrace_testkit::BlackHole,
    _dns: DnsServer,
}

/// How long the scenario's dials wait on the black hole before trying the
/// server.
pub const RACE_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// Sends a GET of a path in a task of its own.
type SendGet = Box<dyn Fn(&str) -> tokio::task::JoinHandle<()>>;

/// The transport a scenario runs on.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
    Reqwest,
    Hyper,
}

/// Makes a dial outlive its round trip, on `transport` with `make`'s
/// traces: every dial of `bg.test` first tries a black hole, then, after
/// [`RACE_DELAY`] (hyper: the Happy Eyeballs delay; reqwest: the hole's
/// share of the connect timeout), the server. B (`/hold`) holds the only connection while A (`/`)
/// starts a dial of its own; B is then released, its freed connection serves
/// A, and A's dial goes on in the background. Returns once A and B are done
/// (A's dial is not).
pub async fn outlived_dial(transport: Transport, make: impl httptrace::MakeTrace) -> OutlivedDial {
    use http_body_util::{BodyExt, Empty};
    use httptrace_testkit::http::full_body;
    use tracing::Instrument as _;
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release = Arc::new(tokio::sync::Notify::new());
    let server = TestServer::http_with_handler({
        let release = release.clone();
        move |request: http::Request<_>| {
            let (release, arrived_tx) = (release.clone(), arrived_tx.clone());
            async move {
                if request.uri().path() == "/hold" {
                    let _ = arrived_tx.send(());
                    release.notified().await;
                }
                http::Response::new(full_body("ok"))
            }
        }
    });
    let hole =
        httptrace_testkit::BlackHole::bind((Ipv4Addr::new(127, 0, 0, 3), server.port()).into())
            .unwrap();
    let dns =
        DnsServer::start(DnsConfig::new().record("bg.test", [hole.addr().ip(), LOCAL])).unwrap();
    let base = format!("http://bg.test:{}", server.port());
    let send: SendGet = match transport {
        Transport::Hyper => {
            let client = httptrace::hyper::Client::builder()
                .dns_server(dns.addr())
                .make_trace(make)
                .happy_eyeballs_delay(Some(RACE_DELAY))
                .connect_timeout(std::time::Duration::from_secs(5))
                .http1_only()
                .build::<Empty<bytes::Bytes>>()
                .unwrap();
            Box::new(move |path: &str| {
                let client = client.clone();
                let request = http::Request::get(format!("{base}{path}"))
                    .body(Empty::new())
                    .unwrap();
                tokio::spawn(
                    async move {
                        let response = client.request(request).await.unwrap();
                        response.into_body().collect().await.unwrap();
                    }
                    .in_current_span(),
                )
            })
        }
        Transport::Reqwest => {
            let client = reqwest::Client::builder()
                .no_proxy()
                .http1_only()
                // Split between the two addresses: the hole gets RACE_DELAY.
                .connect_timeout(RACE_DELAY * 2)
                .traced_with(Config::new().dns_server(dns.addr()).make_trace(make))
                .unwrap();
            Box::new(move |path: &str| {
                let request = client.get(format!("{base}{path}"));
                tokio::spawn(
                    async move {
                        request.send().await.unwrap().bytes().await.unwrap();
                    }
                    .in_current_span(),
                )
            })
        }
    };
    let b = send("/hold");
    arrived.recv().await.unwrap();
    let a = send("/");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    release.notify_one();
    b.await.unwrap();
    a.await.unwrap();
    OutlivedDial {
        _server: server,
        _hole: hole,
        _dns: dns,
    }
}

/// The trace id of a `tracing` span, as Jaeger spells it.
pub fn trace_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context().span().span_context().trace_id().to_string()
}
