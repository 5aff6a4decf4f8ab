//! The export path's own code: the OTLP/gRPC traces sender (`grpc`), the
//! retry policy and plain-words classification of its failures (`retry`),
//! and the `OTEL_EXPORTER_OTLP_*` transport settings resolved as
//! opentelemetry-otlp resolves them (`config`).

pub(crate) mod config;
pub(crate) mod grpc;
mod retry;

#[cfg(test)]
mod tests;
