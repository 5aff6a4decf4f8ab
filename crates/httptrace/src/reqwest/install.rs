//! Installing the hooks on a `reqwest::ClientBuilder`
//! ([`ClientBuilderExt`]), and [`execute`] for a client they were installed
//! on with `instrument`.

use std::sync::Arc;

use super::builder_settings::{BuilderSettings, TlsVersion};
use super::client::{Client, Shared};
use super::config::{DnsSource, Tls, TlsSource};
use super::connect::TraceConnectLayer;
use super::dns::ResolveHook;
use super::{Config, Error, RedirectPolicy, hops, round_trip, tls};
#[cfg(doc)]
use crate::ClientTrace;
use crate::Traces;
use crate::transport::certs::Versions;
use crate::transport::dns::TracingResolver;

/// Installs the hooks on a `reqwest::ClientBuilder`.
///
/// [`instrument`](ClientBuilderExt::instrument) returns the plain
/// `reqwest::Client` a service already passes around; reqwest keeps
/// following redirects itself. [`traced_with`](ClientBuilderExt::traced_with)
/// returns a [`Client`], which follows redirects itself so that every hop
/// carries its own `traceparent` and reports its own response headers.
///
/// Every setting on the builder is kept (tested: timeouts, default headers,
/// user agent, proxies, HTTP versions, pool settings, reqwest's own
/// retries, and its TLS and DNS: added roots, a client identity, a
/// preconfigured TLS backend, a custom resolver). The hooks then see each
/// dial from outside reqwest's connector: DNS, TCP connect and TLS are one
/// `connect_start` / `connect_done` pair. [`Config::tls`] and
/// [`Config::dns`] hand those parts to the transport instead, in one
/// explicit line each, for exact `dns_*` and `tls_*` hooks.
///
/// What cannot be kept is an error when the client is built, never
/// silently dropped: with [`Config::tls`], a preconfigured TLS backend or
/// `tls_danger_accept_invalid_hostnames` on the builder (and, with
/// [`Tls::rustls`](super::Tls::rustls), any TLS setting on the builder);
/// with [`traced_with`](ClientBuilderExt::traced_with), a redirect policy on
/// the builder (use [`Config::redirect`]); with `instrument`, a redirect
/// policy on both. The builder's settings are read from its Debug form
/// (reqwest has no other way to show them), behind a once-per-process check
/// that the form is the one this crate knows: a reqwest release that
/// changes it makes this an error rather than a misread setting.
pub trait ClientBuilderExt: Sized {
    /// Builds a traced client with the default [`Config`].
    fn traced(self) -> Result<Client, Error> {
        self.traced_with(Config::default())
    }

    /// Builds a traced client with `config`. With [`Config::tls`], the TLS
    /// random generator's one-time seeding (about 30 ms with aws-lc) starts
    /// on its own thread when the process's first dial for an `https://`
    /// hop begins, beside DNS and connect; what is left of it when the
    /// connect is done is a gap before `tls_handshake_start`, part of
    /// neither phase. A process that makes no TLS handshake never pays it.
    fn traced_with(self, config: Config) -> Result<Client, Error>;

