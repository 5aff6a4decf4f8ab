//! Address pinning, curl's `--resolve HOST:PORT:ADDR[,ADDR]...` and
//! `--connect-to HOST:PORT:ADDR2:PORT2`: the values, checked, and what they
//! pin for the URLs of a run.

use std::net::{IpAddr, SocketAddr};

/// One `--resolve` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolve {
    /// The host name, lower case.
    pub host: String,
    /// The port the entry is for.
    pub port: u16,
    /// The addresses to use instead of DNS's.
    pub addrs: Vec<IpAddr>,
}

/// One `--connect-to` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    /// The host name the URL names, lower case.
    pub host: String,
    /// The port the URL names.
    pub port: u16,
    /// The address to connect to instead.
    pub to: SocketAddr,
}

/// `[v6]` or `v4`, as an address.
fn ip(s: &str) -> Option<IpAddr> {
    let bare = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse().ok()
}

fn host(s: &str, what: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if s.contains(['/', '@', ' ', '[', ']']) {
        return Err(format!("'{s}' is not a host name"));
    }
    Ok(s.to_ascii_lowercase())
}

fn port(s: &str, what: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("the {what} '{s}' is not a port (1-65535)")),
    }
}

/// Splits off the first `:`-separated field, where a field may be a
/// bracketed IPv6 address.
fn field(s: &str) -> (&str, Option<&str>) {
    let end = if s.starts_with('[') {
        s.find(']').map_or(s.len(), |i| i + 1)
    } else {
        0
    };
    match s[end..].find(':') {
        Some(i) => (&s[..end + i], Some(&s[end + i + 1..])),
        None => (s, None),
    }
}

/// Parses `HOST:PORT:ADDR[,ADDR]...`.
pub fn parse_resolve(s: &str) -> Result<Resolve, String> {
    const SHAPE: &str = "expected HOST:PORT:ADDR[,ADDR]... (IPv6 in brackets)";
    let (h, rest) = field(s);
    let (p, rest) = field(rest.ok_or(SHAPE)?);
    let list = rest.ok_or(SHAPE)?;
    let host = host(h, "host")?;
    let port = port(p, "port")?;
    let mut addrs = Vec::new();
    for a in list.split(',') {
        let a = a.trim();
        addrs.push(ip(a).ok_or_else(|| format!("'{a}' is not an IP address ({SHAPE})"))?);
    }
    Ok(Resolve { host, port, addrs })
}

/// Parses `HOST:PORT:ADDR2:PORT2`, ADDR2 an IP address.
pub fn parse_connect_to(s: &str) -> Result<ConnectTo, String> {
    const SHAPE: &str = "expected HOST:PORT:ADDR2:PORT2 (IPv6 in brackets)";
    let (h, rest) = field(s);
    let (p, rest) = field(rest.ok_or(SHAPE)?);
    let (h2, rest) = field(rest.ok_or(SHAPE)?);
    let p2 = rest.ok_or(SHAPE)?;
    let host = host(h, "host")?;
    let port = port(p, "port")?;
    let to = ip(h2).ok_or_else(|| {
        format!("'{h2}' is not an IP address (httpstat connects to addresses, not names)")
    })?;
    let to = SocketAddr::new(to, self::port(p2, "port")?);
    Ok(ConnectTo { host, port, to })
}

