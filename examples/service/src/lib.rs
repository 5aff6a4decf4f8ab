//! A tiny service that makes one outbound HTTP call with reqwest.
//!
//! Built plainly (`cargo build -p example-service`) it depends on reqwest
//! and tokio only. With `--features httptrace` every outbound call is traced:
//! one OpenTelemetry CLIENT span per round trip (redirect hops included) with
//! DNS, connect, TLS, connection reuse, first byte and body as span events,
//! exported over OTLP as the standard `OTEL_*` variables say. The lines under
//! `#[cfg(feature = "httptrace")]` are all a service adds.
#![warn(missing_docs)]

use std::time::Duration;

/// The error type of this service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The HTTP client: traced with the feature, plain reqwest without.
#[cfg(feature = "httptrace")]
pub type Client = httptrace::reqwest::Client;
/// The HTTP client: traced with the feature, plain reqwest without.
#[cfg(not(feature = "httptrace"))]
pub type Client = reqwest::Client;

/// The service's HTTP client, with its usual settings.
pub fn client() -> Result<Client, BoxError> {
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(10));

    #[cfg(feature = "httptrace")]
    let client = {
        use httptrace::reqwest::{ClientBuilderExt as _, Config};
        builder.traced_with(Config::new().make_trace(httptrace_otel::OtelTrace::new()))?
    };
    #[cfg(not(feature = "httptrace"))]
    let client = builder.build()?;

    Ok(client)
}

/// The service's one outbound call: GET `url`, return the body. The same
/// code for both clients.
pub async fn fetch(client: &Client, url: &str) -> Result<String, BoxError> {
    let call = async {
        let response = client.get(url).send().await?.error_for_status()?;
        Ok(response.text().await?)
    };

    // One span for the whole call, so every redirect hop lands in one trace.
    #[cfg(feature = "httptrace")]
    let call = tracing::Instrument::instrument(call, tracing::info_span!("fetch", url.full = url));

    call.await
}
