//! Problems with the configuration this crate can see but not refuse: said
//! once per process, through `tracing` at warn level (target
//! `httptrace_otel`), or on stderr when no `tracing` subscriber was ever
//! set, so a service without one still hears of them.

use std::sync::atomic::{AtomicBool, Ordering};

/// Says `message` at warn level (see the module docs).
pub(crate) fn warn(message: &str) {
    let no_subscriber =
        tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>());
    if no_subscriber {
        eprintln!("httptrace-otel: {message}");
    } else {
        tracing::warn!(target: "httptrace_otel", "{message}");
    }
}

/// Says `message` unless `said` says it was said already.
pub(crate) fn warn_once(said: &AtomicBool, message: impl FnOnce() -> String) {
    // A load first: the flag is read on the request path, written once.
    if !said.load(Ordering::Relaxed) && !said.swap(true, Ordering::Relaxed) {
        warn(&message());
    }
}
