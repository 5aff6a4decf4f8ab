//! A propagator that injects nothing is said once per process, at warn
//! level: the missing `traceparent` is otherwise silent
//! (reqwest-middleware#25). Its own test binary: the warning is once per
//! process, and the `tracing` subscriber is global.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::noop::NoopTextMapPropagator;
use support::*;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn warnings(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains("WARN"))
            .map(String::from)
            .collect()
    }
}

#[tokio::test]
async fn a_propagator_that_injects_nothing_is_said_once() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let cap = Capture::new();
    let net = Net::start();
    let echo = net.http.url("/echo");

    // The W3C propagator: a traceparent, no warning.
    let client = net.client(cap.otel());
    let body = client
        .get(&echo)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("traceparent"), "{body}");
    assert_eq!(log.warnings(), Vec::<String>::new());

    // A no-op propagator, as the global default is: nothing sent, said once
    // for any number of requests.
    let client = net.client(cap.otel().propagator(NoopTextMapPropagator::new()));
    for _ in 0..3 {
        let body = client
            .get(&echo)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!body.contains("traceparent"), "{body}");
    }
    let warnings = log.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("no trace context header (traceparent) was injected"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("OtelTrace::propagator"),
        "{}",
        warnings[0]
    );

    // Propagation switched off on purpose: nothing to say.
    let client = net.client(cap.otel().propagate(false));
    client
        .get(&echo)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(log.warnings().len(), 1);
}
