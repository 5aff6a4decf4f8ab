//! The demo server: `/` answers `302 Found` → `/gettime`, `/gettime` answers
//! the time after a short piece of simulated work.
//!
//! Every request gets a SERVER span from tower-http's `TraceLayer`, continued
//! from the caller's W3C `traceparent` (extracted with the global
//! propagator), so it hangs under the client's hop span in the same trace.

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::routing::get;
use opentelemetry_http::HeaderExtractor;
use tower_http::trace::TraceLayer;
use tracing::{Instrument as _, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The `tracing` target of every span the server makes. The in-process demo
/// uses it to tell server spans from client spans.
pub const TARGET: &str = "httptrace_demo::server";

/// How long `/gettime` pretends to work.
pub const WORK: Duration = Duration::from_millis(20);

/// The server's routes, wrapped in a `TraceLayer` that continues the
/// caller's trace.
pub fn app() -> Router {
    Router::new()
        .route("/", get(redirect))
        .route("/gettime", get(gettime))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(|res: &Response<Body>, _latency: Duration, span: &Span| {
                    let status = res.status();
                    span.record("http.response.status_code", status.as_u16());
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
    let method = req.method().as_str();
    let path = req.uri().path();
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = %format!("{method} {path}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        url.path = path,
        url.scheme = "http",
        http.route = path,
        http.response.status_code = tracing::field::Empty,
        user_agent.original = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(req.headers()))
    });
    // Fails only when no OpenTelemetry layer is installed: the server then
    // still works, untraced.
    let _ = span.set_parent(parent);
    span
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
        work.duration_ms = WORK.as_millis() as u64
    ))
    .await;
    format!("The time is {}", httpdate::fmt_http_date(SystemTime::now()))
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app())
        .with_graceful_shutdown(shutdown)
        .await
}
