//! DNS for reqwest: the `Resolve` handed to the client builder reports each
//! lookup to the dial in progress.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::connect::Dial;
use crate::event::*;
use crate::transport::dns::{LookupError, TracingResolver};

/// The `reqwest::dns::Resolve` handed to the client builder.
#[derive(Clone)]
pub(crate) struct ResolveHook(pub(crate) Arc<TracingResolver>);

impl Resolve for ResolveHook {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let dial = DialHandle::current();
        if let Some(traces) = dial.traces() {
            traces.emit(Event::DnsStart(DnsStart {
                at: Instant::now(),
                host: host.clone(),
            }));
        }
        let (lookup, coalesced) = self.0.lookup(&host);
        Box::pin(async move {
            let result = lookup.await;
            let at = Instant::now();
            if let Some(traces) = dial.traces() {
                let (addrs, error) = match &result {
                    Ok(ips) => (ips.to_vec(), None),
                    Err(e) => (
                        Vec::new(),
                        Some(HookError::new(ErrorKind::Dns, e.0.clone())),
                    ),
                };
                traces.emit(Event::DnsDone(DnsDone {
                    at,
                    host,
                    addrs,
                    error,
                    coalesced,
                }));
            }
            dial.dns_done(at, result.is_err());
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
                Err(e) => Err(Box::new(LookupError(e.0.clone())) as _),
            }
        })
    }
}

/// The dial this lookup belongs to, captured when the lookup starts.
struct DialHandle(Option<Arc<Dial>>);

impl DialHandle {
    fn current() -> Self {
        let mut found = None;
        Dial::with_current_arc(|dial| found = Some(dial));
        DialHandle(found)
    }

    fn traces(&self) -> Option<&crate::Traces> {
        self.0.as_ref().map(|d| &d.traces)
    }

    fn dns_done(&self, at: Instant, failed: bool) {
        if let Some(dial) = &self.0 {
            dial.dns_done(at, failed);
        }
    }
}
