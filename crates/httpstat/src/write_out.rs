//! `-w/--write-out`: curl's format language (`%{variable}`, `%header{name}`,
//! `%{json}`, `\n`) over one request's hops, with curl's variable names and
//! meanings (times in seconds, cumulative from the start of each round trip
//! and added up over redirects, as libcurl's `CURLINFO_*_TIME`).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::hop::HopReport;
use crate::shared::Sent;

/// The variables httpstat knows, in curl's spelling.
pub const VARIABLES: &[&str] = &[
    "content_type",
    "errormsg",
    "exitcode",
    "http_code",
    "http_version",
    "local_ip",
    "local_port",
    "method",
    "num_connects",
    "num_redirects",
    "redirect_url",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "speed_download",
    "time_appconnect",
    "time_connect",
    "time_namelookup",
    "time_pretransfer",
    "time_redirect",
    "time_starttransfer",
    "time_total",
    "url",
    "url_effective",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(&'static str),
    Header(String),
    Json,
    /// `%{stdout}` / `%{stderr}`: where the rest goes.
    ToStderr(bool),
}

/// A parsed `-w` format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOut {
    parts: Vec<Part>,
}

/// Parses a `-w` value: the format, or `@FILE` to read it from FILE.
pub fn parse(s: &str) -> Result<WriteOut, String> {
    let text = match s.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?
        }
        None => s.to_string(),
    };
    parse_format(&text)
}

