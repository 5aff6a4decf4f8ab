//! Mapping hook data to OpenTelemetry HTTP client semantic conventions:
//! method normalisation, protocol versions and the attributes of each
//! hook's span event; `url.full` redaction and which headers may be
//! recorded live in `redact.rs`, re-exported here.

use httptrace::{BodyOutcome, Event, HookError};
use opentelemetry::{Array, KeyValue, StringValue, Value};

pub use crate::redact::{HeaderPolicy, redact_url, redacted_params};

/// The methods the conventions call known by default: RFC 9110's and PATCH
/// (semantic conventions, `docs/http/http-spans.md`, note on
/// `http.request.method`).
pub const DEFAULT_KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

/// The variable that replaces [`DEFAULT_KNOWN_METHODS`]: a comma-separated,
/// case-sensitive list, a full override (not an addition), as the
/// conventions name it.
pub const KNOWN_METHODS_VAR: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

/// The known methods of this process: [`KNOWN_METHODS_VAR`] when set (read
/// once), else [`DEFAULT_KNOWN_METHODS`].
pub fn known_methods() -> &'static [&'static str] {
    static KNOWN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| match std::env::var(KNOWN_METHODS_VAR) {
        // Leaked once per process: the list lives as long as the process.
        Ok(list) => parse_known_methods(Box::leak(list.into_boxed_str())),
        Err(_) => DEFAULT_KNOWN_METHODS.to_vec(),
    })
}

/// The methods of a [`KNOWN_METHODS_VAR`] value: comma-separated, blanks
/// around them ignored, empty entries dropped.
pub fn parse_known_methods(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect()
}

/// `(http.request.method, http.request.method_original if it differs)`.
///
/// Methods outside the process's [`known_methods`] become `_OTHER`; the
/// original goes to `http.request.method_original`.
pub fn method(m: &http::Method) -> (&'static str, Option<String>) {
    method_among(m, known_methods())
}

/// [`method`] against an explicit list of known methods (case-sensitive).
pub fn method_among(m: &http::Method, known: &[&'static str]) -> (&'static str, Option<String>) {
    let s = m.as_str();
    match known.iter().find(|k| **k == s) {
        Some(k) => (k, None),
        None => ("_OTHER", Some(s.to_string())),
    }
}

/// The span name for a method: `{method}`, or `HTTP` when it is `_OTHER`.
pub fn span_name(method: &'static str) -> &'static str {
    if method == "_OTHER" { "HTTP" } else { method }
}

/// `network.protocol.version` for an HTTP version.
pub fn protocol_version(v: http::Version) -> Option<&'static str> {
    Some(match v {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// `tls.protocol.name` / `tls.protocol.version` from rustls' `"TLSv1_3"`,
/// `"TLSv1.3"` or `"TLSv1.3"`-like strings.
pub fn tls_protocol(version: &str) -> (&'static str, String) {
    let v = version.trim();
    for prefix in ["TLSv", "TLS ", "TLS"] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return ("tls", rest.trim().replace('_', "."));
        }
    }
    for prefix in ["SSLv", "SSL"] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return ("ssl", rest.trim().replace('_', "."));
        }
    }
    ("tls", v.to_string())
}

/// An IP address as an attribute value (`network.peer.address`, ...).
///
/// A request on a pooled connection names the same two addresses (peer,
/// local) on every hop, so each thread keeps the last few it wrote and
/// hands out a shared copy: no allocation and no formatting per request
/// (it was two allocations and a format per address, three addresses per
/// request). IPv4 is written digit by digit when it is not cached:
/// `Ipv4Addr`'s `Display` goes through `core::fmt` and cost about 2 300
/// instructions per address (callgrind, pipeline bench). IPv6 keeps
/// `Display` (its compression rules are not worth repeating).
pub fn ip_value(ip: std::net::IpAddr) -> StringValue {
    use std::cell::RefCell;
    use std::net::IpAddr;
    use std::sync::Arc;
    const SLOTS: usize = 4;
    /// The addresses written last on this thread, and the slot to replace
    /// next (the oldest).
    type Recent = ([Option<(IpAddr, Arc<str>)>; SLOTS], usize);
    thread_local! {
        static RECENT: RefCell<Recent> = const { RefCell::new(([const { None }; SLOTS], 0)) };
    }
    let write = |ip: IpAddr| -> Arc<str> {
        match ip {
            IpAddr::V4(v4) => {
                let mut s = String::with_capacity(15);
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        s.push('.');
                    }
                    if octet >= 100 {
                        s.push(char::from(b'0' + octet / 100));
                    }
                    if octet >= 10 {
                        s.push(char::from(b'0' + octet / 10 % 10));
                    }
                    s.push(char::from(b'0' + octet % 10));
                }
                Arc::from(s)
            }
            IpAddr::V6(_) => Arc::from(ip.to_string()),
        }
    };
    let shared = RECENT
        .try_with(|recent| {
            let mut recent = recent.borrow_mut();
            let (slots, next) = &mut *recent;
            if let Some((_, s)) = slots.iter().flatten().find(|(a, _)| *a == ip) {
                return s.clone();
            }
            let s = write(ip);
            slots[*next] = Some((ip, s.clone()));
            *next = (*next + 1) % SLOTS;
            s
        })
        // A thread being torn down: no cache.
        .unwrap_or_else(|_| write(ip));
    StringValue::from(shared)
}

