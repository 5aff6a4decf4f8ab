//! The W3C Trace Context propagator `Setup` installs: the SDK's, with
//! `traceparent` written without `core::fmt`.
//!
//! Every hop injects one `traceparent`. The SDK's propagator formats it
//! with `format!` (a `u128` and a `u64` through `LowerHex`): about 3 500
//! instructions per hop, the largest single item of the request path after
//! the allocator (callgrind, pipeline bench). This writes the same 55 bytes
//! from a table in about a hundred. It also leaves out an empty
//! `tracestate` header, which the SDK's sends with every request. Go's
//! OpenTelemetry propagator (`go.opentelemetry.io/otel/propagation`) does
//! both the same way: no empty `tracestate`, and `traceparent` written
//! without `fmt`. Extraction and the field list are the SDK's own.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// W3C Trace Context: `traceparent` and, when not empty, `tracestate`.
#[derive(Debug, Default)]
pub(crate) struct TraceContext {
    sdk: TraceContextPropagator,
}

impl TraceContext {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl TextMapPropagator for TraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        injector.set("traceparent", traceparent(sc));
        let state = sc.trace_state().header();
        if !state.is_empty() {
            injector.set("tracestate", state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.sdk.extract_with_context(cx, extractor)
    }

    fn fields(&self) -> text_map_propagator::FieldIter<'_> {
        self.sdk.fields()
    }
}

/// `00-{trace id}-{span id}-{flags}`, lower-case hex, only the sampled flag
/// (version 00 defines no other).
fn traceparent(sc: &SpanContext) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(55);
    let hex = |bytes: &[u8], out: &mut Vec<u8>| {
        for b in bytes {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        }
    };
    out.extend_from_slice(b"00-");
    hex(&sc.trace_id().to_bytes(), &mut out);
    out.push(b'-');
    hex(&sc.span_id().to_bytes(), &mut out);
    out.push(b'-');
    let sampled = sc.trace_flags() & TraceFlags::SAMPLED;
    hex(&[sampled.to_u8()], &mut out);
    // Only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceId, TraceState};
    use std::collections::HashMap;

    fn context(trace: u128, span: u64, flags: u8, state: &str) -> Context {
        let sc = SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::new(flags),
            true,
            state.parse::<TraceState>().unwrap(),
        );
        Context::new().with_remote_span_context(sc)
    }

    fn inject(p: &dyn TextMapPropagator, cx: &Context) -> HashMap<String, String> {
        let mut carrier = HashMap::new();
        p.inject_context(cx, &mut carrier);
        carrier
    }

    #[test]
    fn writes_what_the_sdk_writes() {
        let ours = TraceContext::new();
        let sdk = TraceContextPropagator::new();
        for (trace, span, flags, state) in [
            (1u128, 1u64, 1u8, ""),
            (u128::MAX, u64::MAX, 0, ""),
            (
                0x0af7651916cd43dd8448eb211c80319c,
                0xb7ad6b7169203331,
                1,
                "k=v,x=y",
            ),
            (0x10, 0x0a00, 0xff, "congo=t61rcWkgMzE"),
        ] {
            let cx = context(trace, span, flags, state);
            let (a, b) = (inject(&ours, &cx), inject(&sdk, &cx));
            assert_eq!(
                a["traceparent"], b["traceparent"],
                "{trace:x} {span:x} {flags}"
            );
            assert_eq!(a["traceparent"].len(), 55);
            // The SDK sends an empty `tracestate`; an empty list is none.
            assert_eq!(
                a.get("tracestate"),
                (!state.is_empty()).then(|| &b["tracestate"])
            );
            // And it reads back as the same context.
            let back = ours.extract_with_context(&Context::new(), &a);
            let back = back.span();
            assert_eq!(back.span_context().trace_id(), TraceId::from(trace));
            assert_eq!(back.span_context().span_id(), SpanId::from(span));
            assert_eq!(
                back.span_context().is_sampled(),
                flags & 1 == 1,
                "{trace:x} {span:x} {flags}"
            );
        }
        let fields: Vec<&str> = ours.fields().collect();
        assert_eq!(fields, sdk.fields().collect::<Vec<_>>());
    }

    #[test]
    fn an_invalid_context_injects_nothing() {
        assert!(inject(&TraceContext::new(), &Context::new()).is_empty());
    }
}