fn parse_format(s: &str) -> Result<WriteOut, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let next = rest[1..].chars().next();
            let (out, used) = match next {
                Some('n') => ('\n', 2),
                Some('r') => ('\r', 2),
                Some('t') => ('\t', 2),
                Some('\\') => ('\\', 2),
                _ => ('\\', 1),
            };
            text.push(out);
            rest = &rest[used..];
        } else if let Some(after) = rest.strip_prefix("%%") {
            text.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%{") {
            let end = after
                .find('}')
                .ok_or_else(|| "'%{' without a closing '}'".to_string())?;
            let name = &after[..end];
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(match name {
                "json" => Part::Json,
                "stdout" => Part::ToStderr(false),
                "stderr" => Part::ToStderr(true),
                _ => Part::Var(
                    VARIABLES
                        .iter()
                        .find(|v| **v == name)
                        .ok_or_else(|| format!("unknown variable '%{{{name}}}'"))?,
                ),
            });
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix("%header{") {
            let end = after
                .find('}')
                .ok_or_else(|| "'%header{' without a closing '}'".to_string())?;
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Header(after[..end].to_ascii_lowercase()));
            rest = &after[end + 1..];
        } else {
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(WriteOut { parts })
}

fn secs(d: Duration) -> f64 {
    // curl prints microseconds.
    d.as_micros() as f64 / 1e6
}

/// Each variable's value for one request: `url` is the URL as given,
/// `exit` the exit status the request ends with.
pub fn variables(sent: &Sent, url: &url::Url, exit: u8) -> Map<String, Value> {
    let hops = &sent.hops;
    let last = hops.last();
    let sum = |f: &dyn Fn(&HopReport) -> Duration| secs(hops.iter().map(f).sum());
    let namelookup = |h: &HopReport| h.ends[0].unwrap_or_default();
    let connect = |h: &HopReport| h.ends[1].unwrap_or_else(|| namelookup(h));
    let appconnect = |h: &HopReport| h.ends[2].unwrap_or_default();
    let pretransfer = |h: &HopReport| {
        let start = h.request_start.unwrap_or_default();
        start.max(connect(h)).max(appconnect(h))
    };
    let starttransfer = |h: &HopReport| h.ends[3].unwrap_or_default();
    let total = |h: &HopReport| h.total.unwrap_or_default();
    let total_secs = sum(&total);
    let redirect = match (
        hops.first().and_then(|h| h.start),
        last.and_then(|h| h.start),
    ) {
        (Some(a), Some(b)) if hops.len() > 1 => secs(b.saturating_duration_since(a)),
        _ => 0.0,
    };
    let status = last.and_then(|h| h.status);
    let headers = last.and_then(|h| h.headers.as_ref().or(sent.final_headers.as_ref()));
    let size = last.and_then(|h| h.body_bytes).unwrap_or(0);
    let remote = last.and_then(|h| h.remote_addr);
    let local = last.and_then(|h| h.local_addr);
    let version = match last.and_then(|h| h.version) {
        Some(http::Version::HTTP_10) => "1.0",
        Some(http::Version::HTTP_11) => "1.1",
        Some(http::Version::HTTP_2) => "2",
        Some(http::Version::HTTP_3) => "3",
        _ => "0",
    };
    let redirect_url = match (last, status, headers) {
        (Some(hop), Some(s), Some(h)) if s.is_redirection() => h
            .get(http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| hop.requested_url()?.join(l).ok())
            .map(|u| crate::redact::url(&u))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put(
        "content_type",
        json!(
            headers
                .and_then(|h| h.get(http::header::CONTENT_TYPE))
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default()
        ),
    );
    put(
        "errormsg",
        json!(
            hops.iter()
                .rev()
                .find_map(|h| h.error.as_ref())
                .map(|e| e.line())
                .unwrap_or_default()
        ),
    );
    put("exitcode", json!(exit));
    let code = status.map_or(0, |s| s.as_u16());
    put("http_code", json!(code));
    put("response_code", json!(code));
    put("http_version", json!(version));
    put(
        "local_ip",
        json!(local.map(|a| a.ip().to_string()).unwrap_or_default()),
    );
    put("local_port", json!(local.map_or(0, |a| a.port())));
    put(
        "method",
        json!(last.map(|h| h.method.clone()).unwrap_or_default()),
    );
    put(
        "num_connects",
        json!(
            hops.iter()
                .filter(|h| !h.conn_reused && h.tcp.is_some())
                .count()
        ),
    );
    put("num_redirects", json!(hops.len().saturating_sub(1)));
    put("redirect_url", json!(redirect_url));
    put(
        "remote_ip",
        json!(remote.map(|a| a.ip().to_string()).unwrap_or_default()),
    );
    put("remote_port", json!(remote.map_or(0, |a| a.port())));
    put("scheme", json!(url.scheme().to_ascii_uppercase()));
    put("size_download", json!(size));
    let speed = if total_secs > 0.0 {
        (size as f64 / total_secs).round() as u64
    } else {
        0
    };
    put("speed_download", json!(speed));
    put("time_appconnect", json!(sum(&appconnect)));
    put("time_connect", json!(sum(&connect)));
    put("time_namelookup", json!(sum(&namelookup)));
    put("time_pretransfer", json!(sum(&pretransfer)));
    put("time_redirect", json!(redirect));
    put("time_starttransfer", json!(sum(&starttransfer)));
    put("time_total", json!(total_secs));
    put("url", json!(crate::redact::url(url)));
    put(
        "url_effective",
        json!(
            last.map(|h| h.url.clone())
                .unwrap_or_else(|| crate::redact::url(url))
        ),
    );
    m
}

fn text(name: &str, value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if name.starts_with("time_") => {
            format!("{:.6}", n.as_f64().unwrap_or(0.0))
        }
        Value::Number(n) if name == "http_code" || name == "response_code" => {
            format!("{:03}", n.as_u64().unwrap_or(0))
        }
        other => other.to_string(),
    }
}

impl WriteOut {
    /// The text for stdout and the text for stderr (`%{stderr}` switches),
    /// with `vars` from [`variables`] and the final response's `headers`
    /// (of the `last` hop, whose URL credentials are redacted in them).
    pub fn render(
        &self,
        vars: &Map<String, Value>,
        last: Option<&HopReport>,
        headers: Option<&http::HeaderMap>,
    ) -> (String, String) {
        let (mut out, mut err) = (String::new(), String::new());
        let mut to_err = false;
        for part in &self.parts {
            let piece = match part {
                Part::Text(t) => t.clone(),
                Part::Var(name) => vars.get(*name).map_or_else(String::new, |v| text(name, v)),
                Part::Header(name) => match (headers, last, http::HeaderName::try_from(name)) {
                    (Some(h), Some(hop), Ok(name)) => h
                        .get_all(&name)
                        .iter()
                        .map(|v| crate::output::header_value(hop, &name, v))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => String::new(),
                },
                Part::Json => Value::Object(vars.clone()).to_string(),
                Part::ToStderr(e) => {
                    to_err = *e;
                    continue;
                }
            };
            if to_err { &mut err } else { &mut out }.push_str(&piece);
        }
        (out, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_like_curl() {
        let w = parse_format("%{http_code} %% %{time_total}\\n\\t%header{X-A}").unwrap();
        assert_eq!(
            w.parts,
            [
                Part::Var("http_code"),
                Part::Text(" % ".into()),
                Part::Var("time_total"),
                Part::Text("\n\t".into()),
                Part::Header("x-a".into()),
            ]
        );
        assert!(parse_format("%{nope}").unwrap_err().contains("'%{nope}'"));
        assert!(parse_format("%{time_total").is_err());
        assert!(parse("@/nonexistent/format").is_err());
    }

    #[test]
    fn values_print_as_curl_prints_them() {
        let mut vars = Map::new();
        vars.insert("time_total".into(), json!(0.0123456));
        vars.insert("http_code".into(), json!(0));
        vars.insert("remote_ip".into(), json!("127.0.0.1"));
        let w = parse_format("%{time_total} %{http_code} %{remote_ip}%{stderr}x").unwrap();
        let (out, err) = w.render(&vars, None, None);
        assert_eq!(out, "0.012346 000 127.0.0.1");
        assert_eq!(err, "x");
    }
}
