//! The two output formats: one JSON object per hop (`--json`), and the
//! coloured waterfall for people.

use std::fmt::Write as _;
use std::time::Duration;

use httptrace::{BodyOutcome, Event, HookError};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::hop::{HopError, HopReport, version_str};
use crate::redact;

/// Milliseconds as `f64`, to the microsecond.
pub fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

#[derive(Serialize)]
struct HopJson<'a> {
    url: &'a str,
    method: &'a str,
    status: Option<u16>,
    http_version: Option<&'static str>,
    remote_addr: Option<String>,
    local_addr: Option<String>,
    proxy: Option<&'a str>,
    conn_reused: bool,
    idle_ms: Option<f64>,
    dns_ms: Option<f64>,
    tcp_ms: Option<f64>,
    tls_ms: Option<f64>,
    ttfb_ms: Option<f64>,
    transfer_ms: Option<f64>,
    total_ms: Option<f64>,
    body_bytes: Option<u64>,
    resend_count: u32,
    request_index: u32,
    dns_pinned: bool,
    error: Option<ErrorJson<'a>>,
    events: Vec<EventJson>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    phase: &'static str,
    kind: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct EventJson {
    name: &'static str,
    offset_ms: f64,
    #[serde(flatten)]
    details: Map<String, Value>,
}

/// The hop as one line of JSON (no trailing newline). See the crate docs for
/// the schema.
pub fn json_line(hop: &HopReport) -> String {
    let events = hop
        .events
        .iter()
        .map(|e| EventJson {
            name: e.name(),
            offset_ms: match hop.start {
                Some(start) if e.at() >= start => ms(e.at() - start),
                Some(start) => -ms(start - e.at()),
                None => 0.0,
            },
            details: details(e, hop),
        })
        .collect();
    let out = HopJson {
        url: &hop.url,
        method: &hop.method,
        status: hop.status.map(|s| s.as_u16()),
        http_version: hop.http_version(),
        remote_addr: hop.remote_addr.map(|a| a.to_string()),
        local_addr: hop.local_addr.map(|a| a.to_string()),
        proxy: hop.proxy.as_deref(),
        conn_reused: hop.conn_reused,
        idle_ms: hop.idle.map(ms),
        dns_ms: hop.dns.map(ms),
        tcp_ms: hop.tcp.map(ms),
        tls_ms: hop.tls.map(ms),
        ttfb_ms: hop.ttfb.map(ms),
        transfer_ms: hop.transfer.map(ms),
        total_ms: hop.total.map(ms),
        body_bytes: hop.body_bytes,
        resend_count: hop.resend_count,
        request_index: hop.request_index,
        dns_pinned: hop.dns_pinned,
        error: hop.error.as_ref().map(|e: &HopError| ErrorJson {
            phase: e.phase.as_str(),
            kind: e.kind,
            message: &e.message,
        }),
        events,
    };
    // Serialising plain structs, strings and numbers cannot fail.
    serde_json::to_string(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn hook_error(e: &HookError, hop: &HopReport) -> Value {
    json!({ "kind": e.kind().as_str(), "message": hop.redact(e.message()) })
}

/// A few salient details of each event (never header values: those may hold
/// secrets; `wrote_header_field` shows the field name only). URL credentials
/// are redacted, in URLs and in error messages.
fn details(event: &Event, hop: &HopReport) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    match event {
        Event::RoundTripStart(e) => {
            put("method", json!(e.method.as_str()));
            put("url", json!(redact::url(&e.url)));
            put("resend_count", json!(e.resend_count));
        }
        Event::GetConn(e) => put("host_port", json!(e.host_port)),
        Event::DnsStart(e) => put("host", json!(e.host)),
        Event::DnsDone(e) => {
            put("host", json!(e.host));
            put(
                "addrs",
                json!(e.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
            );
            put("coalesced", json!(e.coalesced));
        }
        Event::ConnectStart(e) => {
            put("network", json!(e.network));
            put("addr", json!(e.addr.map(|a| a.to_string())));
        }
        Event::ConnectDone(e) => {
            put("network", json!(e.network));
            put("addr", json!(e.addr.map(|a| a.to_string())));
        }
        Event::TlsHandshakeStart(e) => put("server_name", json!(e.server_name)),
        Event::TlsHandshakeDone(e) => {
            let state = e.state.as_ref();
            put("version", json!(state.and_then(|s| s.version.clone())));
            put("alpn", json!(state.and_then(|s| s.alpn.clone())));
            put("resumed", json!(state.map(|s| s.resumed)));
            put(
                "peer_subject",
                json!(state.and_then(|s| s.peer_certificates.first().map(|c| c.subject.clone()))),
            );
        }
        Event::GotConn(e) => {
            put("reused", json!(e.reused));
            put("was_idle", json!(e.was_idle));
            put("idle_ms", json!(e.idle_time.map(ms)));
            put("remote_addr", json!(e.remote_addr.map(|a| a.to_string())));
            put("local_addr", json!(e.local_addr.map(|a| a.to_string())));
            put("protocol", json!(version_str(e.protocol)));
        }
        Event::WroteHeaderField(e) => put("field", json!(e.name.as_str())),
        Event::WroteRequest(e) => put("body_bytes", json!(e.body_bytes)),
        Event::Got1xxResponse(e) => put("status", json!(e.status.as_u16())),
        Event::RoundTripDone(e) => {
            put("status", json!(e.status.map(|s| s.as_u16())));
            put("version", json!(e.version.map(version_str)));
        }
        Event::BodyDone(e) => {
            put("bytes", json!(e.bytes));
            let outcome = match &e.outcome {
                BodyOutcome::Completed => "completed",
                BodyOutcome::Failed(_) => "failed",
                BodyOutcome::Dropped => "dropped",
                _ => "other",
            };
            put("outcome", json!(outcome));
        }
        _ => {}
    }
    if let Some(e) = event.error() {
        m.insert("error".to_string(), hook_error(e, hop));
    }
    m
}

/// ANSI styling, or none.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Whether escapes are emitted.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn cyan(self, t: &str) -> String {
        self.paint("36", t)
    }
    fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    fn red(self, t: &str) -> String {
        self.paint("31", t)
    }
    fn gray(self, t: &str) -> String {
        self.paint("90", t)
    }
    fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
}

