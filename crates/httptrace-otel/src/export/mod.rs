//! The export path: how a batch of spans becomes an OTLP request, how it
//! travels, and what became of it.
//!
//! - `otlp_body`: the traces request encoded straight from the SDK's spans,
//!   the one encoder of both protocols.
//! - `grpc`: the OTLP/gRPC span exporter, sending that request through
//!   tonic; `retry`: its retry policy and its failures in plain words;
//!   `config`: the `OTEL_EXPORTER_OTLP_*` transport settings, resolved as
//!   opentelemetry-otlp resolves them.
//! - `recording`: the OTLP/HTTP span exporter's wrapper and HTTP client
//!   (which sends the same request), and the metric exporters' wrapper.
//! - `status`, `errors`: every export's outcome, per signal, and the
//!   errors it is reported as.

pub(crate) mod config;
pub mod errors;
pub(crate) mod grpc;
pub(crate) mod otlp_body;
pub(crate) mod recording;
mod retry;
pub(crate) mod status;

#[cfg(test)]
mod tests;
