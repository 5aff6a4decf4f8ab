//! Nothing to use here: this crate holds the `pipeline` benchmark
//! (`benches/pipeline/`, one module per part: server, receiver, variants,
//! load, report), which measures the cost of the OpenTelemetry
//! pipeline per outbound request, httptrace-otel side by side with
//! reqwest-middleware + reqwest-tracing, against an in-process HTTP server
//! and an in-process OTLP receiver (HTTP/protobuf and gRPC).
//!
//! `cargo bench -p otel-bench --bench pipeline` runs it in full (7 rounds of
//! 3 s per variant and concurrency); `-- --smoke` runs one short round.
//! `callgrind.sh` beside this crate's manifest counts instructions per
//! request of each variant under valgrind: the figures to compare commits
//! by where wall-clock speed drifts.
#![warn(missing_docs)]
