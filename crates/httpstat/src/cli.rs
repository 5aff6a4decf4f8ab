//! Command-line arguments (clap derive). Every value is checked here, so a bad
//! argument is a usage error (exit status 2) before anything is sent.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use http::{HeaderName, HeaderValue, Method};

/// httpstat for Rust: time each phase of an HTTP request (DNS, TCP, TLS,
/// server processing, content transfer), per round trip.
#[derive(Clone, Debug, Parser)]
#[command(name = "httpstat", version, after_long_help = crate::help::AFTER_LONG_HELP)]
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

    /// Present this client certificate (PEM, leaf first) to servers that
    /// ask for one (mutual TLS); the file may hold the private key too.
    /// PASSWORD is for an encrypted key, which is refused (decrypt it
    /// first); it is never printed
    #[arg(short = 'E', long = "cert", value_name = "FILE[:PASSWORD]", value_parser = parse_cert)]
    pub cert: Option<CertArg>,

    /// The private key (PEM, not encrypted) of --cert's certificate, when
    /// the certificate file does not hold it
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,

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

    /// Use these addresses for HOST:PORT instead of asking DNS (repeatable;
    /// IPv6 in brackets). The TLS name stays the URL's host
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR[,ADDR]...", value_parser = crate::pin::parse_resolve)]
    pub resolve: Vec<crate::pin::Resolve>,

    /// Connect to ADDR2:PORT2 (an IP address) instead of HOST:PORT
    /// (repeatable); PORT2 may differ from PORT only with the reqwest
    /// transport and a URL that names no port. The TLS name stays the URL's
    /// host
    #[arg(long = "connect-to", value_name = "HOST:PORT:ADDR2:PORT2", value_parser = crate::pin::parse_connect_to)]
    pub connect_to: Vec<crate::pin::ConnectTo>,

    /// Connect over IPv4 only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Connect over IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Speak HTTP/1.1 only (ALPN offers only http/1.1)
    #[arg(long = "http1.1", group = "http_version")]
    pub http1_1: bool,

    /// Prefer HTTP/2: ALPN offers h2 first (the default; plain http://
    /// stays HTTP/1.1, see --http2-prior-knowledge)
    #[arg(long = "http2", group = "http_version")]
    pub http2: bool,

    /// Speak HTTP/2 from the first byte, without ALPN or Upgrade (h2c on
    /// http://). reqwest transport only
    #[arg(long = "http2-prior-knowledge", group = "http_version")]
    pub http2_prior_knowledge: bool,

    /// Send the request COUNT times, one after the other, on one client (so
    /// connection reuse and idle time show); with COUNT > 1 a summary per
    /// phase (min, median, p90, max) follows each URL's runs
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

    /// Send HEAD and show the response head (no body)
    #[arg(short = 'I', long = "head", conflicts_with = "data")]
    pub head: bool,

    /// Write the body to FILE instead of discarding it ('-' for stdout: the
    /// timings then go to stderr). Repeatable: the Nth -o is the Nth URL's
    #[arg(short = 'o', long = "output", value_name = "FILE", value_parser = parse_output)]
    pub output: Vec<PathBuf>,

    /// Write each URL's body to a file named like the URL's last path
    /// segment, in the current directory (URLs without an -o of their own)
    #[arg(short = 'O', long = "remote-name")]
    pub remote_name: bool,

    /// No waterfall, no JSON lines, no summary: only errors and what -w asks
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// Exit with 22 when the (final) HTTP status is 400 or more; the timings
    /// are still printed, the body is not written
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,

    /// After each request print FORMAT, curl's way: %{time_total},
    /// %{http_code}, ... (see --help), \n for a newline; @FILE reads it
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT", value_parser = crate::write_out::parse)]
    pub write_out: Option<crate::write_out::WriteOut>,

    /// The HTTP client: reqwest (default; some socket-level hooks are
    /// approximate) or hyper (hyper-util, socket-level hooks exact,
    /// per-address connect attempts, 1xx responses)
    #[arg(long, value_name = "TRANSPORT", value_enum, default_value_t = Transport::Reqwest)]
    pub transport: Transport,

    /// No colours (also off when stdout is not a terminal, or NO_COLOR is set)
    #[arg(long = "no-color")]
    pub no_color: bool,

    /// The URL(s) (http:// or https://; a URL without a scheme means
    /// http://). Several URLs are sent one after the other on one client
    #[arg(value_name = "URL", value_parser = parse_url, required = true)]
    pub urls: Vec<url::Url>,
}

