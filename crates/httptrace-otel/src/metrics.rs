//! The metric instruments recorded beside the spans, which of them are
//! switched on (in code or from `HTTPTRACE_METRICS`), and the per-phase
//! and per-upstream aggregates of the project's own namespace.

use std::fmt;
use std::sync::OnceLock;
use std::time::Instant;

use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::{KeyValue, StringValue};

/// Bucket boundaries the HTTP semantic conventions advise for durations (s).
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Bucket boundaries of `httptrace.client.phase.duration` (s): network
/// phases, from a loopback connect (tens of microseconds) to a stalled
/// server (tens of seconds).
pub const PHASE_DURATION_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The environment variable that switches metrics on without a rebuild:
/// a comma-separated list of [`OptInMetric::name`]s, or `all`. Read once
/// per process, by the first [`OtelTrace::new`](crate::OtelTrace::new);
/// what it names is switched on in addition to what the code enables
/// (it never switches a metric off). An unknown name is reported once, at
/// warn level, with the valid names.
pub const METRICS_ENV: &str = "HTTPTRACE_METRICS";

/// The metrics that are off until switched on, with
/// [`OtelTrace::enable_metric`](crate::OtelTrace::enable_metric) or by
/// name in [`METRICS_ENV`]: those the conventions call optional
/// (`http-metrics.md`, `dns-metrics.md`: "This metric is optional") and
/// the project's own `httptrace.client.*` aggregates.
/// `http.client.request.duration`, the required one, is always recorded
/// when metrics are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptInMetric {
    /// `http.client.active_requests`: hops in flight.
    ActiveRequests,
    /// `dns.lookup.duration`: lookups a request made itself.
    DnsLookupDuration,
    /// `http.client.open_connections`: connections by state (transports
    /// that see connections close: the hyper-util one).
    OpenConnections,
    /// `http.client.connection.duration`: open to close (same transports).
    ConnectionDuration,
    /// `httptrace.client.phase.duration` (s): one sample per phase
    /// (`httptrace.phase` = `dns`, `connect`, `tls`, `send`, `wait`,
    /// `receive`) a hop went through, per upstream (`server.address`,
    /// `server.port`). A hop on a reused connection has no `dns`,
    /// `connect` or `tls` sample.
    PhaseDuration,
    /// `httptrace.client.round_trips`: hops that got a connection, by
    /// `httptrace.conn.reused` and upstream: the reuse ratio per upstream.
    RoundTrips,
}

impl OptInMetric {
    /// Every opt-in metric, in the order of the crate docs' table.
    pub const ALL: [OptInMetric; 6] = [
        OptInMetric::ActiveRequests,
        OptInMetric::DnsLookupDuration,
        OptInMetric::OpenConnections,
        OptInMetric::ConnectionDuration,
        OptInMetric::PhaseDuration,
        OptInMetric::RoundTrips,
    ];

    /// Its name in [`METRICS_ENV`]: `active_requests`,
    /// `dns_lookup_duration`, `open_connections`, `connection_duration`,
    /// `phase_duration`, `round_trips`.
    pub fn name(self) -> &'static str {
        match self {
            OptInMetric::ActiveRequests => "active_requests",
            OptInMetric::DnsLookupDuration => "dns_lookup_duration",
            OptInMetric::OpenConnections => "open_connections",
            OptInMetric::ConnectionDuration => "connection_duration",
            OptInMetric::PhaseDuration => "phase_duration",
            OptInMetric::RoundTrips => "round_trips",
        }
    }

    /// The instrument it switches on, e.g. `httptrace.client.round_trips`.
    pub fn instrument(self) -> &'static str {
        match self {
            OptInMetric::ActiveRequests => "http.client.active_requests",
            OptInMetric::DnsLookupDuration => "dns.lookup.duration",
            OptInMetric::OpenConnections => "http.client.open_connections",
            OptInMetric::ConnectionDuration => "http.client.connection.duration",
            OptInMetric::PhaseDuration => "httptrace.client.phase.duration",
            OptInMetric::RoundTrips => "httptrace.client.round_trips",
        }
    }

    /// Parses a [`METRICS_ENV`] value: names separated by commas (spaces
    /// around them and letter case ignored, empty entries skipped), or
    /// `all`. Either every name is known, or the error names the unknown
    /// ones and lists the valid names.
    ///
    /// ```
    /// use httptrace_otel::OptInMetric;
    ///
    /// assert_eq!(
    ///     OptInMetric::parse_list("phase_duration, round_trips").unwrap(),
    ///     [OptInMetric::PhaseDuration, OptInMetric::RoundTrips]
    /// );
    /// assert_eq!(OptInMetric::parse_list("all").unwrap(), OptInMetric::ALL);
    /// assert!(OptInMetric::parse_list("phase_durations").is_err());
    /// ```
    pub fn parse_list(value: &str) -> Result<Vec<OptInMetric>, UnknownMetrics> {
        let mut on = Vec::new();
        let mut unknown = Vec::new();
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                on.extend(Self::ALL);
                continue;
            }
            match Self::ALL
                .iter()
                .find(|m| m.name().eq_ignore_ascii_case(name))
            {
                Some(m) => on.push(*m),
                None => unknown.push(name.to_string()),
            }
        }
        if !unknown.is_empty() {
            return Err(UnknownMetrics { unknown });
        }
        on.dedup();
        Ok(on)
    }
}

