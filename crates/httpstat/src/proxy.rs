//! Which proxy a request goes through (`-x`, else `HTTP_PROXY`/
//! `HTTPS_PROXY`, `NO_PROXY` either way, as curl), for the hyper transport
//! to use and for both to name in the report.

use crate::cli::Args;

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
