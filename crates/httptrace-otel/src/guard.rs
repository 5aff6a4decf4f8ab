//! [`OtelGuard`]: what [`crate::Setup`] installs, owned for the life of the
//! service: the providers, the `tracing` layer to export through, flush and
//! shutdown bounded in time, and what did not reach the collector.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::export::errors::{ExportError, Signal};
use crate::export::status::{End, ExportStatus};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, global};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// The default filter of the OpenTelemetry `tracing` layer: `info` and up,
/// minus the crates on the export path (their spans would be exported, make
/// more exports, and so on) and HTTP internals. A directive's target matches
/// by prefix (`reqwest` would also match `reqwest_tracing`), so the crates
/// whose spans services want beside ours (reqwest-tracing, the middleware
/// and retry crates, tower-http's server spans) are named back in.
pub const DEFAULT_OTEL_FILTER: &str = "info,h2=off,hyper=off,hyper_util=off,tonic=off,tower=off,\
reqwest=off,opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off,opentelemetry_http=off,\
reqwest_tracing=info,reqwest_middleware=info,reqwest_retry=info,tower_http=info";

/// Default bound of [`OtelGuard::shutdown`] and of the guard's drop.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Owns the providers; flushes and shuts them down, bounded in time, on
/// [`OtelGuard::shutdown`] or drop.
pub struct OtelGuard {
    pub(crate) tracer_provider: Option<SdkTracerProvider>,
    pub(crate) meter_provider: Option<SdkMeterProvider>,
    pub(crate) propagator: Option<TextMapCompositePropagator>,
    pub(crate) runtime: Option<tokio::runtime::Runtime>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) otel_filter: String,
    pub(crate) fmt: bool,
    pub(crate) bridge: crate::BridgeDetails,
    pub(crate) subscriber: bool,
    pub(crate) notes: Vec<String>,
    pub(crate) exports: Vec<Arc<ExportStatus>>,
    pub(crate) done: bool,
}

impl fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelGuard")
            .field("traces", &self.tracer_provider.is_some())
            .field("metrics", &self.meter_provider.is_some())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

/// Why a shutdown or flush did not complete: what did not reach the
/// collector, per signal. Its `Display` joins their lines with `; `.
#[derive(Debug)]
pub struct ShutdownError(Vec<ExportError>);

impl ShutdownError {
    /// One error per signal whose export failed or did not finish.
    pub fn errors(&self) -> &[ExportError] {
        &self.0
    }
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ShutdownError {}

/// Runs `f` on a helper thread; the caller waits on the receiver with its
/// own bound, so a stuck exporter cannot hold it.
fn on_helper<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::sync::mpsc::Receiver<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name(format!("httptrace-otel-{name}"))
        .spawn(move || {
            let _ = tx.send(f());
        });
    rx
}

impl OtelGuard {
    pub(crate) fn empty() -> Self {
        OtelGuard {
            tracer_provider: None,
            meter_provider: None,
            propagator: None,
            runtime: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            otel_filter: DEFAULT_OTEL_FILTER.to_string(),
            fmt: false,
            bridge: crate::BridgeDetails::none(),
            subscriber: false,
            notes: Vec::new(),
            exports: Vec::new(),
            done: false,
        }
    }

