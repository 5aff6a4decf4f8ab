//! Keeping credentials out of what is recorded: `url.full` and URL-valued
//! headers with userinfo and signed query values redacted, and which
//! headers may be recorded at all ([`HeaderPolicy`]). Re-exported from
//! [`crate::attrs`].

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;

use opentelemetry::{Array, KeyValue, StringValue, Value};

/// Query parameters whose values `url.full` never shows (semantic conventions
/// v1.3x list, compared case-insensitively).
pub const DEFAULT_REDACTED_QUERY_PARAMS: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
];

/// Request/response headers never recorded, whatever the configuration says.
pub const NEVER_RECORDED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// `url.full` with credentials removed: userinfo becomes
/// `REDACTED:REDACTED`, and the values of the listed query parameters
/// (matched case-insensitively after percent-decoding the name) become
/// `REDACTED`. The rest of the URL is kept byte for byte.
pub fn redact_url<'u>(url: &'u url::Url, redacted_params: &HashSet<String>) -> Cow<'u, str> {
    let userinfo = !url.username().is_empty() || url.password().is_some();
    let query = url.query().and_then(|q| redact_query(q, redacted_params));
    if !userinfo && query.is_none() {
        return Cow::Borrowed(url.as_str()); // nothing to hide
    }
    let mut u = url.clone();
    if userinfo {
        // Only fails for URLs that cannot have credentials (then there are none).
        let _ = u.set_username("REDACTED");
        let _ = u.set_password(Some("REDACTED"));
    }
    if let Some(query) = query {
        u.set_query(Some(&query));
    }
    Cow::Owned(u.into())
}

/// The query with the listed parameters' values replaced by `REDACTED`, or
/// `None` when nothing had to change.
fn redact_query(query: &str, redacted_params: &HashSet<String>) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    let mut changed = false;
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let (name, value) = match pair.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (pair, None),
        };
        let decoded: String = url::form_urlencoded::parse(name.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        if value.is_some() && redacted_params.contains(&decoded.to_ascii_lowercase()) {
            let _ = write!(out, "{name}=REDACTED");
            changed = true;
        } else {
            out.push_str(pair);
        }
    }
    changed.then_some(out)
}

/// Headers whose values are URLs (absolute or relative references): when
/// recorded, they get exactly `url.full`'s redaction, so opting one in never
/// shows what `url.full` hides.
pub const URL_VALUED_HEADERS: &[&str] = &["location", "content-location", "referer", "origin"];

