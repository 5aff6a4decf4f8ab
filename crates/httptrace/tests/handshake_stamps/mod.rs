//! What the first-handshake tests read of one request: when its connect
//! ended and its TLS handshake started and ended. A directory module, so
//! that cargo does not build it as a test of its own.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use httptrace::{ClientTrace, Event};

/// (connect_done, tls_handshake_start, tls_handshake_done) of one request.
pub async fn stamps(client: &httptrace::reqwest::Client, url: &str) -> (Instant, Instant, Instant) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let trace = ClientTrace::new().on_event(move |e| log.lock().unwrap().push(e.clone()));
    client
        .get(url)
        .trace(trace)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let events = events.lock().unwrap();
    let find = |name: &str| {
        events
            .iter()
            .find(|e| e.name() == name)
            .map(Event::at)
            .unwrap_or_else(|| panic!("no {name} in {events:?}"))
    };
    (
        find("connect_done"),
        find("tls_handshake_start"),
        find("tls_handshake_done"),
    )
}