    /// Builds a plain `reqwest::Client` with the hooks installed: connect
    /// hooks for every dial (DNS and TLS ones too with [`Config::dns`] and
    /// [`Config::tls`]), and reqwest's redirect policy
    /// ([`Config::redirect`]) wrapped so that each hop reqwest follows is
    /// its own round trip.
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
        let settings = BuilderSettings::read(&self)?;
        if settings.redirect_policy {
            return Err(Error::config(
                "a redirect policy is set on the reqwest builder, and the traced Client \
                 follows redirects itself (one round trip per hop): set it with \
                 Config::redirect instead, or keep reqwest's with instrument()",
            ));
        }
        let inner = install(self, &settings, &config)?
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            inner,
            shared: Arc::new(Shared {
                redirect: config.redirect,
                referer: !settings.no_referer,
                timeout: settings.timeout,
                make_trace: config.make_trace,
            }),
        })
    }

    fn instrument(self, config: &Config) -> Result<reqwest::Client, Error> {
        // reqwest cannot hand back a policy set on its builder: such a
        // policy is kept as it is (unobserved: a send is then one round trip
        // however many hops reqwest follows), rather than replaced.
        let settings = BuilderSettings::read(&self)?;
        if settings.redirect_policy && config.redirect != RedirectPolicy::default() {
            return Err(Error::config(
                "a redirect policy is set both on the reqwest builder and with \
                 Config::redirect: keep one (the builder's is kept unobserved, \
                 Config's is observed hop by hop)",
            ));
        }
        let builder = install(self, &settings, config)?;
        let builder = if settings.redirect_policy {
            builder
        } else {
            builder.redirect(hops::observed_policy(config.redirect))
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

/// The TLS versions the builder asks for, as rustls offers them: never
/// weaker, nor stricter, than the builder said; what rustls cannot do is a
/// configuration error rather than silently something else.
fn tls_versions(settings: &BuilderSettings) -> Result<Versions, Error> {
    use TlsVersion::*;
    match (settings.tls_version_min, settings.tls_version_max) {
        (_, Some(Tls10 | Tls11)) => Err(Error::config(
            "TLS configuration: a maximum TLS version below 1.2 (rustls speaks 1.2 and 1.3)",
        )),
        (Some(Tls13), Some(Tls12)) => Err(Error::config(
            "TLS configuration: minimum TLS version above the maximum",
        )),
        (Some(Tls13), _) => Ok(Versions::Tls13),
        (_, Some(Tls12)) => Ok(Versions::Tls12),
        // An older minimum is met by what rustls offers.
        _ => Ok(Versions::Both),
    }
}

/// The observed TLS configuration for `tls`, refusing what on the builder
/// it would silently replace.
fn observed_tls(tls: &Tls, settings: &BuilderSettings) -> Result<tls::ObservedTls, Error> {
    tls.check()?;
    if settings.preconfigured_tls {
        return Err(Error::config(
            "TLS configuration: the reqwest builder has a preconfigured TLS backend and \
             Config::tls would replace it: hand that rustls::ClientConfig over with \
             Config::tls(Tls::rustls(config)) instead, or drop Config::tls to keep the \
             builder's TLS as it is",
        ));
    }
    if settings.accept_invalid_hostnames {
        return Err(Error::config(
            "TLS configuration: tls_danger_accept_invalid_hostnames on the reqwest builder \
             cannot be carried over to Config::tls (rustls would have to accept any \
             certificate instead); use Tls::danger_accept_invalid_certs if that is meant, \
             or drop Config::tls to keep the builder's TLS as it is",
        ));
    }
    let versions = tls_versions(settings)?;
    if matches!(tls.source, TlsSource::Rustls(_))
        && (settings.tls_version_min.is_some()
            || settings.tls_version_max.is_some()
            || settings.accept_invalid_certs
            || settings.no_sni)
    {
        return Err(Error::config(
            "TLS configuration: TLS versions, SNI or invalid-certificate settings on the \
             reqwest builder would be ignored with Config::tls(Tls::rustls(..)), which \
             uses your rustls::ClientConfig as it is: set them there",
        ));
    }
    tls::observed_config(tls, versions, settings)
        .map_err(|e| Error::config(format!("TLS configuration: {e}")))
}

/// Installs what every client with hooks needs: the connector layer, and
/// the resolver and observed TLS configuration the user handed over.
fn install(
    mut builder: reqwest::ClientBuilder,
    settings: &BuilderSettings,
    config: &Config,
) -> Result<reqwest::ClientBuilder, Error> {
    let mut verifier_observed = false;
    let mut tls_random = None;
    if let Some(tls) = &config.tls {
        let observed = observed_tls(tls, settings)?;
        verifier_observed = observed.verifier_observed;
        tls_random = Some(observed.config.crypto_provider().secure_random);
        builder = builder
            .tls_backend_preconfigured(observed.config)
            .tls_info(true);
    }
    if let Some(dns) = &config.dns {
        let hook = match &dns.source {
            DnsSource::Hickory(servers) => ResolveHook::Hickory(Arc::new(
                TracingResolver::new(servers)
                    .map_err(|e| Error::config(format!("DNS configuration: {e}")))?,
            )),
            DnsSource::Resolver(resolver) => ResolveHook::User(resolver.clone()),
        };
        builder = builder.dns_resolver(hook);
    }
    Ok(builder.connector_layer(TraceConnectLayer {
        registry: hops::registry().clone(),
        verifier_observed,
        tls_random,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_tls_versions_are_carried_over_or_refused() {
        use TlsVersion::*;
        let versions = |min, max| {
            tls_versions(&BuilderSettings {
                tls_version_min: min,
                tls_version_max: max,
                ..BuilderSettings::default()
            })
        };
        assert_eq!(versions(None, None).unwrap(), Versions::Both);
        assert_eq!(versions(Some(Tls13), None).unwrap(), Versions::Tls13);
        assert_eq!(versions(None, Some(Tls12)).unwrap(), Versions::Tls12);
        // An older minimum is met by what rustls offers: never weaker.
        assert_eq!(versions(Some(Tls10), None).unwrap(), Versions::Both);
        assert!(versions(None, Some(Tls11)).is_err());
        assert!(versions(Some(Tls13), Some(Tls12)).is_err());
    }
}
