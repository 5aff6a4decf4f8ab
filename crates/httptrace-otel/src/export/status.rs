//! What became of each signal's exports: the outcome of every export
//! recorded by our traces exporters, by the wrapper around the metric
//! exporter (and, over OTLP/HTTP, by its HTTP client), failures classified
//! in plain words and warned about at most once per [`WARN_INTERVAL`].

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::export::errors::{ExportError, ExportErrorKind, Signal, WARN_INTERVAL, human_duration};

#[derive(Debug, Default)]
struct State {
    /// An export is under way.
    in_flight: bool,
    /// What the sender saw on the current export's last attempt.
    attempt: Option<(ExportErrorKind, String)>,
    /// The last finished export's failure (`None`: it succeeded, or none
    /// finished yet).
    last: Option<ExportError>,
    /// When the last warning went out.
    warned_at: Option<Instant>,
    /// Failures since then that were not warned about.
    suppressed: u64,
}

/// One signal's export outcomes, shared by its exporter wrapper, its HTTP
/// client and the guard.
#[derive(Debug)]
pub(crate) struct ExportStatus {
    signal: Signal,
    endpoint: String,
    export_timeout: Duration,
    state: Mutex<State>,
}

/// How a signal's flush or shutdown ended, as the guard saw it.
#[derive(Debug)]
pub(crate) enum End {
    /// It returned, with this result.
    Done(OTelSdkResult),
    /// The bound ran out first.
    Unfinished(Duration),
}

