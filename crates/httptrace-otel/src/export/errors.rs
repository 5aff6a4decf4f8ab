//! What became of the exports: per signal, whether the last export reached
//! the collector, and if not, why, in plain words.
//!
//! Every export's outcome is recorded for its signal (the SDK itself drops
//! the result of the export made at shutdown): by our traces exporters,
//! and by a wrapper around the metric exporter. Over OTLP/HTTP each attempt
//! is seen by this crate's code (our exporter, or the metric exporter's
//! HTTP client), so a refused connection, a timeout or a collector
//! answering 404 for a signal it does not take is told apart
//! (opentelemetry-otlp itself only says "network error"). Over gRPC the
//! status code says it.
//!
//! A failed export during the run is reported through `tracing` at warn
//! level, at most once per signal per [`WARN_INTERVAL`] (the line says how
//! many failures it stands for); at the end, [`OtelGuard::finish`] returns
//! what did not reach the collector for a CLI to print, and the guard's drop
//! reports it through `tracing`.
//!
//! [`OtelGuard::finish`]: crate::OtelGuard::finish

use std::fmt;
use std::time::Duration;

/// At most one warning per signal per this interval while the service runs.
pub const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// A telemetry signal the pipeline exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
}

impl Signal {
    /// `traces` or `metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }

    pub(crate) fn env_suffix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
        }
    }

    pub(crate) fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an export failed, coarsely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportErrorKind {
    /// Nothing listens at the endpoint (connection refused).
    Refused,
    /// No answer in time: the export timed out or did not finish within
    /// the flush bound.
    Timeout,
    /// The collector does not take this signal (HTTP 404/405/501, gRPC
    /// `Unimplemented`), as Jaeger does not take metrics.
    Unimplemented,
    /// Anything else (name resolution, TLS, a rejected request, ...).
    Other,
}

impl ExportErrorKind {
    /// `refused`, `timeout`, `unimplemented` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportErrorKind::Refused => "refused",
            ExportErrorKind::Timeout => "timeout",
            ExportErrorKind::Unimplemented => "unimplemented",
            ExportErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ExportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signal's telemetry that did not reach the collector. Its `Display` is
/// one plain line: `traces not exported to http://127.0.0.1:4318/v1/traces:
/// connection refused`. The endpoint never carries userinfo or a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError {
    pub(crate) signal: Signal,
    pub(crate) kind: ExportErrorKind,
    pub(crate) endpoint: String,
    pub(crate) detail: String,
}

impl ExportError {
    /// The signal whose export failed.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Why, coarsely.
    pub fn kind(&self) -> ExportErrorKind {
        self.kind
    }

    /// Where the signal was exported to, without credentials or query.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Why, readably (`connection refused`, `timed out after 1s`, `the
    /// collector does not accept metrics (HTTP 404 Not Found)`, ...).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} not exported to {}: {}",
            self.signal, self.endpoint, self.detail
        )
    }
}

impl std::error::Error for ExportError {}

/// An error and its sources, joined with `: `.
pub(crate) fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `1s`, `1.5s`, `800ms`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The endpoint a signal's exporter sends to, resolved as opentelemetry-otlp
/// does (programmatic, else `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` as is,
/// else `OTEL_EXPORTER_OTLP_ENDPOINT` plus the signal's path over HTTP, else
/// the default), shown without userinfo, query or fragment.
pub(crate) fn display_endpoint(signal: Signal, grpc: bool, programmatic: Option<&str>) -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let specific = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.env_suffix());
    let with_path = |base: &str| {
        if grpc {
            base.to_string()
        } else {
            format!("{}{}", base.trim_end_matches('/'), signal.http_path())
        }
    };
    let raw = match (
        programmatic,
        var(&specific),
        var("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(p), _, _) => p.to_string(),
        (None, Some(s), _) => s,
        (None, None, Some(general)) => with_path(&general),
        (None, None, None) if grpc => "http://localhost:4317".to_string(),
        (None, None, None) => with_path("http://localhost:4318"),
    };
    shown_endpoint(&raw)
}

/// `raw` for an error message: without whatever precedes an `@` in its
/// authority (a URL that does not parse may still carry credentials), and
/// without query or fragment when it parses.
pub(crate) fn endpoint_in_message(raw: &str) -> String {
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let bare = match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest.to_string(),
    };
    match url::Url::parse(bare.trim()) {
        Ok(_) => shown_endpoint(&bare),
        Err(_) => bare,
    }
}

/// `raw` without userinfo, query or fragment.
pub(crate) fn shown_endpoint(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            let shown = url.to_string();
            // The URL type adds a `/` path to `http://host:4317`.
            match shown.strip_suffix('/') {
                Some(bare) if url.path() == "/" && !raw.trim().ends_with('/') => bare.to_string(),
                _ => shown,
            }
        }
        Err(_) => "the configured endpoint".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_in_messages_lose_credentials_even_unparsed() {
        assert_eq!(
            endpoint_in_message("http://user:secret@bad host:4317/x"),
            "http://bad host:4317/x"
        );
        assert_eq!(endpoint_in_message("user:secret@bad host"), "bad host");
        assert_eq!(
            endpoint_in_message("https://user:secret@collector:4317"),
            "https://collector:4317"
        );
        assert_eq!(
            endpoint_in_message("http://bad host:4318"),
            "http://bad host:4318"
        );
    }

    #[test]
    fn endpoints_lose_credentials_and_query() {
        assert_eq!(
            display_endpoint(
                Signal::Traces,
                false,
                Some("https://user:secret@collector.test:4318/v1/traces?api_key=k")
            ),
            "https://collector.test:4318/v1/traces"
        );
        assert_eq!(
            display_endpoint(Signal::Metrics, true, Some("http://c.test:4317")),
            "http://c.test:4317"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(1)), "1s");
        assert_eq!(human_duration(Duration::from_millis(800)), "800ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
    }
}
