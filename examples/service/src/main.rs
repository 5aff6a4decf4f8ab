//! `example-service [URL]`: fetches URL (default `https://example.com/`)
//! and prints how many bytes came back.
//!
//! ```sh
//! cargo run -p example-service -- http://127.0.0.1:8080/            # plain
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
//!   cargo run -p example-service --features httptrace -- http://127.0.0.1:8080/   # traced
//! ```

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // OTLP export configured by the OTEL_* variables; flushes on drop.
    #[cfg(feature = "httptrace")]
    let _otel = httptrace_otel::init();

    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "https://example.com/".to_string());
    let result = async {
        let client = example_service::client()?;
        example_service::fetch(&client, &url).await
    }
    .await;
    match result {
        Ok(body) => {
            println!("{} bytes from {url}", body.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("example-service: GET {url}: {e}");
            ExitCode::FAILURE
        }
    }
}
