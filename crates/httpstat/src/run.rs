//! Running the requests and printing each hop.

use std::io::Write;
use std::sync::{Arc, Mutex};

use httptrace::reqwest::{ClientBuilderExt, Config, RedirectPolicy};
use httptrace::{ClientTrace, Event};

use crate::cli::{Args, Transport};
use crate::hop::{Hop, HopError, secret_urls, split_hops};
use crate::output::{self, Style};
use crate::redact;

/// Exit status: every request completed (whatever its HTTP status).
pub const EXIT_OK: u8 = 0;
/// Exit status: a request failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: with `-L`, a redirect that cannot be followed (no usable
/// `Location`); curl's `CURLE_URL_MALFORMAT`, which curl exits with when a
/// redirect's target cannot be parsed.
pub const EXIT_REDIRECT: u8 = 3;

/// The `User-Agent` httpstat sends unless `-H` gives one.
pub const USER_AGENT: &str = concat!("httpstat-rs/", env!("CARGO_PKG_VERSION"));

/// The client of the transport chosen with `--transport`.
#[derive(Debug)]
pub enum Client {
    /// `httptrace::reqwest`.
    Reqwest(httptrace::reqwest::Client),
    /// `httptrace::hyper`, with redirects and `-m` done by httpstat.
    Hyper(Box<crate::via_hyper::Client>),
}

/// The traced client, built from the arguments, checked before anything is
/// sent. Errors are the exit status and the one-line message to print.
pub fn client(args: &Args) -> Result<Client, (u8, String)> {
    let roots = match &args.cacert {
        Some(path) => cacert(path)?,
        None => Vec::new(),
    };
    match args.transport {
        Transport::Reqwest => reqwest_client(args, roots).map(Client::Reqwest),
        Transport::Hyper => {
            crate::via_hyper::client(args, roots).map(|c| Client::Hyper(Box::new(c)))
        }
    }
}

/// The DER certificates of a `--cacert` PEM file; a missing, unreadable or
/// certificate-less file is a usage error.
pub fn cacert(path: &std::path::Path) -> Result<Vec<Vec<u8>>, (u8, String)> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path)
        .map_err(|e| (EXIT_USAGE, format!("--cacert {}: {e}", path.display())))?;
    let unusable = |why: String| {
        let path = path.display();
        (
            EXIT_USAGE,
            format!("--cacert {path}: not a usable PEM CA file: {why}"),
        )
    };
    let mut roots = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unusable(format!("bad PEM certificate: {e}")))?;
        roots.push(cert.to_vec());
    }
    if roots.is_empty() {
        return Err(unusable("no certificate found in PEM input".to_string()));
    }
    Ok(roots)
}

fn reqwest_client(
    args: &Args,
    roots: Vec<Vec<u8>>,
) -> Result<httptrace::reqwest::Client, (u8, String)> {
    let mut config = Config::new()
        .redirect(if args.follow {
            RedirectPolicy::limited(crate::redirect::MAX_REDIRECTS as usize)
        } else {
            RedirectPolicy::none()
        })
        .danger_accept_invalid_certs(args.insecure);
    for der in roots {
        config = config.root_certificate_der(der);
    }
    if let Some(server) = args.dns_server {
        config = config.dns_server(server);
    }
    if otel_enabled() {
        config = config.make_trace(httptrace_otel::OtelTrace::new());
    }
    let mut builder = reqwest::Client::builder().user_agent(USER_AGENT);
    if let Some(proxy) = &args.proxy {
        // An explicit proxy replaces the environment's, as with curl's -x;
        // NO_PROXY still exempts its hosts, as in curl.
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| (EXIT_USAGE, format!("invalid proxy URL: {e}")))?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    }
    if let Some(timeout) = args.max_time {
        builder = builder.timeout(timeout);
    }
    builder
        .traced_with(config)
        .map_err(|e| (EXIT_FAILED, format!("cannot build the HTTP client: {e}")))
}

/// Every event of the requests it traces, in delivery order.
#[derive(Clone, Debug, Default)]
pub struct EventLog(Arc<Mutex<Vec<Event>>>);

impl EventLog {
    /// A trace that records into this log.
    pub fn trace(&self) -> ClientTrace {
        let sink = self.0.clone();
        ClientTrace::new().on_event(move |e| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone())
        })
    }

    /// The events recorded so far, leaving the log empty.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
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

/// True when metrics should be exported too: only when asked, with
/// `OTEL_METRICS_EXPORTER=otlp`, or (that variable unset) with a
/// metrics-specific `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`. A single run's
/// histogram says little, and a traces-only collector (Jaeger) would refuse
/// it on every run.
pub fn otel_metrics_requested() -> bool {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match var("OTEL_METRICS_EXPORTER") {
        Some(list) => list
            .split(',')
            .any(|s| s.trim().eq_ignore_ascii_case("otlp")),
        None => var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_some(),
    }
}

/// How long httpstat waits at exit for its telemetry to be exported: 1 s,
/// or `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds) when set, plus 100 ms.
pub fn otel_flush_bound() -> std::time::Duration {
    match otel_env_export_timeout() {
        Some(t) => t + std::time::Duration::from_millis(100),
        None => std::time::Duration::from_secs(1),
    }
}

