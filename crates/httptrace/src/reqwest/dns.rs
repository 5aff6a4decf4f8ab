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
pub(crate) struct ResolveHook(pub(crate) Arc<TracingResolver>);

impl Resolve for ResolveHook {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        // Captured now: the lookup belongs to this dial whichever task polls it.
        let dial = Dial::current();
        if let Some(dial) = &dial {
            dial.traces.emit(Event::DnsStart(DnsStart {
                at: Instant::now(),
                host: host.clone(),
            }));
        }
        let (lookup, coalesced) = self.0.lookup(&host);
        Box::pin(async move {
            let result = lookup.await;
            let at = Instant::now();
            if let Some(dial) = &dial {
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
}
