//! DNS for reqwest: the `Resolve` handed to the client builder reports each
//! lookup to the dial in progress.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::connect::Dial;
use crate::event::*;
use crate::transport::dns::{LookupError, TracingResolver, done_event};

/// The `reqwest::dns::Resolve` handed to the client builder.
#[derive(Clone)]
pub(crate) enum ResolveHook {
    /// Ours: hickory, with concurrent lookups of a name joined.
    Hickory(Arc<TracingResolver>),
    /// The user's, observed around each lookup.
    User(Arc<dyn Resolve>),
}

impl Resolve for ResolveHook {
    fn resolve(&self, name: Name) -> Resolving {
        // Captured now: the lookup belongs to this dial whichever task polls it.
        let dial = Dial::current();
        let host = dial.as_ref().map(|_| name.as_str().to_string());
        if let (Some(dial), Some(host)) = (&dial, &host) {
            dial.traces.emit(Event::DnsStart(DnsStart {
                at: Instant::now(),
                host: host.clone(),
            }));
        }
        match self {
            ResolveHook::Hickory(resolver) => {
                let (lookup, coalesced) = resolver.lookup(name.as_str());
                Box::pin(async move {
                    let result = lookup.await;
                    if let (Some(dial), Some(host)) = (&dial, host) {
                        let at = Instant::now();
                        dial.traces.emit(done_event(host, &result, coalesced, at));
                        dial.dns_done(at, result.is_err());
                    }
                    match result {
                        Ok(ips) => {
                            let addrs: Addrs = Box::new(
                                ips.iter()
                                    .map(|ip| SocketAddr::new(*ip, 0))
                                    .collect::<Vec<_>>()
                                    .into_iter(),
                            );
                            Ok(addrs)
                        }
                        Err(e) => Err(Box::new(LookupError::clone(&e)) as _),
                    }
                })
            }
            ResolveHook::User(resolver) => {
                let lookup = resolver.resolve(name);
                let Some((dial, host)) = dial.zip(host) else {
                    return lookup;
                };
                Box::pin(async move {
                    let result = lookup.await;
                    let at = Instant::now();
                    // The addresses are read from a copy: the iterator is
                    // the user's and is handed back as it came.
                    let (addrs, result) = match result {
                        Ok(addrs) => {
                            let addrs: Vec<SocketAddr> = addrs.collect();
                            let ips = addrs.iter().map(SocketAddr::ip).collect::<Arc<[_]>>();
                            (Ok(ips), Ok(Box::new(addrs.into_iter()) as Addrs))
                        }
                        Err(e) => (
                            Err(Arc::new(LookupError {
                                message: e.to_string(),
                                not_found: false,
                            })),
                            Err(e),
                        ),
                    };
                    dial.traces.emit(done_event(host, &addrs, false, at));
                    dial.dns_done(at, addrs.is_err());
                    result
                })
            }
        }
    }
}
