//! [`Client`]: one traced round trip per request on hyper-util's client,
//! from `round_trip_start` to the response body's end.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper_util::client::legacy;
use hyper_util::client::proxy::matcher::Matcher as ProxyMatcher;

use super::connect::{Connector, ROUND_TRIP};
use super::io::ConnExtra;
use super::pending::{Captured, Pending, capture_connection};
use crate::event::*;
use crate::interest::EventKind;
use crate::transport::body::{BodyEnd, ResponseBodyProbe as ResponseBody};
use crate::transport::errors::{BoxError, classify_chain};
use crate::transport::registry::ConnRegistry;
use crate::transport::round_trip::{Arrival, PendingRoundTrip, host_port, report_arrival};
use crate::{ClientTrace, MakeTrace, RequestInfo, Traces};

/// A request extension saying the request resends an earlier one for the
/// `n`th time (a redirect hop or a retry the caller makes: this transport
/// sends one round trip per call and cannot know). Its `round_trip_start`
/// carries it as `resend_count`, and the OpenTelemetry adapter as
/// `http.request.resend_count`.
///
/// ```
/// let mut request = http::Request::get("http://example.com/next").body(()).unwrap();
/// request.extensions_mut().insert(httptrace::hyper::ResendCount(1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResendCount(pub u32);

/// hyper-util's `Client` with every hook reported. Cheap to clone.
#[derive(Clone)]
pub struct Client<B> {
    pub(super) inner: legacy::Client<Connector, B>,
    pub(super) registry: Arc<ConnRegistry>,
    pub(super) make_trace: Option<Arc<dyn MakeTrace>>,
    pub(super) proxy: Option<Arc<ProxyMatcher>>,
}

