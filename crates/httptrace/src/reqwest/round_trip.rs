//! One send's round trips on the reqwest transport: the driver that reports
//! a send from its start to its body's end, and the redirect-policy hook
//! that marks the hops reqwest follows by itself inside that send.
//!
//! A send is one call of `reqwest::Client::execute` (or of the next
//! middleware). On a client with hooks installed by
//! [`instrument`](super::ClientBuilderExt::instrument), reqwest follows
//! redirects inside that call; its redirect policy is wrapped so each hop it
//! follows ends one round trip and starts the next. What reqwest does not
//! hand back for those inner hops (their response headers, the connection
//! they reused) is reported as far as it is known: see the module docs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use http::header::{HeaderMap, HeaderValue, LOCATION};
use hyper_util::client::legacy::connect::HttpInfo;
use reqwest::ResponseBuilderExt;

use super::connect::{ROUND_TRIP, RoundTripCtx};
use super::error::classify;
use super::upload::{RequestBodyProbe, Upload};
use crate::Traces;
use crate::event::*;
use crate::redirect::RequestHead;
use crate::transport::body::{BodyEnd, ResponseBodyProbe};
use crate::transport::registry::ConnRegistry;
use crate::transport::round_trip::{
    Arrival, PendingRoundTrip, host_port, report_arrival, report_got_conn, report_written,
};

/// The connections of every reqwest client with hooks installed, keyed by
/// local address (unique among open sockets, so clients can share it; it is
/// bounded). Shared because a send that reuses a pooled connection reaches
/// no hook of the client that could name its registry.
pub(crate) fn registry() -> &'static Arc<ConnRegistry> {
    static REGISTRY: LazyLock<Arc<ConnRegistry>> = LazyLock::new(Arc::default);
    &REGISTRY
}

/// What a failed send says about the hop it failed on.
pub(crate) trait SendError {
    /// The phase-level error hooks report.
    fn hook_error(&self) -> HookError;
    /// True when the redirect policy stopped the send with an error.
    fn is_redirect(&self) -> bool;
}

impl SendError for reqwest::Error {
    fn hook_error(&self) -> HookError {
        classify(self)
    }

    fn is_redirect(&self) -> bool {
        reqwest::Error::is_redirect(self)
    }
}

/// The connection a dial made for the hop in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DialedConn {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) h2: bool,
}

/// The hop in flight within one send, shared by the driver, the connector
/// and the redirect-policy hook (all in the send's task).
pub(crate) struct Hops {
    state: Mutex<HopState>,
}

struct HopState {
    hop: Hop,
    /// Set by the connector when a dial for this hop finished.
    dialed: Option<DialedConn>,
    /// The redirect status the policy saw on this hop (an error from the
    /// policy then belongs to a hop with that status).
    redirect_status: Option<http::StatusCode>,
    /// Round trips this send has started.
    count: u32,
}

struct Hop {
    started: Instant,
    get_conn_at: Instant,
    method: http::Method,
    url: url::Url,
    resend_count: u32,
    /// The request headers as this hop sent them (as far as known).
    headers: HeaderMap,
    /// Bytes of a body that can be sent again (`None`: streamed, probed).
    body_len: Option<u64>,
    /// The protocol of the previous hop's connection, if known.
    protocol: Option<http::Version>,
}

impl Hops {
    fn lock(&self) -> MutexGuard<'_, HopState> {
        // A hook that panicked must not poison the send for the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A dial for the current hop finished with this connection.
    pub(crate) fn dialed(&self, conn: DialedConn) {
        self.lock().dialed = Some(conn);
    }