/// Names in a [`METRICS_ENV`] value that are no [`OptInMetric::name`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMetrics {
    /// The unknown names, as given.
    pub unknown: Vec<String>,
}

impl fmt::Display for UnknownMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let valid: Vec<&str> = OptInMetric::ALL.iter().map(|m| m.name()).collect();
        write!(
            f,
            "{METRICS_ENV}: unknown metric name(s) {}; valid names: {}, or all",
            self.unknown.join(", "),
            valid.join(", ")
        )
    }
}

impl std::error::Error for UnknownMetrics {}

/// The metrics [`METRICS_ENV`] switches on, read and checked once per
/// process. An unknown name switches nothing on (a list with a typo is not
/// half applied) and is reported once.
pub(crate) fn from_env() -> OptIns {
    static FROM_ENV: OnceLock<OptIns> = OnceLock::new();
    *FROM_ENV.get_or_init(|| {
        let mut on = OptIns::default();
        let Some(value) = std::env::var_os(METRICS_ENV) else {
            return on;
        };
        match OptInMetric::parse_list(&value.to_string_lossy()) {
            Ok(metrics) => metrics.into_iter().for_each(|m| on.enable(m)),
            Err(e) => crate::diag::warn(&format!("{e}; none of the list is switched on")),
        }
        on
    })
}

/// Which optional metrics are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OptIns {
    pub active_requests: bool,
    pub dns_lookup_duration: bool,
    pub open_connections: bool,
    pub connection_duration: bool,
    pub phase_duration: bool,
    pub round_trips: bool,
}

impl OptIns {
    pub fn enable(&mut self, metric: OptInMetric) {
        match metric {
            OptInMetric::ActiveRequests => self.active_requests = true,
            OptInMetric::DnsLookupDuration => self.dns_lookup_duration = true,
            OptInMetric::OpenConnections => self.open_connections = true,
            OptInMetric::ConnectionDuration => self.connection_duration = true,
            OptInMetric::PhaseDuration => self.phase_duration = true,
            OptInMetric::RoundTrips => self.round_trips = true,
        }
    }

    /// Both sets' metrics.
    pub fn union(self, other: OptIns) -> OptIns {
        OptIns {
            active_requests: self.active_requests || other.active_requests,
            dns_lookup_duration: self.dns_lookup_duration || other.dns_lookup_duration,
            open_connections: self.open_connections || other.open_connections,
            connection_duration: self.connection_duration || other.connection_duration,
            phase_duration: self.phase_duration || other.phase_duration,
            round_trips: self.round_trips || other.round_trips,
        }
    }
}

/// The instruments, made once per [`crate::OtelTrace`] from its meter; the
/// optional ones only when switched on.
#[derive(Clone, Debug)]
pub(crate) struct Instruments {
    /// `http.client.request.duration`: per hop, the hop span's duration
    /// (round trip start to the end of the body, or the failure).
    pub request_duration: Histogram<f64>,
    /// `http.client.active_requests`: hops in flight.
    pub active_requests: Option<UpDownCounter<i64>>,
    /// `dns.lookup.duration`: lookups this request made itself.
    pub dns_lookup_duration: Option<Histogram<f64>>,
    /// `http.client.open_connections`: by `http.connection.state`.
    pub open_connections: Option<UpDownCounter<i64>>,
    /// `http.client.connection.duration`: open to close.
    pub connection_duration: Option<Histogram<f64>>,
    /// `httptrace.client.phase.duration`: per phase a hop went through.
    pub phase_duration: Option<Histogram<f64>>,
    /// `httptrace.client.round_trips`: by `httptrace.conn.reused`.
    pub round_trips: Option<Counter<u64>>,
}

