//! Redirect rules, for following redirects hop by hop so that each hop is
//! its own round trip. The reqwest transport follows them itself; a caller
//! of a transport that does not (the hyper-util one is a `RoundTripper`)
//! uses [`next_hop`] the same way, marking each hop with its resend count.
//!
//! The rules are reqwest's (and browsers'): 303 turns any method but HEAD
//! into GET, 301/302 turn POST into GET, 307/308 keep method and body; the
//! body's framing headers go with the body; `Authorization`, `Cookie`,
//! `Proxy-Authorization` and `WWW-Authenticate` are dropped when a hop
//! leaves the origin; `Referer` is set (when asked) unless leaving HTTPS for
//! HTTP, without userinfo or fragment. Credentials are never taken from a
//! server's `Location`: its userinfo is dropped, so a transport that turns URL
//! userinfo into `Authorization` cannot send what a server asked for. A
//! `Location` that is not a valid request target (`http::Uri` refuses it,
//! for instance past its length limit) is not followed: the redirect is
//! returned as it is, as reqwest does.
//!
//! ```
//! use http::{HeaderMap, Method, StatusCode, header};
//! use httptrace::redirect::{RequestHead, next_hop};
//!
//! let first = RequestHead {
//!     method: Method::POST,
//!     url: url::Url::parse("https://a.example/form").unwrap(),
//!     headers: HeaderMap::new(),
//! };
//! let mut response = HeaderMap::new();
//! response.insert(header::LOCATION, "/done".parse().unwrap());
//! let next = next_hop(&first, StatusCode::SEE_OTHER, &response, true).unwrap();
//! assert_eq!(next.head.method, Method::GET);
//! assert_eq!(next.head.url.as_str(), "https://a.example/done");
//! assert!(!next.resend_body);
//! ```

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

/// What a redirect rule reads and rewrites of a request: all but its body.
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: url::Url,
    /// The headers.
    pub headers: HeaderMap,
}

/// The request a redirect asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NextHop {
    /// Its method, URL and headers.
    pub head: RequestHead,
    /// Whether the previous request's body goes with it (307, 308, and 301
    /// or 302 for anything but POST); otherwise it has none.
    pub resend_body: bool,
}

/// Headers never carried to another origin.
const CROSS_ORIGIN_SENSITIVE: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
    header::WWW_AUTHENTICATE,
];

/// The headers that describe a body, dropped with it.
const BODY_FRAMING: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::TRANSFER_ENCODING,
];

