//! What this crate writes, by name: the span event for each hook, and every
//! attribute key with its type, unit and status in semantic conventions
//! v1.44.0.
//!
//! # Hook events
//!
//! The hooks' span events are named in the project's namespace, as the
//! conventions' events guide asks (`{namespace}.{event}`):
//!
//! | hook ([`httptrace::Event::name`]) | span event |
//! |---|---|
//! | `round_trip_start` | `httptrace.round_trip.start` |
//! | `get_conn` | `httptrace.conn.get` |
//! | `dns_start` | `httptrace.dns.start` |
//! | `dns_done` | `httptrace.dns.done` |
//! | `connect_start` | `httptrace.connect.start` |
//! | `connect_done` | `httptrace.connect.done` |
//! | `tls_handshake_start` | `httptrace.tls.start` |
//! | `tls_handshake_done` | `httptrace.tls.done` |
//! | `got_conn` | `httptrace.conn.got` |
//! | `put_idle_conn` | `httptrace.conn.put_idle` |
//! | `wrote_header_field` | `httptrace.request.header_field` |
//! | `wrote_headers` | `httptrace.request.headers_written` |
//! | `wait_100_continue` | `httptrace.request.wait_100_continue` |
//! | `wrote_request` | `httptrace.request.written` |
//! | `got_1xx_response` | `httptrace.response.informational` |
//! | `got_first_response_byte` | `httptrace.response.first_byte` |
//! | `round_trip_done` | `httptrace.round_trip.done` |
//! | `body_done` | `httptrace.response.body_done` |
//!
//! # Attributes
//!
//! [`ATTRIBUTES`] lists every key the crate writes on spans and events
//! (tested: a test walks every attribute the crate emits). "stable" and
//! "development" are the key's status in the semantic conventions registry
//! v1.44.0; "httptrace" is the project's own namespace, used where the
//! registry has no key. No deprecated key is written: an error's message
//! goes on the span's status (the conventions' place for it) and, on a
//! failing hook's event, in `httptrace.error.message`, the project's
//! domain-specific message attribute that replaces the deprecated
//! `error.message`.
//!
//! | key | type | unit | status | where |
//! |---|---|---|---|---|
//! | `http.request.method` | string | | stable | span |
//! | `http.request.method_original` | string | | stable | span |
//! | `http.request.resend_count` | int | | stable | span, `round_trip.start` |
//! | `http.request.header.<name>` | string[] | | stable | span, opted-in names only |
//! | `http.response.header.<name>` | string[] | | stable | span, opted-in names only |
//! | `http.response.status_code` | int | | stable | span, `round_trip.done`, `response.informational` |
//! | `http.request.body.size` | int | By | development | `request.written` |
//! | `url.full` | string | | stable | span, `round_trip.start` |
//! | `url.template` | string | | development | span, when the caller gives one |
//! | `server.address` | string | | stable | span, `tls.start` |
//! | `server.port` | int | | stable | span |
//! | `error.type` | string | | stable | span and failing events |
//! | `network.protocol.version` | string | | stable | span, `conn.got`, `round_trip.done` |
//! | `network.peer.address` | string | | stable | span, connect events, `conn.got` |
//! | `network.peer.port` | int | | stable | span, connect events, `conn.got` |
//! | `network.local.address` | string | | stable | `conn.got` |
//! | `network.local.port` | int | | stable | `conn.got` |
//! | `network.transport` | string | | stable | connect events |
//! | `dns.question.name` | string | | development | DNS events |
//! | `dns.answers` | string[] | | development | `dns.done` |
//! | `tls.protocol.name` | string | | development | `tls.done` |
//! | `tls.protocol.version` | string | | development | `tls.done` |
//! | `tls.next_protocol` | string | | development | `tls.done` |
//! | `tls.resumed` | boolean | | development | `tls.done` |
//! | `tls.server.subject` | string | | development | `tls.done` |
//! | `tls.server.issuer` | string | | development | `tls.done` |
//! | `tls.server.not_before` | string | ISO 8601 | development | `tls.done` |
//! | `tls.server.not_after` | string | ISO 8601 | development | `tls.done` |
//! | `httptrace.error.message` | string | | httptrace | failing events (credentials scrubbed) |
//! | `httptrace.<phase>.duration` | double | s | httptrace | span: `dns`, `connect`, `tls`, `send`, `wait`, `receive` |
//! | `httptrace.conn.reused` | boolean | | httptrace | span, `conn.got` |
//! | `httptrace.conn.was_idle` | boolean | | httptrace | `conn.got` |
//! | `httptrace.conn.idle_time` | double | s | httptrace | `conn.got` |
//! | `httptrace.conn.proxied` | boolean | | httptrace | `conn.got` |
//! | `httptrace.conn.kept` | boolean | | httptrace | `conn.put_idle` |
//! | `httptrace.conn.not_kept_reason` | string | | httptrace | `conn.put_idle`, when the connection cannot be reused (`HTTP/1.0`, `connection: close`): not an error |
//! | `httptrace.dial.spare` | boolean | | httptrace | span and its dial events: a dial the pool started for this round trip, which then got a pooled connection |
//! | `httptrace.dial.outlived_round_trip` | boolean | | httptrace | `dial` span |
//! | `httptrace.dns.coalesced` | boolean | | httptrace | `dns.done` |
//! | `httptrace.tls.server.subject_alt_names` | string[] | | httptrace | `tls.done` |
//! | `httptrace.tls.server.chain_length` | int | | httptrace | `tls.done` |
//! | `httptrace.host_port` | string | | httptrace | `conn.get` |
//! | `httptrace.header.name` | string | | httptrace | `request.header_field` |
//! | `httptrace.header.values` | string[] | | httptrace | `request.header_field`, opted-in names only |
//! | `httptrace.response.body_bytes` | int | By | httptrace | `response.body_done` (after content decoding, so not `http.response.body.size`) |
//! | `httptrace.body.outcome` | string | | httptrace | `response.body_done` |
//!
//! [`check`] tells whether one exported attribute conforms (the end-to-end
//! tests run it on every span they read back from Jaeger).

