//! What the run loop and both transports share: the exit statuses, the user
//! agent, the event log a request records into, one request's summarised
//! hops ([`Sent`]), where its body goes ([`BodySink`]) and whether telemetry
//! is exported.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use httptrace::{ClientTrace, Event};

use crate::hop::HopReport;

/// Exit status: every request completed (whatever its HTTP status).
pub const EXIT_OK: u8 = 0;
/// Exit status: a request failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: with `-L`, a redirect that cannot be followed (no usable
/// `Location`); curl's `CURLE_URL_MALFORMAT`, which curl exits with when a
/// redirect's target cannot be parsed.
pub const EXIT_REDIRECT: u8 = 3;

/// Exit status: with `-f`, the server answered with a status of 400 or
/// more (curl's `CURLE_HTTP_RETURNED_ERROR`).
pub const EXIT_HTTP_ERROR: u8 = 22;
/// Exit status: the body could not be written (`-o`; curl's
/// `CURLE_WRITE_ERROR`).
pub const EXIT_WRITE: u8 = 23;

/// The `User-Agent` httpstat sends unless `-H` gives one.
pub const USER_AGENT: &str = concat!("httpstat-rs/", env!("CARGO_PKG_VERSION"));

/// Every event of the requests it traces, in delivery order.
#[derive(Clone, Debug, Default)]
pub struct EventLog(Arc<Mutex<Vec<Event>>>);

impl EventLog {
    /// A trace that records into this log.
    pub fn trace(&self) -> ClientTrace {
        let sink = self.0.clone();
        ClientTrace::new().on_event(move |e| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone())
        })
    }

    /// The events recorded so far, leaving the log empty.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// True when spans should also be exported over OTLP: an OTLP endpoint is
/// configured in the environment.
pub fn otel_enabled() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// True when metrics should be exported too: only when asked, with
/// `OTEL_METRICS_EXPORTER=otlp`, or (that variable unset) with a
/// metrics-specific `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`. A single run's
/// histogram says little, and a traces-only collector (Jaeger) would refuse
/// it on every run.
pub fn otel_metrics_requested() -> bool {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match var("OTEL_METRICS_EXPORTER") {
        Some(list) => list
            .split(',')
            .any(|s| s.trim().eq_ignore_ascii_case("otlp")),
        None => var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_some(),
    }
}

/// How long httpstat waits at exit for its telemetry to be exported: 1 s,
/// or `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds) when set, plus 100 ms.
pub fn otel_flush_bound() -> std::time::Duration {
    match otel_env_export_timeout() {
        Some(t) => t + std::time::Duration::from_millis(100),
        None => std::time::Duration::from_secs(1),
    }
}

/// The export timeout the environment sets (`OTEL_EXPORTER_OTLP_TIMEOUT`,
/// milliseconds), if any; httpstat otherwise gives each export 900 ms, so
/// that it ends, with its own error, within the flush bound.
pub fn otel_env_export_timeout() -> Option<std::time::Duration> {
    std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
}

/// One request's hops (all of them with `-L`), summarised.
#[derive(Debug)]
pub struct Sent {
    /// The hops, in order; the last one may carry the request's error.
    pub hops: Vec<HopReport>,
    /// The final response's headers, for a hop whose events do not carry
    /// them.
    pub final_headers: Option<http::HeaderMap>,
}

/// Where one request's response body goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyTarget {
    /// Read and discarded (the default).
    Discard,
    /// `-o -`.
    Stdout,
    /// `-o FILE` or `-O`.
    File(PathBuf),
}

/// Writes the final response's body where `-o`/`-O` say; never the body of
/// a redirect that is followed, nor (with `-f`) of a status of 400 or more.
pub struct BodySink<'a> {
    target: BodyTarget,
    stdout: Option<&'a mut dyn Write>,
    file: Option<std::fs::File>,
    fail: bool,
    writing: bool,
    /// The first write error, as the line to print.
    pub error: Option<String>,
}

impl<'a> BodySink<'a> {
    /// A sink for `target`; `stdout` is used for [`BodyTarget::Stdout`].
    /// With `fail` (`-f`), bodies of statuses of 400 or more are not written.
    pub fn new(target: BodyTarget, stdout: Option<&'a mut dyn Write>, fail: bool) -> Self {
        BodySink {
            target,
            stdout,
            file: None,
            fail,
            writing: false,
            error: None,
        }
    }

    /// A sink that discards everything.
    pub fn discard() -> BodySink<'static> {
        BodySink::new(BodyTarget::Discard, None, false)
    }

    /// The final response arrived with `status`: its body is what is
    /// written (the file is created, or truncated, now).
    pub fn response(&mut self, status: http::StatusCode) {
        self.writing = !(self.fail && status.as_u16() >= 400);
        if let (true, BodyTarget::File(path)) = (self.writing, &self.target) {
            match std::fs::File::create(path) {
                Ok(f) => self.file = Some(f),
                Err(e) => self.fail_with(format!("-o {}: {e}", path.display())),
            }
        }
    }

    fn fail_with(&mut self, message: String) {
        self.writing = false;
        self.error.get_or_insert(message);
    }

    /// Writes a piece of the body (or nothing, when it is not to be
    /// written).
    pub fn write(&mut self, data: &[u8]) {
        if !self.writing {
            return;
        }
        let result = match (&self.target, &mut self.stdout, &mut self.file) {
            (BodyTarget::Stdout, Some(out), _) => out.write_all(data),
            (BodyTarget::File(_), _, Some(file)) => file.write_all(data),
            _ => Ok(()),
        };
        if let Err(e) = result {
            let what = match &self.target {
                BodyTarget::File(path) => path.display().to_string(),
                _ => "-".to_string(),
            };
            self.fail_with(format!("-o {what}: {e}"));
        }
    }

    /// Flushes what was written; returns the first error.
    pub fn finish(mut self) -> Option<String> {
        let result = match (&mut self.stdout, &mut self.file) {
            (Some(out), _) if self.target == BodyTarget::Stdout => out.flush(),
            (_, Some(file)) => file.flush(),
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.error.get_or_insert(format!("-o: {e}"));
        }
        self.error
    }
}