impl<B> std::fmt::Debug for Client<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl<B> Client<B>
where
    B: http_body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Sends a request with the traces of the enclosing scopes and of the
    /// builder's `make_trace`.
    pub async fn request(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<ResponseBody<Incoming>>, legacy::Error> {
        self.send(request, None).await
    }

    /// Sends a request with `trace` attached to it as well.
    pub async fn request_traced(
        &self,
        request: http::Request<B>,
        trace: ClientTrace,
    ) -> Result<http::Response<ResponseBody<Incoming>>, legacy::Error> {
        self.send(request, Some(trace)).await
    }

    async fn send(
        &self,
        mut request: http::Request<B>,
        extra: Option<ClientTrace>,
    ) -> Result<http::Response<ResponseBody<Incoming>>, legacy::Error> {
        self.add_proxy_authorization(&mut request);
        let mut traces = Traces::current();
        // The URL is only needed for traces: parse it only if any may exist.
        let url = (self.make_trace.is_some() || extra.is_some() || !traces.is_empty())
            .then(|| url::Url::parse(&request.uri().to_string()).ok())
            .flatten();
        if let (Some(make), Some(url)) = (&self.make_trace, &url) {
            let template = request.extensions().get::<crate::UrlTemplate>();
            let info = RequestInfo::new(request.method(), url, request.headers())
                .with_url_template(template.map(crate::UrlTemplate::as_str));
            if let Some(trace) = make.make_trace(&info) {
                traces = traces.with(trace);
            }
        }
        if let Some(trace) = extra {
            traces = traces.with(trace);
        }
        let (true, Some(url)) = (!traces.is_empty(), url) else {
            let response = self.inner.request(request).await?;
            return Ok(response.map(ResponseBody::passthrough));
        };

        let start = RoundTripStart {
            at: Instant::now(),
            method: request.method().clone(),
            url,
            resend_count: request.extensions().get::<ResendCount>().map_or(0, |r| r.0),
        };
        let started = start.at;
        traces.request_headers(&start, request.headers_mut());
        let url = traces.emit_round_trip_start(start).url;
        let get_conn_at = Instant::now();
        traces.emit_with(EventKind::GetConn, || {
            Event::GetConn(GetConn {
                at: get_conn_at,
                host_port: host_port(&url),
            })
        });
        let informational = traces.clone();
        hyper::ext::on_informational(&mut request, move |res| {
            let at = Instant::now();
            informational.emit_with(EventKind::Got1xxResponse, || {
                Event::Got1xxResponse(Got1xxResponse {
                    at,
                    status: res.status(),
                    headers: res.headers().clone(),
                })
            });
        });
        let sent_headers = request.headers().clone();
        let body_bytes = http_body::Body::size_hint(request.body())
            .exact()
            .unwrap_or(0);
        let capture = capture_connection(&mut request);
        let mut pending = Pending {
            round_trip: PendingRoundTrip(Some(traces.clone())),
            conn: None,
            registry: &self.registry,
            started,
            get_conn_at,
            sent_headers: &sent_headers,
            body_bytes,
        };
        let sending = ROUND_TRIP.scope(traces.clone(), self.inner.request(request));
        let result = match capture {
            None => sending.await,
            Some(mut capture) => {
                let mut sending = std::pin::pin!(sending);
                let answered = tokio::select! {
                    biased;
                    result = &mut sending => Some(result),
                    connected = capture.wait_for_connection_metadata() => {
                        // The pool handed the connection over just now: Go's
                        // GotConn instant.
                        let at = Instant::now();
                        pending.conn = connected.as_ref().and_then(|c| {
                            let mut extensions = http::Extensions::new();
                            c.get_extras(&mut extensions);
                            Some(Captured {
                                at,
                                conn: extensions.remove::<ConnExtra>()?,
                                h2: c.is_negotiated_h2(),
                            })
                        });
                        None
                    }
                };
                match answered {
                    Some(result) => result,
                    None => sending.await,
                }
            }
        };
        pending.round_trip.0 = None;
        let captured = pending.conn.take();
        drop(pending);
        let headers_at = Instant::now();
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                traces.emit(Event::RoundTripDone(RoundTripDone {
                    at: headers_at,
                    status: None,
                    version: None,
                    headers: None,
                    error: Some(classify_chain(&e)),
                }));
                return Err(e);
            }
        };
        let extra = response.extensions().get::<ConnExtra>().cloned();
        let local_addr = extra.as_ref().map(|x| x.local_addr);
        let mut reuse = self.registry.take(local_addr, started, get_conn_at);
        if let Some(captured) = captured {
            reuse.at = captured.at;
        }
        // The socket's own record of this exchange; anything from before
        // this round trip started belongs to an earlier one.
        let exchange = extra.as_ref().map(|x| x.stats.latest()).unwrap_or_default();
        let after_start = |t: Option<Instant>| t.filter(|t| *t >= started);
        let wrote_headers = after_start(exchange.first_write).unwrap_or(reuse.at);
        // The request task learns of the handover only when it is polled
        // again: on a multi-threaded runtime the connection's task may have
        // written the request by then (measured: got_conn stamped up to
        // 0.2 ms after the first write). The connection was the round
        // trip's by its first byte written.
        reuse.at = reuse.at.min(wrote_headers);
        let wrote_request = after_start(exchange.last_write).unwrap_or(wrote_headers);
        let first_byte = after_start(exchange.first_read)
            .unwrap_or(headers_at)
            .max(wrote_request)
            .min(headers_at);
        let keep_alive = report_arrival(
            &traces,
            Arrival {
                reuse: &reuse,
                local_addr,
                remote_addr: extra.as_ref().map(|x| x.remote_addr),
                sent_headers: &sent_headers,
                wrote_headers,
                wrote_request,
                body_bytes,
                write_error: None,
                first_byte,
                headers_at,
                error: None,
                status: response.status(),
                version: response.version(),
                headers: response.headers(),
            },
        );
        let end = BodyEnd {
            traces,
            registry: self.registry.clone(),
            local_addr: local_addr.filter(|_| reuse.known),
            keep_alive,
        };
        Ok(response.map(|body| ResponseBody::new(body, end)))
    }
}

impl<B> Client<B> {
    /// A plain-HTTP request forwarded by an authenticating proxy carries the
    /// proxy's credentials itself (an HTTPS one sends them in the `CONNECT`).
    fn add_proxy_authorization(&self, request: &mut http::Request<B>) {
        if request.uri().scheme_str() != Some("http") {
            return;
        }
        let Some(proxy) = self
            .proxy
            .as_deref()
            .and_then(|m| m.intercept(request.uri()))
        else {
            return;
        };
        if let Some(auth) = proxy.basic_auth() {
            let mut auth = auth.clone();
            auth.set_sensitive(true);
            request
                .headers_mut()
                .entry(http::header::PROXY_AUTHORIZATION)
                .or_insert(auth);
        }
    }
}
