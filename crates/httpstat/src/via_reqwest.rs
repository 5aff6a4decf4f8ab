//! `--transport reqwest`: one request through `httptrace::reqwest`, which
//! follows the redirects itself, its events split into hops.

use crate::cli::Args;
use crate::hop::{HopError, HopReport, secret_urls, split_hops};
use crate::redact;
use crate::shared::{BodySink, EventLog, Sent};

/// Sends one request through the reqwest transport (which follows the
/// redirects itself) and splits its events into hops.
pub async fn send(
    client: &httptrace::reqwest::Client,
    args: &Args,
    url: &url::Url,
    body: Option<&[u8]>,
    index: u32,
    sink: &mut BodySink<'_>,
) -> Sent {
    let method = args.effective_method();
    let has_content_type = args
        .headers
        .iter()
        .any(|h| h.name == http::header::CONTENT_TYPE);
    let log = EventLog::default();
    let trace = log.trace();
    let mut request = client.request(method.clone(), url.clone()).trace(trace);
    for h in &args.headers {
        request = request.header(h.name.clone(), h.value.clone());
    }
    if let Some(body) = body {
        if !has_content_type {
            request = request.header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        }
        request = request.body(body.to_vec());
    }

    let mut final_headers = None;
    let mut client_error = None;
    let mut read_error = None;
    match request.send().await {
        Ok(mut response) => {
            final_headers = Some(response.headers().clone());
            sink.response(response.status());
            // Read the body (written where -o says, else discarded); the
            // trace counts the bytes.
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => sink.write(&chunk),
                    Ok(None) => break,
                    Err(e) => {
                        read_error = Some(e);
                        break;
                    }
                }
            }
        }
        Err(e) => client_error = Some(e),
    }

    let events = log.take();
    let secrets = secret_urls(url, &events);
    let mut hops: Vec<HopReport> = split_hops(&events)
        .iter()
        .map(|evs| HopReport::from_events(index, evs, &method, url, &secrets))
        .collect();

    // An error no hook reported (too many redirects, a request that could
    // not be built, a body error without body_done): pin it on the last
    // hop, or on a hop that never started.
    let unreported = match (&client_error, &read_error) {
        (Some(e), _) => Some(HopError::from_client(e)),
        (None, Some(e)) => Some(HopError {
            phase: crate::hop::FailurePhase::Body,
            kind: "other",
            message: e.to_string(),
        }),
        _ => None,
    };
    if let Some(mut error) = unreported {
        error.message = redact::message(&error.message, &secrets);
        match hops.last_mut() {
            Some(last) => {
                last.error.get_or_insert(error);
            }
            None => hops.push(HopReport::not_started(index, &method, url, error)),
        }
    }
    Sent {
        hops,
        final_headers,
    }
}
