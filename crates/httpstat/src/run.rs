//! The run loop: every URL, `-n` times, one after the other on one client;
//! each request's hops printed as they complete, its `-w` line after them,
//! and per URL the `-n` summary.

use std::io::Write;

use crate::cli::Args;
use crate::client::{Client, client};
use crate::hop::HopError;
use crate::output::{self, Style};
use crate::proxy::{proxies, proxy_of};
use crate::redact;
use crate::shared::{
    BodySink, BodyTarget, EXIT_FAILED, EXIT_HTTP_ERROR, EXIT_OK, EXIT_REDIRECT, EXIT_USAGE,
    EXIT_WRITE, Sent,
};
use crate::summary::Summary;

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

/// Where each URL's body goes: the Nth `-o` for the Nth URL, else with
/// `-O` a file named like the URL's last path segment, else nowhere.
pub fn targets(args: &Args) -> Result<Vec<BodyTarget>, (u8, String)> {
    if args.output.len() > args.urls.len() {
        return Err((
            EXIT_USAGE,
            format!(
                "-o: {} -o for {} URL(s); give at most one per URL, in order",
                args.output.len(),
                args.urls.len()
            ),
        ));
    }
    let mut targets = Vec::new();
    for (i, url) in args.urls.iter().enumerate() {
        let target = match args.output.get(i) {
            Some(path) if path.as_os_str() == "-" => BodyTarget::Stdout,
            Some(path) => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                    return Err((
                        EXIT_USAGE,
                        format!("-o {}: no directory {}", path.display(), dir.display()),
                    ));
                }
                BodyTarget::File(path.clone())
            }
            None if args.remote_name => {
                let name = url
                    .path_segments()
                    .and_then(|mut s| s.next_back())
                    .filter(|s| !s.is_empty() && *s != "." && *s != "..");
                match name {
                    Some(name) => BodyTarget::File(name.into()),
                    None => {
                        return Err((
                            EXIT_USAGE,
                            format!("-O: {} has no file name to save as", redact::url(url)),
                        ));
                    }
                }
            }
            None => BodyTarget::Discard,
        };
        targets.push(target);
    }
    Ok(targets)
}

/// Runs the whole command: each URL `-n` times, one request after the
/// other, on one client. Prints each hop as it completes (to `out`, or to
/// `err` when the body goes to stdout), on a failure one line to `err`, and
/// `-w`'s text after each request. Stops at the first failed request; a
/// status of 400 or more with `-f` does not stop the run. Returns the exit
/// status.
pub async fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // Building the client (TLS provider, resolver) takes tens of
    // milliseconds: its own span, so the trace says where that time went.
    let setup = tracing::info_span!("client setup")
        .in_scope(|| client(args))
        .and_then(|c| body(args).map(|b| (c, b)))
        .and_then(|(c, b)| targets(args).map(|t| (c, b, t)));
    let (client, body, targets) = match setup {
        Ok(x) => x,
        Err((code, message)) => {
            let _ = writeln!(err, "httpstat: {message}");
            return code;
        }
    };
    let to_err = args.body_to_stdout();
    let style = Style {
        color: !args.json && !to_err && use_color(args),
    };
    let proxies = proxies(args);
    let mut status = EXIT_OK;
    let mut first = true;
    for (url, target) in args.urls.iter().zip(targets) {
        let mut summary = Summary::new(redact::url(url));
        for index in 0..args.count {
            let stdout: Option<&mut dyn Write> = match target {
                BodyTarget::Stdout => Some(&mut *out),
                _ => None,
            };
            let mut sink = BodySink::new(target.clone(), stdout, args.fail);
            let mut sent = match &client {
                Client::Reqwest(client) => {
                    crate::via_reqwest::send(client, args, url, body.as_deref(), index, &mut sink)
                        .await
                }
                Client::Hyper(client) => {
                    let first = crate::via_hyper::first_request(args, url, body.clone());
                    client.send(first, index, &mut sink).await
                }
            };
            let write_error = sink.finish();
            for hop in &mut sent.hops {
                let requested = hop.requested_url().cloned();
                hop.proxy = requested.as_ref().and_then(|u| proxy_of(&proxies, u));
                hop.dns_pinned = hop.proxy.is_none()
                    && requested.is_some_and(|u| {
                        crate::pin::is_pinned(&u, &args.resolve, &args.connect_to)
                    });
            }
            let unfollowed = args.follow && fail_unfollowed_redirect(&mut sent);
            summary.add(&sent.hops, sent.final_headers.as_ref());
            if !args.silent {
                let report: &mut dyn Write = if to_err { &mut *err } else { &mut *out };
                print(args, &sent, style, report, first);
            }
            first = false;
            let code = outcome(args, &sent, unfollowed, write_error, err);
            if let Some(w) = &args.write_out {
                let vars = crate::write_out::variables(&sent, url, code);
                let headers = sent.hops.last().and_then(|h| h.headers.as_ref());
                let headers = headers.or(sent.final_headers.as_ref());
                let (text, text_err) = w.render(&vars, sent.hops.last(), headers);
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                let _ = err.write_all(text_err.as_bytes());
            }
            match code {
                EXIT_OK => {}
                EXIT_HTTP_ERROR => status = EXIT_HTTP_ERROR,
                other => return other,
            }
        }
        if args.count > 1 && !args.silent {
            let report: &mut dyn Write = if to_err { &mut *err } else { &mut *out };
            let text = if args.json {
                summary.json_line() + "\n"
            } else {
                summary.human()
            };
            let _ = report.write_all(text.as_bytes());
            let _ = report.flush();
        }
    }
    status
}

/// The exit status one request ends with; prints its one line to `err`
/// when it is not 0.
fn outcome(
    args: &Args,
    sent: &Sent,
    unfollowed: bool,
    write_error: Option<String>,
    err: &mut dyn Write,
) -> u8 {
    let (code, line) = if let Some(error) = sent.hops.iter().rev().find_map(|h| h.error.as_ref()) {
        let code = if unfollowed {
            EXIT_REDIRECT
        } else {
            EXIT_FAILED
        };
        (code, error.line())
    } else if let Some(message) = write_error {
        (EXIT_WRITE, message)
    } else if let Some(hop) = sent.hops.last()
        && let Some(status) = hop.status.filter(|s| args.fail && s.as_u16() >= 400)
    {
        let line = format!("--fail: {} answered {status}", hop.url);
        (EXIT_HTTP_ERROR, line)
    } else {
        return EXIT_OK;
    };
    let _ = writeln!(err, "httpstat: {line}");
    code
}

/// With `-L`, a last hop that is a redirect the rules could not follow
/// (see `redirect::unfollowable`) is a `redirect` failure of that
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
        phase: crate::hop::FailurePhase::Redirect,
        kind: httptrace::ErrorKind::Redirect.as_str(),
        message: hop.redact(&message),
    });
    true
}

/// Prints one request's hops; `first` is whether anything was printed
/// before (the waterfalls are separated by a blank line).
fn print(args: &Args, sent: &Sent, style: Style, out: &mut dyn Write, first: bool) {
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
            let gap = if !first || i > 0 { "\n" } else { "" };
            format!("{gap}{}", output::human(hop, headers, style))
        };
        if out.write_all(text.as_bytes()).is_err() {
            // stdout is gone (e.g. a closed pipe): nothing more to say there.
            break;
        }
    }
    let _ = out.flush();
}
