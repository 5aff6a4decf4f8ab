//! `--transport hyper`: the requests go through `httptrace::hyper`, the
//! hyper-util transport whose connector and socket IO are httptrace's own, so
//! `connect_*` (one pair per address tried), `wrote_headers`,
//! `wrote_request`, `got_first_response_byte` and `got_1xx_response` come
//! from the socket.
//!
//! That transport is a `RoundTripper`: one request, one round trip. What the
//! reqwest transport does on top (redirects, a per-round-trip timeout, a user
//! agent, URL credentials as basic auth) is done here, the same way.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http_body_util::{BodyExt, Full};
use httptrace::{ClientTrace, ErrorKind, Event};

use crate::cli::{Args, HttpVersion};
use crate::hop::{FailurePhase, HopError, HopReport};
use crate::redact;
use crate::redirect::{HopRequest, MAX_REDIRECTS};
use crate::shared::{BodySink, EXIT_FAILED, EXIT_USAGE, EventLog, Sent, USER_AGENT, otel_enabled};

/// The hyper-util client and what httpstat adds to it.
pub struct Client {
    inner: httptrace::hyper::Client<Full<Bytes>>,
    max_time: Option<Duration>,
    follow: bool,
    /// Serves `--resolve`/`--connect-to`/`-4`/`-6` while the client lives.
    _local_dns: Option<crate::local_dns::LocalDns>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("max_time", &self.max_time)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

/// Builds the client: `-k`, `--cacert` (as DER `roots`), `--dns-server` and
/// the OTLP export map to the hyper builder's own options; proxies come from
/// `-x`, else `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`, as on the reqwest path
/// and in curl.
pub fn client(
    args: &Args,
    roots: Vec<Vec<u8>>,
    identity: Option<crate::client::ClientPem>,
) -> Result<Client, (u8, String)> {
    if args.http_version() == HttpVersion::Http2PriorKnowledge {
        return Err((
            EXIT_USAGE,
            "--http2-prior-knowledge is not available with --transport hyper \
             (httptrace::hyper's builder cannot speak h2c); use --transport reqwest"
                .to_string(),
        ));
    }
    if let Some(c) = args.connect_to.iter().find(|c| c.to.port() != c.port) {
        return Err((
            EXIT_USAGE,
            format!(
                "--connect-to {}:{}:...:{}: the hyper transport dials the URL's port; \
                 use the same port, or --transport reqwest with a URL without one",
                c.host,
                c.port,
                c.to.port()
            ),
        ));
    }
    let mut builder = httptrace::hyper::Client::builder()
        .danger_accept_invalid_certs(args.insecure)
        .proxy(crate::proxy::proxies(args));
    if args.http_version() == HttpVersion::Http11 {
        builder = builder.http1_only();
    }
    for der in roots {
        builder = builder.root_certificate_der(der);
    }
    if let Some((chain, key)) = identity {
        builder = builder.client_auth_pem(&chain, &key).map_err(|e| {
            (
                crate::shared::EXIT_USAGE,
                crate::client::cert_error(args, &e.to_string()),
            )
        })?;
    }
    // hickory answers localhost and the hosts file's names itself: the
    // responder could neither pin nor filter them.
    let pinned_hosts = args.resolve.iter().map(|r| (r.host.as_str(), "--resolve"));
    let pinned_hosts = pinned_hosts.chain(
        args.connect_to
            .iter()
            .map(|c| (c.host.as_str(), "--connect-to")),
    );
    let family_hosts = args
        .urls
        .iter()
        .filter(|_| args.family().is_some())
        .filter_map(|u| u.domain())
        .map(|h| (h, if args.ipv4 { "-4" } else { "-6" }));
    if let Some((host, flag)) = pinned_hosts
        .chain(family_hosts)
        .find(|(h, _)| crate::local_dns::answered_locally(h))
    {
        return Err((
            EXIT_USAGE,
            format!(
                "{flag}: the hyper transport's resolver answers {host} itself \
                 (localhost or the hosts file), so it cannot be pinned or filtered; \
                 use --transport reqwest"
            ),
        ));
    }
    // Pins and -4/-6: the transport asks a responder of our own, which
    // asks --dns-server (or the system) for the names not pinned.
    let local_dns =
        if args.resolve.is_empty() && args.connect_to.is_empty() && args.family().is_none() {
            None
        } else {
            let pins = crate::pin::pinned(&args.resolve, &args.connect_to)
                .into_iter()
                .map(|(host, addrs)| (host, addrs.iter().map(|a| a.ip()).collect()))
                .collect();
            let answers = crate::local_dns::Answers {
                pins,
                family: args.family(),
                upstream: args.dns_server,
            };
            let dns = crate::local_dns::LocalDns::start(answers).map_err(|e| {
                (
                    EXIT_FAILED,
                    format!("cannot start the local DNS responder: {e}"),
                )
            })?;
            Some(dns)
        };
    match (&local_dns, args.dns_server) {
        (Some(local), _) => builder = builder.dns_server(local.addr()),
        (None, Some(server)) => builder = builder.dns_server(server),
        (None, None) => {}
    }
    if otel_enabled() {
        builder = builder.make_trace(httptrace_otel::OtelTrace::new());
    }
    let inner = builder
        .build()
        .map_err(|e| (EXIT_FAILED, format!("cannot build the HTTP client: {e}")))?;
    Ok(Client {
        inner,
        max_time: args.max_time,
        follow: args.follow,
        _local_dns: local_dns,
    })
}

/// The first hop's request from the arguments: `-H` headers, the body's
/// content type (unless `-H` sets one) and a user agent (unless `-H` sets
/// one), as the reqwest path sends them.
pub fn first_request(args: &Args, url: &url::Url, body: Option<Vec<u8>>) -> HopRequest {
    let mut headers = http::HeaderMap::new();
    for h in &args.headers {
        headers.append(h.name.clone(), h.value.clone());
    }
    if body.is_some() && !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    if !headers.contains_key(header::USER_AGENT) {
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    }
    HopRequest {
        method: args.effective_method(),
        url: url.clone(),
        headers,
        body: body.map(Bytes::from),
    }
}

/// How one hop ended, beyond what its events say.
enum Outcome {
    /// The response (and its body) arrived; no redirect to follow.
    Done,
    /// A redirect to follow, with the next hop's request.
    Next(HopRequest),
    /// Failed; the events say how, or this error does when they cannot.
    Failed(Option<HopError>),
    /// `-m` ran out before the hop finished.
    TimedOut(Duration),
}

struct RawHop {
    request: HopRequest,
    events: Vec<Event>,
    outcome: Outcome,
}

impl Client {
    /// Sends one request (`-n` repetition `index`), following redirects with
    /// `-L`, and summarises each hop.
    pub async fn send(&self, first: HopRequest, index: u32, sink: &mut BodySink<'_>) -> Sent {
        let mut raw: Vec<RawHop> = Vec::new();
        let mut request = first;
        for resend in 0..=MAX_REDIRECTS {
            // URL credentials go into a basic Authorization header, kept for
            // the hops that stay on this origin (as reqwest does).
            if let Some(auth) = basic_auth(&request.url)
                && !request.headers.contains_key(header::AUTHORIZATION)
            {
                request.headers.insert(header::AUTHORIZATION, auth);
            }
            let (events, outcome) = self.round_trip(&request, resend, sink).await;
            let outcome = match outcome {
                Outcome::Next(_) if resend == MAX_REDIRECTS => Outcome::Failed(Some(HopError {
                    phase: FailurePhase::Redirect,
                    kind: ErrorKind::Redirect.as_str(),
                    message: format!(
                        "error following redirect for url ({}): too many redirects (limit {MAX_REDIRECTS})",
                        request.url
                    ),
                })),
                other => other,
            };
            let next = match &outcome {
                Outcome::Next(next) => Some(next.clone()),
                _ => None,
            };
            raw.push(RawHop {
                request,
                events,
                outcome,
            });
            match next {
                Some(next) => request = next,
                None => break,
            }
        }

        // Every hop's URL as sent (with its credentials): what must never be
        // printed.
        let mut secrets: Vec<url::Url> = Vec::new();
        for r in &raw {
            if !secrets.contains(&r.request.url) {
                secrets.push(r.request.url.clone());
            }
        }
        let hops = raw
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut hop = HopReport::from_events(
                    index,
                    &r.events,
                    &r.request.method,
                    &r.request.url,
                    &secrets,
                );
                hop.resend_count = i as u32;
                hop.url = redact::url(&r.request.url);
                match r.outcome {
                    Outcome::TimedOut(limit) => {
                        let phase = match &hop.error {
                            Some(e) => e.phase,
                            None if hop.status.is_some() => FailurePhase::Body,
                            None => FailurePhase::Response,
                        };
                        hop.error = Some(HopError {
                            phase,
                            kind: ErrorKind::Timeout.as_str(),
                            message: format!(
                                "operation timed out: the round trip took longer than {} s (-m)",
                                limit.as_secs_f64()
                            ),
                        });
                    }
                    Outcome::Failed(Some(mut error)) => {
                        error.message = hop.redact(&error.message);
                        if error.phase == FailurePhase::Redirect {
                            hop.error = Some(error);
                        } else {
                            hop.error.get_or_insert(error);
                        }
                    }
                    Outcome::Done | Outcome::Next(_) | Outcome::Failed(None) => {}
                }
                hop
            })
            .collect();
        Sent {
            hops,
            final_headers: None,
        }
    }

    /// One hop: send it, read (or, for a redirect to follow, drain) the
    /// body, within `-m`. Returns the hop's events.
    async fn round_trip(
        &self,
        request: &HopRequest,
        resend: u32,
        sink: &mut BodySink<'_>,
    ) -> (Vec<Event>, Outcome) {
        let log = EventLog::default();
        let trace = log.trace();
        let outcome = match http_request(request, resend) {
            Err(error) => Outcome::Failed(Some(error)),
            Ok(http_request) => {
                let exchange = self.exchange(request, http_request, trace, sink);
                match self.max_time {
                    Some(limit) => tokio::time::timeout(limit, exchange)
                        .await
                        .unwrap_or(Outcome::TimedOut(limit)),
                    None => exchange.await,
                }
            }
        };
        let events = log.take();
        (events, outcome)
    }

    async fn exchange(
        &self,
        request: &HopRequest,
        http_request: http::Request<Full<Bytes>>,
        trace: ClientTrace,
        sink: &mut BodySink<'_>,
    ) -> Outcome {
        let response = match self.inner.request_traced(http_request, trace).await {
            Ok(response) => response,
            // round_trip_done carried the classified error; this is only
            // used if it somehow did not.
            Err(e) => {
                return Outcome::Failed(Some(HopError::from_error(FailurePhase::Request, &e)));
            }
        };
        let (parts, mut body) = response.into_parts();
        let next = if self.follow {
            request.next(parts.status, &parts.headers)
        } else {
            None
        };
        if next.is_some() {
            // A redirect's body: read a bounded amount (as the reqwest
            // transport does), so its connection can be reused.
            const LIMIT: usize = 64 * 1024;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            let mut read = 0;
            while read < LIMIT {
                match tokio::time::timeout_at(deadline, body.frame()).await {
                    Ok(Some(Ok(frame))) => read += frame.data_ref().map_or(0, Bytes::len),
                    _ => break,
                }
            }
        } else {
            // Read the body (written where -o says, else discarded); the
            // trace counts the bytes.
            sink.response(parts.status);
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            sink.write(data);
                        }
                    }
                    // body_done carried the error; this is the fallback.
                    Err(e) => {
                        return Outcome::Failed(Some(HopError::from_error(
                            FailurePhase::Body,
                            &*e,
                        )));
                    }
                }
            }
        }
        match next {
            Some(next) => Outcome::Next(next),
            None => Outcome::Done,
        }
    }
}

