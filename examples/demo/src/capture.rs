//! An in-memory span processor: keeps every finished span, so the demo can
//! draw the trace without any collector.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// Collects finished spans. Cheap to clone; clones share the spans.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    inner: Arc<(Mutex<Vec<SpanData>>, Condvar)>,
}

impl Capture {
    /// A new, empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// The spans finished so far, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.lock().clone()
    }

    /// Waits until `ready` accepts the spans finished so far, or `timeout`
    /// passes; returns the spans either way.
    pub fn wait_for(
        &self,
        timeout: Duration,
        ready: impl Fn(&[SpanData]) -> bool,
    ) -> Vec<SpanData> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.inner;
        let mut spans = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if ready(&spans) || left.is_zero() {
                return spans.clone();
            }
            spans = cvar
                .wait_timeout(spans, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SpanData>> {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SpanProcessor for Capture {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.lock().push(span);
        self.inner.1.notify_all();
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
