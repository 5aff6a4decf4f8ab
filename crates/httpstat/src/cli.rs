//! Command-line arguments (clap derive). Every value is checked here, so a bad
//! argument is a usage error (exit status 2) before anything is sent.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use http::{HeaderName, HeaderValue, Method};

const AFTER_LONG_HELP: &str = "\
PHASES (per round trip, from the hook events' own timestamps)
  DNS Lookup         dns_start -> dns_done
  TCP Connection     connect_start -> connect_done
  TLS Handshake      tls_handshake_start -> tls_handshake_done (the first
                     start to the last done: through an https:// proxy, its
                     handshake, the CONNECT and the origin's)
  Server Processing  wrote_request -> got_first_response_byte   (ttfb)
  Content Transfer   got_first_response_byte -> body_done
  total              round_trip_start -> body_done (-> round_trip_done if it failed)

  A phase that did not happen is shown as '-' (null in --json): no DNS for an
  IP-literal host, no TLS for http://, no DNS/TCP/TLS on a reused connection.

OUTPUT
  Each round trip (every redirect hop with -L, every repetition with -n) is
  reported on its own. Humans get the status line, the response headers and a
  waterfall; the body is read and discarded (its size is shown).

  --json prints one object per round trip, one per line:
    url, method, status (number|null), http_version (\"HTTP/1.1\"|\"HTTP/2\"|null),
    remote_addr (\"ip:port\"|null), local_addr, proxy (\"host:port\"|null: the
    proxy the hop went through), conn_reused (bool),
    idle_ms (number|null), dns_ms, tcp_ms, tls_ms, ttfb_ms, transfer_ms,
    total_ms (number|null), body_bytes (number|null), resend_count,
    request_index (which -n repetition, from 0),
    error (null | {\"phase\",\"kind\",\"message\"}),
    events: [{\"name\", \"offset_ms\" (from this hop's round_trip_start), details...}]
  Times are milliseconds (f64, microsecond precision). URL credentials are
  printed as REDACTED:REDACTED.

TRANSPORTS (--transport)
  reqwest (default)  httptrace's reqwest transport. reqwest hides its sockets:
                     connect_start, tls_handshake_start, wrote_headers,
                     wrote_request and got_first_response_byte are
                     approximations (ttfb includes parsing the response head),
                     one connect pair per dial without the address at start,
                     no 1xx responses.
  hyper              httptrace's hyper-util transport: those hooks come from
                     the socket itself (exact on HTTP/1.1), one
                     connect_start/connect_done pair per address tried, and
                     got_1xx_response events. Redirects (-L) are followed by
                     httpstat, hop by hop, with the same rules.
  Every option works with both. Both honour HTTP_PROXY and HTTPS_PROXY unless
  -x names a proxy, and NO_PROXY either way (as curl); through a proxy the DNS
  and TCP phases are the proxy's. See the table \"Hooks, exact or approximate\" in
  the project README for the measured error of each hook.

EXIT STATUS
  0 the request(s) completed (whatever the HTTP status)
  1 a request failed; stderr has one line:
      httpstat: <phase> failed: <kind>: <message>
    phase is dns, connect, tls, request, response, body or redirect
  2 usage error (bad argument, unreadable or empty --cacert file)

EXAMPLES
  httpstat https://example.com/
  httpstat -L -n 3 --json http://127.0.0.1:8080/redirect/2
  httpstat --transport hyper --json https://example.com/
  httpstat -X PUT -H 'Content-Type: application/json' -d '{\"a\":1}' https://api.test/x";

/// httpstat for Rust: time each phase of an HTTP request (DNS, TCP, TLS,
/// server processing, content transfer), per round trip.
#[derive(Clone, Debug, Parser)]
#[command(name = "httpstat", version, after_long_help = AFTER_LONG_HELP)]
pub struct Args {
    /// HTTP method [default: GET, or POST when -d is given]
    #[arg(short = 'X', long = "request", value_name = "METHOD", value_parser = parse_method)]
    pub method: Option<Method>,

    /// Request header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "'K: V'", value_parser = parse_header)]
    pub headers: Vec<Header>,

    /// Request body; '@FILE' reads it from FILE. Sets Content-Type
    /// application/x-www-form-urlencoded unless -H gives one (as curl)
    #[arg(short = 'd', long = "data", value_name = "BODY")]
    pub data: Option<String>,

    /// Follow redirects (at most 10); each hop is reported on its own
    #[arg(short = 'L', long = "location")]
    pub follow: bool,

    /// Accept any server certificate (handshake signatures are still checked)
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Also trust the CA certificates in this PEM file
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Send the requests through this proxy (http://HOST:PORT or https://..,
    /// with USER:PASSWORD@ if it wants them) instead of the
    /// HTTP_PROXY/HTTPS_PROXY variables; HTTPS goes through a CONNECT tunnel.
    /// The credentials go to the proxy and are never printed
    #[arg(short = 'x', long = "proxy", value_name = "URL", value_parser = ProxyParser)]
    pub proxy: Option<url::Url>,

    /// Send DNS queries to this server (UDP, then TCP) instead of the system's;
    /// the port defaults to 53
    #[arg(long = "dns-server", value_name = "IP:PORT", value_parser = parse_dns_server)]
    pub dns_server: Option<SocketAddr>,

    /// Send the request COUNT times, one after the other, on one client (so
    /// connection reuse and idle time show)
    #[arg(
        short = 'n',
        long = "count",
        value_name = "COUNT",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub count: u32,

    /// Give up on a round trip after this many seconds (fractions allowed)
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS", value_parser = parse_seconds)]
    pub max_time: Option<Duration>,

    /// One JSON object per round trip, one per line, instead of the waterfall
    #[arg(long)]
    pub json: bool,

    /// The HTTP client: reqwest (default; some socket-level hooks are
    /// approximate) or hyper (hyper-util, socket-level hooks exact,
    /// per-address connect attempts, 1xx responses)
    #[arg(long, value_name = "TRANSPORT", value_enum, default_value_t = Transport::Reqwest)]
    pub transport: Transport,

    /// No colours (also off when stdout is not a terminal, or NO_COLOR is set)
    #[arg(long = "no-color")]
    pub no_color: bool,

    /// The URL (http:// or https://; a URL without a scheme means http://)
    #[arg(value_name = "URL", value_parser = parse_url)]
    pub url: url::Url,
}

/// Which httptrace transport sends the requests (`--transport`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// `httptrace::reqwest`: reqwest 0.13; some socket-level hooks are
    /// approximations.
    #[default]
    Reqwest,
    /// `httptrace::hyper`: hyper-util's client with httptrace's connector;
    /// socket-level hooks exact, per-address connect attempts, 1xx responses.
    Hyper,
}

/// One `-H` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The field name.
    pub name: HeaderName,
    /// The field value.
    pub value: HeaderValue,
}

impl Args {
    /// The method to send: `-X`, else POST with `-d`, else GET.
    pub fn effective_method(&self) -> Method {
        match (&self.method, &self.data) {
            (Some(m), _) => m.clone(),
            (None, Some(_)) => Method::POST,
            (None, None) => Method::GET,
        }
    }
}

fn parse_method(s: &str) -> Result<Method, String> {
    if s.is_empty() {
        return Err("the method is empty".into());
    }
    Method::from_bytes(s.as_bytes()).map_err(|_| format!("'{s}' is not a valid HTTP method"))
}

fn parse_header(s: &str) -> Result<Header, String> {
    let Some((name, value)) = s.split_once(':') else {
        return Err(format!("expected 'Name: value', got '{s}'"));
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("'{}' is not a valid header name", name.trim()))?;
    let mut value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of '{name}' is not a valid header value"))?;
    if matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) {
        value.set_sensitive(true);
    }
    Ok(Header { name, value })
}

fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("expected IP:PORT (e.g. 127.0.0.1:5353 or [::1]:53), got '{s}'"))
}

/// Parses `-x` like [`parse_proxy`], with an error that does not quote the
/// value (clap's own errors would, and it may hold a password).
#[derive(Clone, Copy, Debug)]
struct ProxyParser;

impl clap::builder::TypedValueParser for ProxyParser {
    type Value = url::Url;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<url::Url, clap::Error> {
        let invalid = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '--proxy <URL>': {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| invalid("not UTF-8".to_string()))?;
        parse_proxy(text).map_err(invalid)
    }
}

/// Parses a URL, taking one without a scheme as `http://` (as curl does).
fn parse_http_default(s: &str) -> Result<url::Url, url::ParseError> {
    match url::Url::parse(s) {
        Err(url::ParseError::RelativeUrlWithoutBase) => url::Url::parse(&format!("http://{s}")),
        other => other,
    }
}

fn parse_proxy(s: &str) -> Result<url::Url, String> {
    // Never echo the argument: it may hold the proxy's password.
    let url = parse_http_default(s).map_err(|e| format!("invalid proxy URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported proxy scheme '{}': only http:// and https:// proxies",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the proxy URL has no host".to_string());
    }
    Ok(url)
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of seconds, got '{s}'"))?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("expected a positive number of seconds, got '{s}'"))
}

fn parse_url(s: &str) -> Result<url::Url, String> {
    let url = parse_http_default(s).map_err(|e| format!("invalid URL '{s}': {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported scheme '{}': only http and https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the URL '{s}' has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn headers_parse() {
        let h = parse_header("X-A:  b c ").unwrap();
        assert_eq!(h.name, "x-a");
        assert_eq!(h.value, "b c");
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert!(
            parse_header("Authorization: x")
                .unwrap()
                .value
                .is_sensitive()
        );
    }

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_url("example.test/x").unwrap().as_str(),
            "http://example.test/x"
        );
        assert!(parse_url("ftp://example.test/").is_err());
        assert!(parse_url("http://[::1").is_err());
        assert!(parse_url("").is_err());
    }

    #[test]
    fn method_defaults_like_curl() {
        let a = Args::try_parse_from(["httpstat", "-d", "x", "http://a.test/"]).unwrap();
        assert_eq!(a.effective_method(), Method::POST);
        let a =
            Args::try_parse_from(["httpstat", "-X", "PUT", "-d", "x", "http://a.test/"]).unwrap();
        assert_eq!(a.effective_method(), Method::PUT);
        let a = Args::try_parse_from(["httpstat", "http://a.test/"]).unwrap();
        assert_eq!(a.effective_method(), Method::GET);
        assert!(Args::try_parse_from(["httpstat", "-n", "0", "http://a.test/"]).is_err());
    }

    #[test]
    fn transport_defaults_to_reqwest() {
        let a = Args::try_parse_from(["httpstat", "http://a.test/"]).unwrap();
        assert_eq!(a.transport, Transport::Reqwest);
        let a =
            Args::try_parse_from(["httpstat", "--transport", "hyper", "http://a.test/"]).unwrap();
        assert_eq!(a.transport, Transport::Hyper);
        assert!(
            Args::try_parse_from(["httpstat", "--transport", "foo", "http://a.test/"]).is_err()
        );
    }

    #[test]
    fn dns_server_port_defaults_to_53() {
        assert_eq!(parse_dns_server("10.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("127.0.0.1:5353").unwrap().port(), 5353);
        assert!(parse_dns_server("nope").is_err());
    }
}
