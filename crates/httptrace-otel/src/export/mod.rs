//! The export path: how a batch of spans becomes an OTLP request, how it
//! travels, and what became of it.
//!
//! - `otlp_body`: the traces request encoded straight from the SDK's spans,
//!   the one encoder of both protocols.
//! - `http`: the OTLP/HTTP span exporter, POSTing that request (gzipped if
//!   asked) with reqwest's blocking client; `grpc`: the OTLP/gRPC one,
//!   sending it through tonic. Each sends where it says so: `send` and
//!   `attempt` in `http.rs`, `send` and `call` in `grpc.rs`; `lifecycle`:
//!   what both do around each export (shutdown, resource, its status).
//! - `config`: the `OTEL_EXPORTER_OTLP_*` transport settings of both,
//!   resolved as opentelemetry-otlp resolves them; `retry`: its retry
//!   policy (both protocols) and gRPC failures in plain words.
//! - `recording`: the metric exporters' wrapper and the OTLP/HTTP metric
//!   exporter's HTTP client, recording each export's outcome.
//! - `status`, `errors`: every export's outcome, per signal, and the
//!   errors it is reported as.

pub(crate) mod config;
pub mod errors;
pub(crate) mod grpc;
pub(crate) mod http;
mod lifecycle;
pub(crate) mod otlp_body;
pub(crate) mod recording;
mod retry;
pub(crate) mod status;

// The exporters against real servers on ports the tests bound.
#[cfg(test)]
mod grpc_tests;
#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod test_support;