/// A header value that is a URL or a relative reference, redacted as
/// [`redact_url`] redacts `url.full`: userinfo of absolute and
/// scheme-relative (`//user:pass@host/`) references, and the listed query
/// parameters of any reference.
pub fn redact_url_value(value: &str, redacted_params: &HashSet<String>) -> String {
    if let Ok(url) = url::Url::parse(value) {
        return redact_url(&url, redacted_params).into_owned();
    }
    if let Some(rest) = value.strip_prefix("//") {
        // Scheme-relative: it has an authority, so it may carry userinfo.
        if let Ok(url) = url::Url::parse(&format!("http://{rest}")) {
            let redacted = redact_url(&url, redacted_params);
            return redacted
                .strip_prefix("http:")
                .unwrap_or(&redacted)
                .to_string();
        }
    }
    // A path-relative reference: only its query can carry secrets.
    let (before_fragment, fragment) = match value.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (value, None),
    };
    let Some((path, query)) = before_fragment.split_once('?') else {
        return value.to_string();
    };
    let Some(query) = redact_query(query, redacted_params) else {
        return value.to_string();
    };
    let mut out = format!("{path}?{query}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Lowercased set of the default redacted query parameters plus `extra`.
pub fn redacted_params(extra: &[String]) -> HashSet<String> {
    DEFAULT_REDACTED_QUERY_PARAMS
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .chain(extra.iter().map(|s| s.to_ascii_lowercase()))
        .collect()
}

/// Which headers may be recorded: the opted-in names minus the never-recorded
/// ones and the user's sensitive list.
#[derive(Clone, Debug, Default)]
pub struct HeaderPolicy {
    record: HashSet<String>,
    sensitive: HashSet<String>,
    /// Query parameters redacted in URL-valued headers, as in `url.full`.
    redacted_params: HashSet<String>,
}

impl HeaderPolicy {
    /// A policy recording `record` (lowercased), never `sensitive`.
    pub fn new(record: &[String], sensitive: &[String]) -> Self {
        let sensitive: HashSet<String> = NEVER_RECORDED_HEADERS
            .iter()
            .map(|s| s.to_string())
            .chain(sensitive.iter().map(|s| s.to_ascii_lowercase()))
            .collect();
        let record = record
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| !sensitive.contains(s))
            .collect();
        HeaderPolicy {
            record,
            sensitive,
            redacted_params: redacted_params(&[]),
        }
    }

    /// Redacts these (lowercased) query parameters in URL-valued headers
    /// ([`URL_VALUED_HEADERS`]), as `url.full` does; the default is
    /// [`DEFAULT_REDACTED_QUERY_PARAMS`].
    pub fn with_redacted_params(mut self, params: HashSet<String>) -> Self {
        self.redacted_params = params;
        self
    }

    /// A recorded value of header `name` as it may be shown: URL-valued
    /// headers get `url.full`'s redaction.
    pub fn shown_value(&self, name: &str, value: &str) -> String {
        if URL_VALUED_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            redact_url_value(value, &self.redacted_params)
        } else {
            value.to_string()
        }
    }

    /// True when this header's values may be recorded.
    pub fn allows(&self, name: &str) -> bool {
        if self.record.is_empty() {
            return false; // nothing opted in: no lowercased copy to make
        }
        let lower = name.to_ascii_lowercase();
        self.record.contains(&lower) && !self.sensitive.contains(&lower)
    }

    /// True when nothing is opted in.
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }

    /// `http.request.header.<name>` attributes (string arrays) for the
    /// allowed headers of `headers`. Values marked sensitive are skipped.
    pub fn request_attributes(&self, headers: &http::HeaderMap) -> Vec<KeyValue> {
        self.attributes("http.request.header", headers)
    }

    /// `http.response.header.<name>` attributes, as [`Self::request_attributes`].
    pub fn response_attributes(&self, headers: &http::HeaderMap) -> Vec<KeyValue> {
        self.attributes("http.response.header", headers)
    }

    fn attributes(&self, prefix: &str, headers: &http::HeaderMap) -> Vec<KeyValue> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for name in headers.keys() {
            if !self.allows(name.as_str()) {
                continue;
            }
            let values: Vec<StringValue> = headers
                .get_all(name)
                .iter()
                .filter(|v| !v.is_sensitive())
                .map(|v| {
                    let shown =
                        self.shown_value(name.as_str(), &String::from_utf8_lossy(v.as_bytes()));
                    shown.into()
                })
                .collect();
            if values.is_empty() {
                continue;
            }
            out.push(KeyValue::new(
                format!("{prefix}.{}", name.as_str()),
                Value::Array(Array::String(values)),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::{Array, StringValue, Value};

    fn strings(items: impl IntoIterator<Item = String>) -> Value {
        Value::Array(Array::String(
            items.into_iter().map(StringValue::from).collect(),
        ))
    }

    fn r(url: &str) -> String {
        redact_url(
            &url::Url::parse(url).unwrap(),
            &redacted_params(&["token".into()]),
        )
        .into_owned()
    }

    #[test]
    fn url_valued_headers_get_url_full_redaction() {
        let p = HeaderPolicy::new(&["location".into(), "x-other".into()], &[]);
        assert_eq!(
            p.shown_value("Location", "https://u:pw@h.test/a?sig=S&x=1"),
            "https://REDACTED:REDACTED@h.test/a?sig=REDACTED&x=1"
        );
        assert_eq!(
            p.shown_value("location", "//u:pw@h.test/a?Signature=S"),
            "//REDACTED:REDACTED@h.test/a?Signature=REDACTED"
        );
        assert_eq!(
            p.shown_value("location", "/next?X-Amz-Credential=S&b=2#f?sig=1"),
            "/next?X-Amz-Credential=REDACTED&b=2#f?sig=1"
        );
        assert_eq!(p.shown_value("location", "/plain"), "/plain");
        assert_eq!(
            p.shown_value("x-other", "https://u:pw@h.test/"),
            "https://u:pw@h.test/",
            "only URL-valued headers are parsed as URLs"
        );
        let custom = p.with_redacted_params(redacted_params(&["token".into()]));
        assert_eq!(
            custom.shown_value("referer", "http://h.test/?token=T"),
            "http://h.test/?token=REDACTED"
        );
    }

    #[test]
    fn userinfo_is_redacted() {
        assert_eq!(
            r("https://user:pw@example.com/a"),
            "https://REDACTED:REDACTED@example.com/a"
        );
        assert_eq!(
            r("https://user@example.com/a"),
            "https://REDACTED:REDACTED@example.com/a"
        );
        assert_eq!(
            r("https://:pw@example.com/a"),
            "https://REDACTED:REDACTED@example.com/a"
        );
        assert_eq!(
            r("https://example.com:8443/a?b=c#f"),
            "https://example.com:8443/a?b=c#f"
        );
    }

    #[test]
    fn signed_query_values_are_redacted() {
        assert_eq!(
            r(
                "https://s3.example.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&x=1"
            ),
            "https://s3.example.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&x=1"
        );
        assert_eq!(
            r(
                "https://e.com/?AWSAccessKeyId=a&Signature=b&sig=c&X-Goog-Signature=d&X-Amz-Security-Token=e"
            ),
            "https://e.com/?AWSAccessKeyId=REDACTED&Signature=REDACTED&sig=REDACTED&X-Goog-Signature=REDACTED&X-Amz-Security-Token=REDACTED"
        );
        // Case-insensitive, user-listed keys, percent-encoded names, bare keys.
        assert_eq!(
            r("https://e.com/?SIG=1&Token=2&flag&%73ig=3"),
            "https://e.com/?SIG=REDACTED&Token=REDACTED&flag&%73ig=REDACTED"
        );
        assert_eq!(
            r("https://e.com/?signature2=x"),
            "https://e.com/?signature2=x"
        );
    }

    #[test]
    fn header_policy_never_allows_credentials() {
        let p = HeaderPolicy::new(
            &[
                "X-Request-Id".into(),
                "Authorization".into(),
                "cookie".into(),
                "x-api-key".into(),
            ],
            &["X-API-Key".into()],
        );
        assert!(p.allows("x-request-id"));
        assert!(!p.allows("authorization"));
        assert!(!p.allows("Cookie"));
        assert!(!p.allows("x-api-key"));
        assert!(!p.allows("accept"));
        let mut h = http::HeaderMap::new();
        h.insert("x-request-id", "r1".parse().unwrap());
        h.append("x-request-id", "r2".parse().unwrap());
        h.insert("authorization", "Bearer s3cr3t".parse().unwrap());
        h.insert("cookie", "a=b".parse().unwrap());
        let attrs = p.request_attributes(&h);
        assert_eq!(attrs.len(), 1);
        assert_eq!(attrs[0].key.as_str(), "http.request.header.x-request-id");
        assert_eq!(
            attrs[0].value,
            strings(["r1".to_string(), "r2".to_string()])
        );
    }
}
