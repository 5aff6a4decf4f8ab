//! The httptrace demo, after Yuri Shkuro's "Tracing HTTP request latency in
//! Go with OpenTracing": a client calls a server's `/`, is redirected (302)
//! to `/gettime`, and the trace shows the client's call, one CLIENT span per
//! round trip with the hooks (DNS, connect, connection reuse, first byte,
//! body) as events, and under each round trip the server's span.
//!
//! - `demo`: everything in one process, no collector needed; prints the
//!   trace as a terminal waterfall (and exports it over OTLP when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
//! - `demo-server`, `demo-client`: the two sides as separate services,
//!   exporting over OTLP with `httptrace_otel` (see `docker-compose.yml`).
#![warn(missing_docs)]

pub mod capture;
pub mod client;
pub mod pipeline;
pub mod server;
pub mod waterfall;

/// Waits until a TCP connection to `host:port` succeeds, or `timeout`
/// passes (services started together come up in any order).
pub async fn wait_for_tcp(host: &str, port: u16, timeout: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect((host, port)).await.is_ok() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