const TITLES: [&str; 5] = [
    "DNS Lookup",
    "TCP Connection",
    "TLS Handshake",
    "Server Processing",
    "Content Transfer",
];
const CUMULATIVE: [&str; 5] = [
    "namelookup",
    "connect",
    "pretransfer",
    "starttransfer",
    "total",
];

/// A duration for people: `0.42ms`, `12.30ms`, `153ms`; `-` when absent.
pub fn human_ms(d: Option<Duration>) -> String {
    match d {
        None => "-".to_string(),
        Some(d) if d < Duration::from_millis(100) => format!("{:.2}ms", ms(d)),
        Some(d) => format!("{:.0}ms", ms(d)),
    }
}

/// The hop for people: a header line (method, URL, status, version, remote
/// address, connection reuse), the status line and the response `headers`,
/// then the waterfall.
pub fn human(hop: &HopReport, headers: Option<&http::HeaderMap>, style: Style) -> String {
    let mut s = String::new();
    let status = match hop.status {
        Some(code) => {
            let text = match code.canonical_reason() {
                Some(reason) => format!("{} {reason}", code.as_u16()),
                None => code.as_u16().to_string(),
            };
            if code.is_success() {
                style.green(&text)
            } else if code.is_redirection() || code.is_informational() {
                style.yellow(&text)
            } else {
                style.red(&text)
            }
        }
        None => style.red("failed"),
    };
    let conn = if hop.conn_reused {
        match hop.idle {
            Some(idle) => format!("reused connection (idle {})", human_ms(Some(idle))),
            None => "reused connection".to_string(),
        }
    } else if hop.remote_addr.is_some() || hop.status.is_some() {
        "new connection".to_string()
    } else {
        "no connection".to_string()
    };
    let conn = match &hop.proxy {
        Some(proxy) => format!("{conn} via proxy {proxy}"),
        None if hop.dns_pinned => format!("{conn}, address pinned"),
        None => conn,
    };
    let redirect = if hop.resend_count > 0 {
        style.gray(&format!("(redirect {}) ", hop.resend_count))
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "{redirect}{} {} -> {status}  {}  {}  {}",
        style.bold(&hop.method),
        style.cyan(&hop.url),
        hop.http_version().unwrap_or("-"),
        hop.remote_addr
            .map_or_else(|| "-".to_string(), |a| a.to_string()),
        style.gray(&conn),
    );
    s.push('\n');
    if let Some(code) = hop.status {
        let version = hop.http_version().unwrap_or("HTTP/?");
        let (proto, number) = version.split_at(4);
        let reason = code.canonical_reason().unwrap_or("");
        let _ = writeln!(
            s,
            "{}{} {}",
            style.green(proto),
            style.gray(number),
            style.cyan(format!("{} {reason}", code.as_u16()).trim_end()),
        );
        if let Some(headers) = headers {
            for (name, value) in headers {
                let value = header_value(hop, name, value);
                let _ = writeln!(s, "{}: {}", style.gray(name.as_str()), style.cyan(&value));
            }
        }
        s.push('\n');
    }
    waterfall(&mut s, hop, style);
    if let Some(bytes) = hop.body_bytes {
        let _ = writeln!(s, "{}", style.gray(&format!("body: {bytes} bytes read")));
    }
    // A failure is reported once, on stderr (see `run`).
    s
}

/// A response header value as printed: URL credentials redacted, also in a
/// `Location` that points somewhere this request did not go.
pub(crate) fn header_value(
    hop: &HopReport,
    name: &http::HeaderName,
    value: &http::HeaderValue,
) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    if name == http::header::LOCATION || name == http::header::CONTENT_LOCATION {
        let base = hop.secret_urls.first();
        let target = match base {
            Some(base) => base.join(&text),
            None => url::Url::parse(&text),
        };
        if let Ok(target) = target
            && (!target.username().is_empty() || target.password().is_some())
        {
            return redact::message(&hop.redact(&text), [&target]);
        }
    }
    hop.redact(&text)
}

