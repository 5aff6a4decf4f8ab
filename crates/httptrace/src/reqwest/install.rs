//! Installing the hooks on a `reqwest::ClientBuilder`
//! ([`ClientBuilderExt`]), and [`execute`] for a client they were installed
//! on with `instrument`.

use std::sync::Arc;
use std::time::Duration;

use super::client::{Client, Shared};
use super::connect::TraceConnectLayer;
use super::dns::ResolveHook;
use super::{Config, Error, hops, round_trip, tls};
#[cfg(doc)]
use crate::ClientTrace;
use crate::Traces;
use crate::transport::certs::Versions;
use crate::transport::dns::TracingResolver;

/// Installs the hooks on a `reqwest::ClientBuilder`.
///
/// [`instrument`](ClientBuilderExt::instrument) returns the plain
/// `reqwest::Client` a service already passes around, with every builder
/// setting kept but what the hooks must own (below); reqwest keeps following
/// redirects itself. [`traced_with`](ClientBuilderExt::traced_with) returns
/// a [`Client`], which follows redirects itself so that every hop carries
/// its own `traceparent` and reports its own response headers.
///
/// Kept from the builder (tested): timeouts (a total `timeout` bounds the
/// whole redirect chain with `instrument`), default headers, user agent,
/// proxies, HTTP/2 prior knowledge and HTTP/2 options, pool settings,
/// reqwest's own retries. Replaced, because the transport must own them to
/// observe them and reqwest cannot hand them back: the DNS resolver and the
/// TLS configuration. Of the builder's TLS settings, those its Debug form
/// shows are carried over (tested): `tls_version_min` / `tls_version_max`
/// (rustls speaks 1.2 and 1.3; an older minimum is met, a maximum below 1.2
/// is a configuration error), `tls_danger_accept_invalid_certs`, `tls_sni`;
/// `tls_danger_accept_invalid_hostnames` is refused (rustls would have to
/// accept any certificate instead). Roots and client identities do not
/// show, so `add_root_certificate`, `tls_built_in_root_certs` and
/// `identity` on the reqwest builder have no effect: set them on [`Config`]
/// ([`Config::root_certificates_pem`], [`Config::built_in_roots`],
/// [`Config::client_auth_pem`]). The redirect
/// policy is [`Config::redirect`]; with `instrument`, a policy already set
/// on the reqwest builder is kept untouched instead, unobserved (a send is
/// then reported as one round trip however many hops reqwest follows).
pub trait ClientBuilderExt: Sized {
    /// Builds a traced client with the default [`Config`].
    fn traced(self) -> Result<Client, Error> {
        self.traced_with(Config::default())
    }

    /// Builds a traced client with `config`. The first client in a process
    /// also seeds the TLS random generator (about 30 ms with aws-lc), so
    /// that one-time cost is not counted as the first handshake.
    fn traced_with(self, config: Config) -> Result<Client, Error>;

    /// Builds a plain `reqwest::Client` with the hooks installed: DNS
    /// (hickory-resolver), connect and TLS hooks for every dial, and
    /// reqwest's redirect policy ([`Config::redirect`]) wrapped so that each
    /// hop reqwest follows is its own round trip.
    ///
    /// Round trips are reported for sends that go through a driver that
    /// sees the request: [`TraceMiddleware`](super::TraceMiddleware) (feature `reqwest-middleware`;
    /// it uses [`Config::make_trace`] and the traces of the enclosing
    /// [`ClientTrace::scope`]s) or [`execute`] (the enclosing scopes' traces). A plain `client.get(..).send()`
    /// inside a scope reports the DNS, connect and TLS hooks of the
    /// connections it dials, but no round trips: reqwest calls nothing of
    /// ours when a request starts on a pooled connection. Errors are
    /// reqwest's own; [`Error`] here is only a configuration error.
    ///
    /// Where `tracing::Instrument` is in scope too (it gives every type an
    /// `instrument` method), name the trait:
    /// `ClientBuilderExt::instrument(builder, &config)`.
    fn instrument(self, config: &Config) -> Result<reqwest::Client, Error>;
}

