//! What a failed export attempt means: whether to try again and after how
//! long (opentelemetry-otlp 0.33's policy, on by default for its tonic and
//! its HTTP exporters alike), and, for gRPC, what to tell the user in plain
//! words (HTTP's words are `status.rs`'s).

use std::error::Error as _;
use std::time::{Duration, Instant};

use tonic::Code;

use crate::export::errors::{ExportErrorKind, Signal, human_duration, source_chain};
use crate::export::status::classify_transport_error;

/// opentelemetry-otlp's `RetryPolicy::recommended()`, the tonic default:
/// up to 3 retries, from 100 ms doubling up to 1.6 s, plus up to 100 ms
/// of jitter, all within the export timeout.
const MAX_RETRIES: usize = 3;
const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER: Duration = Duration::from_millis(100);
/// The longest a server's `RetryInfo` may hold an export back.
const MAX_THROTTLE: Duration = Duration::from_secs(30);

/// Whether a failed attempt may be retried (the OTLP specification's table,
/// as opentelemetry-otlp's `classify_grpc_error` has it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Give up.
    No,
    /// Retry with backoff.
    Yes,
    /// Retry, not before this delay (the server's `RetryInfo`).
    After(Duration),
}

/// The retry class of a status with `code` and the server's `RetryInfo`
/// delay, if any.
pub(crate) fn retry_class(code: Code, retry_delay: Option<Duration>) -> Retry {
    let capped = |d: Duration| d.min(Duration::from_secs(600));
    match code {
        // Retryable only when the server says recovery is possible.
        Code::ResourceExhausted => retry_delay.map_or(Retry::No, |d| Retry::After(capped(d))),
        Code::Unavailable => match retry_delay.filter(|d| !d.is_zero()) {
            Some(d) => Retry::After(capped(d)),
            None => Retry::Yes,
        },
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::DataLoss => Retry::Yes,
        _ => Retry::No,
    }
}

/// The retry class of `status`, reading the server's `RetryInfo` detail.
pub(crate) fn retry_class_of(status: &tonic::Status) -> Retry {
    use tonic_types::StatusExt as _;
    let delay = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    retry_class(status.code(), delay)
}

/// The retry class of an HTTP attempt that got `status` (`None`: no
/// response at all, a transport failure) with this `Retry-After` header, as
/// opentelemetry-otlp's `classify_http_error`: 429 and 503 after the
/// server's delay (seconds or an HTTP date, capped at 10 min) or with
/// backoff, 502, 504 and transport failures with backoff, nothing else.
pub(crate) fn http_retry_class(
    status: Option<http::StatusCode>,
    retry_after: Option<&str>,
) -> Retry {
    match status.map(|s| s.as_u16()) {
        None | Some(502 | 504) => Retry::Yes,
        Some(429 | 503) => retry_after
            .and_then(parse_retry_after)
            .map_or(Retry::Yes, |d| {
                Retry::After(d.min(Duration::from_secs(600)))
            }),
        Some(_) => Retry::No,
    }
}

/// `Retry-After` as delay seconds or an HTTP date (whole seconds from now).
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(Duration::from_secs(left.as_secs()))
}

/// The backoff between attempts of one export (opentelemetry-otlp's
/// `retry_with_backoff`): the whole export, retries and waits included,
/// stays within `deadline` of its start.
#[derive(Debug)]
pub(crate) struct Backoff {
    start: Instant,
    deadline: Duration,
    retries: usize,
    delay: Duration,
    cap: Duration,
}

impl Backoff {
    pub(crate) fn new(deadline: Duration) -> Self {
        Backoff {
            start: Instant::now(),
            deadline,
            retries: 0,
            delay: INITIAL_DELAY,
            cap: MAX_DELAY,
        }
    }