    /// reqwest's redirect policy was asked about a `status` redirect to
    /// `next` and `follows` it: the current hop ends (its response headers
    /// arrived now) and the next one starts.
    fn redirected(
        &self,
        traces: &Traces,
        status: http::StatusCode,
        next: &url::Url,
        follows: bool,
    ) {
        let now = Instant::now();
        let mut state = self.lock();
        state.redirect_status = Some(status);
        if !follows {
            return; // the send ends with this hop's response or error
        }
        let dialed = state.dialed.take();
        let hop = &state.hop;
        let registry = registry();
        let reuse = registry.take(dialed.map(|d| d.local), hop.started, hop.get_conn_at);
        let protocol = match dialed {
            Some(d) if d.h2 => http::Version::HTTP_2,
            Some(_) => http::Version::HTTP_11,
            None => hop.protocol.unwrap_or(http::Version::HTTP_11),
        };
        let body_bytes = hop.body_len.unwrap_or(0);
        let previous = RequestHead {
            method: hop.method.clone(),
            url: hop.url.clone(),
            headers: hop.headers.clone(),
        };
        let mut location = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(next.as_str()) {
            location.insert(LOCATION, value);
        }
        // The same rules reqwest applies (method, body, headers dropped
        // across origins, Referer), for what the next hop is reported to send.
        let (method, headers, resend_body) =
            match crate::redirect::next_hop(&previous, status, &location, true) {
                Some(n) => (n.head.method, n.head.headers, n.resend_body),
                None => (hop.method.clone(), hop.headers.clone(), true),
            };
        let next_hop = Hop {
            started: now,
            get_conn_at: now,
            method,
            url: next.clone(),
            resend_count: hop.resend_count + 1,
            headers,
            body_len: hop.body_len.filter(|_| resend_body).or(Some(0)),
            protocol: Some(protocol),
        };
        let start = RoundTripStart {
            at: now,
            method: next_hop.method.clone(),
            url: next_hop.url.clone(),
            resend_count: next_hop.resend_count,
        };
        let sent = std::mem::replace(&mut state.hop, next_hop);
        state.redirect_status = None;
        state.count += 1;
        drop(state);

        report_got_conn(
            traces,
            &reuse,
            dialed.map(|d| d.local),
            dialed.map(|d| d.remote),
            protocol,
        );
        report_written(
            traces,
            &sent.headers,
            reuse.at,
            (reuse.at, body_bytes, None),
        );
        traces.emit(Event::GotFirstResponseByte(GotFirstResponseByte {
            at: now,
        }));
        traces.emit(Event::RoundTripDone(RoundTripDone {
            at: now,
            status: Some(status),
            version: Some(protocol),
            headers: None,
            error: None,
        }));
        if let (true, Some(d)) = (reuse.known, dialed) {
            registry.release(d.local, now);
        }
        // reqwest discards a followed redirect's body unread.
        traces.emit(Event::BodyDone(BodyDone {
            at: now,
            bytes: 0,
            outcome: BodyOutcome::Dropped,
        }));
        let host_port = host_port(&start.url);
        traces.emit(Event::RoundTripStart(start));
        traces.emit(Event::GetConn(GetConn { at: now, host_port }));
    }
}

/// Wraps `policy` so that, inside a send driven by [`send`], every redirect
/// reqwest follows ends one round trip and starts the next. The policy's
/// answer is returned unchanged.
pub(crate) fn observed_policy(policy: reqwest::redirect::Policy) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let status = attempt.status();
        let next = attempt.url().clone();
        let action = policy.redirect(attempt);
        if let Ok(ctx) = ROUND_TRIP.try_with(RoundTripCtx::clone)
            && let Some(hops) = &ctx.hops
        {
            // `Action` is opaque; its Debug form names what it decided
            // (pinned by the redirect tests).
            let follows = format!("{action:?}").contains("Follow");
            hops.redirected(&ctx.traces, status, &next, follows);
        }
        action
    })
}