/// The host and effective port of a URL, the host lower case and without
/// IPv6 brackets.
pub fn host_port(url: &url::Url) -> Option<(String, u16)> {
    let host = match url.host()? {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    Some((host, url.port_or_known_default()?))
}

/// What the entries pin, per host: the addresses to dial (with the port to
/// use, 0 for the URL's). `--connect-to` wins over `--resolve` for the same
/// host and port, as in curl. Entries whose port none of `urls` uses still
/// pin their host: reqwest pins names, not host and port pairs.
pub fn pinned(resolve: &[Resolve], connect_to: &[ConnectTo]) -> Vec<(String, Vec<SocketAddr>)> {
    let mut out: Vec<(String, Vec<SocketAddr>)> = Vec::new();
    let mut put = |host: &str, addrs: Vec<SocketAddr>| match out.iter_mut().find(|(h, _)| h == host)
    {
        Some((_, existing)) => *existing = addrs,
        None => out.push((host.to_string(), addrs)),
    };
    for r in resolve {
        put(
            &r.host,
            r.addrs.iter().map(|a| SocketAddr::new(*a, 0)).collect(),
        );
    }
    for c in connect_to {
        put(&c.host, vec![c.to]);
    }
    out
}

/// Whether a URL's host is pinned by one of the entries (its DNS phase is
/// then skipped).
pub fn is_pinned(url: &url::Url, resolve: &[Resolve], connect_to: &[ConnectTo]) -> bool {
    let Some((host, _)) = host_port(url) else {
        return false;
    };
    resolve.iter().any(|r| r.host == host) || connect_to.iter().any(|c| c.host == host)
}

/// Usage problems of the entries for these URLs: a `--connect-to` to
/// another port for a URL that names its port (reqwest dials the URL's port
/// then), and with `-4`/`-6` an address of the other family.
pub fn check(
    urls: &[url::Url],
    resolve: &[Resolve],
    connect_to: &[ConnectTo],
    family: Option<Family>,
) -> Result<(), String> {
    for c in connect_to {
        for url in urls {
            if host_port(url) == Some((c.host.clone(), c.port))
                && url.port().is_some()
                && c.to.port() != c.port
            {
                return Err(format!(
                    "--connect-to {}:{}:...:{}: {url} names its port, and the reqwest transport \
                     then dials that port; use the same port, or a URL without one",
                    c.host,
                    c.port,
                    c.to.port()
                ));
            }
        }
    }
    if let Some(family) = family {
        let addrs = resolve
            .iter()
            .flat_map(|r| r.addrs.iter().map(|a| ("--resolve", *a)))
            .chain(connect_to.iter().map(|c| ("--connect-to", c.to.ip())));
        for (flag, addr) in addrs {
            if !family.allows(addr) {
                return Err(format!(
                    "{flag}: {addr} is not an {} address, and {} asks for one",
                    family.name(),
                    family.flag()
                ));
            }
        }
        for url in urls {
            if let Some(addr) = url.host().and_then(|h| match h {
                url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
                url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
                url::Host::Domain(_) => None,
            }) && !family.allows(addr)
            {
                return Err(format!(
                    "{}: the URL {url} names an address that is not {}",
                    family.flag(),
                    family.name()
                ));
            }
        }
    }
    Ok(())
}

/// `-4` or `-6`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `-4`.
    V4,
    /// `-6`.
    V6,
}

impl Family {
    fn allows(self, addr: IpAddr) -> bool {
        matches!(
            (self, addr),
            (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_))
        )
    }
    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
    fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_parse() {
        let r = parse_resolve("Svc.Test:443:127.0.0.1,[::1]").unwrap();
        assert_eq!(r.host, "svc.test");
        assert_eq!(r.port, 443);
        assert_eq!(
            r.addrs,
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        for bad in [
            "",
            "svc.test",
            "svc.test:443",
            "svc.test:0:127.0.0.1",
            "svc.test:x:127.0.0.1",
            "svc.test:443:nope",
            ":443:127.0.0.1",
            "svc.test:443:127.0.0.1,",
        ] {
            assert!(parse_resolve(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connect_to_entries_parse() {
        let c = parse_connect_to("svc.test:443:[::1]:8443").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("svc.test", 443));
        assert_eq!(c.to, "[::1]:8443".parse().unwrap());
        for bad in [
            "svc.test:443:127.0.0.1",
            "svc.test:443:other.test:443",
            "svc.test:443:127.0.0.1:99999",
            "svc.test::127.0.0.1:1",
        ] {
            assert!(parse_connect_to(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_name_the_flag() {
        let urls = [url::Url::parse("http://svc.test:8080/").unwrap()];
        let c = parse_connect_to("svc.test:8080:127.0.0.1:9090").unwrap();
        let e = check(&urls, &[], &[c], None).unwrap_err();
        assert!(e.starts_with("--connect-to svc.test:8080"), "{e}");
        let r = parse_resolve("svc.test:8080:[::1]").unwrap();
        let e = check(&urls, std::slice::from_ref(&r), &[], Some(Family::V4)).unwrap_err();
        assert!(e.starts_with("--resolve: ::1 is not an IPv4"), "{e}");
        assert!(check(&urls, &[r], &[], Some(Family::V6)).is_ok());
        let v4 = [url::Url::parse("http://127.0.0.1:1/").unwrap()];
        assert!(
            check(&v4, &[], &[], Some(Family::V6))
                .unwrap_err()
                .starts_with("-6: ")
        );
    }
}