/// The HTTP version asked for (`--http1.1`, `--http2`,
/// `--http2-prior-knowledge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 offered by ALPN over TLS, HTTP/1.1 otherwise (the default, and
    /// `--http2`).
    Negotiate,
    /// `--http1.1`.
    Http11,
    /// `--http2-prior-knowledge`.
    Http2PriorKnowledge,
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
    /// The method to send: `-X`, else HEAD with `-I`, else POST with `-d`,
    /// else GET.
    pub fn effective_method(&self) -> Method {
        match (&self.method, &self.data) {
            (Some(m), _) => m.clone(),
            (None, _) if self.head => Method::HEAD,
            (None, Some(_)) => Method::POST,
            (None, None) => Method::GET,
        }
    }

    /// The HTTP version asked for.
    pub fn http_version(&self) -> HttpVersion {
        if self.http1_1 {
            HttpVersion::Http11
        } else if self.http2_prior_knowledge {
            HttpVersion::Http2PriorKnowledge
        } else {
            HttpVersion::Negotiate
        }
    }

    /// The address family asked for with `-4`/`-6`.
    pub fn family(&self) -> Option<crate::pin::Family> {
        match (self.ipv4, self.ipv6) {
            (true, _) => Some(crate::pin::Family::V4),
            (_, true) => Some(crate::pin::Family::V6),
            _ => None,
        }
    }

    /// Whether the body goes to stdout (`-o -`), so the timings go to stderr.
    pub fn body_to_stdout(&self) -> bool {
        self.output.iter().any(|p| p.as_os_str() == "-")
    }
}

/// A clap error as one line, without clap's usage and tip lines: what
/// httpstat prints (after `httpstat: `) for a usage error.
pub fn one_line_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() && !line.starts_with("tip:") {
            parts.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    parts.join(" ")
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

fn parse_output(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("the file name is empty".into());
    }
    Ok(PathBuf::from(s))
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
    #[test]
    fn cert_splits_at_the_first_unescaped_colon() {
        let c = super::parse_cert("me.pem").unwrap();
        assert_eq!((c.path.to_str(), c.password), (Some("me.pem"), None));
        let c = super::parse_cert("me.pem:pw:with:colons").unwrap();
        assert_eq!(c.path.to_str(), Some("me.pem"));
        assert_eq!(c.password.as_deref(), Some("pw:with:colons"));
        let c = super::parse_cert(r"dir\:x/me.pem:pw").unwrap();
        assert_eq!(c.path.to_str(), Some("dir:x/me.pem"));
        assert!(!format!("{c:?}").contains("pw\""), "{c:?}");
        assert!(super::parse_cert(":pw").is_err());
    }

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
        let a = Args::try_parse_from(["httpstat", "-I", "http://a.test/"]).unwrap();
        assert_eq!(a.effective_method(), Method::HEAD);
        assert!(Args::try_parse_from(["httpstat", "-I", "-d", "x", "http://a.test/"]).is_err());
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

/// `--cert FILE[:PASSWORD]`. Its Debug form never shows the password.
#[derive(Clone)]
pub struct CertArg {
    /// The certificate's PEM file.
    pub path: PathBuf,
    /// The key's password, if one was given.
    pub password: Option<String>,
}

impl std::fmt::Debug for CertArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertArg")
            .field("path", &self.path)
            .field("password", &self.password.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

/// Splits `FILE[:PASSWORD]` at the first colon not escaped with `\`, as
/// curl does.
fn parse_cert(value: &str) -> Result<CertArg, String> {
    let mut path = String::new();
    let mut chars = value.chars();
    let mut password = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(':') => path.push(':'),
                Some(other) => {
                    path.push('\\');
                    path.push(other);
                }
                None => path.push('\\'),
            },
            ':' => {
                password = Some(chars.collect::<String>());
                break;
            }
            c => path.push(c),
        }
    }
    if path.is_empty() {
        return Err("expected FILE[:PASSWORD]".to_string());
    }
    Ok(CertArg {
        path: PathBuf::from(path),
        password,
    })
}
