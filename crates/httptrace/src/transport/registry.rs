//! The connections a client has made, keyed by local address, so that a
//! round trip can tell a fresh connection from a reused one and how long it
//! sat idle.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::MakeTrace;
use crate::event::{ConnectionEvent, ConnectionState};

/// What a connection-state event says about the connection; only transports
/// that see connections close record it.
#[derive(Clone, Debug)]
pub(crate) struct ConnIdentity {
    pub(crate) server_address: String,
    pub(crate) server_port: u16,
    pub(crate) scheme: &'static str,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) protocol: http::Version,
}

/// A connection the registry knows about.
#[derive(Clone, Debug)]
pub(crate) struct ConnRecord {
    /// When it became usable.
    pub(crate) ready_at: Instant,
    pub(crate) proxied: bool,
    /// Traced round trips that used it so far.
    pub(crate) uses: u64,
    /// Traced round trips using it now (HTTP/2 multiplexes).
    pub(crate) active: u32,
    /// Since when nothing traced has used it.
    pub(crate) idle_since: Instant,
    /// Set by transports that report the connection's states.
    pub(crate) identity: Option<ConnIdentity>,
    /// Closed already (kept a while so a round trip whose response beat its
    /// bookkeeping still learns the facts).
    pub(crate) closed: bool,
}

/// Connections by local address (unique per live TCP connection). Bounded:
/// reqwest does not say when a connection closes, so the oldest entries are
/// forgotten past `CAPACITY`. A transport that does see closes removes them
/// itself, and gets an `observer` told of every state change.
#[derive(Default)]
pub(crate) struct ConnRegistry {
    conns: Mutex<(HashMap<SocketAddr, ConnRecord>, VecDeque<SocketAddr>)>,
    observer: Option<Arc<dyn MakeTrace>>,
}

const CAPACITY: usize = 4096;

impl ConnRegistry {
    /// A registry whose connections' state changes go to `observer`.
    #[cfg(feature = "hyper")]
    pub(crate) fn observed(observer: Option<Arc<dyn MakeTrace>>) -> Self {
        Self {
            conns: Mutex::default(),
            observer,
        }
    }

    /// Tells the observer, outside the lock (it may take its time).
    fn notify(
        &self,
        record: &ConnRecord,
        previous: Option<ConnectionState>,
        state: ConnectionState,
        at: Instant,
    ) {
        if let (Some(observer), Some(id)) = (&self.observer, &record.identity) {
            observer.on_connection(&ConnectionEvent {
                at,
                previous,
                state,
                opened_at: record.ready_at,
                server_address: id.server_address.clone(),
                server_port: id.server_port,
                scheme: id.scheme,
                remote_addr: id.remote_addr,
                protocol: id.protocol,
            });
        }
    }

    pub(crate) fn insert(&self, local: SocketAddr, record: ConnRecord) {
        let observed = record.identity.is_some();
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if map.insert(local, record.clone()).is_none() && !observed {
            order.push_back(local);
        }
        // Only unobserved entries are forgotten: observed ones leave when
        // their connection closes, so they are bounded by open connections.
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        drop(guard);
        self.notify(&record, None, ConnectionState::Idle, record.ready_at);
    }

    /// Marks the connection in use by a round trip; returns it as it was.
    fn acquire(&self, local: SocketAddr, at: Instant) -> Option<ConnRecord> {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let record = guard.0.get_mut(&local)?;
        let before = record.clone();
        record.uses += 1;
        record.active += 1;
        drop(guard);
        if before.active == 0 && !before.closed {
            // A fresh connection turns active once it exists, not before.
            let at = at.max(before.ready_at);
            self.notify(
                &before,
                Some(ConnectionState::Idle),
                ConnectionState::Active,
                at,
            );
        }
        Some(before)
    }

    /// A round trip is done with the connection.
    pub(crate) fn release(&self, local: SocketAddr, at: Instant) {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let Some(record) = guard.0.get_mut(&local) else {
            return;
        };
        record.active = record.active.saturating_sub(1);
        let now_idle = record.active == 0;
        if now_idle {
            record.idle_since = at;
        }
        let record = record.clone();
        drop(guard);
        if now_idle && !record.closed {
            self.notify(
                &record,
                Some(ConnectionState::Active),
                ConnectionState::Idle,
                at,
            );
        }
    }

    /// The connection closed.
    #[cfg(feature = "hyper")]
    pub(crate) fn remove(&self, local: SocketAddr, at: Instant) {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        // Kept, marked closed, until evicted like an unobserved entry: the
        // response that made hyper close it may not have been booked yet.
        let closed = map.get_mut(&local).and_then(|record| {
            if record.closed {
                return None;
            }
            record.closed = true;
            order.push_back(local);
            Some(record.clone())
        });
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        drop(guard);
        if let Some(record) = closed {
            let previous = if record.active > 0 {
                ConnectionState::Active
            } else {
                ConnectionState::Idle
            };
            self.notify(&record, Some(previous), ConnectionState::Closed, at);
        }
    }
}

/// What a round trip learns about the connection it got.
pub(crate) struct Reuse {
    /// When it had the connection: the dial's end for a fresh one, the
    /// `get_conn` instant for a pooled one.
    pub(crate) at: Instant,
    pub(crate) reused: bool,
    pub(crate) was_idle: bool,
    pub(crate) idle_time: Option<std::time::Duration>,
    pub(crate) proxied: bool,
    /// The registry knows the connection (so it must be released later).
    pub(crate) known: bool,
}

impl ConnRegistry {
    /// Takes the connection `local` for a round trip that started at
    /// `started` and asked for a connection at `get_conn_at`. A connection
    /// made after the round trip started is fresh (even when another request
    /// dialled it); one made before came from the pool.
    pub(crate) fn take(
        &self,
        local: Option<SocketAddr>,
        started: Instant,
        get_conn_at: Instant,
    ) -> Reuse {
        match local.and_then(|l| self.acquire(l, get_conn_at)) {
            Some(r) if r.ready_at >= started => Reuse {
                at: r.ready_at.max(get_conn_at),
                reused: r.uses > 0,
                was_idle: false,
                idle_time: None,
                proxied: r.proxied,
                known: true,
            },
            Some(r) => {
                let was_idle = r.active == 0;
                Reuse {
                    at: get_conn_at,
                    reused: true,
                    was_idle,
                    idle_time: was_idle
                        .then(|| get_conn_at.saturating_duration_since(r.idle_since)),
                    proxied: r.proxied,
                    known: true,
                }
            }
            // Not in the registry: dialled long ago and forgotten.
            None => Reuse {
                at: get_conn_at,
                reused: true,
                was_idle: false,
                idle_time: None,
                proxied: false,
                known: false,
            },
        }
    }
}