use httptrace::Event;

/// The span event name for a hook (see the table above).
pub fn event_name(event: &Event) -> &'static str {
    match event {
        Event::RoundTripStart(_) => "httptrace.round_trip.start",
        Event::GetConn(_) => "httptrace.conn.get",
        Event::DnsStart(_) => "httptrace.dns.start",
        Event::DnsDone(_) => "httptrace.dns.done",
        Event::ConnectStart(_) => "httptrace.connect.start",
        Event::ConnectDone(_) => "httptrace.connect.done",
        Event::TlsHandshakeStart(_) => "httptrace.tls.start",
        Event::TlsHandshakeDone(_) => "httptrace.tls.done",
        Event::GotConn(_) => "httptrace.conn.got",
        Event::PutIdleConn(_) => "httptrace.conn.put_idle",
        Event::WroteHeaderField(_) => "httptrace.request.header_field",
        Event::WroteHeaders(_) => "httptrace.request.headers_written",
        Event::Wait100Continue(_) => "httptrace.request.wait_100_continue",
        Event::WroteRequest(_) => "httptrace.request.written",
        Event::Got1xxResponse(_) => "httptrace.response.informational",
        Event::GotFirstResponseByte(_) => "httptrace.response.first_byte",
        Event::RoundTripDone(_) => "httptrace.round_trip.done",
        Event::BodyDone(_) => "httptrace.response.body_done",
        // A hook added to httptrace later: its own name, namespaced.
        _ => "httptrace.hook",
    }
}

/// Each hook's name ([`httptrace::Event::name`]) and its span event's.
pub const EVENT_NAMES: &[(&str, &str)] = &[
    ("round_trip_start", "httptrace.round_trip.start"),
    ("get_conn", "httptrace.conn.get"),
    ("dns_start", "httptrace.dns.start"),
    ("dns_done", "httptrace.dns.done"),
    ("connect_start", "httptrace.connect.start"),
    ("connect_done", "httptrace.connect.done"),
    ("tls_handshake_start", "httptrace.tls.start"),
    ("tls_handshake_done", "httptrace.tls.done"),
    ("got_conn", "httptrace.conn.got"),
    ("put_idle_conn", "httptrace.conn.put_idle"),
    ("wrote_header_field", "httptrace.request.header_field"),
    ("wrote_headers", "httptrace.request.headers_written"),
    ("wait_100_continue", "httptrace.request.wait_100_continue"),
    ("wrote_request", "httptrace.request.written"),
    ("got_1xx_response", "httptrace.response.informational"),
    ("got_first_response_byte", "httptrace.response.first_byte"),
    ("round_trip_done", "httptrace.round_trip.done"),
    ("body_done", "httptrace.response.body_done"),
];

/// The hook a span event reports (`httptrace.dns.start` → `dns_start`), for
/// readers of exported spans (with [`httptrace::Phases::from_names`]).
pub fn hook_name(event_name: &str) -> Option<&'static str> {
    EVENT_NAMES
        .iter()
        .find(|(_, e)| *e == event_name)
        .map(|(hook, _)| *hook)
}

/// An attribute value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A string.
    String,
    /// An integer.
    Int,
    /// A floating-point number.
    Double,
    /// A boolean.
    Boolean,
    /// An array of strings.
    StringArray,
}

