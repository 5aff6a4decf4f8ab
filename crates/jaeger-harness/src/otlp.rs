//! Reading traces back: the OTLP JSON api_v3 returns, flattened into
//! [`Span`]s, and the RFC 3339 times its queries take.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// `t` as RFC 3339 in UTC with nanoseconds (what api_v3 expects).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// One span of a trace read back from Jaeger, flattened from OTLP JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// `service.name` of the span's resource.
    pub service: String,
    /// Trace id, lowercase hex.
    pub trace_id: String,
    /// Span id, lowercase hex.
    pub span_id: String,
    /// Parent span id, empty for a root span.
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// Span kind as the OTLP enum number (3 = CLIENT) or name.
    pub kind: String,
    /// Start, Unix nanoseconds.
    pub start_ns: u64,
    /// End, Unix nanoseconds.
    pub end_ns: u64,
    /// Attributes, values flattened to JSON scalars or arrays.
    pub attributes: BTreeMap<String, Value>,
    /// Each attribute's OTLP type: `string`, `int`, `double`, `bool`,
    /// `array` (JSON alone cannot tell `200` the int from `200.0`).
    pub attribute_types: BTreeMap<String, &'static str>,
    /// Events in the order Jaeger returned them.
    pub events: Vec<SpanEvent>,
    /// Status code as sent (`""` unset, `"STATUS_CODE_ERROR"` or `2` for error).
    pub status_code: String,
    /// Status message.
    pub status_message: String,
}

impl Span {
    /// The attribute as a string, if it is one.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// The attribute as an integer (OTLP JSON carries int64 as strings).
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        self.attributes.get(key).and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// The attribute as a float (OTLP JSON `doubleValue`; an integer too).
    pub fn attr_f64(&self, key: &str) -> Option<f64> {
        self.attributes.get(key).and_then(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// The attribute as a boolean, if it is one.
    pub fn attr_bool(&self, key: &str) -> Option<bool> {
        self.attributes.get(key).and_then(Value::as_bool)
    }

    /// What `check` (key, OTLP type → verdict) finds wrong with the span's
    /// attributes and its events', one line each naming the span.
    pub fn attribute_problems(
        &self,
        check: impl Fn(&str, &str) -> Result<(), String>,
    ) -> Vec<String> {
        let events = self.events.iter().map(|e| (&e.name, &e.attribute_types));
        std::iter::once((&self.name, &self.attribute_types))
            .chain(events)
            .flat_map(|(on, types)| {
                types
                    .iter()
                    .filter_map(|(key, ty)| check(key, ty).err())
                    .map(move |problem| format!("{} / {on}: {problem}", self.name))
            })
            .collect()
    }

    /// True when the status is Error.
    pub fn is_error(&self) -> bool {
        self.status_code == "2" || self.status_code.eq_ignore_ascii_case("STATUS_CODE_ERROR")
    }

    /// The CLIENT kind, as number or name.
    pub fn is_client(&self) -> bool {
        self.kind == "3" || self.kind.eq_ignore_ascii_case("SPAN_KIND_CLIENT")
    }
}

/// One event of a [`Span`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// When, Unix nanoseconds.
    pub time_ns: u64,
    /// Attributes, values flattened.
    pub attributes: BTreeMap<String, Value>,
    /// Each attribute's OTLP type, as [`Span::attribute_types`].
    pub attribute_types: BTreeMap<String, &'static str>,
}

/// The OTLP type of an AnyValue (`{"intValue": ..}` → `int`).
fn value_type(v: &Value) -> &'static str {
    let Some(obj) = v.as_object() else {
        return "unknown";
    };
    for (key, name) in [
        ("stringValue", "string"),
        ("boolValue", "bool"),
        ("intValue", "int"),
        ("doubleValue", "double"),
        ("arrayValue", "array"),
        ("kvlistValue", "kvlist"),
        ("bytesValue", "bytes"),
    ] {
        if obj.contains_key(key) {
            return name;
        }
    }
    "unknown"
}

