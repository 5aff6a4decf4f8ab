//! What the first-handshake tests read of one request: when its connect
//! ended and its TLS handshake started and ended. A directory module, so
//! that cargo does not build it as a test of its own.

use std::time::Instant;

// The integration tests' event recorder.
#[path = "../it/support.rs"]
mod support;

use support::Recorder;

/// (connect_done, tls_handshake_start, tls_handshake_done) of one request.
pub async fn stamps(client: &httptrace::reqwest::Client, url: &str) -> (Instant, Instant, Instant) {
    let rec = Recorder::new();
    client
        .get(url)
        .trace(rec.trace())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let events = rec.events();
    let find = |name: &str| {
        events
            .iter()
            .find(|e| e.name() == name)
            .map(|e| e.at())
            .unwrap_or_else(|| panic!("no {name} in {events:?}"))
    };
    (
        find("connect_done"),
        find("tls_handshake_start"),
        find("tls_handshake_done"),
    )
}