impl ExportStatus {
    pub(crate) fn new(signal: Signal, endpoint: String, export_timeout: Duration) -> Arc<Self> {
        Arc::new(ExportStatus {
            signal,
            endpoint,
            export_timeout,
            state: Mutex::new(State::default()),
        })
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn error(&self, kind: ExportErrorKind, detail: String) -> ExportError {
        ExportError {
            signal: self.signal,
            kind,
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    pub(crate) fn begin(&self) {
        let mut s = self.lock();
        s.in_flight = true;
        s.attempt = None;
    }

    /// Records a finished export; a failure is warned about, rate-limited.
    pub(crate) fn end(&self, result: &OTelSdkResult) {
        let failure = {
            let mut s = self.lock();
            s.in_flight = false;
            let attempt = s.attempt.take();
            s.last = match result {
                Ok(()) => None,
                Err(e) => Some(match attempt {
                    Some((kind, detail)) => self.error(kind, detail),
                    None => {
                        let (kind, detail) =
                            classify_sdk_error(e, self.signal, self.export_timeout);
                        self.error(kind, detail)
                    }
                }),
            };
            s.last.clone()
        };
        if let Some(error) = failure {
            self.warn_limited(&error);
        }
    }

    /// What the sender (our exporter, or the metric exporter's HTTP
    /// client) saw on one attempt of the current export.
    pub(crate) fn attempt_failed(&self, kind: ExportErrorKind, detail: String) {
        self.lock().attempt = Some((kind, detail));
    }

    /// Warns about `error` through `tracing`, unless this signal was warned
    /// about less than [`WARN_INTERVAL`] ago (then it is counted, and the
    /// next warning says how many it stands for). Returns whether it warned.
    pub(crate) fn warn_limited(&self, error: &ExportError) -> bool {
        let suppressed = {
            let mut s = self.lock();
            let now = Instant::now();
            if s.warned_at
                .is_some_and(|at| now.duration_since(at) < WARN_INTERVAL)
            {
                s.suppressed += 1;
                return false;
            }
            s.warned_at = Some(now);
            std::mem::take(&mut s.suppressed)
        };
        warn(error, suppressed);
        true
    }

    /// Reports the final outcome at drop: rate-limited when it is the
    /// failure already recorded (and so possibly just warned about), else
    /// always (the export did not finish).
    pub(crate) fn report_final(&self, error: &ExportError) {
        let known = self.lock().last.as_ref() == Some(error);
        if known {
            self.warn_limited(error);
        } else {
            let suppressed = std::mem::take(&mut self.lock().suppressed);
            warn(error, suppressed);
        }
    }

    /// What did not reach the collector, given how the flush or shutdown
    /// ended: the bound ran out (with what the last attempt saw, if
    /// anything), or the last export failed.
    pub(crate) fn outcome(&self, end: &End) -> Option<ExportError> {
        let s = self.lock();
        match end {
            End::Unfinished(bound) => Some(match (&s.attempt, s.in_flight) {
                (Some((kind, detail)), true) => self.error(
                    *kind,
                    format!(
                        "{detail} (still retrying when the {} bound ran out)",
                        human_duration(*bound)
                    ),
                ),
                _ => self.error(
                    ExportErrorKind::Timeout,
                    format!(
                        "timed out after {}; the export did not finish",
                        human_duration(*bound)
                    ),
                ),
            }),
            End::Done(result) => s.last.clone().or_else(|| match result {
                Ok(()) | Err(OTelSdkError::AlreadyShutdown) => None,
                Err(e) => {
                    let (kind, detail) = classify_sdk_error(e, self.signal, self.export_timeout);
                    Some(self.error(kind, detail))
                }
            }),
        }
    }
}

/// Reports `error` at warn level through `tracing` (or on stderr when no
/// subscriber was ever set, so a service without one still hears of it).
pub(crate) fn warn(error: &ExportError, suppressed: u64) {
    let more = match suppressed {
        0 => String::new(),
        1 => " (and 1 more failed export since the last report)".to_string(),
        n => format!(" (and {n} more failed exports since the last report)"),
    };
    let no_subscriber =
        tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>());
    if !no_subscriber {
        tracing::warn!(
            target: "httptrace_otel",
            signal = error.signal.as_str(),
            kind = error.kind.as_str(),
            endpoint = error.endpoint.as_str(),
            "{error}{more}"
        );
    } else {
        eprintln!("httptrace-otel: {error}{more}");
    }
}

/// Kind and readable detail of an error the exporter returned, when no
/// attempt was recorded (opentelemetry-otlp's gRPC metric exporter, or a
/// failure before any request).
fn classify_sdk_error(
    error: &OTelSdkError,
    signal: Signal,
    export_timeout: Duration,
) -> (ExportErrorKind, String) {
    let text = match error {
        OTelSdkError::Timeout(d) => {
            return (
                ExportErrorKind::Timeout,
                format!(
                    "timed out after {}; the export did not finish",
                    human_duration(*d)
                ),
            );
        }
        OTelSdkError::AlreadyShutdown => {
            return (
                ExportErrorKind::Other,
                "the exporter was already shut down".to_string(),
            );
        }
        OTelSdkError::InternalFailure(s) => s.as_str(),
    };
    let lower = text.to_ascii_lowercase();
    if lower.contains("gRPC code: Unimplemented".to_ascii_lowercase().as_str()) {
        return (
            ExportErrorKind::Unimplemented,
            format!("the collector does not accept {signal} (gRPC Unimplemented)"),
        );
    }
    if lower.contains("connection refused") {
        return (ExportErrorKind::Refused, "connection refused".to_string());
    }
    if lower.contains("deadlineexceeded")
        || lower.contains("timed out")
        || lower.contains("timeout")
    {
        return (
            ExportErrorKind::Timeout,
            format!(
                "timed out after {}; the export did not finish",
                human_duration(export_timeout)
            ),
        );
    }
    // "TonicTracesClient export failed with gRPC code: Unavailable: ..." →
    // "gRPC code: Unavailable: ...": the exporter's text holds no message
    // from the server (it may echo credentials), only codes and local causes.
    let plain = text
        .find("gRPC code: ")
        .map_or(text, |at| &text[at..])
        .trim();
    let plain = plain.strip_prefix("Operation failed: ").unwrap_or(plain);
    (ExportErrorKind::Other, one_line(plain))
}

fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Kind and readable detail of an HTTP client error (the first attempt's
/// refused connection, a timeout, a name that does not resolve, ...), from
/// its source chain, without the URL the top-level message quotes.
pub(crate) fn classify_transport_error(
    error: &(dyn std::error::Error + 'static),
    timeout: Duration,
) -> (ExportErrorKind, String) {
    let mut chain = Vec::new();
    let mut current = Some(error);
    let mut timed_out = false;
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return (ExportErrorKind::Refused, "connection refused".to_string());
                }
                std::io::ErrorKind::TimedOut => timed_out = true,
                _ => {}
            }
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            timed_out |= r.is_timeout();
        } else {
            chain.push(one_line(&e.to_string()));
        }
        current = e.source();
    }
    if timed_out {
        return (
            ExportErrorKind::Timeout,
            format!(
                "timed out after {}; the export did not finish",
                human_duration(timeout)
            ),
        );
    }
    let detail = if chain.is_empty() {
        "the request failed".to_string()
    } else {
        chain.join(": ")
    };
    (ExportErrorKind::Other, detail)
}

