//! The demo server: `/` answers `302 Found` → `/gettime`, `/gettime` answers
//! the time after a short piece of simulated work.
//!
//! Every request gets a SERVER span from tower-http's `TraceLayer`, continued
//! from the caller's W3C `traceparent` (extracted with the global
//! propagator), so it hangs under the client's hop span in the same trace.

use std::time::{Duration, SystemTime};

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::routing::get;
use opentelemetry_http::HeaderExtractor;
use tower_http::trace::TraceLayer;
use tracing::{Instrument as _, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The `tracing` target of every span the server makes. The in-process demo
/// uses it to tell server spans from client spans.
pub const TARGET: &str = "httptrace_demo::server";

/// The server's routes (`app` serves these; the client names its hops by
/// them, and the SERVER spans carry them as `http.route`).
pub const ROUTES: [&str; 2] = ["/", "/gettime"];

/// How long `/gettime` pretends to work.
pub const WORK: Duration = Duration::from_millis(20);

/// The server's routes, wrapped in a `TraceLayer` that continues the
/// caller's trace.
pub fn app() -> Router {
    Router::new()
        .route(ROUTES[0], get(redirect))
        .route(ROUTES[1], get(gettime))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(|res: &Response<Body>, _latency: Duration, span: &Span| {
                    let status = res.status();
                    // An i64: tracing-opentelemetry exports a u64 as a string.
                    span.record("http.response.status_code", i64::from(status.as_u16()));
                    if status.is_server_error() {
                        span.record("otel.status_code", "error");
                    }
                })
                .on_failure(()),
        )
}

/// The SERVER span of one request, child of the caller's hop span when the
/// request carries a `traceparent`.
fn make_span(req: &Request<Body>) -> Span {
    use tracing::field::Empty;
    let method = req.method().as_str();
    let path = req.uri().path();
    // The route this path matched (the demo's routes are literal paths).
    let route = ROUTES.into_iter().find(|r| *r == path);
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = %match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_string(),
        },
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        url.path = path,
        url.scheme = "http",
        http.route = route,
        http.response.status_code = Empty,
        server.address = Empty,
        server.port = Empty,
        client.address = Empty,
        client.port = Empty,
        network.peer.address = Empty,
        network.peer.port = Empty,
        network.protocol.version = protocol_version(req.version()),
        user_agent.original = Empty,
    );
    if let Some(agent) = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        span.record("user_agent.original", agent);
    }
    // The host the client asked for (`Host`), as the conventions ask.
    if let Some(authority) = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
    {
        span.record("server.address", authority.host());
        if let Some(port) = authority.port_u16() {
            span.record("server.port", i64::from(port));
        }
    }
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        let ip = peer.ip().to_string();
        span.record("client.address", ip.as_str());
        span.record("client.port", i64::from(peer.port()));
        span.record("network.peer.address", ip.as_str());
        span.record("network.peer.port", i64::from(peer.port()));
    }
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(req.headers()))
    });
    // Fails only when no OpenTelemetry layer is installed: the server then
    // still works, untraced.
    let _ = span.set_parent(parent);
    span
}

/// `network.protocol.version` for an HTTP version.
fn protocol_version(v: axum::http::Version) -> &'static str {
    match v {
        axum::http::Version::HTTP_10 => "1.0",
        axum::http::Version::HTTP_2 => "2",
        _ => "1.1",
    }
}

async fn redirect() -> Response<Body> {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::FOUND;
    res.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/gettime"));
    res
}

async fn gettime() -> String {
    async {
        tokio::time::sleep(WORK).await;
    }
    .instrument(tracing::info_span!(
        target: TARGET,
        "simulated work",
        work.duration_ms = WORK.as_millis() as i64
    ))
    .await;
    format!("The time is {}", httpdate::fmt_http_date(SystemTime::now()))
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With the peer's address, for the SERVER spans' `client.address`.
    axum::serve(
        listener,
        app().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
