//! DNS over hickory-resolver, with concurrent lookups of one name coalesced
//! (hickory does not say when it shared a lookup, so the single-flight is
//! ours: it is what lets `dns_done` report `coalesced`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

pub(crate) type Lookup = Shared<BoxFuture<'static, Result<Arc<[IpAddr]>, Arc<LookupError>>>>;

/// A failed lookup, as reqwest sees it (a connect error whose source is this).
#[derive(Clone, Debug)]
pub(crate) struct LookupError {
    pub(crate) message: String,
    /// DNS answered that the name has no address (NXDOMAIN, or no A/AAAA
    /// records), as opposed to a lookup that could not be made.
    pub(crate) not_found: bool,
}

impl LookupError {
    /// `host_not_found` when DNS said the name has no address (the value
    /// the DNS conventions name, getaddrinfo's EAI_NONAME), else `dns`.
    pub(crate) fn kind(&self) -> crate::event::ErrorKind {
        if self.not_found {
            crate::event::ErrorKind::HostNotFound
        } else {
            crate::event::ErrorKind::Dns
        }
    }
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dns error: {}", self.message)
    }
}

impl std::error::Error for LookupError {}

/// Where lookups go.
#[derive(Clone, Debug, Default)]
pub(crate) enum DnsServers {
    /// The system configuration (`/etc/resolv.conf` on Unix).
    #[default]
    System,
    /// These servers, over UDP and TCP.
    Custom(Vec<SocketAddr>),
}

pub(crate) struct TracingResolver {
    resolver: Resolver<TokioRuntimeProvider>,
    inflight: Mutex<HashMap<String, Lookup>>,
}

impl TracingResolver {
    pub(crate) fn new(servers: &DnsServers) -> Result<Self, String> {
        let builder = match servers {
            DnsServers::System => Resolver::builder_tokio().map_err(|e| e.to_string())?,
            DnsServers::Custom(addrs) => {
                let name_servers = addrs
                    .iter()
                    .map(|addr| {
                        let mut udp = ConnectionConfig::udp();
                        udp.port = addr.port();
                        let mut tcp = ConnectionConfig::tcp();
                        tcp.port = addr.port();
                        NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                    })
                    .collect();
                Resolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], name_servers),
                    TokioRuntimeProvider::default(),
                )
            }
        };
        let resolver = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            resolver,
            inflight: Mutex::default(),
        })
    }

    /// Joins the lookup of `host` in flight, or starts one. True when joined.
    pub(crate) fn lookup(self: &Arc<Self>, host: &str) -> (Lookup, bool) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lookup) = inflight.get(host) {
            return (lookup.clone(), true);
        }
        let this = self.clone();
        let name = host.to_string();
        let lookup = async move {
            let result = this
                .resolver
                .lookup_ip(name.as_str())
                .await
                .map(|ips| ips.iter().collect::<Arc<[IpAddr]>>())
                .map_err(|e| {
                    Arc::new(LookupError {
                        not_found: e.is_nx_domain() || e.is_no_records_found(),
                        message: e.to_string(),
                    })
                });
            // Remove before anyone can join a finished lookup; hickory's own
            // cache answers the next one.
            this.inflight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&name);
            result
        }
        .boxed()
        .shared();
        inflight.insert(host.to_string(), lookup.clone());
        (lookup, false)
    }
}

/// The `dns_done` event for a finished lookup of `host`.
pub(crate) fn done_event(
    host: String,
    result: &Result<Arc<[IpAddr]>, Arc<LookupError>>,
    coalesced: bool,
    at: std::time::Instant,
) -> crate::event::Event {
    use crate::event::{DnsDone, Event, HookError};
    let (addrs, error) = match result {
        Ok(ips) => (ips.to_vec(), None),
        Err(e) => (
            Vec::new(),
            Some(HookError::new(e.kind(), e.message.clone())),
        ),
    };
    Event::DnsDone(DnsDone {
        at,
        host,
        addrs,
        error,
        coalesced,
    })
}