/// Appends the httpstat waterfall: one cell per phase, then the cumulative
/// time at the end of each phase that happened.
fn waterfall(s: &mut String, hop: &HopReport, style: Style) {
    let widths = TITLES.map(|t| t.len() + 2);
    // Column of the separator closing each cell ('|', or ']' for the last);
    // '[' is column 0.
    let mut bounds = [0usize; 5];
    let mut pos = 0;
    for (i, w) in widths.iter().enumerate() {
        pos += w + 1;
        bounds[i] = pos;
    }
    let phases = [hop.dns, hop.tcp, hop.tls, hop.ttfb, hop.transfer];
    let ends = [
        hop.ends[0],
        hop.ends[1],
        hop.ends[2],
        hop.ends[3],
        hop.total,
    ];

    let titles: Vec<String> = TITLES.iter().map(|t| format!(" {t} ")).collect();
    let _ = writeln!(s, " {}", titles.join(" ").trim_end());

    s.push('[');
    for (i, phase) in phases.iter().enumerate() {
        let value = match (i, phase) {
            (0, None) if hop.dns_pinned => "pinned".to_string(),
            _ => human_ms(*phase),
        };
        let cell = format!("{:^w$}", value, w = widths[i]);
        s.push_str(&style.cyan(&cell));
        s.push(if i + 1 < phases.len() { '|' } else { ']' });
    }
    s.push('\n');

    let mut line = String::new();
    for bound in bounds {
        line.push_str(&" ".repeat(bound - line.len()));
        line.push('|');
    }
    s.push_str(&line);
    s.push('\n');

    for (j, end) in ends.iter().enumerate() {
        let Some(end) = end else { continue };
        let label = format!("{}:", CUMULATIVE[j]);
        let value = human_ms(Some(*end));
        let indent = (bounds[j] + 2).saturating_sub(label.len());
        let _ = write!(s, "{}{label}{}", " ".repeat(indent), style.cyan(&value));
        let mut visible = indent + label.len() + value.len();
        for bound in &bounds[j + 1..] {
            if visible < *bound {
                s.push_str(&" ".repeat(bound - visible));
                s.push('|');
                visible = bound + 1;
            }
        }
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hop::{FailurePhase, HopError};

    fn sample() -> HopReport {
        let url = url::Url::parse("https://u:p@svc.test/x").unwrap();
        let mut hop = HopReport::not_started(
            0,
            &http::Method::GET,
            &url,
            HopError {
                phase: FailurePhase::Request,
                kind: "other",
                message: String::new(),
            },
        );
        hop.error = None;
        hop.status = Some(http::StatusCode::OK);
        hop.version = Some(http::Version::HTTP_2);
        hop.dns = Some(Duration::from_micros(21_790));
        hop.tcp = Some(Duration::from_micros(280));
        hop.tls = None;
        hop.ttfb = Some(Duration::from_micros(690));
        hop.transfer = Some(Duration::from_micros(190));
        hop.ends = [
            Some(Duration::from_micros(21_870)),
            Some(Duration::from_micros(22_150)),
            None,
            Some(Duration::from_micros(118_000)),
        ];
        hop.total = Some(Duration::from_micros(118_190));
        hop
    }

    #[test]
    fn durations_print_with_microsecond_precision() {
        assert_eq!(ms(Duration::from_nanos(1_234_567)), 1.234);
        assert_eq!(human_ms(None), "-");
        assert_eq!(human_ms(Some(Duration::from_micros(420))), "0.42ms");
        assert_eq!(human_ms(Some(Duration::from_micros(153_400))), "153ms");
    }

    #[test]
    fn waterfall_columns_line_up_and_skipped_phases_show_a_dash() {
        let text = human(&sample(), None, Style { color: false });
        assert!(!text.contains('\x1b'));
        assert!(text.starts_with("GET https://REDACTED:REDACTED@svc.test/x -> 200 OK  HTTP/2"));
        let lines: Vec<&str> = text.lines().collect();
        let cells = lines.iter().position(|l| l.starts_with('[')).unwrap();
        let pipes = lines[cells + 1];
        let bounds: Vec<usize> = pipes.match_indices('|').map(|(i, _)| i).collect();
        assert_eq!(bounds.len(), 5);
        let cell_bounds: Vec<usize> = lines[cells]
            .match_indices(['|', ']'])
            .map(|(i, _)| i)
            .collect();
        assert_eq!(cell_bounds, bounds);
        assert!(lines[cells].contains("21.79ms"));
        assert!(lines[cells].contains("   -   "), "no TLS: {}", lines[cells]);
        assert!(!text.contains("pretransfer"), "no line for a skipped phase");
        for line in &lines[cells + 2..] {
            if line.starts_with("body") || line.trim().starts_with("total") {
                continue;
            }
            for (i, _) in line.match_indices('|') {
                assert!(bounds.contains(&i), "misaligned '|' at {i} in {line:?}");
            }
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let text = human(&sample(), None, Style { color: true });
        assert!(text.contains("\x1b[36m21.87ms\x1b[0m"), "{text}");
    }
}