impl ClientBuilderExt for reqwest::ClientBuilder {
    fn traced_with(self, config: Config) -> Result<Client, Error> {
        let debug = format!("{self:?}");
        let timeout = builder_timeout(&debug);
        let inner = install(self, &debug, &config)?
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            inner,
            shared: Arc::new(Shared {
                redirect: config.redirect,
                referer: !config.no_referer,
                timeout,
                make_trace: config.make_trace,
            }),
        })
    }

    fn instrument(self, config: &Config) -> Result<reqwest::Client, Error> {
        // reqwest cannot hand back a policy set on its builder; its Debug
        // form names one that is not the default. Such a policy is kept as
        // it is (unobserved: a send is then one round trip however many
        // hops reqwest follows), rather than replaced.
        let debug = format!("{self:?}");
        let own_policy = debug.contains("redirect_policy");
        let builder = install(self, &debug, config)?;
        let builder = if own_policy {
            builder
        } else {
            builder.redirect(hops::observed_policy(config.redirect.to_reqwest()))
        };
        Ok(builder.build()?)
    }
}

/// Sends `request` on `client` (made with
/// [`instrument`](ClientBuilderExt::instrument)) and reports it to the traces
/// of the enclosing [`ClientTrace::scope`]s as round trips: one per redirect
/// hop reqwest follows. What `client.execute(request)` returns, unchanged.
///
/// ```no_run
/// # async fn demo(client: reqwest::Client) -> Result<(), reqwest::Error> {
/// use httptrace::ClientTrace;
///
/// let trace = ClientTrace::new().on_got_conn(|e| println!("reused={}", e.reused));
/// let request = client.get("https://example.com/").build()?;
/// let response = trace.scope(httptrace::reqwest::execute(&client, request)).await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
pub async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<reqwest::Response, reqwest::Error> {
    round_trip::send(
        request,
        &Traces::current(),
        0,
        |_| None,
        |r| client.execute(r),
    )
    .await
    .0
}

/// The total timeout set on a reqwest builder, read from its Debug form
/// (`timeout: 300ms`): reqwest cannot hand it back otherwise.
fn builder_timeout(debug: &str) -> Option<Duration> {
    let at = ["{ timeout: ", ", timeout: "]
        .iter()
        .find_map(|field| debug.find(field).map(|i| i + field.len()))?;
    parse_duration_debug(&debug[at..])
}

