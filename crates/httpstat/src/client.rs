//! Building the client of the transport chosen with `--transport` from the
//! arguments, and the proxy rules both transports follow.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use httptrace::reqwest::{ClientBuilderExt, Config, RedirectPolicy};

use crate::cli::{Args, HttpVersion, Transport};
use crate::pin::Family;
use crate::shared::{EXIT_FAILED, EXIT_USAGE, USER_AGENT, otel_enabled};

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
    crate::pin::check(&args.urls, &args.resolve, &args.connect_to, args.family())
        .map_err(|e| (EXIT_USAGE, e))?;
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
    // --resolve and --connect-to: reqwest asks these addresses instead of
    // the resolver (so no DNS hooks fire); port 0 means the URL's.
    for (host, addrs) in crate::pin::pinned(&args.resolve, &args.connect_to) {
        builder = builder.resolve_to_addrs(&host, &addrs);
    }
    // -4/-6: with only one family's local address, hyper-util's connector
    // dials only that family's addresses.
    match args.family() {
        Some(Family::V4) => builder = builder.local_address(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(Family::V6) => builder = builder.local_address(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        None => {}
    }
    match args.http_version() {
        HttpVersion::Http11 => {
            builder = builder.http1_only();
            config = config.http1_only();
        }
        HttpVersion::Http2PriorKnowledge => builder = builder.http2_prior_knowledge(),
        HttpVersion::Negotiate => {}
    }
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
pub fn proxy_of(proxies: &httptrace::hyper::ProxyMatcher, url: &url::Url) -> Option<String> {
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
