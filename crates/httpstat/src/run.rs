//! Running the requests and printing each hop.

use std::io::Write;
use std::sync::{Arc, Mutex};

use httptrace::reqwest::{ClientBuilderExt, Config, RedirectPolicy};
use httptrace::{ClientTrace, Event};

use crate::cli::Args;
use crate::hop::{Hop, HopError, secret_urls, split_hops};
use crate::output::{self, Style};
use crate::redact;

/// Exit status: every request completed (whatever its HTTP status).
pub const EXIT_OK: u8 = 0;
/// Exit status: a request failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: usage error.
pub const EXIT_USAGE: u8 = 2;

/// What the traced client is built from, checked before anything is sent.
/// Errors are usage errors: the one-line message to print.
pub fn client(args: &Args) -> Result<httptrace::reqwest::Client, (u8, String)> {
    let mut config = Config::new()
        .redirect(if args.follow {
            RedirectPolicy::limited(10)
        } else {
            RedirectPolicy::none()
        })
        .danger_accept_invalid_certs(args.insecure);
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| (EXIT_USAGE, format!("--cacert {}: {e}", path.display())))?;
        config = config.root_certificates_pem(&pem).map_err(|e| {
            let why = e.to_string();
            let why = why.strip_prefix("builder error: ").unwrap_or(&why);
            let path = path.display();
            (
                EXIT_USAGE,
                format!("--cacert {path}: not a usable PEM CA file: {why}"),
            )
        })?;
    }
    if let Some(server) = args.dns_server {
        config = config.dns_server(server);
    }
    if otel_enabled() {
        config = config.make_trace(httptrace_otel::OtelTrace::new());
    }
    let mut builder =
        reqwest::Client::builder().user_agent(concat!("httpstat-rs/", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = args.max_time {
        builder = builder.timeout(timeout);
    }
    builder
        .traced_with(config)
        .map_err(|e| (EXIT_FAILED, format!("cannot build the HTTP client: {e}")))
}

/// True when spans should also be exported over OTLP: an OTLP endpoint is
/// configured in the environment.
pub fn otel_enabled() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// The request body: `-d` as given, or the file named after `@`.
pub fn body(args: &Args) -> Result<Option<Vec<u8>>, (u8, String)> {
    match args.data.as_deref() {
        None => Ok(None),
        Some(data) => match data.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .map(Some)
                .map_err(|e| (EXIT_USAGE, format!("-d @{path}: {e}"))),
            None => Ok(Some(data.as_bytes().to_vec())),
        },
    }
}

/// Whether to colour human output: not with `--no-color`, not when stdout is
/// not a terminal, not when `NO_COLOR` is set.
pub fn use_color(args: &Args) -> bool {
    use std::io::IsTerminal;
    !args.no_color
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Runs the whole command: `-n` requests, one after the other, on one
/// client. Prints each hop to `out` as it completes and, on the first failure,
/// one line to `err`. Returns the exit status.
pub async fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let setup = client(args).and_then(|c| body(args).map(|b| (c, b)));
    let (client, body) = match setup {
        Ok(x) => x,
        Err((code, message)) => {
            let _ = writeln!(err, "httpstat: {message}");
            return code;
        }
    };
    let style = Style {
        color: !args.json && use_color(args),
    };
    let method = args.effective_method();
    let has_content_type = args
        .headers
        .iter()
        .any(|h| h.name == http::header::CONTENT_TYPE);

    for index in 0..args.count {
        let log: Arc<Mutex<Vec<Event>>> = Arc::default();
        let sink = log.clone();
        let trace = ClientTrace::new().on_event(move |e| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone());
        });
        let mut request = client
            .request(method.clone(), args.url.clone())
            .trace(trace);
        for h in &args.headers {
            request = request.header(h.name.clone(), h.value.clone());
        }
        if let Some(body) = &body {
            if !has_content_type {
                request = request.header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                );
            }
            request = request.body(body.clone());
        }

        let mut final_headers = None;
        let mut client_error = None;
        let mut read_error = None;
        match request.send().await {
            Ok(mut response) => {
                final_headers = Some(response.headers().clone());
                // Read and discard the body; the trace counts the bytes.
                loop {
                    match response.chunk().await {
                        Ok(Some(_)) => {}
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

        let events = std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()));
        let secrets = secret_urls(&args.url, &events);
        let mut hops: Vec<Hop> = split_hops(&events)
            .iter()
            .map(|evs| Hop::from_events(index, evs, &method, &args.url, &secrets))
            .collect();

        // An error no hook reported (too many redirects, a request that could
        // not be built, a body error without body_done): pin it on the last
        // hop, or on a hop that never started.
        let unreported = match (&client_error, &read_error) {
            (Some(e), _) => Some(HopError::from_client(e)),
            (None, Some(e)) => Some(HopError {
                phase: crate::hop::Phase::Body,
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
                None => hops.push(Hop::not_started(index, &method, &args.url, error)),
            }
        }

        let last = hops.len().saturating_sub(1);
        for (i, hop) in hops.iter().enumerate() {
            let text = if args.json {
                output::json_line(hop) + "\n"
            } else {
                let headers = match (&hop.headers, i == last) {
                    (Some(own), _) => Some(own),
                    (None, true) => final_headers.as_ref(),
                    (None, false) => None,
                };
                let gap = if index > 0 || i > 0 { "\n" } else { "" };
                format!("{gap}{}", output::human(hop, headers, style))
            };
            if out.write_all(text.as_bytes()).is_err() {
                // stdout is gone (e.g. a closed pipe): nothing more to say there.
                break;
            }
        }
        let _ = out.flush();

        if let Some(error) = hops.iter().rev().find_map(|h| h.error.as_ref()) {
            let _ = writeln!(err, "httpstat: {}", error.line());
            return EXIT_FAILED;
        }
    }
    EXIT_OK
}