impl Instruments {
    pub fn new(meter: &Meter, on: OptIns) -> Self {
        Instruments {
            request_duration: meter
                .f64_histogram("http.client.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP client requests.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            active_requests: on.active_requests.then(|| {
                meter
                    .i64_up_down_counter("http.client.active_requests")
                    .with_unit("{request}")
                    .with_description("Number of active HTTP requests.")
                    .build()
            }),
            dns_lookup_duration: on.dns_lookup_duration.then(|| {
                meter
                    .f64_histogram("dns.lookup.duration")
                    .with_unit("s")
                    .with_description("Measures the time taken to perform a DNS lookup.")
                    .with_boundaries(DURATION_BUCKETS.to_vec())
                    .build()
            }),
            open_connections: on.open_connections.then(|| {
                meter
                    .i64_up_down_counter("http.client.open_connections")
                    .with_unit("{connection}")
                    .with_description(
                        "Number of outbound HTTP connections that are currently active or idle on the client.",
                    )
                    .build()
            }),
            connection_duration: on.connection_duration.then(|| {
                meter
                    .f64_histogram("http.client.connection.duration")
                    .with_unit("s")
                    .with_description(
                        "The duration of the successfully established outbound HTTP connections.",
                    )
                    .with_boundaries(vec![
                        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0,
                        300.0,
                    ])
                    .build()
            }),
            phase_duration: on.phase_duration.then(|| {
                meter
                    .f64_histogram("httptrace.client.phase.duration")
                    .with_unit("s")
                    .with_description(
                        "Duration of each phase of HTTP client round trips (dns, connect, tls, send, wait, receive).",
                    )
                    .with_boundaries(PHASE_DURATION_BUCKETS.to_vec())
                    .build()
            }),
            round_trips: on.round_trips.then(|| {
                meter
                    .u64_counter("httptrace.client.round_trips")
                    .with_unit("{round_trip}")
                    .with_description(
                        "HTTP client round trips that got a connection, by whether it was reused.",
                    )
                    .build()
            }),
        }
    }
}

/// Calls `f` with `first`, then the hop's `server.address` and
/// `server.port` when known: the upstream the `httptrace.client.*`
/// aggregates are per. On the stack when both are known (always for an
/// `http(s)` URL): nothing allocated per sample.
fn with_upstream(
    first: KeyValue,
    server_address: Option<&StringValue>,
    server_port: Option<i64>,
    f: impl FnOnce(&mut [KeyValue]),
) {
    match (server_address, server_port) {
        (Some(host), Some(port)) => f(&mut [
            first,
            KeyValue::new("server.address", host.clone()),
            KeyValue::new("server.port", port),
        ]),
        _ => {
            let mut a = vec![first];
            if let Some(host) = server_address {
                a.push(KeyValue::new("server.address", host.clone()));
            }
            if let Some(port) = server_port {
                a.push(KeyValue::new("server.port", port));
            }
            f(&mut a)
        }
    }
}

/// One `httptrace.client.phase.duration` sample per phase in `totals`
/// (each phase's first start and last end, as the hop span's
/// `httptrace.<phase>.duration` attributes have them).
pub(crate) fn record_phases(
    histogram: &Histogram<f64>,
    totals: &[(&'static str, Instant, Instant)],
    server_address: Option<&StringValue>,
    server_port: Option<i64>,
) {
    let Some(&(first, ..)) = totals.first() else {
        return;
    };
    // One attribute list per hop, its first entry replaced per phase.
    let phase = KeyValue::new("httptrace.phase", first);
    with_upstream(phase, server_address, server_port, |a| {
        for (name, start, end) in totals {
            a[0] = KeyValue::new("httptrace.phase", *name);
            histogram.record(end.saturating_duration_since(*start).as_secs_f64(), a);
        }
    });
}

/// One `httptrace.client.round_trips` count for a hop that got a connection.
pub(crate) fn record_round_trip(
    counter: &Counter<u64>,
    reused: bool,
    server_address: Option<&StringValue>,
    server_port: Option<i64>,
) {
    let reused = KeyValue::new("httptrace.conn.reused", reused);
    with_upstream(reused, server_address, server_port, |a| counter.add(1, a));
}

/// Attributes shared by the request metrics of one hop.
pub(crate) fn base_attributes(
    method: &'static str,
    server_address: Option<&StringValue>,
    server_port: Option<i64>,
) -> Vec<KeyValue> {
    let mut a = Vec::with_capacity(6);
    a.push(KeyValue::new("http.request.method", method));
    if let Some(host) = server_address {
        a.push(KeyValue::new("server.address", host.clone()));
    }
    if let Some(port) = server_port {
        a.push(KeyValue::new("server.port", port));
    }
    a
}
