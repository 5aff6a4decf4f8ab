//! A tiny service that makes one outbound HTTP call with reqwest.
//!
//! Built plainly (`cargo build -p example-service`) it depends on reqwest
//! and tokio only. With `--features httptrace` every outbound call is traced:
//! one OpenTelemetry CLIENT span per round trip (redirect hops included) with
//! DNS, connect, TLS, connection reuse, first byte and body as span events,
//! exported over OTLP as the standard `OTEL_*` variables say. The lines under
//! `#[cfg(feature = "httptrace")]` are all a service adds: the client keeps
//! its type (`reqwest_middleware::ClientWithMiddleware` over a plain
//! `reqwest::Client`) and its middleware stack (reqwest-retry).
#![warn(missing_docs)]

use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;

/// The error type of this service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The service's HTTP client, with its usual settings and middleware stack
/// (retries of transient failures). The type is the same in both builds.
pub fn client() -> Result<ClientWithMiddleware, BoxError> {
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(10));

    #[cfg(feature = "httptrace")]
    let trace = httptrace::reqwest::Config::new().make_trace(httptrace_otel::OtelTrace::new());
    #[cfg(feature = "httptrace")]
    let client = httptrace::reqwest::ClientBuilderExt::instrument(builder, &trace)?;
    #[cfg(not(feature = "httptrace"))]
    let client = builder.build()?;

    let retries = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(100), Duration::from_secs(2))
        .build_with_max_retries(2);
    let stack = reqwest_middleware::ClientBuilder::new(client)
        .with(RetryTransientMiddleware::new_with_policy(retries));
    // Innermost, so every retry attempt is its own round trip.
    #[cfg(feature = "httptrace")]
    let stack = stack.with(httptrace::reqwest::TraceMiddleware::new(&trace));

    Ok(stack.build())
}

/// The service's one outbound call: GET `url`, return the body. The same
/// code in both builds.
pub async fn fetch(client: &ClientWithMiddleware, url: &str) -> Result<String, BoxError> {
    let call = async {
        let response = client.get(url).send().await?.error_for_status()?;
        Ok(response.text().await?)
    };

    // One span for the whole call, so every attempt and redirect hop lands
    // in one trace.
    #[cfg(feature = "httptrace")]
    let call = tracing::Instrument::instrument(call, tracing::info_span!("fetch", url.full = url));

    call.await
}