fn attribute_types(v: Option<&Value>) -> BTreeMap<String, &'static str> {
    v.and_then(Value::as_array)
        .map(|kvs| {
            kvs.iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_string();
                    Some((key, kv.get("value").map_or("unknown", value_type)))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn any_value(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    if let Some(s) = obj.get("stringValue") {
        return s.clone();
    }
    if let Some(b) = obj.get("boolValue") {
        return b.clone();
    }
    if let Some(i) = obj.get("intValue") {
        // int64 is a JSON string in OTLP/JSON.
        return match i {
            Value::String(s) => s
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| i.clone()),
            other => other.clone(),
        };
    }
    if let Some(d) = obj.get("doubleValue") {
        return d.clone();
    }
    if let Some(a) = obj.get("arrayValue") {
        let items = a
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        return Value::Array(items.iter().map(any_value).collect());
    }
    if obj.is_empty() {
        // An empty array/string can come back as `{}`.
        return Value::Null;
    }
    v.clone()
}

fn attributes(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_array)
        .map(|kvs| {
            kvs.iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_string();
                    let value = kv.get("value").map(any_value).unwrap_or(Value::Null);
                    Some((key, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn u64_field(v: &Value, key: &str) -> u64 {
    match v.get(key) {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn string_field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// All spans of an api_v3 answer (`{"result":{"resourceSpans":..}}`, or
/// the bare `{"resourceSpans":..}`), sorted by start time.
pub fn spans(trace: &Value) -> Vec<Span> {
    let root = trace.get("result").unwrap_or(trace);
    let mut out = Vec::new();
    for rs in root
        .get("resourceSpans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let resource = attributes(rs.get("resource").and_then(|r| r.get("attributes")));
        let service = resource
            .get("service.name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for ss in rs
            .get("scopeSpans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for s in ss
                .get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let status = s.get("status").cloned().unwrap_or(Value::Null);
                out.push(Span {
                    service: service.clone(),
                    trace_id: string_field(s, "traceId").to_ascii_lowercase(),
                    span_id: string_field(s, "spanId").to_ascii_lowercase(),
                    parent_span_id: string_field(s, "parentSpanId").to_ascii_lowercase(),
                    name: string_field(s, "name"),
                    kind: string_field(s, "kind"),
                    start_ns: u64_field(s, "startTimeUnixNano"),
                    end_ns: u64_field(s, "endTimeUnixNano"),
                    attributes: attributes(s.get("attributes")),
                    attribute_types: attribute_types(s.get("attributes")),
                    events: s
                        .get("events")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|e| SpanEvent {
                            name: string_field(e, "name"),
                            time_ns: u64_field(e, "timeUnixNano"),
                            attributes: attributes(e.get("attributes")),
                            attribute_types: attribute_types(e.get("attributes")),
                        })
                        .collect(),
                    status_code: string_field(&status, "code"),
                    status_message: string_field(&status, "message"),
                });
            }
        }
    }
    out.sort_by_key(|s| s.start_ns);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_formats_utc() {
        let t = UNIX_EPOCH + Duration::new(1_795_307_573, 531_325_481);
        assert_eq!(rfc3339(t), "2026-11-22T00:32:53.531325481Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn flattens_otlp_json() {
        let v: Value = serde_json::from_str(
            r#"{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
            "scopeSpans":[{"scope":{},"spans":[{"traceId":"AB","spanId":"01","parentSpanId":"02","name":"GET","kind":3,
            "startTimeUnixNano":"10","endTimeUnixNano":"20",
            "attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}},
                          {"key":"h","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}],
            "events":[{"timeUnixNano":"15","name":"dns_start"}],"status":{"code":2,"message":"boom"}}]}]}]}}"#,
        )
        .unwrap();
        let s = spans(&v);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].service, "svc");
        assert_eq!(s[0].trace_id, "ab");
        assert_eq!(s[0].attr_i64("http.response.status_code"), Some(200));
        assert_eq!(s[0].attributes["h"], serde_json::json!(["a"]));
        assert_eq!(s[0].attribute_types["http.response.status_code"], "int");
        assert_eq!(s[0].attribute_types["h"], "array");
        assert!(s[0].is_client() && s[0].is_error());
        assert_eq!(s[0].events[0].time_ns, 15);
    }
}
