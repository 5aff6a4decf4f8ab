//! Runs the real Jaeger v2 binary for one test and reads traces back.
//!
//! [`Jaeger::start`] writes a config (OTLP gRPC + HTTP receivers, in-memory
//! storage, query API, health check; every listener on `127.0.0.1` with a
//! port picked free for this instance, so tests can run in parallel), starts
//! the binary, waits until it reports healthy and its query API answers, and
//! kills it when dropped. Traces are read back over Jaeger's api_v3
//! (`GET /api/v3/traces/{trace_id}`, `GET /api/v3/traces?query.service_name=..`)
//! as parsed OTLP JSON; [`spans`] flattens that JSON into [`Span`]s that are
//! easy to assert on. Metrics received over OTLP are exposed by Jaeger's
//! Prometheus exporter and read back with [`Jaeger::wait_for_metrics`].
//!
//! Inside: `process` (config, ports, the binary, start and stop), `query`
//! (traces, services and metrics read back), `otlp` (OTLP JSON into
//! [`Span`]s), `prometheus` (the text exposition into [`Sample`]s).
//!
//! The binary is `$JAEGER_BIN` when set, else
//! `${HTTPTRACE_CACHE:-$HOME/.cache/httptrace}/jaeger/jaeger-v1.75.0` (Jaeger
//! v2.12.0), built by `bash deploy/jaeger-build/install.sh` (needs Go). When
//! it is missing, the first test to need it runs that script (once, under a
//! file lock, so `cargo test` works on a fresh machine); if that fails (no Go)
//! the start fails with a hint, unless `HTTPTRACE_SKIP_E2E=1`: then
//! [`Jaeger::start`] prints a loud skip notice to stderr and returns `None`.
//!
//! ```no_run
//! # async fn demo() {
//! let Some(jaeger) = jaeger_harness::Jaeger::start().await.expect("jaeger") else {
//!     return; // skipped: HTTPTRACE_SKIP_E2E=1 and no binary
//! };
//! let endpoint = jaeger.otlp_grpc_endpoint(); // http://127.0.0.1:<port>
//! // ... export spans to `endpoint` ...
//! let trace = jaeger
//!     .wait_for_trace("5b8efff798038103d269b633813fc60c", std::time::Duration::from_secs(10), |t| {
//!         jaeger_harness::spans(t).len() >= 3
//!     })
//!     .await
//!     .expect("trace");
//! # }
//! ```
#![warn(missing_docs)]

mod error;
mod otlp;
mod process;
mod prometheus;
mod query;

pub use error::Error;
pub use otlp::{Span, SpanEvent, rfc3339, spans};
pub use process::{CONFIG_TEMPLATE, JAEGER_VERSION, Jaeger, Ports, START_TIMEOUT, binary_path};
pub use prometheus::{Sample, parse_prometheus};