/// A header name as an attribute value: the names requests usually carry
/// without a copy (one `wrote_header_field` event per header, every hop).
fn header_name(name: &http::HeaderName) -> StringValue {
    const COMMON: &[&str] = &[
        "accept",
        "accept-encoding",
        "accept-language",
        "authorization",
        "baggage",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "cookie",
        "host",
        "traceparent",
        "tracestate",
        "user-agent",
    ];
    let s = name.as_str();
    match COMMON.iter().find(|c| **c == s) {
        Some(c) => StringValue::from(*c),
        None => StringValue::from(s.to_string()),
    }
}

/// A failing hook's `error.type` and its message, credentials scrubbed, in
/// `httptrace.error.message` (`error.message` is deprecated; the span's
/// status carries the round trip's message).
fn error_attrs(out: &mut Vec<KeyValue>, e: &HookError, scrub: &dyn Fn(&str) -> String) {
    out.push(KeyValue::new("error.type", e.kind().as_str()));
    out.push(KeyValue::new("httptrace.error.message", scrub(e.message())));
}

fn strings(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(Array::String(
        items.into_iter().map(StringValue::from).collect(),
    ))
}

/// The attributes of the span event for `event`. `scrub` removes
/// credentials from transport error messages; `headers` decides whether a
/// written header's values may be shown (its name always is).
pub fn event_attributes(
    event: &Event,
    headers: &HeaderPolicy,
    redact: &dyn Fn(&url::Url) -> StringValue,
    scrub: &dyn Fn(&str) -> String,
) -> Vec<KeyValue> {
    // Sized for the event's usual attributes (errors add two): one
    // allocation per event, none for the events without attributes.
    let mut a = Vec::with_capacity(match event {
        Event::WroteHeaders(_) | Event::Wait100Continue(_) | Event::GotFirstResponseByte(_) => 0,
        Event::PutIdleConn(e) => 1 + usize::from(e.error.is_some()),
        Event::GetConn(_) | Event::DnsStart(_) | Event::TlsHandshakeStart(_) => 1,
        Event::WroteHeaderField(_) => 2,
        Event::WroteRequest(e) => 1 + 2 * usize::from(e.error.is_some()),
        Event::RoundTripStart(_) => 4,
        Event::GotConn(_) | Event::TlsHandshakeDone(_) => 10,
        _ => 6,
    });
    match event {
        Event::RoundTripStart(e) => {
            let (m, original) = method(&e.method);
            a.push(KeyValue::new("http.request.method", m));
            if let Some(o) = original {
                a.push(KeyValue::new("http.request.method_original", o));
            }
            a.push(KeyValue::new("url.full", redact(&e.url)));
            a.push(KeyValue::new(
                "http.request.resend_count",
                i64::from(e.resend_count),
            ));
        }
        Event::GetConn(e) => a.push(KeyValue::new("httptrace.host_port", e.host_port.clone())),
        Event::DnsStart(e) => a.push(KeyValue::new("dns.question.name", e.host.clone())),
        Event::DnsDone(e) => {
            a.push(KeyValue::new("dns.question.name", e.host.clone()));
            a.push(KeyValue::new(
                "dns.answers",
                Value::Array(Array::String(
                    e.addrs.iter().map(|ip| ip_value(*ip)).collect(),
                )),
            ));
            a.push(KeyValue::new("httptrace.dns.coalesced", e.coalesced));
            if let Some(err) = &e.error {
                error_attrs(&mut a, err, scrub);
            }
        }
        Event::ConnectStart(e) => {
            a.push(KeyValue::new("network.transport", e.network));
            if let Some(addr) = e.addr {
                a.push(KeyValue::new("network.peer.address", ip_value(addr.ip())));
                a.push(KeyValue::new("network.peer.port", i64::from(addr.port())));
            }
        }
        Event::ConnectDone(e) => {
            a.push(KeyValue::new("network.transport", e.network));
            if let Some(addr) = e.addr {
                a.push(KeyValue::new("network.peer.address", ip_value(addr.ip())));
                a.push(KeyValue::new("network.peer.port", i64::from(addr.port())));
            }
            if let Some(err) = &e.error {
                error_attrs(&mut a, err, scrub);
            }
        }
        Event::TlsHandshakeStart(e) => {
            a.push(KeyValue::new("server.address", e.server_name.clone()));
        }
        Event::TlsHandshakeDone(e) => {
            if let Some(state) = &e.state {
                if let Some(v) = &state.version {
                    let (name, version) = tls_protocol(v);
                    a.push(KeyValue::new("tls.protocol.name", name));
                    a.push(KeyValue::new("tls.protocol.version", version));
                }
                if let Some(alpn) = &state.alpn {
                    a.push(KeyValue::new("tls.next_protocol", alpn.clone()));
                }
                a.push(KeyValue::new("tls.resumed", state.resumed));
                if let Some(leaf) = state.peer_certificates.first() {
                    a.push(KeyValue::new("tls.server.subject", leaf.subject.clone()));
                    a.push(KeyValue::new("tls.server.issuer", leaf.issuer.clone()));
                    if !leaf.subject_alt_names.is_empty() {
                        a.push(KeyValue::new(
                            "httptrace.tls.server.subject_alt_names",
                            strings(leaf.subject_alt_names.iter().cloned()),
                        ));
                    }
                    a.push(KeyValue::new(
                        "tls.server.not_before",
                        crate::conventions::iso8601(leaf.not_before),
                    ));
                    a.push(KeyValue::new(
                        "tls.server.not_after",
                        crate::conventions::iso8601(leaf.not_after),
                    ));
                }
                a.push(KeyValue::new(
                    "httptrace.tls.server.chain_length",
                    state.peer_certificates.len() as i64,
                ));
            }
            if let Some(err) = &e.error {
                error_attrs(&mut a, err, scrub);
            }
        }
        Event::GotConn(e) => {
            a.push(KeyValue::new("httptrace.conn.reused", e.reused));
            a.push(KeyValue::new("httptrace.conn.was_idle", e.was_idle));
            if let Some(idle) = e.idle_time {
                a.push(KeyValue::new(
                    "httptrace.conn.idle_time",
                    idle.as_secs_f64(),
                ));
            }
            if let Some(local) = e.local_addr {
                a.push(KeyValue::new("network.local.address", ip_value(local.ip())));
                a.push(KeyValue::new("network.local.port", i64::from(local.port())));
            }
            if let Some(remote) = e.remote_addr {
                a.push(KeyValue::new("network.peer.address", ip_value(remote.ip())));
                a.push(KeyValue::new("network.peer.port", i64::from(remote.port())));
            }
            if let Some(v) = protocol_version(e.protocol) {
                a.push(KeyValue::new("network.protocol.version", v));
            }
            a.push(KeyValue::new("httptrace.conn.proxied", e.proxied));
        }
        // A connection that cannot go back to the pool (HTTP/1.0,
        // `connection: close`) is no error: the reason says why.
        Event::PutIdleConn(e) => {
            a.push(KeyValue::new("httptrace.conn.kept", e.error.is_none()));
            if let Some(why) = &e.error {
                a.push(KeyValue::new(
                    "httptrace.conn.not_kept_reason",
                    why.message().to_string(),
                ));
            }
        }
        Event::WroteHeaderField(e) => {
            a.push(KeyValue::new("httptrace.header.name", header_name(&e.name)));
            if headers.allows(e.name.as_str()) {
                // The transport already replaced sensitive values by REDACTED.
                let name = e.name.as_str();
                a.push(KeyValue::new(
                    "httptrace.header.values",
                    strings(e.values.iter().map(|v| headers.shown_value(name, v))),
                ));
            }
        }
        Event::WroteHeaders(_) | Event::Wait100Continue(_) | Event::GotFirstResponseByte(_) => {}
        Event::WroteRequest(e) => {
            a.push(KeyValue::new("http.request.body.size", e.body_bytes as i64));
            if let Some(err) = &e.error {
                error_attrs(&mut a, err, scrub);
            }
        }
        Event::Got1xxResponse(e) => {
            a.push(KeyValue::new(
                "http.response.status_code",
                i64::from(e.status.as_u16()),
            ));
        }
        Event::RoundTripDone(e) => {
            if let Some(s) = e.status {
                a.push(KeyValue::new(
                    "http.response.status_code",
                    i64::from(s.as_u16()),
                ));
            }
            if let Some(v) = e.version.and_then(protocol_version) {
                a.push(KeyValue::new("network.protocol.version", v));
            }
            if let Some(err) = &e.error {
                error_attrs(&mut a, err, scrub);
            }
        }
        Event::BodyDone(e) => {
            // Bytes after content decoding, so not `http.response.body.size`
            // (which is the size on the wire).
            a.push(KeyValue::new(
                "httptrace.response.body_bytes",
                e.bytes as i64,
            ));
            let outcome = match &e.outcome {
                BodyOutcome::Completed => "completed",
                BodyOutcome::Failed(err) => {
                    error_attrs(&mut a, err, scrub);
                    "failed"
                }
                BodyOutcome::Dropped => "dropped",
                _ => "other",
            };
            a.push(KeyValue::new("httptrace.body.outcome", outcome));
        }
        _ => {}
    }
    a
}