/// The export timeout the environment sets (`OTEL_EXPORTER_OTLP_TIMEOUT`,
/// milliseconds), if any; httpstat otherwise gives each export 900 ms, so
/// that it ends, with its own error, within the flush bound.
pub fn otel_env_export_timeout() -> Option<std::time::Duration> {
    std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
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

/// One request's hops (all of them with `-L`), summarised.
#[derive(Debug)]
pub struct Sent {
    /// The hops, in order; the last one may carry the request's error.
    pub hops: Vec<Hop>,
    /// The final response's headers, for a hop whose events do not carry
    /// them.
    pub final_headers: Option<http::HeaderMap>,
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
    let proxies = proxies(args);
    for index in 0..args.count {
        let mut sent = match &client {
            Client::Reqwest(client) => send_reqwest(client, args, body.as_deref(), index).await,
            Client::Hyper(client) => {
                let first = crate::via_hyper::first_request(args, body.clone());
                client.send(first, index).await
            }
        };
        for hop in &mut sent.hops {
            hop.proxy = hop.requested_url().and_then(|url| proxy_of(&proxies, url));
        }
        let unfollowed = args.follow && fail_unfollowed_redirect(&mut sent);
        if let Some(code) = print(args, index, &sent, style, out, err) {
            return if unfollowed { EXIT_REDIRECT } else { code };
        }
    }
    EXIT_OK
}

/// Which proxy each URL goes through: `-x` for every URL, else the
/// environment's `HTTP_PROXY`/`HTTPS_PROXY`; `NO_PROXY` exempts hosts from
/// either, as in curl. The hyper transport is given this; reqwest applies
/// the same rules (hyper-util's matcher) itself, so on both it names the
/// proxy a hop went through.
pub fn proxies(args: &Args) -> httptrace::hyper::ProxyMatcher {
    use httptrace::hyper::ProxyMatcher;
    match &args.proxy {
        Some(proxy) => {
            let no_proxy = ["NO_PROXY", "no_proxy"]
                .iter()
                .find_map(|k| std::env::var(k).ok())
                .unwrap_or_default();
            ProxyMatcher::builder()
                .all(proxy.as_str())
                .no(no_proxy)
                .build()
        }
        None => ProxyMatcher::from_env(),
    }
}

/// `host:port` of the proxy `url` goes through, without credentials.
fn proxy_of(proxies: &httptrace::hyper::ProxyMatcher, url: &url::Url) -> Option<String> {
    let uri: http::Uri = url.as_str().parse().ok()?;
    let proxy = proxies.intercept(&uri)?;
    let host = proxy.uri().host()?;
    let default_port = if proxy.uri().scheme_str() == Some("https") {
        443
    } else {
        80
    };
    let port = proxy.uri().port_u16().unwrap_or(default_port);
    Some(format!("{host}:{port}"))
}

/// Sends one request through the reqwest transport (which follows the
/// redirects itself) and splits its events into hops.
async fn send_reqwest(
    client: &httptrace::reqwest::Client,
    args: &Args,
    body: Option<&[u8]>,
    index: u32,
) -> Sent {
    let method = args.effective_method();
    let has_content_type = args
        .headers
        .iter()
        .any(|h| h.name == http::header::CONTENT_TYPE);
    let log = EventLog::default();
    let trace = log.trace();
    let mut request = client
        .request(method.clone(), args.url.clone())
        .trace(trace);
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

    let events = log.take();
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
    Sent {
        hops,
        final_headers,
    }
}

/// With `-L`, a last hop that is a redirect the rules could not follow
/// (see [`crate::redirect::unfollowable`]) is a `redirect` failure of that
/// hop, naming the hop and why. Returns whether it was.
pub fn fail_unfollowed_redirect(sent: &mut Sent) -> bool {
    let count = sent.hops.len();
    let final_headers = sent.final_headers.as_ref();
    let Some(hop) = sent.hops.last_mut() else {
        return false;
    };
    let (Some(status), None) = (hop.status, &hop.error) else {
        return false;
    };
    let Some(url) = hop.requested_url().cloned() else {
        return false;
    };
    let Some(headers) = hop.headers.as_ref().or(final_headers) else {
        return false;
    };
    let Some(why) = crate::redirect::unfollowable(&url, status, headers) else {
        return false;
    };
    let message = format!(
        "cannot follow the {status} of hop {count} ({} {}): {why}",
        hop.method, hop.url
    );
    hop.error = Some(HopError {
        phase: crate::hop::Phase::Redirect,
        kind: httptrace::ErrorKind::Redirect.as_str(),
        message: hop.redact(&message),
    });
    true
}

/// Prints one request's hops; on a failure also the one line on `err`, and
/// returns the exit status to stop with.
fn print(
    args: &Args,
    index: u32,
    sent: &Sent,
    style: Style,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<u8> {
    let hops = &sent.hops;
    let last = hops.len().saturating_sub(1);
    for (i, hop) in hops.iter().enumerate() {
        let text = if args.json {
            output::json_line(hop) + "\n"
        } else {
            let headers = match (&hop.headers, i == last) {
                (Some(own), _) => Some(own),
                (None, true) => sent.final_headers.as_ref(),
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

    let error = hops.iter().rev().find_map(|h| h.error.as_ref())?;
    let _ = writeln!(err, "httpstat: {}", error.line());
    Some(EXIT_FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use httptrace::hyper::ProxyMatcher;

    #[test]
    fn proxy_of_names_host_and_port_without_credentials() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        let via = |proxy: &str| ProxyMatcher::builder().all(proxy).no("direct.test").build();
        let of = |proxy: &str, target: &str| proxy_of(&via(proxy), &url(target));
        assert_eq!(
            of("http://u:secret@proxy.test:3128", "http://a.test/"),
            Some("proxy.test:3128".into())
        );
        // Each scheme's default port.
        assert_eq!(
            of("http://proxy.test", "https://a.test/"),
            Some("proxy.test:80".into())
        );
        assert_eq!(
            of("https://proxy.test", "https://a.test/"),
            Some("proxy.test:443".into())
        );
        assert_eq!(
            of("http://[::1]:3128", "http://a.test/"),
            Some("[::1]:3128".into())
        );
        assert_eq!(of("http://proxy.test", "http://direct.test/"), None);
    }
}
