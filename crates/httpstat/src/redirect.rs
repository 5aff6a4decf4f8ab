//! Following redirects hop by hop for a transport that does not (the
//! hyper-util one is a `RoundTripper`): the same rules as the reqwest
//! transport's `Config::redirect`, which are reqwest's and browsers'.
//!
//! 303 turns any method but HEAD into GET and drops the body, 301/302 turn
//! POST into GET, 307/308 resend method and body; `Authorization`, `Cookie`
//! and the like are dropped when a hop leaves the origin; `Referer` is set
//! unless leaving HTTPS for HTTP; at most [`MAX_REDIRECTS`] are followed.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

/// How many redirects `-L` follows (as the reqwest transport's default and
/// curl's `--max-redirs` in httpstat); one more is a `redirect` failure.
pub const MAX_REDIRECTS: u32 = 10;

/// Headers never carried to another origin.
const CROSS_ORIGIN_SENSITIVE: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
    header::WWW_AUTHENTICATE,
];

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

/// True for the statuses `-L` follows.
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

impl HopRequest {
    /// The next hop's request for a response with `status` and
    /// `response_headers`, or `None` when it is not a redirect to follow (not
    /// a redirect status, no usable `Location`, not http(s)).
    pub fn next(&self, status: StatusCode, response_headers: &HeaderMap) -> Option<HopRequest> {
        if !is_redirect(status) {
            return None;
        }
        let location = response_headers.get(header::LOCATION)?.to_str().ok()?;
        let next_url = self.url.join(location).ok()?;
        if !matches!(next_url.scheme(), "http" | "https") {
            return None;
        }
        let mut next = self.clone();
        let to_get = match status {
            StatusCode::SEE_OTHER => next.method != Method::HEAD,
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => next.method == Method::POST,
            _ => false, // 307, 308: method and body as they were
        };
        if to_get {
            next.method = Method::GET;
            next.body = None;
            for name in [
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
                header::CONTENT_ENCODING,
                header::TRANSFER_ENCODING,
            ] {
                next.headers.remove(name);
            }
        }
        if self.url.origin() != next_url.origin() {
            for name in CROSS_ORIGIN_SENSITIVE {
                next.headers.remove(name);
            }
        }
        next.headers.remove(header::REFERER);
        if !(self.url.scheme() == "https" && next_url.scheme() == "http") {
            let mut referer = self.url.clone();
            let _ = referer.set_username("");
            let _ = referer.set_password(None);
            referer.set_fragment(None);
            if let Ok(value) = HeaderValue::from_str(referer.as_str()) {
                next.headers.insert(header::REFERER, value);
            }
        }
        next.url = next_url;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, url: &str) -> HopRequest {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert("x-keep", HeaderValue::from_static("1"));
        HopRequest {
            method,
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

    #[test]
    fn see_other_turns_into_get_without_body() {
        let r = request(Method::PUT, "http://a.test/x");
        let next = r.next(StatusCode::SEE_OTHER, &location("/y")).unwrap();
        assert_eq!(next.method, Method::GET);
        assert_eq!(next.body, None);
        assert_eq!(next.url.as_str(), "http://a.test/y");
        assert!(next.headers.get(header::CONTENT_TYPE).is_none());
        assert!(
            next.headers.get(header::AUTHORIZATION).is_some(),
            "same origin"
        );
        assert_eq!(next.headers[header::REFERER], "http://a.test/x");
        let head = request(Method::HEAD, "http://a.test/x");
        let next = head.next(StatusCode::SEE_OTHER, &location("/y")).unwrap();
        assert_eq!(next.method, Method::HEAD);
    }

    #[test]
    fn found_turns_only_post_into_get() {
        let post = request(Method::POST, "http://a.test/x");
        let next = post.next(StatusCode::FOUND, &location("/y")).unwrap();
        assert_eq!(next.method, Method::GET);
        assert_eq!(next.body, None);
        let put = request(Method::PUT, "http://a.test/x");
        let next = put
            .next(StatusCode::MOVED_PERMANENTLY, &location("/y"))
            .unwrap();
        assert_eq!(next.method, Method::PUT);
        assert!(next.body.is_some());
    }

    #[test]
    fn temporary_and_permanent_redirects_resend_method_and_body() {
        for status in [
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::PERMANENT_REDIRECT,
        ] {
            let r = request(Method::POST, "http://a.test/x");
            let next = r.next(status, &location("/y")).unwrap();
            assert_eq!(next.method, Method::POST);
            assert_eq!(next.body.as_deref(), Some(&b"data"[..]));
            assert_eq!(next.headers[header::CONTENT_TYPE], "text/plain");
        }
    }

    #[test]
    fn cross_origin_drops_credentials_and_https_to_http_drops_referer() {
        let r = request(Method::GET, "https://u:p@a.test/x#f");
        let next = r
            .next(StatusCode::FOUND, &location("https://b.test/y"))
            .unwrap();
        assert!(next.headers.get(header::AUTHORIZATION).is_none());
        assert!(next.headers.get(header::COOKIE).is_none());
        assert_eq!(next.headers["x-keep"], "1");
        assert_eq!(next.headers[header::REFERER], "https://a.test/x");
        let next = r
            .next(StatusCode::FOUND, &location("http://a.test/y"))
            .unwrap();
        assert!(next.headers.get(header::REFERER).is_none());
        assert!(
            next.headers.get(header::AUTHORIZATION).is_none(),
            "another scheme is another origin"
        );
    }

    #[test]
    fn not_followed_without_a_usable_location() {
        let r = request(Method::GET, "http://a.test/x");
        assert!(r.next(StatusCode::FOUND, &HeaderMap::new()).is_none());
        assert!(r.next(StatusCode::OK, &location("/y")).is_none());
        assert!(
            r.next(StatusCode::FOUND, &location("ftp://a.test/"))
                .is_none()
        );
        assert!(
            r.next(StatusCode::NOT_MODIFIED, &location("/y")).is_none(),
            "304 is not a redirect"
        );
    }
}