#[cfg(test)]
mod tests {

    #[test]
    fn ip_values_read_as_display_does() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let mut ips: Vec<IpAddr> = [0u8, 1, 9, 10, 99, 100, 127, 200, 255]
            .iter()
            .flat_map(|&a| {
                [0u8, 5, 42, 255]
                    .map(|b| IpAddr::V4(Ipv4Addr::new(a, b, 100 - b % 100, a.wrapping_mul(7))))
            })
            .collect();
        ips.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
        ips.push("2001:db8::ff00:42:8329".parse().unwrap());
        ips.push("::ffff:10.0.0.1".parse().unwrap());
        // Written, then again from the per-thread cache (forwards,
        // backwards, in pairs that stay cached): always `Display`'s text.
        let pairs = ips.windows(2).flat_map(|w| [w[0], w[1], w[0], w[1]]);
        let order: Vec<IpAddr> = ips
            .iter()
            .chain(ips.iter().rev())
            .copied()
            .chain(pairs)
            .collect();
        for ip in order {
            assert_eq!(ip_value(ip).as_str(), ip.to_string());
        }
    }
    use super::*;

    #[test]
    fn the_known_methods_list_is_a_full_case_sensitive_override() {
        let known = parse_known_methods(" GET, QUERY ,,PROPFIND");
        assert_eq!(known, ["GET", "QUERY", "PROPFIND"]);
        let query = http::Method::from_bytes(b"QUERY").unwrap();
        assert_eq!(method_among(&query, &known), ("QUERY", None));
        assert_eq!(
            method_among(&http::Method::POST, &known),
            ("_OTHER", Some("POST".to_string())),
            "a full override: POST is no longer known"
        );
        let lower = http::Method::from_bytes(b"query").unwrap();
        assert_eq!(method_among(&lower, &known).0, "_OTHER");
        assert_eq!(method_among(&query, DEFAULT_KNOWN_METHODS).0, "_OTHER");
    }

    #[test]
    fn methods_are_normalised() {
        assert_eq!(method(&http::Method::GET), ("GET", None));
        assert_eq!(method(&http::Method::PATCH), ("PATCH", None));
        let odd = http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method(&odd), ("_OTHER", Some("PROPFIND".to_string())));
        // Case matters: methods are case-sensitive tokens.
        let lower = http::Method::from_bytes(b"get").unwrap();
        assert_eq!(method(&lower), ("_OTHER", Some("get".to_string())));
        assert_eq!(span_name("_OTHER"), "HTTP");
        assert_eq!(span_name("GET"), "GET");
    }

    #[test]
    fn tls_versions() {
        assert_eq!(tls_protocol("TLSv1_3"), ("tls", "1.3".to_string()));
        assert_eq!(tls_protocol("TLSv1.2"), ("tls", "1.2".to_string()));
        assert_eq!(tls_protocol("weird"), ("tls", "weird".to_string()));
    }
}