/// Where a key stands in semantic conventions v1.44.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A stable key of the registry.
    Stable,
    /// A key of the registry still in development.
    Development,
    /// The project's own namespace (`httptrace.*`): the registry has no key
    /// for it.
    Httptrace,
}

/// One attribute key the crate writes.
#[derive(Clone, Copy, Debug)]
pub struct Attribute {
    /// The key; a trailing `.` stands for a family (`http.request.header.`).
    pub key: &'static str,
    /// Its value's type.
    pub value: ValueType,
    /// Its unit (UCUM), if it has one.
    pub unit: Option<&'static str>,
    /// Its status.
    pub status: Status,
}

const fn attr(key: &'static str, value: ValueType, status: Status) -> Attribute {
    Attribute {
        key,
        value,
        unit: None,
        status,
    }
}

const fn with_unit(
    key: &'static str,
    value: ValueType,
    unit: &'static str,
    status: Status,
) -> Attribute {
    Attribute {
        key,
        value,
        unit: Some(unit),
        status,
    }
}

use Status::{Development, Httptrace, Stable};
use ValueType::{Boolean, Double, Int, String as Str, StringArray};

/// Every attribute key this crate writes on spans and span events (the
/// table above).
pub const ATTRIBUTES: &[Attribute] = &[
    attr("http.request.method", Str, Stable),
    attr("http.request.method_original", Str, Stable),
    attr("http.request.resend_count", Int, Stable),
    attr("http.request.header.", StringArray, Stable),
    attr("http.response.header.", StringArray, Stable),
    attr("http.response.status_code", Int, Stable),
    with_unit("http.request.body.size", Int, "By", Development),
    attr("url.full", Str, Stable),
    attr("url.template", Str, Development),
    attr("server.address", Str, Stable),
    attr("server.port", Int, Stable),
    attr("error.type", Str, Stable),
    attr("network.protocol.version", Str, Stable),
    attr("network.peer.address", Str, Stable),
    attr("network.peer.port", Int, Stable),
    attr("network.local.address", Str, Stable),
    attr("network.local.port", Int, Stable),
    attr("network.transport", Str, Stable),
    attr("dns.question.name", Str, Development),
    attr("dns.answers", StringArray, Development),
    attr("tls.protocol.name", Str, Development),
    attr("tls.protocol.version", Str, Development),
    attr("tls.next_protocol", Str, Development),
    attr("tls.resumed", Boolean, Development),
    attr("tls.server.subject", Str, Development),
    attr("tls.server.issuer", Str, Development),
    with_unit("tls.server.not_before", Str, "ISO 8601", Development),
    with_unit("tls.server.not_after", Str, "ISO 8601", Development),
    attr("httptrace.error.message", Str, Httptrace),
    with_unit("httptrace.dns.duration", Double, "s", Httptrace),
    with_unit("httptrace.connect.duration", Double, "s", Httptrace),
    with_unit("httptrace.tls.duration", Double, "s", Httptrace),
    with_unit("httptrace.send.duration", Double, "s", Httptrace),
    with_unit("httptrace.wait.duration", Double, "s", Httptrace),
    with_unit("httptrace.receive.duration", Double, "s", Httptrace),
    attr("httptrace.conn.reused", Boolean, Httptrace),
    attr("httptrace.conn.was_idle", Boolean, Httptrace),
    with_unit("httptrace.conn.idle_time", Double, "s", Httptrace),
    attr("httptrace.conn.proxied", Boolean, Httptrace),
    attr("httptrace.conn.kept", Boolean, Httptrace),
    attr("httptrace.conn.not_kept_reason", Str, Httptrace),
    attr("httptrace.dial.spare", Boolean, Httptrace),
    attr("httptrace.dial.outlived_round_trip", Boolean, Httptrace),
    attr("httptrace.dns.coalesced", Boolean, Httptrace),
    attr(
        "httptrace.tls.server.subject_alt_names",
        StringArray,
        Httptrace,
    ),
    attr("httptrace.tls.server.chain_length", Int, Httptrace),
    attr("httptrace.host_port", Str, Httptrace),
    attr("httptrace.header.name", Str, Httptrace),
    attr("httptrace.header.values", StringArray, Httptrace),
    with_unit("httptrace.response.body_bytes", Int, "By", Httptrace),
    attr("httptrace.body.outcome", Str, Httptrace),
];

/// The entry of [`ATTRIBUTES`] for `key` (a family's prefix matches its
/// members), if the crate writes it.
pub fn attribute(key: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| {
        a.key == key || (a.key.ends_with('.') && key.starts_with(a.key) && key.len() > a.key.len())
    })
}