/// Parses the start of a `Duration`'s Debug form: `300ms`, `1.5s`, `10µs`.
fn parse_duration_debug(text: &str) -> Option<Duration> {
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let value: f64 = text[..number_len].parse().ok()?;
    let unit = &text[number_len..];
    let seconds = if unit.starts_with("ms") {
        value / 1e3
    } else if unit.starts_with("µs") {
        value / 1e6
    } else if unit.starts_with("ns") {
        value / 1e9
    } else if unit.starts_with('s') {
        value
    } else {
        return None;
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// The TLS settings of a reqwest builder that its Debug form shows (reqwest
/// cannot hand them back, and the transport replaces its TLS
/// configuration): carried over, so instrumenting never makes a client
/// weaker, nor stricter, than its builder said. What rustls cannot do is a
/// configuration error rather than silently something else. Roots and
/// identities added on the builder do not show: set them on [`Config`].
#[derive(Debug, Default, PartialEq, Eq)]
struct BuilderTls {
    versions: Versions,
    accept_invalid_certs: bool,
    no_sni: bool,
}

impl BuilderTls {
    fn read(debug: &str) -> Result<Self, Error> {
        let field = |name: &str| {
            // The last one: the TLS fields come after the default headers.
            let at = debug.rfind(&format!("{name}: "))? + name.len() + 2;
            let rest = &debug[at..];
            Some(&rest[..rest.find([',', '}']).unwrap_or(rest.len())])
        };
        let version = |name: &str| field(name).map(|v| v.trim().trim_end_matches(')'));
        let min = version("tls_version_min");
        let max = version("tls_version_max");
        let unsupported = |v: &str| v.ends_with("Tls1_0") || v.ends_with("Tls1_1");
        if max.is_some_and(unsupported) {
            return Err(Error::config(
                "TLS configuration: a maximum TLS version below 1.2 (rustls speaks 1.2 and 1.3)",
            ));
        }
        let versions = match (min, max) {
            (Some(min), Some(max)) if min.ends_with("Tls1_3") && max.ends_with("Tls1_2") => {
                return Err(Error::config(
                    "TLS configuration: minimum TLS version above the maximum",
                ));
            }
            (Some(min), _) if min.ends_with("Tls1_3") => Versions::Tls13,
            (_, Some(max)) if max.ends_with("Tls1_2") => Versions::Tls12,
            _ => Versions::Both,
        };
        if field("tls_danger_accept_invalid_hostnames").is_some_and(|v| v.trim() == "true") {
            return Err(Error::config(
                "TLS configuration: danger_accept_invalid_hostnames on the reqwest builder \
                 cannot be carried over (the traced transport would have to accept any \
                 certificate instead); use Config::danger_accept_invalid_certs if that is meant",
            ));
        }
        Ok(BuilderTls {
            versions,
            accept_invalid_certs: field("tls_danger_accept_invalid_certs")
                .is_some_and(|v| v.trim() == "true"),
            no_sni: field("tls_sni").is_some_and(|v| v.trim() == "false"),
        })
    }
}

/// Installs what every client with hooks needs: the resolver, the connector
/// layer and the observed TLS configuration. `debug` is the builder's Debug
/// form (what it shows of its TLS settings is carried over).
fn install(
    builder: reqwest::ClientBuilder,
    debug: &str,
    config: &Config,
) -> Result<reqwest::ClientBuilder, Error> {
    let resolver = TracingResolver::new(&config.dns)
        .map_err(|e| Error::config(format!("DNS configuration: {e}")))?;
    let builder_tls = BuilderTls::read(debug)?;
    let mut identity = config.identity.clone();
    identity.versions = builder_tls.versions;
    identity.no_sni |= builder_tls.no_sni;
    let tls = tls::client_config(
        config.extra_roots.clone(),
        !config.no_built_in_roots,
        config.accept_invalid_certs || builder_tls.accept_invalid_certs,
        config.http1_only,
        &identity,
    )
    .map_err(|e| Error::config(format!("TLS configuration: {e}")))?;
    Ok(builder
        .dns_resolver(ResolveHook(Arc::new(resolver)))
        .connector_layer(TraceConnectLayer {
            registry: hops::registry().clone(),
        })
        .tls_backend_preconfigured(tls)
        .tls_info(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_tls_settings_are_carried_over_or_refused() {
        use reqwest::tls::Version;
        let read = |b: reqwest::ClientBuilder| BuilderTls::read(&format!("{b:?}"));
        let builder = reqwest::Client::builder;
        assert_eq!(read(builder()).unwrap(), BuilderTls::default());
        assert_eq!(
            read(builder().tls_version_min(Version::TLS_1_3))
                .unwrap()
                .versions,
            Versions::Tls13
        );
        assert_eq!(
            read(builder().tls_version_max(Version::TLS_1_2))
                .unwrap()
                .versions,
            Versions::Tls12
        );
        // An older minimum is met by what rustls offers: never weaker.
        assert_eq!(
            read(builder().tls_version_min(Version::TLS_1_0))
                .unwrap()
                .versions,
            Versions::Both
        );
        assert!(read(builder().tls_version_max(Version::TLS_1_1)).is_err());
        assert!(
            read(
                builder()
                    .tls_version_min(Version::TLS_1_3)
                    .tls_version_max(Version::TLS_1_2)
            )
            .is_err()
        );
        assert!(
            read(builder().tls_danger_accept_invalid_certs(true))
                .unwrap()
                .accept_invalid_certs
        );
        assert!(read(builder().tls_sni(false)).unwrap().no_sni);
        assert!(read(builder().tls_danger_accept_invalid_hostnames(true)).is_err());
        // A default header's value cannot pass for a setting.
        let tricky = builder().default_headers(
            [(
                reqwest::header::HeaderName::from_static("x-note"),
                reqwest::header::HeaderValue::from_static("tls_sni: false"),
            )]
            .into_iter()
            .collect(),
        );
        assert!(!read(tricky).unwrap().no_sni);
    }

    #[test]
    fn the_builder_timeout_is_read_from_its_debug_form() {
        let debug = |b: reqwest::ClientBuilder| format!("{b:?}");
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(7))
            .timeout(Duration::from_millis(300));
        assert_eq!(
            builder_timeout(&debug(builder)),
            Some(Duration::from_millis(300))
        );
        let builder = reqwest::Client::builder().timeout(Duration::from_secs_f64(1.5));
        assert_eq!(
            builder_timeout(&debug(builder)),
            Some(Duration::from_millis(1500))
        );
        let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(7));
        assert_eq!(
            builder_timeout(&debug(builder)),
            None,
            "connect_timeout is not it"
        );
        assert_eq!(
            parse_duration_debug("250µs"),
            Some(Duration::from_micros(250))
        );
    }
}
