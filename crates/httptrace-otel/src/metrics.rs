//! The metric instruments recorded beside the spans.

use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};
use opentelemetry::{KeyValue, StringValue};

/// Bucket boundaries the HTTP semantic conventions advise for durations (s).
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The metrics the conventions call optional (`http-metrics.md`,
/// `dns-metrics.md`: "This metric is optional"), each off until switched on
/// with [`OtelTrace::enable_metric`](crate::OtelTrace::enable_metric).
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
}

/// Which optional metrics are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OptIns {
    pub active_requests: bool,
    pub dns_lookup_duration: bool,
    pub open_connections: bool,
    pub connection_duration: bool,
}

impl OptIns {
    pub fn enable(&mut self, metric: OptInMetric) {
        match metric {
            OptInMetric::ActiveRequests => self.active_requests = true,
            OptInMetric::DnsLookupDuration => self.dns_lookup_duration = true,
            OptInMetric::OpenConnections => self.open_connections = true,
            OptInMetric::ConnectionDuration => self.connection_duration = true,
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
        }
    }
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