    /// How long to wait before retrying after a failure of class `retry`;
    /// `None`: give up (not retryable, retries or time used up).
    pub(crate) fn next(&mut self, retry: Retry) -> Option<Duration> {
        if self.start.elapsed() >= self.deadline || self.retries >= MAX_RETRIES {
            return None;
        }
        match retry {
            Retry::No => return None,
            Retry::Yes => {}
            Retry::After(server) => {
                let server = server.min(MAX_THROTTLE);
                // A delay beyond our cap lets the backoff grow past it.
                if server > self.cap {
                    self.cap = MAX_THROTTLE;
                }
                self.delay = self.delay.max(server);
            }
        }
        self.retries += 1;
        let wait = self.delay.saturating_add(jitter(MAX_JITTER)).min(self.cap);
        // A wait that would use up the time left: give up now.
        if wait >= self.deadline.saturating_sub(self.start.elapsed()) {
            return None;
        }
        self.delay = self.delay.saturating_mul(2).min(self.cap);
        Some(wait)
    }
}

/// Up to `max`, at millisecond resolution, from the clock's nanoseconds
/// (as opentelemetry-otlp does: no random number generator for this).
fn jitter(max: Duration) -> Duration {
    use std::hash::Hasher as _;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mut hasher = std::collections::hash_map::DefaultHasher::default();
    hasher.write_u32(nanos);
    let max_ms = max.as_millis().min(u64::MAX as u128 - 1) as u64;
    Duration::from_millis(hasher.finish() % (max_ms + 1))
}

/// Kind and readable detail of a failed gRPC call. A status tonic made
/// itself (a connection refused, the channel's timeout) carries its causes,
/// which are ours to show; one the collector returned is shown by its code
/// only, as opentelemetry-otlp does: its message may echo credentials.
pub(crate) fn classify_grpc_status(
    status: &tonic::Status,
    signal: Signal,
    timeout: Duration,
) -> (ExportErrorKind, String) {
    let timed_out = || {
        (
            ExportErrorKind::Timeout,
            format!(
                "timed out after {}; the export did not finish",
                human_duration(timeout)
            ),
        )
    };
    if let Some(source) = status.source() {
        let mut cause = Some(source);
        while let Some(e) = cause {
            if e.is::<tonic::TimeoutExpired>() {
                return timed_out();
            }
            cause = e.source();
        }
        return classify_transport_error(source, timeout);
    }
    let code = status.code();
    match code {
        Code::DeadlineExceeded => timed_out(),
        Code::Unimplemented | Code::NotFound => (
            ExportErrorKind::Unimplemented,
            format!("the collector does not accept {signal} (gRPC {code:?})"),
        ),
        Code::Unauthenticated | Code::PermissionDenied => (
            ExportErrorKind::Other,
            format!("the collector refused the credentials (gRPC {code:?})"),
        ),
        Code::Unavailable => (
            ExportErrorKind::Other,
            "the collector is unavailable (gRPC Unavailable)".to_string(),
        ),
        _ => (
            ExportErrorKind::Other,
            format!("the collector answered gRPC {code:?}"),
        ),
    }
}