    pub(crate) fn install_globals(&mut self) {
        if let Some(p) = self.propagator.take() {
            global::set_text_map_propagator(p);
        }
        if let Some(tp) = &self.tracer_provider {
            global::set_tracer_provider(tp.clone());
        }
        if let Some(mp) = &self.meter_provider {
            global::set_meter_provider(mp.clone());
        }
        if self.subscriber {
            let otel = self.tracing_layer();
            let fmt = self.fmt.then(|| {
                let filter =
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(filter)
                    // The SDK's per-export errors: ours replace them.
                    .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                        !replaced_sdk_event(m)
                    }))
            });
            if let Err(e) = tracing_subscriber::registry()
                .with(otel)
                .with(fmt)
                .try_init()
            {
                eprintln!(
                    "httptrace-otel: a global tracing subscriber is already set ({e}); \
                     add OtelGuard::tracing_layer() to it to export tracing spans"
                );
            }
        }
        for note in &self.notes {
            tracing::warn!(target: "httptrace_otel", "{note}");
        }
    }

    /// The `tracing-opentelemetry` layer exporting `tracing` spans through
    /// this pipeline's tracer, filtered by [`Setup::otel_filter`](crate::Setup::otel_filter),
    /// with the details of [`Setup::bridge`](crate::Setup::bridge), for
    /// applications that build their own subscriber. `None` when traces are
    /// off.
    pub fn tracing_layer<S>(&self) -> Option<impl tracing_subscriber::Layer<S> + use<S>>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let tracer = self.tracer(crate::trace::SCOPE_NAME)?;
        let filter = EnvFilter::try_new(&self.otel_filter)
            .unwrap_or_else(|_| EnvFilter::new(DEFAULT_OTEL_FILTER));
        let details = self.bridge;
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_tracked_inactivity(details.timings)
                .with_location(details.location)
                .with_threads(details.threads)
                .with_target(details.target)
                .with_level(details.target)
                .with_filter(filter)
                // Events reach the layer only when they are to become span
                // events.
                .with_filter(tracing_subscriber::filter::filter_fn(move |m| {
                    details.log_events || !m.is_event()
                })),
        )
    }

    /// A tracer of this pipeline (`None` when traces are off).
    pub fn tracer(&self, name: &'static str) -> Option<SdkTracer> {
        let scope = InstrumentationScope::builder(name).build();
        self.tracer_provider
            .as_ref()
            .map(|tp| tp.tracer_with_scope(scope))
    }

    /// The tracer provider (`None` when traces are off).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.tracer_provider.as_ref()
    }

    /// The meter provider (`None` when metrics are off).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    /// What the configuration asked for that is not supported (also logged
    /// as warnings once a subscriber is installed).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Exports what is queued now, waiting at most the shutdown timeout.
    pub fn force_flush(&self) -> Result<(), ShutdownError> {
        let timeout = self.shutdown_timeout;
        let tp = self.tracer_provider.clone();
        let mp = self.meter_provider.clone();
        let traces = on_helper("flush", move || tp.map(|tp| tp.force_flush()));
        let metrics = on_helper("flush", move || mp.map(|mp| mp.force_flush()));
        self.wait_both(traces, metrics, timeout)
    }

    /// Flushes and shuts down like [`OtelGuard::shutdown`] (within the
    /// shutdown timeout), then returns what did not reach the collector:
    /// one error per signal whose last export failed or did not finish,
    /// reported nowhere else, for a command-line tool to print in its own
    /// words.
    pub fn finish(mut self) -> Vec<ExportError> {
        match self.shutdown_inner() {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        }
    }

    /// Per signal, the last finished export's failure, if it failed (say,
    /// for a health check); a later successful export clears it.
    pub fn last_export_errors(&self) -> Vec<ExportError> {
        self.exports
            .iter()
            .filter_map(|s| s.outcome(&End::Done(Ok(()))))
            .collect()
    }

    /// Flushes and shuts the providers down, waiting at most the shutdown
    /// timeout whatever the collector does. Called by drop if not before.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), ShutdownError> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let timeout = self.shutdown_timeout;
        let tp = self.tracer_provider.clone();
        let mp = self.meter_provider.clone();
        let traces = on_helper("shutdown", move || {
            tp.map(|tp| tp.shutdown_with_timeout(timeout))
        });
        let metrics = on_helper("shutdown", move || {
            mp.map(|mp| mp.shutdown_with_timeout(timeout))
        });
        let result = self.wait_both(traces, metrics, timeout);
        if let Some(rt) = self.runtime.take() {
            // Never blocks, also when called inside an async context.
            rt.shutdown_background();
        }
        result
    }
}

type Outcome = std::sync::mpsc::Receiver<Option<opentelemetry_sdk::error::OTelSdkResult>>;

impl OtelGuard {
    /// Waits for both signals' flush or shutdown until `timeout` from now,
    /// and says per signal what did not reach the collector.
    fn wait_both(
        &self,
        traces: Outcome,
        metrics: Outcome,
        timeout: Duration,
    ) -> Result<(), ShutdownError> {
        let deadline = std::time::Instant::now() + timeout;
        let mut errors = Vec::new();
        for (signal, rx) in [(Signal::Traces, traces), (Signal::Metrics, metrics)] {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let end = match rx.recv_timeout(left) {
                Ok(None) => continue,
                Ok(Some(result)) => End::Done(result),
                Err(_) => End::Unfinished(timeout),
            };
            if let Some(status) = self.exports.iter().find(|s| s.signal() == signal) {
                errors.extend(status.outcome(&end));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ShutdownError(errors))
        }
    }
}

impl Drop for OtelGuard {
    /// Shuts down, then reports through `tracing` at warn level what did
    /// not reach the collector (a failure already warned about less than
    /// [`export_errors::WARN_INTERVAL`](crate::export_errors::WARN_INTERVAL) ago is not repeated).
    fn drop(&mut self) {
        if let Err(e) = self.shutdown_inner() {
            for error in &e.0 {
                if let Some(status) = self.exports.iter().find(|s| s.signal() == error.signal()) {
                    status.report_final(error);
                }
            }
        }
    }
}

/// True for the SDK's and exporter's own per-export error events, which
/// this crate's warnings replace (rate-limited, in plain words): the
/// default fmt layer leaves them out.
pub(crate) fn replaced_sdk_event(metadata: &tracing::Metadata<'_>) -> bool {
    matches!(
        metadata.target(),
        "opentelemetry_sdk" | "opentelemetry-otlp" | "opentelemetry_otlp"
    ) && matches!(
        metadata.name(),
        "BatchSpanProcessor.ExportError"
            | "PeriodicReader.ExportError"
            | "BatchSpanProcessor.Shutdown.Timeout"
            | "Export.Failed.DeadlineExceeded"
            | "Export.Failed.NonRetryable"
            | "Export.Failed.Exhausted"
    )
}
