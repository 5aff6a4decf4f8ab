//! Following redirects hop by hop for a transport that does not (the
//! hyper-util one is a `RoundTripper`), by the rules the reqwest transport
//! follows too ([`httptrace::redirect`]): at most [`MAX_REDIRECTS`].

use http::header::HeaderMap;
use http::{Method, StatusCode};
use httptrace::redirect::{RequestHead, next_hop};

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
}
