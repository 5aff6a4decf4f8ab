//! One send's round trips on the reqwest transport: the driver that reports
//! a send from its start to its body's end (the hops reqwest follows by
//! itself inside that send are marked by the redirect-policy hook in
//! `hops`).
//!
//! A send is one call of `reqwest::Client::execute` (or of the next
//! middleware). On a client with hooks installed by
//! [`instrument`](super::ClientBuilderExt::instrument), reqwest follows
//! redirects inside that call; its redirect policy is wrapped so each hop it
//! follows ends one round trip and starts the next. What reqwest does not
//! hand back for those inner hops (their response headers, the connection
//! they reused) is reported as far as it is known: see the module docs.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hyper_util::client::legacy::connect::HttpInfo;
use reqwest::ResponseBuilderExt;

use super::error::classify;
use super::hops::{HopInFlight, HopState, Hops, ROUND_TRIP, RoundTripCtx, registry};
use super::upload::{RequestBodyProbe, Upload};
use crate::Traces;
use crate::event::*;
use crate::interest::EventKind;
use crate::transport::body::{BodyEnd, ResponseBodyProbe};
use crate::transport::round_trip::{Arrival, PendingRoundTrip, host_port, report_arrival};

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
    // The event's URL goes on to the hop's state: one copy, not two.
    let url = traces.emit_round_trip_start(start).url;
    let get_conn_at = Instant::now();
    traces.emit_with(EventKind::GetConn, || {
        Event::GetConn(GetConn {
            at: get_conn_at,
            host_port: host_port(&url),
        })
    });
    let body_len = request
        .body()
        .map(|b| b.as_bytes().map(|bytes| bytes.len() as u64))
        .unwrap_or(Some(0));
    // Only a streamed body is probed (and needs somewhere to note when).
    let mut upload = None;
    if body_len.is_none()
        && let Some(body) = request.body_mut().take()
    {
        let noted = Arc::new(Mutex::new(Upload::default()));
        *request.body_mut() = Some(reqwest::Body::wrap(RequestBodyProbe::new(
            body,
            noted.clone(),
        )));
        upload = Some(noted);
    }
    let hops = Arc::new(Hops {
        state: Mutex::new(HopState {
            hop: HopInFlight {
                started,
                get_conn_at,
                method: request.method().clone(),
                url,
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
    let upload = upload
        .map(|u| std::mem::take(&mut *u.lock().unwrap_or_else(|e| e.into_inner())))
        .unwrap_or_default();
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
