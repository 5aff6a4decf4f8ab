//! The hop's trace context, injected into its request headers by the
//! configured propagator; the caller's own propagation headers are kept.

use std::sync::atomic::AtomicBool;

use opentelemetry::Context;
use opentelemetry::global;
use opentelemetry::propagation::Injector;
use opentelemetry::trace::TraceContextExt as _;

use crate::diag;
use crate::settings::Propagation;

/// Injects `cx` into `headers` with `propagation`, leaving the headers named
/// in `keep` (set by the caller) as they are. A propagator that writes
/// nothing for a valid context is reported once per process.
pub(crate) fn inject(
    propagation: &Propagation,
    cx: &Context,
    headers: &mut http::HeaderMap,
    keep: &[String],
) {
    let mut injector = HeaderInjector {
        headers,
        keep,
        offered: false,
    };
    match propagation {
        Propagation::Global => {
            global::get_text_map_propagator(|p| p.inject_context(cx, &mut injector))
        }
        Propagation::Fixed(p) => p.inject_context(cx, &mut injector),
        Propagation::Off => return,
    }
    // A valid span context and nothing to send: the propagator is one
    // that injects nothing (the global default is a no-op), and the
    // server's spans will not join the trace.
    if !injector.offered && cx.span().span_context().is_valid() {
        static SAID: AtomicBool = AtomicBool::new(false);
        diag::warn_once(&SAID, || {
            let which = match propagation {
                Propagation::Global => {
                    "the global text map propagator (opentelemetry's default is a no-op: \
                 install one with opentelemetry::global::set_text_map_propagator, \
                 or let httptrace_otel::init() install TraceContext + Baggage)"
                }
                _ => "the propagator given to OtelTrace::propagator",
            };
            format!(
                "no trace context header (traceparent) was injected into a traced \
             request: {which} wrote nothing, so the servers' spans will not join \
             the client's traces (said once per process)"
            )
        });
    }
}

/// Injects straight into the hop's request headers, leaving the
/// propagation headers the caller set itself as they are.
struct HeaderInjector<'a> {
    headers: &'a mut http::HeaderMap,
    keep: &'a [String],
    /// Whether the propagator offered any header (kept or not).
    offered: bool,
}

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.offered = true;
        if self.keep.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return;
        }
        // The W3C names as static header names, and the value's own buffer:
        // no copy of either per hop.
        let name = match key {
            "traceparent" => Ok(http::HeaderName::from_static("traceparent")),
            "tracestate" => Ok(http::HeaderName::from_static("tracestate")),
            "baggage" => Ok(http::HeaderName::from_static("baggage")),
            other => http::HeaderName::from_bytes(other.as_bytes()),
        };
        if let (Ok(name), Ok(value)) = (name, http::HeaderValue::try_from(value)) {
            // Replaces what an earlier hop of this request injected.
            self.headers.insert(name, value);
        }
    }
}
