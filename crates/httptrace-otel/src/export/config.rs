//! The OTLP transport settings of our traces exporters (`grpc.rs`,
//! `http.rs`), resolved from the program and the `OTEL_EXPORTER_OTLP_*`
//! variables exactly as opentelemetry-otlp 0.33 resolves them
//! (`exporter/mod.rs`, `exporter/tonic/mod.rs`, `exporter/http/mod.rs`): a
//! deployment that configured its exporter keeps every setting when traces
//! go through ours instead. The rules are copied, not reached through its
//! builders, because they keep the resolved values to themselves; they
//! live here, once, with their tests.
//!
//! The variables are read through a lookup (the process environment in
//! service, a map in tests) that returns raw values: opentelemetry-otlp
//! treats an empty value as unset for some variables and not for others,
//! and so does this module.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::export::errors::Signal;

/// Reads a variable's raw value (`None`: unset or not Unicode).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as opentelemetry-otlp reads it.
pub(crate) fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Where a gRPC exporter sends when nothing says otherwise.
pub(crate) const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// Where an HTTP exporter sends when nothing says otherwise (plus the
/// signal's path).
pub(crate) const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// The export timeout when nothing says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn signal_var(signal: Signal, what: &str) -> String {
    format!("OTEL_EXPORTER_OTLP_{}_{what}", signal.env_suffix())
}

