//! Following redirects hop by hop for a transport that does not (the
//! hyper-util one is a `RoundTripper`), by the rules the reqwest transport
//! follows too ([`httptrace::redirect`]): at most [`MAX_REDIRECTS`].

use http::header::{self, HeaderMap};
use http::{Method, StatusCode};
use httptrace::redirect::{RequestHead, is_redirect, next_hop};

/// How many redirects `-L` follows (as the reqwest transport's default and
/// curl's `--max-redirs` in httpstat); one more is a `redirect` failure.
pub const MAX_REDIRECTS: u32 = 10;

/// One hop's request, as httpstat sends it: URL userinfo (if any) is moved
/// into a basic `Authorization` header when the request is built.
#[derive(Clone, Debug)]
pub struct HopRequest {
    /// The method.
    pub method: Method,
    /// The URL, possibly with userinfo.
    pub url: url::Url,
    /// The headers (`-H`, content type, user agent, referer, ...).
    pub headers: HeaderMap,
    /// The body, replayed on 307/308.
    pub body: Option<bytes::Bytes>,
}

impl HopRequest {
    /// The next hop's request for a response with `status` and
    /// `response_headers`, or `None` when it is not a redirect to follow (not
    /// a redirect status, no usable `Location`, not http(s)).
    pub fn next(&self, status: StatusCode, response_headers: &HeaderMap) -> Option<HopRequest> {
        let head = RequestHead {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
        };
        let next = next_hop(&head, status, response_headers, true)?;
        Some(HopRequest {
            method: next.head.method,
            url: next.head.url,
            headers: next.head.headers,
            body: self.body.clone().filter(|_| next.resend_body),
        })
    }
}

/// Why a response with a redirect status (301, 302, 303, 307, 308) to a
/// request for `url` cannot be followed, or `None` when it is not a redirect
/// status or the rules ([`next_hop`]) follow it: no `Location`, one that is
/// not text, cannot be parsed, is not http(s), or is not a valid request
/// target. Never quotes the `Location`'s credentials (it names only a
/// parsable target, without userinfo, cut to 100 characters).
pub fn unfollowable(url: &url::Url, status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if !is_redirect(status) {
        return None;
    }
    let head = RequestHead {
        method: Method::GET,
        url: url.clone(),
        headers: HeaderMap::new(),
    };
    if next_hop(&head, status, headers, false).is_some() {
        return None;
    }
    let Some(location) = headers.get(header::LOCATION) else {
        return Some("the response has no Location header".to_string());
    };
    let Ok(location) = location.to_str() else {
        return Some("its Location header is not ASCII text".to_string());
    };
    let mut target = match url.join(location) {
        Ok(target) => target,
        Err(e) => return Some(format!("its Location cannot be parsed as a URL: {e}")),
    };
    let _ = target.set_username("");
    let _ = target.set_password(None);
    let shown = shorten(target.as_str());
    if !matches!(target.scheme(), "http" | "https") {
        let scheme = target.scheme();
        return Some(format!(
            "its Location {shown} is a {scheme}: URL, not http or https"
        ));
    }
    let why = match http::Uri::try_from(target.as_str()) {
        Err(e) => e.to_string(),
        Ok(_) => "refused by the redirect rules".to_string(),
    };
    Some(format!(
        "its Location {shown} ({} bytes) is not a valid request target: {why}",
        location.len()
    ))
}

/// `s` cut to 100 characters, with `...` when cut.
fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{self, HeaderValue};

    fn post(url: &str) -> HopRequest {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        HopRequest {
            method: Method::POST,
            url: url::Url::parse(url).unwrap(),
            headers,
            body: Some(bytes::Bytes::from_static(b"data")),
        }
    }

    fn location(to: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, HeaderValue::from_str(to).unwrap());
        h
    }

    // The rules themselves are tested in `httptrace::redirect`; here, that
    // the body follows them.
    #[test]
    fn the_body_goes_only_where_the_rules_resend_it() {
        let r = post("http://a.test/x");
        let next = r.next(StatusCode::SEE_OTHER, &location("/y")).unwrap();
        assert_eq!((next.method, next.body), (Method::GET, None));
        let next = r
            .next(StatusCode::TEMPORARY_REDIRECT, &location("/y"))
            .unwrap();
        assert_eq!(next.method, Method::POST);
        assert_eq!(next.body.as_deref(), Some(&b"data"[..]));
        assert_eq!(next.url.as_str(), "http://a.test/y");
        assert_eq!(next.headers[header::REFERER], "http://a.test/x");
        assert!(r.next(StatusCode::OK, &location("/y")).is_none());
    }

    #[test]
    fn unfollowable_says_why() {
        let url = url::Url::parse("http://a.test/x").unwrap();
        let why = |status: u16, headers: &HeaderMap| {
            unfollowable(&url, StatusCode::from_u16(status).unwrap(), headers)
        };
        assert_eq!(why(302, &location("/y")), None, "followable");
        assert_eq!(why(304, &location("ftp://b/")), None, "not a redirect");
        assert_eq!(why(300, &HeaderMap::new()), None, "not a redirect");
        assert_eq!(
            why(302, &HeaderMap::new()).unwrap(),
            "the response has no Location header"
        );
        let bad = why(301, &location("http://[::1")).unwrap();
        assert!(
            bad.starts_with("its Location cannot be parsed as a URL: "),
            "{bad}"
        );
        let ftp = why(307, &location("ftp://u:secret@b.test/f")).unwrap();
        assert_eq!(
            ftp,
            "its Location ftp://b.test/f is a ftp: URL, not http or https"
        );
        let long = why(302, &location(&format!("/{}", "a".repeat(100_000)))).unwrap();
        assert!(
            long.contains("(100001 bytes) is not a valid request target"),
            "{long}"
        );
        assert!(long.len() < 300, "{long}");
    }
}
