//! The demo client: one top-level `tracing` span ("demo-client call") around
//! a GET through the traced reqwest client, whose `OtelTrace` makes one
//! CLIENT span per round trip (the redirect and the final hop) under it.

use httptrace::reqwest::{ClientBuilderExt as _, Config, Dns, Tls};
use httptrace_otel::OtelTrace;
use opentelemetry::trace::TraceContextExt as _;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The name of the client's top-level span.
pub const CALL_SPAN: &str = "demo-client call";

/// A reqwest client traced by `otel` (every round trip a CLIENT span with
/// the hooks as events, `traceparent` injected per hop, named by the server's
/// [`ROUTES`](crate::server::ROUTES): `GET /`, `GET /gettime`). DNS and TLS are
/// handed to the transport, so the waterfall shows them apart from the
/// TCP connect.
pub fn traced_client(
    otel: OtelTrace,
) -> Result<httptrace::reqwest::Client, httptrace::reqwest::Error> {
    let config = Config::new()
        .make_trace(otel.url_templates(crate::server::ROUTES))
        .dns(Dns::system())
        .tls(Tls::platform());
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .traced_with(config)
}

/// What one call brought back.
#[derive(Clone, Debug)]
pub struct CallResult {
    /// The final status (after the redirect).
    pub status: u16,
    /// The final body.
    pub body: String,
    /// The trace id of the call, lowercase hex (all zeros when no
    /// OpenTelemetry layer is installed).
    pub trace_id: String,
}

/// GETs `url` inside a new top-level "demo-client call" span and reads the
/// whole body (the last hop span ends when the body is read).
pub async fn call(
    client: &httptrace::reqwest::Client,
    url: &str,
) -> Result<CallResult, httptrace::reqwest::Error> {
    // A root span: a call of this demo is a new trace, whatever is current.
    let span = tracing::info_span!(
        parent: None,
        "demo-client call",
        otel.kind = "internal",
        url.full = url,
        http.response.status_code = tracing::field::Empty,
    );
    let trace_id = span.context().span().span_context().trace_id().to_string();
    let (status, body) = async {
        let response = client.get(url).send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        // An i64: tracing-opentelemetry exports a u64 as a string.
        tracing::Span::current().record("http.response.status_code", i64::from(status));
        Ok::<_, httptrace::reqwest::Error>((status, body))
    }
    .instrument(span)
    .await?;
    Ok(CallResult {
        status,
        body,
        trace_id,
    })
}