/// The export timeout: programmatic, else `OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`,
/// else `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds; a value that does not
/// parse is skipped), else 10 s.
pub(crate) fn timeout(
    lookup: Lookup<'_>,
    signal: Signal,
    programmatic: Option<Duration>,
) -> Duration {
    let ms = |k: &str| lookup(k).and_then(|v| v.parse::<u64>().ok());
    programmatic
        .or_else(|| ms(&signal_var(signal, "TIMEOUT")).map(Duration::from_millis))
        .or_else(|| ms("OTEL_EXPORTER_OTLP_TIMEOUT").map(Duration::from_millis))
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// A gRPC exporter's endpoint and where it came from (`endpoint` for the
/// program's or the default, else the variable's name, for error messages):
/// programmatic, else `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (empty values count as unset; no path is
/// appended, gRPC's path is the method's), else `http://localhost:4317`;
/// then the `INSECURE` rule ([`apply_insecure_scheme`]).
pub(crate) fn grpc_endpoint(
    lookup: Lookup<'_>,
    signal: Signal,
    programmatic: Option<&str>,
) -> (String, String) {
    let (endpoint, source) = endpoint_and_source(
        lookup,
        signal,
        programmatic,
        DEFAULT_GRPC_ENDPOINT,
        str::to_string,
    );
    (
        apply_insecure_scheme(endpoint, insecure(lookup, signal)),
        source,
    )
}

/// An HTTP exporter's endpoint and where it came from (as for gRPC):
/// programmatic (already the full URL: `Setup` appends the signal's path),
/// else `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` as is, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` plus the signal's path (`/v1/traces`), else
/// `http://localhost:4318` plus that path. Empty values count as unset; the
/// `INSECURE` rule is gRPC's only.
pub(crate) fn http_endpoint(
    lookup: Lookup<'_>,
    signal: Signal,
    programmatic: Option<&str>,
) -> (String, String) {
    endpoint_and_source(
        lookup,
        signal,
        programmatic,
        DEFAULT_HTTP_ENDPOINT,
        |base| with_path(base, signal.http_path()),
    )
}

/// The order both protocols take an endpoint in, and where it came from
/// (`endpoint` for the program's or the default, else the variable's name):
/// programmatic, else `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` as is, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, else `default`; empty values count as
/// unset. The general variable and the default go through `finish` (HTTP
/// appends the signal's path there; gRPC keeps them as they are).
fn endpoint_and_source(
    lookup: Lookup<'_>,
    signal: Signal,
    programmatic: Option<&str>,
    default: &str,
    finish: impl Fn(&str) -> String,
) -> (String, String) {
    let specific = signal_var(signal, "ENDPOINT");
    let nonempty = |k: &str| lookup(k).filter(|v| !v.is_empty());
    if let Some(p) = programmatic.filter(|p| !p.is_empty()) {
        (p.to_string(), "endpoint".to_string())
    } else if let Some(e) = nonempty(&specific) {
        (e, specific)
    } else if let Some(e) = nonempty("OTEL_EXPORTER_OTLP_ENDPOINT") {
        (finish(&e), "OTEL_EXPORTER_OTLP_ENDPOINT".to_string())
    } else {
        (finish(default), "endpoint".to_string())
    }
}

/// `base` and `path` joined as opentelemetry-otlp joins them: one `/` of a
/// trailing `/` on `base` dropped, no more.
fn with_path(base: &str, path: &str) -> String {
    match (base.ends_with('/'), path.strip_prefix('/')) {
        (true, Some(rest)) => format!("{base}{rest}"),
        _ => format!("{base}{path}"),
    }
}

/// `OTEL_EXPORTER_OTLP_<SIGNAL>_INSECURE`, else `OTEL_EXPORTER_OTLP_INSECURE`
/// (set but empty counts as set): `true` in any case means insecure.
fn insecure(lookup: Lookup<'_>, signal: Signal) -> bool {
    lookup(&signal_var(signal, "INSECURE"))
        .or_else(|| lookup("OTEL_EXPORTER_OTLP_INSECURE"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The OTLP `INSECURE` rule: an endpoint without a scheme (`://` before any
/// `/`, `?` or `#`) gets `http://` when insecure, else `https://`; one with
/// a scheme is left alone.
fn apply_insecure_scheme(endpoint: String, insecure: bool) -> String {
    let has_scheme = endpoint
        .split_once("://")
        .is_some_and(|(scheme, _)| !scheme.contains(['/', '?', '#']));
    if has_scheme {
        endpoint
    } else if insecure {
        format!("http://{endpoint}")
    } else {
        format!("https://{endpoint}")
    }
}

/// The headers a traces exporter sends (as gRPC metadata, or HTTP headers):
/// a `user-agent` naming this crate (opentelemetry-otlp's names itself),
/// then
/// `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS` if set (even empty), else
/// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas,
/// trimmed, values URL-decoded (kept as written when they do not decode),
/// pairs with an empty key or value and invalid names or values skipped.
/// A variable's header replaces the default of the same name.
pub(crate) fn headers(lookup: Lookup<'_>, signal: Signal) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(concat!("httptrace-otel/", env!("CARGO_PKG_VERSION"))),
    );
    let from_env: HeaderMap = lookup(&signal_var(signal, "HEADERS"))
        .or_else(|| lookup("OTEL_EXPORTER_OTLP_HEADERS"))
        .map(|raw| {
            parse_header_string(&raw)
                .filter_map(|(k, v)| {
                    Some((
                        k.parse::<HeaderName>().ok()?,
                        HeaderValue::from_str(&v).ok()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    headers.extend(from_env);
    headers
}

fn parse_header_string(value: &str) -> impl Iterator<Item = (&str, String)> {
    value.split_terminator(',').map(str::trim).filter_map(|kv| {
        kv.split_once('=')
            .map(|(k, v)| (k.trim(), url_decode(v.trim()).unwrap_or(v.to_string())))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
    })
}

/// Percent-decoding as opentelemetry-otlp does it: `None` when a `%` is not
/// followed by two hex digits or the bytes are not UTF-8.
fn url_decode(value: &str) -> Option<String> {
    let mut result = String::with_capacity(value.len());
    let mut pending = Vec::<u8>::new();
    let mut chars = value.chars();
    loop {
        let ch = chars.next();
        if ch == Some('%') {
            let hex: String = [chars.next()?, chars.next()?].iter().collect();
            pending.push(u8::from_str_radix(&hex, 16).ok()?);
            continue;
        }
        if !pending.is_empty() {
            result.push_str(std::str::from_utf8(&pending).ok()?);
            pending.clear();
        }
        match ch {
            Some(c) => result.push(c),
            None => return Some(result),
        }
    }
}

/// A compression our exporters can apply to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
}

/// What `OTEL_EXPORTER_OTLP_<SIGNAL>_COMPRESSION`, else
/// `OTEL_EXPORTER_OTLP_COMPRESSION`, asks of an exporter, checked in that
/// order (empty counts as unset): `none` is no compression, `gzip` (any
/// case) is gzip; a value that is no algorithm is skipped with a note, as
/// opentelemetry-otlp warns and skips it. `zstd` is an error: this build
/// has no zstd, and where opentelemetry-otlp would warn and send
/// uncompressed, a setting we cannot keep is said, not dropped.
pub(crate) fn compression(
    lookup: Lookup<'_>,
    signal: Signal,
    notes: &mut Vec<String>,
) -> Result<Option<Compression>, String> {
    for name in [
        signal_var(signal, "COMPRESSION"),
        "OTEL_EXPORTER_OTLP_COMPRESSION".into(),
    ] {
        let Some(value) = lookup(&name).filter(|v| !v.is_empty()) else {
            continue;
        };
        match value.to_ascii_lowercase().as_str() {
            "none" => return Ok(None),
            "gzip" => return Ok(Some(Compression::Gzip)),
            "zstd" => {
                return Err(format!(
                    "{name}={value}: zstd compression is not built in; \
                     set `gzip` or `none`, or unset it"
                ));
            }
            _ => notes.push(format!(
                "{name}={value}: unsupported compression algorithm '{value}'; ignored"
            )),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const T: Signal = Signal::Traces;

    #[test]
    fn endpoint_precedence_and_the_insecure_rule() {
        let e = |pairs: &[(&str, &str)], p: Option<&str>| grpc_endpoint(&env(pairs), T, p);
        assert_eq!(
            e(&[], None),
            (DEFAULT_GRPC_ENDPOINT.into(), "endpoint".into())
        );
        let both = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
        ];
        assert_eq!(e(&both, Some("http://prog:1")).0, "http://prog:1");
        assert_eq!(
            e(&both, None),
            (
                "http://traces:4317".into(),
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".into()
            )
        );
        // Empty counts as unset, for the program's value too.
        let empty_specific = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ];
        assert_eq!(e(&empty_specific, Some("")).0, "http://general:4317");
        // No path appended (the metrics one is not read for traces).
        assert_eq!(
            e(
                &[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1")],
                None
            )
            .0,
            DEFAULT_GRPC_ENDPOINT
        );
        // No scheme: https unless insecure; the signal's variable first,
        // even empty.
        assert_eq!(e(&[], Some("c.test:4317")).0, "https://c.test:4317");
        let insecure = [("OTEL_EXPORTER_OTLP_INSECURE", "TRUE")];
        assert_eq!(e(&insecure, Some("c.test:4317")).0, "http://c.test:4317");
        let overridden = [
            ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
            ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", ""),
        ];
        assert_eq!(e(&overridden, Some("c.test:4317")).0, "https://c.test:4317");
        // A scheme wins over INSECURE; `://` after a path is no scheme.
        assert_eq!(e(&insecure, Some("https://c:1")).0, "https://c:1");
        assert_eq!(e(&insecure, Some("unix:///tmp/s")).0, "unix:///tmp/s");
        assert_eq!(e(&insecure, Some("c:1/p://q")).0, "http://c:1/p://q");
    }

    #[test]
    fn timeout_precedence() {
        let t = |pairs: &[(&str, &str)], p| timeout(&env(pairs), T, p);
        assert_eq!(t(&[], None), DEFAULT_TIMEOUT);
        let both = [
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300"),
        ];
        assert_eq!(t(&both, None), Duration::from_millis(300));
        assert_eq!(
            t(&both, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        // A value that does not parse is skipped (no trimming, as theirs).
        let bad = [
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", " 300"),
        ];
        assert_eq!(t(&bad, None), Duration::from_millis(2000));
    }

    #[test]
    fn headers_merge_decode_and_skip() {
        let h = |pairs: &[(&str, &str)]| headers(&env(pairs), T);
        let default = h(&[]);
        assert_eq!(default.len(), 1);
        assert!(
            default[http::header::USER_AGENT]
                .to_str()
                .unwrap()
                .starts_with("httptrace-otel/")
        );
        let got = h(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            " api-key = a%20b%2Cc , X-Tenant=t1,empty=,=v,bad%=x%zz,user-agent=mine, broken",
        )]);
        assert_eq!(got["api-key"], "a b,c");
        assert_eq!(got["x-tenant"], "t1");
        assert_eq!(
            got["bad%"], "x%zz",
            "kept as written when it does not decode"
        );
        assert_eq!(got[http::header::USER_AGENT], "mine");
        assert!(!got.contains_key("empty") && got.len() == 4, "{got:?}");
        // The signal's variable, when set (even empty), is the only one read.
        let specific = [
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2"),
        ];
        let got = h(&specific);
        assert!(got.contains_key("b") && !got.contains_key("a"));
        let got = h(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", ""),
        ]);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn http_endpoint_precedence_and_the_signal_path() {
        let e = |pairs: &[(&str, &str)], p: Option<&str>| http_endpoint(&env(pairs), T, p);
        assert_eq!(
            e(&[], None),
            ("http://localhost:4318/v1/traces".into(), "endpoint".into())
        );
        let both = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:4318/custom",
            ),
        ];
        // The program's is the full URL already; the signal's is used as is.
        assert_eq!(
            e(&both, Some("http://prog:1/v1/traces")).0,
            "http://prog:1/v1/traces"
        );
        assert_eq!(
            e(&both, None),
            (
                "http://traces:4318/custom".into(),
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".into()
            )
        );
        // The general one gets the path, one trailing `/` dropped.
        let general = |v: &str| e(&[("OTEL_EXPORTER_OTLP_ENDPOINT", v)], Some("")).0;
        assert_eq!(general("http://g:4318"), "http://g:4318/v1/traces");
        assert_eq!(general("http://g:4318/"), "http://g:4318/v1/traces");
        assert_eq!(
            general("http://g:4318/otlp//"),
            "http://g:4318/otlp//v1/traces"
        );
        // Empty counts as unset; INSECURE and the metrics variable are not read.
        let ignored = [
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1"),
            ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ];
        assert_eq!(e(&ignored, None).0, "http://localhost:4318/v1/traces");
        assert_eq!(
            e(&ignored, Some("c.test:4318/v1/traces")).0,
            "c.test:4318/v1/traces"
        );
    }

    #[test]
    fn compression_gzip_none_and_what_we_cannot_keep() {
        let c =
            |pairs: &[(&str, &str)], notes: &mut Vec<String>| compression(&env(pairs), T, notes);
        let mut notes = Vec::new();
        assert_eq!(c(&[], &mut notes), Ok(None));
        assert_eq!(
            c(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")], &mut notes),
            Ok(None)
        );
        assert_eq!(
            c(
                &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP")],
                &mut notes
            ),
            Ok(Some(Compression::Gzip))
        );
        let err = c(
            &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")],
            &mut notes,
        )
        .unwrap_err();
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=zstd")
                && err.contains("not built in"),
            "{err}"
        );
        // The signal's `none` wins over the general `gzip`.
        let none_first = [
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ];
        assert_eq!(c(&none_first, &mut notes), Ok(None));
        assert!(notes.is_empty());
        // An unknown value is skipped with a note, and the next one read.
        let unknown = [
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "brotli"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ];
        assert!(c(&unknown, &mut notes).is_err());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("brotli"), "{notes:?}");
    }
}
