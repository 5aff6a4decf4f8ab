//! Pieces of a round trip every transport reports the same way.

pub(crate) fn host_port(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or_default();
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub(crate) fn closes(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
}

/// Header values by name, sensitive ones redacted.
pub(crate) fn grouped(headers: &http::HeaderMap) -> Vec<(http::HeaderName, Vec<String>)> {
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
