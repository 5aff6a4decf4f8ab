//! Pieces of a round trip every transport reports the same way.

use std::net::SocketAddr;
use std::time::Instant;

use crate::Traces;
use crate::event::*;
use crate::interest::EventKind;
use crate::transport::registry::Reuse;

/// What a transport measured about a round trip whose response headers
/// arrived; each transport fills in the instants as precisely as it can.
pub(crate) struct Arrival<'a> {
    pub(crate) reuse: &'a Reuse,
    pub(crate) local_addr: Option<SocketAddr>,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) sent_headers: &'a http::HeaderMap,
    pub(crate) wrote_headers: Instant,
    pub(crate) wrote_request: Instant,
    pub(crate) body_bytes: u64,
    pub(crate) write_error: Option<HookError>,
    pub(crate) first_byte: Instant,
    pub(crate) headers_at: Instant,
    /// Set when the response that arrived fails the request all the same
    /// (a redirect past the limit).
    pub(crate) error: Option<HookError>,
    pub(crate) status: http::StatusCode,
    pub(crate) version: http::Version,
    pub(crate) headers: &'a http::HeaderMap,
}

/// Emits `got_conn` through `round_trip_done` for a response that arrived,
/// and says whether its connection will go back to the pool when the body
/// ends (`None` for HTTP/2, which Go does not report either).
pub(crate) fn report_arrival(traces: &Traces, a: Arrival<'_>) -> Option<Result<(), &'static str>> {
    report_got_conn(traces, a.reuse, a.local_addr, a.remote_addr, a.version);
    report_written(
        traces,
        a.sent_headers,
        a.wrote_headers,
        (a.wrote_request, a.body_bytes, a.write_error),
    );
    traces.emit_with(EventKind::GotFirstResponseByte, || {
        Event::GotFirstResponseByte(GotFirstResponseByte { at: a.first_byte })
    });
    traces.emit_with(EventKind::RoundTripDone, || {
        Event::RoundTripDone(RoundTripDone {
            at: a.headers_at,
            status: Some(a.status),
            version: Some(a.version),
            headers: Some(a.headers.clone()),
            error: a.error,
        })
    });
    match a.version {
        http::Version::HTTP_2 | http::Version::HTTP_3 => None,
        _ if closes(a.headers) || closes(a.sent_headers) => Some(Err("connection: close")),
        http::Version::HTTP_10 => Some(Err("HTTP/1.0")),
        _ => Some(Ok(())),
    }
}

/// Emits `got_conn` for the connection a round trip got.
pub(crate) fn report_got_conn(
    traces: &Traces,
    reuse: &Reuse,
    local_addr: Option<SocketAddr>,
    remote_addr: Option<SocketAddr>,
    protocol: http::Version,
) {
    traces.emit_with(EventKind::GotConn, || {
        Event::GotConn(GotConn {
            at: reuse.at,
            reused: reuse.reused,
            was_idle: reuse.was_idle,
            idle_time: reuse.idle_time,
            local_addr,
            remote_addr,
            protocol,
            proxied: reuse.proxied,
        })
    });
}

/// Emits the request's header fields, `wrote_headers` and `wrote_request`
/// (`request`: when, body bytes, error).
pub(crate) fn report_written(
    traces: &Traces,
    sent_headers: &http::HeaderMap,
    wrote_headers: Instant,
    request: (Instant, u64, Option<HookError>),
) {
    // Each field's values are copied out (and sensitive ones redacted):
    // only for a trace that reads them.
    if traces.wants(EventKind::WroteHeaderField) {
        for (name, values) in grouped(sent_headers) {
            traces.emit(Event::WroteHeaderField(WroteHeaderField {
                at: wrote_headers,
                name,
                values,
            }));
        }
    }
    traces.emit_with(EventKind::WroteHeaders, || {
        Event::WroteHeaders(WroteHeaders { at: wrote_headers })
    });
    let (at, body_bytes, error) = request;
    traces.emit_with(EventKind::WroteRequest, || {
        Event::WroteRequest(WroteRequest {
            at,
            body_bytes,
            error,
        })
    });
}

/// Reports a round trip whose future was dropped before its response
/// arrived (cancelled, or timed out by the caller); disarmed once it did.
pub(crate) struct PendingRoundTrip(pub(crate) Option<Traces>);

impl Drop for PendingRoundTrip {
    fn drop(&mut self) {
        if let Some(traces) = self.0.take() {
            traces.emit(Event::RoundTripDone(RoundTripDone {
                at: Instant::now(),
                status: None,
                version: None,
                headers: None,
                error: Some(HookError::new(
                    ErrorKind::Cancelled,
                    "request cancelled before the response arrived",
                )),
            }));
        }
    }
}

/// `host:port` as Go's `GetConn` reports it (`[v6]:port` for an IPv6
/// literal, whose brackets `host_str` keeps). Written without `core::fmt`:
/// `format!` cost about 2 500 instructions per round trip (callgrind,
/// pipeline bench), this a few dozen.
pub(crate) fn host_port(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or_default();
    let mut s = String::with_capacity(host.len() + 6);
    s.push_str(host);
    s.push(':');
    let mut buf = [0u8; 5];
    let mut n = port;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        s.push(char::from(b));
    }
    s
}

fn closes(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
}

/// Header values by name, sensitive ones redacted.
fn grouped(headers: &http::HeaderMap) -> Vec<(http::HeaderName, Vec<String>)> {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
    headers
        .keys()
        .map(|name| {
            let sensitive = [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE].contains(name);
            let values = headers
                .get_all(name)
                .iter()
                .map(|v| {
                    if sensitive || v.is_sensitive() {
                        "REDACTED".to_string()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    }
                })
                .collect();
            (name.clone(), values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn host_port_reads_as_go_writes_it() {
        for (url, want) in [
            ("http://example.com/", "example.com:80"),
            ("https://example.com/", "example.com:443"),
            ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
            ("http://[::1]:9/", "[::1]:9"),
            ("https://[2001:db8::1]/", "[2001:db8::1]:443"),
            ("http://h.test:65535/", "h.test:65535"),
            ("http://h.test:10/", "h.test:10"),
        ] {
            assert_eq!(host_port(&url::Url::parse(url).unwrap()), want, "{url}");
        }
    }
}