/// Sends `request` with `send`, reporting it to `traces` as round trips
/// whose resend counts start at `resend_count`: one, or one per redirect
/// hop reqwest follows inside `send`. Returns the result and how many round
/// trips the send made. `judge` may say that the response that arrived
/// fails the request (a redirect past the caller's limit): its round trip
/// then reports that error beside the status.
///
/// A body that can be sent again (bytes) is left as it is, so reqwest can
/// still retry and follow 307/308 with it; a streamed body is probed to see
/// when hyper takes it.
pub(crate) async fn send<F, Fut, E>(
    mut request: reqwest::Request,
    traces: &Traces,
    resend_count: u32,
    judge: impl FnOnce(&reqwest::Response) -> Option<HookError>,
    send: F,
) -> (Result<reqwest::Response, E>, u32)
where
    F: FnOnce(reqwest::Request) -> Fut,
    Fut: Future<Output = Result<reqwest::Response, E>>,
    E: SendError,
{
    if traces.is_empty() {
        return (send(request).await, 1);
    }
    let start = RoundTripStart {
        at: Instant::now(),
        method: request.method().clone(),
        url: request.url().clone(),
        resend_count,
    };
    traces.request_headers(&start, request.headers_mut());
    let started = start.at;
    let host_port = host_port(request.url());
    traces.emit(Event::RoundTripStart(start));
    let get_conn_at = Instant::now();
    traces.emit(Event::GetConn(GetConn {
        at: get_conn_at,
        host_port,
    }));
    let upload = Arc::new(Mutex::new(Upload::default()));
    let body_len = request
        .body()
        .map(|b| b.as_bytes().map(|bytes| bytes.len() as u64))
        .unwrap_or(Some(0));
    if body_len.is_none()
        && let Some(body) = request.body_mut().take()
    {
        *request.body_mut() = Some(reqwest::Body::wrap(RequestBodyProbe::new(
            body,
            upload.clone(),
        )));
    }
    let hops = Arc::new(Hops {
        state: Mutex::new(HopState {
            hop: Hop {
                started,
                get_conn_at,
                method: request.method().clone(),
                url: request.url().clone(),
                resend_count,
                headers: request.headers().clone(),
                body_len,
                protocol: None,
            },
            dialed: None,
            redirect_status: None,
            count: 1,
        }),
    });
    let ctx = RoundTripCtx {
        traces: traces.clone(),
        hops: Some(hops.clone()),
    };
    let mut pending = PendingRoundTrip(Some(traces.clone()));
    let result = ROUND_TRIP.scope(ctx, send(request)).await;
    pending.0 = None;
    let headers_at = Instant::now();
    let upload = std::mem::take(&mut *upload.lock().unwrap_or_else(|e| e.into_inner()));
    let state = hops.lock();
    let count = state.count;
    let redirect_status = state.redirect_status;
    let hop = &state.hop;
    // A streamed body was taken by the first hop only.
    let streamed = count == 1 && hop.body_len.is_none();
    let response = match result {
        Ok(response) => response,
        Err(e) => {
            if let Some(error) = upload.error.filter(|_| streamed) {
                traces.emit(Event::WroteRequest(WroteRequest {
                    at: upload.end.unwrap_or(headers_at),
                    body_bytes: upload.bytes,
                    error: Some(error),
                }));
            }
            traces.emit(Event::RoundTripDone(RoundTripDone {
                at: headers_at,
                status: redirect_status.filter(|_| e.is_redirect()),
                version: None,
                headers: None,
                error: Some(e.hook_error()),
            }));
            return (Err(e), count);
        }
    };
    let info = response.extensions().get::<HttpInfo>().cloned();
    let local_addr = info.as_ref().map(HttpInfo::local_addr);
    let reuse = registry().take(local_addr, hop.started, hop.get_conn_at);
    let (wrote_headers, wrote_request, body_bytes, write_error) = if streamed {
        let wrote_headers = upload.first_poll.unwrap_or(reuse.at).max(reuse.at);
        let wrote_request = upload.end.unwrap_or(wrote_headers).max(wrote_headers);
        (wrote_headers, wrote_request, upload.bytes, upload.error)
    } else {
        let bytes = hop.body_len.unwrap_or(0);
        (reuse.at, reuse.at, bytes, None)
    };
    let keep_alive = report_arrival(
        traces,
        Arrival {
            reuse: &reuse,
            local_addr,
            remote_addr: info.as_ref().map(HttpInfo::remote_addr),
            sent_headers: &hop.headers,
            wrote_headers,
            wrote_request,
            body_bytes,
            write_error,
            first_byte: headers_at,
            headers_at,
            error: judge(&response),
            status: response.status(),
            version: response.version(),
            headers: response.headers(),
        },
    );
    drop(state);
    let end = BodyEnd {
        traces: traces.clone(),
        registry: registry().clone(),
        local_addr: local_addr.filter(|_| reuse.known),
        keep_alive,
    };
    (Ok(probe_body(response, end)), count)
}

/// Wraps the response body so its end is reported; the URL and extensions
/// survive the round trip through `http::Response`.
fn probe_body(response: reqwest::Response, end: BodyEnd) -> reqwest::Response {
    let url = response.url().clone();
    let (mut parts, body) = http::Response::from(response).into_parts();
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let body = reqwest::Body::wrap(ResponseBodyProbe::new(body, end));
    reqwest::Response::from(http::Response::from_parts(parts, body))
}