/// True for the statuses that are redirects to follow: 301, 302, 303, 307
/// and 308 (not 300 or 304).
pub fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// The next hop for a response to `previous` with `status` and
/// `response_headers`, or `None` when it is not a redirect to follow (not a
/// redirect status, no usable `Location`, not http or https, not a valid
/// request target). The next URL never carries userinfo. `referer` says
/// whether to set `Referer`.
pub fn next_hop(
    previous: &RequestHead,
    status: StatusCode,
    response_headers: &HeaderMap,
    referer: bool,
) -> Option<NextHop> {
    if !is_redirect(status) {
        return None;
    }
    let location = response_headers.get(header::LOCATION)?.to_str().ok()?;
    let mut url = previous.url.join(location).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // Credentials come from the caller only, never from a server's Location
    // (nor carried over from the previous URL by a relative reference).
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if http::Uri::try_from(url.as_str()).is_err() {
        return None;
    }
    let to_get = match status {
        StatusCode::SEE_OTHER => previous.method != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => previous.method == Method::POST,
        _ => false, // 307, 308: method and body as they were
    };
    let mut head = RequestHead {
        method: previous.method.clone(),
        url,
        headers: previous.headers.clone(),
    };
    if to_get {
        head.method = Method::GET;
        for name in BODY_FRAMING {
            head.headers.remove(name);
        }
    }
    if previous.url.origin() != head.url.origin() {
        for name in CROSS_ORIGIN_SENSITIVE {
            head.headers.remove(name);
        }
    }
    head.headers.remove(header::REFERER);
    if referer && !(previous.url.scheme() == "https" && head.url.scheme() == "http") {
        let mut from = previous.url.clone();
        let _ = from.set_username("");
        let _ = from.set_password(None);
        from.set_fragment(None);
        if let Ok(value) = HeaderValue::from_str(from.as_str()) {
            head.headers.insert(header::REFERER, value);
        }
    }
    Some(NextHop {
        head,
        resend_body: !to_get,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, url: &str) -> RequestHead {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert("x-keep", HeaderValue::from_static("1"));
        RequestHead {
            method,
            url: url::Url::parse(url).unwrap(),
            headers,
        }
    }

    fn location(to: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, HeaderValue::from_str(to).unwrap());
        h
    }

    fn next(r: &RequestHead, status: StatusCode, to: &str) -> Option<NextHop> {
        next_hop(r, status, &location(to), true)
    }

    #[test]
    fn see_other_turns_into_get_without_body() {
        let r = request(Method::PUT, "http://a.test/x");
        let n = next(&r, StatusCode::SEE_OTHER, "/y").unwrap();
        assert_eq!(n.head.method, Method::GET);
        assert!(!n.resend_body);
        assert_eq!(n.head.url.as_str(), "http://a.test/y");
        assert!(n.head.headers.get(header::CONTENT_TYPE).is_none());
        assert!(
            n.head.headers.get(header::AUTHORIZATION).is_some(),
            "same origin"
        );
        assert_eq!(n.head.headers[header::REFERER], "http://a.test/x");
        let head = request(Method::HEAD, "http://a.test/x");
        let n = next(&head, StatusCode::SEE_OTHER, "/y").unwrap();
        assert_eq!(n.head.method, Method::HEAD);
    }

    #[test]
    fn moved_and_found_turn_only_post_into_get() {
        for status in [StatusCode::MOVED_PERMANENTLY, StatusCode::FOUND] {
            let n = next(&request(Method::POST, "http://a.test/x"), status, "/y").unwrap();
            assert_eq!((n.head.method, n.resend_body), (Method::GET, false));
            let n = next(&request(Method::PUT, "http://a.test/x"), status, "/y").unwrap();
            assert_eq!((n.head.method, n.resend_body), (Method::PUT, true));
        }
    }

    #[test]
    fn temporary_and_permanent_redirects_resend_method_and_body() {
        for status in [
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::PERMANENT_REDIRECT,
        ] {
            let n = next(&request(Method::POST, "http://a.test/x"), status, "/y").unwrap();
            assert_eq!((n.head.method, n.resend_body), (Method::POST, true));
            assert_eq!(n.head.headers[header::CONTENT_TYPE], "text/plain");
        }
    }

    #[test]
    fn cross_origin_drops_credentials_and_https_to_http_drops_referer() {
        let r = request(Method::GET, "https://u:p@a.test/x#f");
        let n = next(&r, StatusCode::FOUND, "https://b.test/y").unwrap();
        assert!(n.head.headers.get(header::AUTHORIZATION).is_none());
        assert!(n.head.headers.get(header::COOKIE).is_none());
        assert_eq!(n.head.headers["x-keep"], "1");
        assert_eq!(n.head.headers[header::REFERER], "https://a.test/x");
        let n = next(&r, StatusCode::FOUND, "http://a.test/y").unwrap();
        assert!(n.head.headers.get(header::REFERER).is_none());
        assert!(
            n.head.headers.get(header::AUTHORIZATION).is_none(),
            "another scheme is another origin"
        );
        let n = next_hop(&r, StatusCode::FOUND, &location("/z"), false).unwrap();
        assert!(n.head.headers.get(header::REFERER).is_none(), "not asked");
    }

    #[test]
    fn credentials_are_never_taken_from_the_location() {
        let r = request(Method::GET, "http://a.test/x");
        let n = next(&r, StatusCode::FOUND, "http://evil:pw@b.test/y").unwrap();
        assert_eq!(n.head.url.as_str(), "http://b.test/y");
        let same_origin = next(&r, StatusCode::FOUND, "http://u:p@a.test/y").unwrap();
        assert_eq!(same_origin.head.url.as_str(), "http://a.test/y");
        let with_userinfo = request(Method::GET, "http://u:p@a.test/x");
        let n = next(&with_userinfo, StatusCode::FOUND, "/y").unwrap();
        assert_eq!(n.head.url.as_str(), "http://a.test/y");
        assert!(
            n.head.headers.get(header::AUTHORIZATION).is_some(),
            "the caller's own header stays"
        );
    }

    #[test]
    fn a_location_that_is_no_valid_request_target_is_not_followed() {
        let r = request(Method::GET, "http://a.test/x");
        let long = format!("/{}", "a".repeat(100_000));
        assert!(next(&r, StatusCode::FOUND, &long).is_none());
        assert!(next(&r, StatusCode::FOUND, &long[..1000]).is_some());
    }

    #[test]
    fn not_followed_without_a_usable_location() {
        let r = request(Method::GET, "http://a.test/x");
        assert!(next_hop(&r, StatusCode::FOUND, &HeaderMap::new(), true).is_none());
        assert!(next(&r, StatusCode::OK, "/y").is_none());
        assert!(next(&r, StatusCode::FOUND, "ftp://a.test/").is_none());
        assert!(
            next(&r, StatusCode::NOT_MODIFIED, "/y").is_none(),
            "304 is not a redirect"
        );
    }
}