/// The `http::Request` for a hop: the URL without userinfo (that went into
/// `Authorization`) and without fragment, marked with its `resend_count`.
fn http_request(request: &HopRequest, resend: u32) -> Result<http::Request<Full<Bytes>>, HopError> {
    let mut url = request.url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    let uri: http::Uri = url.as_str().parse().map_err(|e| HopError {
        phase: FailurePhase::Request,
        kind: ErrorKind::InvalidRequest.as_str(),
        message: format!("invalid request URL {url}: {e}"),
    })?;
    let mut http_request = http::Request::new(Full::new(request.body.clone().unwrap_or_default()));
    *http_request.method_mut() = request.method.clone();
    *http_request.uri_mut() = uri;
    http_request
        .extensions_mut()
        .insert(httptrace::hyper::ResendCount(resend));
    *http_request.headers_mut() = request.headers.clone();
    Ok(http_request)
}

/// `Authorization: Basic ...` from the URL's userinfo, marked sensitive.
fn basic_auth(url: &url::Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut credentials = percent_encoding::percent_decode_str(url.username()).collect::<Vec<u8>>();
    credentials.push(b':');
    if let Some(password) = url.password() {
        credentials.extend(percent_encoding::percent_decode_str(password));
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&credentials);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_become_basic_auth() {
        let url = url::Url::parse("http://al%20ice:p%40ss@a.test/").unwrap();
        let auth = basic_auth(&url).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth, "Basic YWwgaWNlOnBAc3M=");
        assert!(basic_auth(&url::Url::parse("http://a.test/").unwrap()).is_none());
        let request = http_request(
            &HopRequest {
                method: http::Method::GET,
                url,
                headers: http::HeaderMap::new(),
                body: None,
            },
            2,
        )
        .unwrap();
        assert_eq!(request.uri(), "http://a.test/");
        assert_eq!(
            request.extensions().get::<httptrace::hyper::ResendCount>(),
            Some(&httptrace::hyper::ResendCount(2))
        );
    }
}
