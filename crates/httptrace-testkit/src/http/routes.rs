//! The built-in routes of [`TestServer::http`](super::TestServer::http)
//! (listed in the module docs of `http`).

use ::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, LOCATION};
use std::time::Duration;

use ::http::{Request, Response, StatusCode, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::bodies::{AbortBody, PatternBody, SlowBody};
use super::handler::{ConnInfo, TestBody, full_body};

pub(super) fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<TestBody> {
    let mut resp = Response::new(full_body(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn redirect(status: StatusCode, location: &str) -> Response<TestBody> {
    match HeaderValue::from_str(location) {
        Ok(loc) => {
            let mut resp = text(status, format!("redirecting to {location}"));
            resp.headers_mut().insert(LOCATION, loc);
            resp
        }
        Err(_) => text(StatusCode::BAD_REQUEST, "invalid redirect target"),
    }
}

fn request_authority(req: &Request<Incoming>, info: Option<&ConnInfo>) -> String {
    if let Some(a) = req.uri().authority() {
        return a.to_string();
    }
    if let Some(h) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) {
        return h.to_string();
    }
    // Should not happen with real clients; fall back to the socket address.
    match info {
        Some(i) => i.local.to_string(),
        None => "127.0.0.1".to_string(),
    }
}

pub(super) async fn routes(req: Request<Incoming>) -> Response<TestBody> {
    let info = req.extensions().get::<ConnInfo>().copied();
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        [""] => text(StatusCode::OK, "hello"),
        ["status", code] => match code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(status) if !status.is_informational() => {
                text(status, format!("status {}", status.as_u16()))
            }
            _ => text(StatusCode::BAD_REQUEST, "bad status code"),
        },
        ["redirect", n] => match n.parse::<u64>() {
            Ok(0) => text(StatusCode::OK, "done"),
            Ok(n) => redirect(StatusCode::FOUND, &format!("/redirect/{}", n - 1)),
            Err(_) => text(StatusCode::BAD_REQUEST, "bad redirect count"),
        },
        ["redirect-abs", n] => match n.parse::<u64>() {
            Ok(0) => text(StatusCode::OK, "done"),
            Ok(n) => {
                let scheme = if info.is_some_and(|i| i.tls) {
                    "https"
                } else {
                    "http"
                };
                let host = request_authority(&req, info.as_ref());
                redirect(
                    StatusCode::FOUND,
                    &format!("{scheme}://{host}/redirect-abs/{}", n - 1),
                )
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad redirect count"),
        },
        ["redirect-303"] => redirect(StatusCode::SEE_OTHER, "/echo"),
        ["redirect-307"] => redirect(StatusCode::TEMPORARY_REDIRECT, "/echo"),
        ["redirect-308"] => redirect(StatusCode::PERMANENT_REDIRECT, "/echo"),
        ["redirect-loop"] => redirect(StatusCode::FOUND, "/redirect-loop"),
        ["redirect-to"] => redirect_to(&req),
        ["echo"] => echo(req, info).await,
        ["delay", ms] => match ms.parse::<u64>() {
            Ok(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                text(StatusCode::OK, "ok")
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad delay"),
        },
        ["bytes", n] => match n.parse::<u64>() {
            Ok(n) => {
                let mut resp = Response::new(PatternBody { offset: 0, len: n }.boxed_unsync());
                resp.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(n));
                resp.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                resp
            }
            Err(_) => text(StatusCode::BAD_REQUEST, "bad length"),
        },
        ["slow-body", chunks, ms] => match (chunks.parse::<u32>(), ms.parse::<u64>()) {
            (Ok(chunks), Ok(ms)) => Response::new(
                SlowBody {
                    remaining: chunks,
                    interval: Duration::from_millis(ms),
                    sleep: None,
                }
                .boxed_unsync(),
            ),
            _ => text(StatusCode::BAD_REQUEST, "bad slow-body parameters"),
        },
        ["abort-mid-body"] => {
            let mut resp = Response::new(
                AbortBody {
                    sent: false,
                    sleep: None,
                }
                .boxed_unsync(),
            );
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(100_000u32));
            resp
        }
        ["close"] => {
            let mut resp = text(StatusCode::OK, "bye");
            if req.version() < Version::HTTP_2 {
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            resp
        }
        ["continue"] => match read_body(req.into_body()).await {
            Ok(body) => text(StatusCode::OK, body.len().to_string()),
            Err(resp) => resp,
        },
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

const MAX_BODY: usize = 64 * 1024 * 1024;

async fn read_body(body: Incoming) -> Result<Bytes, Response<TestBody>> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))
            } else {
                Err(text(StatusCode::BAD_REQUEST, "failed to read body"))
            }
        }
    }
}

fn redirect_to(req: &Request<Incoming>) -> Response<TestBody> {
    let query = req.uri().query().unwrap_or("");
    let mut target = None;
    let mut status = StatusCode::FOUND;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "url" => target = Some(v.into_owned()),
            "status" => match v
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                Some(s) if s.is_redirection() => status = s,
                _ => return text(StatusCode::BAD_REQUEST, "bad status"),
            },
            _ => {}
        }
    }
    match target {
        Some(t) => redirect(status, &t),
        None => text(StatusCode::BAD_REQUEST, "missing url parameter"),
    }
}

async fn echo(req: Request<Incoming>, info: Option<ConnInfo>) -> Response<TestBody> {
    let (parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let joined = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_string(), serde_json::Value::String(joined));
    }
    let authority = parts.uri.authority().map(|a| a.to_string()).or_else(|| {
        parts
            .headers
            .get(HOST)
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
    });
    let (body_json, encoding) = match std::str::from_utf8(&body) {
        Ok(s) => (s.to_string(), "utf8"),
        Err(_) => (STANDARD.encode(&body), "base64"),
    };
    let json = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query().unwrap_or(""),
        // `HTTP/1.1`, `HTTP/2.0`: the version's Debug form.
        "version": format!("{:?}", parts.version),
        "authority": authority,
        "conn": info.map(|i| i.seq),
        "headers": headers,
        "body": body_json,
        "body_encoding": encoding,
    });
    let mut resp = Response::new(full_body(json.to_string()));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