/// The error the exporter returns for a failed export: the code and, for a
/// status tonic made itself, its causes; never the collector's message
/// (the same text as opentelemetry-otlp's, which the guard also reads).
pub(crate) fn sdk_error(status: &tonic::Status) -> opentelemetry_sdk::error::OTelSdkError {
    let mut text = format!(
        "OTLP/gRPC traces export failed with gRPC code: {:?}",
        status.code()
    );
    if let Some(cause) = status.source() {
        text.push_str(": ");
        text.push_str(&source_chain(cause));
    }
    opentelemetry_sdk::error::OTelSdkError::InternalFailure(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_as_the_specification_says() {
        assert_eq!(retry_class(Code::Unavailable, None), Retry::Yes);
        assert_eq!(
            retry_class(Code::Unavailable, Some(Duration::ZERO)),
            Retry::Yes
        );
        let s = Duration::from_secs(2);
        assert_eq!(retry_class(Code::Unavailable, Some(s)), Retry::After(s));
        assert_eq!(retry_class(Code::ResourceExhausted, None), Retry::No);
        assert_eq!(
            retry_class(Code::ResourceExhausted, Some(s)),
            Retry::After(s)
        );
        for code in [
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::OutOfRange,
            Code::DataLoss,
        ] {
            assert_eq!(retry_class(code, None), Retry::Yes, "{code:?}");
        }
        for code in [
            Code::Unknown,
            Code::InvalidArgument,
            Code::NotFound,
            Code::Unimplemented,
            Code::Unauthenticated,
            Code::Internal,
        ] {
            assert_eq!(retry_class(code, None), Retry::No, "{code:?}");
        }
    }

    #[test]
    fn http_retried_as_the_specification_says() {
        use http::StatusCode as S;
        let c = |s: Option<u16>, after| http_retry_class(s.map(|s| S::from_u16(s).unwrap()), after);
        assert_eq!(c(None, None), Retry::Yes, "no response");
        for code in [502, 504, 429, 503] {
            assert_eq!(c(Some(code), None), Retry::Yes, "{code}");
        }
        assert_eq!(
            c(Some(503), Some(" 7")),
            Retry::After(Duration::from_secs(7))
        );
        assert_eq!(
            c(Some(429), Some("99999")),
            Retry::After(Duration::from_secs(600))
        );
        assert_eq!(c(Some(429), Some("soon")), Retry::Yes);
        // A date in the past: retry now (the backoff's own delay applies).
        assert_eq!(
            c(Some(429), Some("Fri, 31 Dec 1999 23:59:59 GMT")),
            Retry::After(Duration::ZERO)
        );
        assert_eq!(
            c(Some(502), Some("7")),
            Retry::Yes,
            "only 429 and 503 read it"
        );
        for code in [400, 401, 404, 413, 500] {
            assert_eq!(c(Some(code), Some("1")), Retry::No, "{code}");
        }
    }

    #[test]
    fn backoff_doubles_three_times_within_the_deadline() {
        let mut b = Backoff::new(Duration::from_secs(60));
        let waits: Vec<Duration> = std::iter::from_fn(|| b.next(Retry::Yes)).collect();
        assert_eq!(waits.len(), 3, "{waits:?}");
        for (wait, base) in waits.iter().zip([100, 200, 400]) {
            let base = Duration::from_millis(base);
            assert!(*wait >= base && *wait <= base + MAX_JITTER, "{waits:?}");
        }
        assert_eq!(Backoff::new(Duration::from_secs(60)).next(Retry::No), None);
        // A wait longer than the time left: no retry.
        assert_eq!(
            Backoff::new(Duration::from_millis(50)).next(Retry::Yes),
            None
        );
        // The server's delay raises the wait (up to 30 s).
        let mut b = Backoff::new(Duration::from_secs(60));
        let wait = b.next(Retry::After(Duration::from_secs(5))).unwrap();
        assert!(
            wait >= Duration::from_secs(5) && wait < Duration::from_secs(6),
            "{wait:?}"
        );
    }

    #[test]
    fn collector_statuses_in_plain_words() {
        let c =
            |s: tonic::Status| classify_grpc_status(&s, Signal::Traces, Duration::from_millis(800));
        assert_eq!(
            c(tonic::Status::unimplemented("no")),
            (
                ExportErrorKind::Unimplemented,
                "the collector does not accept traces (gRPC Unimplemented)".into()
            )
        );
        assert_eq!(
            c(tonic::Status::deadline_exceeded("slow")).0,
            ExportErrorKind::Timeout
        );
        let (kind, detail) = c(tonic::Status::unauthenticated("Bearer secret"));
        assert_eq!(kind, ExportErrorKind::Other);
        assert!(!detail.contains("secret"), "{detail}");
        assert_eq!(
            c(tonic::Status::unavailable("x")).1,
            "the collector is unavailable (gRPC Unavailable)"
        );
        // Made by tonic: the channel's timeout, a refused connection.
        let timeout = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(
            c(timeout).1,
            "timed out after 800ms; the export did not finish"
        );
        let refused = tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        ))));
        assert_eq!(refused.code(), Code::Unavailable);
        assert_eq!(
            c(refused),
            (ExportErrorKind::Refused, "connection refused".into())
        );
        // The returned error keeps the code, never the collector's message.
        let e = sdk_error(&tonic::Status::unauthenticated("Bearer secret")).to_string();
        assert!(
            e.contains("Unauthenticated") && !e.contains("secret"),
            "{e}"
        );
    }
}