/// The type of an OpenTelemetry value, as [`ValueType`] names it (`None`
/// for types the crate never writes).
pub fn value_type(value: &opentelemetry::Value) -> Option<ValueType> {
    use opentelemetry::{Array, Value};
    Some(match value {
        Value::String(_) => ValueType::String,
        Value::I64(_) => ValueType::Int,
        Value::F64(_) => ValueType::Double,
        Value::Bool(_) => ValueType::Boolean,
        Value::Array(Array::String(_)) => ValueType::StringArray,
        _ => return None,
    })
}

/// Keys the semantic conventions deprecated that HTTP instrumentations
/// still write, with their replacement; this crate writes none of them.
pub const DEPRECATED: &[(&str, &str)] = &[
    (
        "error.message",
        "the span status, or a domain-specific message attribute",
    ),
    ("http.method", "http.request.method"),
    ("http.status_code", "http.response.status_code"),
    ("http.url", "url.full"),
    ("http.target", "url.path and url.query"),
    ("http.scheme", "url.scheme"),
    ("http.user_agent", "user_agent.original"),
    ("http.flavor", "network.protocol.version"),
    ("net.peer.name", "server.address"),
    ("net.peer.port", "server.port"),
    ("net.sock.peer.addr", "network.peer.address"),
    ("net.host.name", "server.address"),
    ("tls.client.server_name", "server.address"),
];

/// What the `tracing` → OpenTelemetry bridge adds to a span when asked
/// ([`BridgeDetails`](crate::BridgeDetails)), and nothing by default:
/// keys, and key prefixes ending in `.`.
pub const BRIDGE_DETAILS: &[&str] = &["busy_ns", "idle_ns", "code.", "thread.", "target", "level"];

impl ValueType {
    /// The OTLP `AnyValue` field this type is sent as, without its
    /// `Value` suffix (`string`, `int`, `double`, `bool`, `array`).
    pub fn otlp_name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Double => "double",
            ValueType::Boolean => "bool",
            ValueType::StringArray => "array",
        }
    }
}

/// Checks one exported attribute against the conventions as this crate
/// follows them: not deprecated, not the bridge's clutter, and, for a key
/// this crate writes (also a service's own span, as the demo server's), of
/// the type [`ATTRIBUTES`] gives. `otlp_type` is the `AnyValue` field it
/// came in, as [`ValueType::otlp_name`] names them.
pub fn check(key: &str, otlp_type: &str) -> Result<(), String> {
    if let Some((_, instead)) = DEPRECATED.iter().find(|(k, _)| *k == key) {
        return Err(format!("{key} is deprecated: use {instead}"));
    }
    if BRIDGE_DETAILS
        .iter()
        .any(|d| key == *d || (d.ends_with('.') && key.starts_with(d)))
    {
        return Err(format!(
            "{key} is the tracing bridge's detail, off by default"
        ));
    }
    match attribute(key) {
        Some(a) if a.value.otlp_name() != otlp_type => Err(format!(
            "{key} is a {otlp_type}, the conventions make it a {}",
            a.value.otlp_name()
        )),
        _ => Ok(()),
    }
}

/// Unix seconds as ISO 8601 / RFC 3339 (`2026-12-04T21:12:07Z`), the
/// form of `tls.server.not_before` / `not_after`; the seconds themselves
/// when out of the calendar's range.
pub(crate) fn iso8601(unix_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix_seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_reads_as_the_calendar_does() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_796_418_727), "2026-12-04T21:12:07Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn event_names_are_namespaced_distinct_and_read_back() {
        let mut events: Vec<&str> = EVENT_NAMES.iter().map(|(_, e)| *e).collect();
        events.sort_unstable();
        events.dedup();
        assert_eq!(events.len(), EVENT_NAMES.len());
        for (hook, event) in EVENT_NAMES {
            assert!(event.starts_with("httptrace."), "{event}");
            assert_eq!(hook_name(event), Some(*hook));
        }
        assert_eq!(hook_name("dns_start"), None);
    }

    #[test]
    fn check_names_what_is_wrong() {
        assert!(check("http.response.status_code", "int").is_ok());
        assert!(check("http.response.status_code", "string").is_err());
        assert!(check("error.message", "string").is_err());
        assert!(check("busy_ns", "int").is_err());
        assert!(check("code.file.path", "string").is_err());
        assert!(check("http.request.header.x-id", "array").is_ok());
        assert!(check("work.duration_ms", "int").is_ok(), "not ours");
    }

    #[test]
    fn every_key_is_listed_once_and_namespaced_by_its_status() {
        let mut keys: Vec<&str> = ATTRIBUTES.iter().map(|a| a.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ATTRIBUTES.len(), "a key listed twice");
        for a in ATTRIBUTES {
            assert_eq!(
                a.key.starts_with("httptrace."),
                a.status == Status::Httptrace,
                "{}",
                a.key
            );
        }
    }
}
