//! Building the client of the transport chosen with `--transport` from the
//! arguments, checked before anything is sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use httptrace::reqwest::{ClientBuilderExt, Config, Dns, RedirectPolicy, Tls};

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
    let identity = client_identity(args)?;
    crate::pin::check(&args.urls, &args.resolve, &args.connect_to, args.family())
        .map_err(|e| (EXIT_USAGE, e))?;
    match args.transport {
        Transport::Reqwest => reqwest_client(args, roots, identity).map(Client::Reqwest),
        Transport::Hyper => {
            crate::via_hyper::client(args, roots, identity).map(|c| Client::Hyper(Box::new(c)))
        }
    }
}

/// A client certificate chain's PEM and its key's PEM.
pub type ClientPem = (Vec<u8>, Vec<u8>);

/// The client certificate of `--cert` / `--key`: the certificate chain's
/// PEM and the key's PEM (the certificate file's when `--key` is absent).
/// Unreadable files and `--key` without `--cert` are usage errors that
/// name the flag and never the password; a key the transport refuses
/// (encrypted, not a key) is one too, through [`cert_error`].
pub fn client_identity(args: &Args) -> Result<Option<ClientPem>, (u8, String)> {
    let Some(cert) = &args.cert else {
        return match &args.key {
            Some(_) => Err((EXIT_USAGE, "--key needs --cert".to_string())),
            None => Ok(None),
        };
    };
    let read = |flag: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| (EXIT_USAGE, format!("{flag} {}: {e}", path.display())))
    };
    let chain = read("--cert", &cert.path)?;
    let key = match &args.key {
        Some(path) => read("--key", path)?,
        None => chain.clone(),
    };
    // An encrypted key is refused by the transport (`cert_error` names the
    // flag and says the password went unused).
    Ok(Some((chain, key)))
}

/// A `--cert`/`--key` that the transport refused, naming the flag and file
/// (and, for an encrypted key, that a `--cert FILE:PASSWORD` password was
/// not used).
pub fn cert_error(args: &Args, why: &str) -> String {
    let (flag, path) = match (&args.key, &args.cert) {
        (Some(key), _) if why.contains("private key") => ("--key", key.display().to_string()),
        (_, Some(cert)) => ("--cert", cert.path.display().to_string()),
        _ => ("--cert", String::new()),
    };
    let password_unused =
        args.cert.as_ref().is_some_and(|c| c.password.is_some()) && why.contains("encrypted");
    let note = if password_unused {
        " (the password was not used)"
    } else {
        ""
    };
    format!("{flag} {path}: {why}{note}")
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
    identity: Option<ClientPem>,
) -> Result<httptrace::reqwest::Client, (u8, String)> {
    // httpstat times every phase apart: it hands TLS and DNS to the
    // transport rather than keeping reqwest's own.
    let mut tls = Tls::platform().danger_accept_invalid_certs(args.insecure);
    for der in roots {
        tls = tls.root_certificate_der(der);
    }
    if let Some((chain, key)) = identity {
        tls = tls
            .client_auth_pem(&chain, &key)
            .map_err(|e| (EXIT_USAGE, cert_error(args, &e.to_string())))?;
    }
    let mut config = Config::new()
        .redirect(if args.follow {
            RedirectPolicy::limited(crate::redirect::MAX_REDIRECTS as usize)
        } else {
            RedirectPolicy::none()
        })
        .tls(tls)
        .dns(match args.dns_server {
            Some(server) => Dns::servers([server]),
            None => Dns::system(),
        });
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
        // The builder's http1_only also limits ALPN to HTTP/1.1.
        HttpVersion::Http11 => builder = builder.http1_only(),
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
