//! End to end over OTLP/HTTP (protobuf) into a real Jaeger (see
//! `support/e2e.rs`). Its own test binary: the pipeline installs
//! process-wide globals.

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_chain_reaches_jaeger_over_http_protobuf() {
    support::e2e::run(httptrace_otel::Protocol::HttpProtobuf).await;
}