/// Kind and detail of a collector's non-success HTTP answer.
pub(crate) fn classify_status(
    status: http::StatusCode,
    signal: Signal,
) -> (ExportErrorKind, String) {
    let code = match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    };
    match status.as_u16() {
        404 | 405 | 501 => (
            ExportErrorKind::Unimplemented,
            format!("the collector does not accept {signal} ({code})"),
        ),
        401 | 403 => (
            ExportErrorKind::Other,
            format!("the collector refused the credentials ({code})"),
        ),
        _ => (
            ExportErrorKind::Other,
            format!("the collector answered {code}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Arc<ExportStatus> {
        ExportStatus::new(
            Signal::Traces,
            "http://127.0.0.1:4318/v1/traces".into(),
            Duration::from_secs(10),
        )
    }

    #[test]
    fn lines_are_plain() {
        let s = status();
        s.begin();
        s.attempt_failed(ExportErrorKind::Refused, "connection refused".into());
        s.end(&Err(OTelSdkError::InternalFailure(
            "HTTP export failed: network error".into(),
        )));
        let e = s.outcome(&End::Done(Ok(()))).unwrap();
        assert_eq!(
            e.to_string(),
            "traces not exported to http://127.0.0.1:4318/v1/traces: connection refused"
        );
        assert_eq!(e.kind(), ExportErrorKind::Refused);
        // A later successful export clears it.
        s.begin();
        s.end(&Ok(()));
        assert_eq!(s.outcome(&End::Done(Ok(()))), None);
        // A bound that ran out.
        let e = s.outcome(&End::Unfinished(Duration::from_secs(1))).unwrap();
        assert_eq!(e.kind(), ExportErrorKind::Timeout);
        assert_eq!(e.detail(), "timed out after 1s; the export did not finish");
    }

    /// The service path: failed exports become `tracing` warnings, one per
    /// signal per interval, in plain words, the next saying how many it
    /// stands for.
    #[test]
    fn failures_warn_rate_limited_in_plain_words() {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let s = status();
        let fail = || {
            s.begin();
            s.end(&Err(OTelSdkError::InternalFailure(
                "TonicTracesClient export failed with gRPC code: Unavailable: tcp connect error: Connection refused (os error 111)".into(),
            )));
        };
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..5 {
                fail();
            }
            // As if the interval had passed.
            s.lock().warned_at = Some(Instant::now() - WARN_INTERVAL);
            fail();
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        for line in &lines {
            assert!(line.contains(" WARN "), "{line}");
            assert!(
                line.contains(
                    "traces not exported to http://127.0.0.1:4318/v1/traces: connection refused"
                ),
                "{line}"
            );
            assert!(!line.contains("InternalFailure") && !line.contains("Operation failed"));
        }
        assert!(
            lines[1].contains("(and 4 more failed exports since the last report)"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn grpc_codes_are_classified() {
        let c = |s: &str| {
            classify_sdk_error(
                &OTelSdkError::InternalFailure(s.into()),
                Signal::Metrics,
                Duration::from_millis(800),
            )
        };
        assert_eq!(
            c("TonicMetricsClient export failed with gRPC code: Unimplemented"),
            (
                ExportErrorKind::Unimplemented,
                "the collector does not accept metrics (gRPC Unimplemented)".into()
            )
        );
        assert_eq!(
            c("TonicTracesClient export failed with gRPC code: Unavailable: transport error: tcp connect error: Connection refused (os error 111)").0,
            ExportErrorKind::Refused
        );
        assert_eq!(
            c("TonicTracesClient export failed with gRPC code: Cancelled: Timeout expired"),
            (
                ExportErrorKind::Timeout,
                "timed out after 800ms; the export did not finish".into()
            )
        );
        let (kind, detail) = c("TonicTracesClient export failed with gRPC code: Unauthenticated");
        assert_eq!(kind, ExportErrorKind::Other);
        assert_eq!(detail, "gRPC code: Unauthenticated");
    }

    #[test]
    fn http_statuses_are_classified() {
        assert_eq!(
            classify_status(http::StatusCode::NOT_FOUND, Signal::Metrics),
            (
                ExportErrorKind::Unimplemented,
                "the collector does not accept metrics (HTTP 404 Not Found)".into()
            )
        );
        assert_eq!(
            classify_status(http::StatusCode::SERVICE_UNAVAILABLE, Signal::Traces).0,
            ExportErrorKind::Other
        );
    }
}
