//! The connections a client has made, keyed by local address, so that a
//! round trip can tell a fresh connection from a reused one and how long it
//! sat idle.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

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
}

/// Connections by local address (unique per live TCP connection). Bounded:
/// reqwest does not say when a connection closes, so the oldest entries are
/// forgotten past `CAPACITY`.
#[derive(Default)]
pub(crate) struct ConnRegistry {
    conns: Mutex<(HashMap<SocketAddr, ConnRecord>, VecDeque<SocketAddr>)>,
}

const CAPACITY: usize = 4096;

impl ConnRegistry {
    pub(crate) fn insert(&self, local: SocketAddr, record: ConnRecord) {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if map.insert(local, record).is_none() {
            order.push_back(local);
        }
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// Marks the connection in use by a round trip; returns it as it was.
    fn acquire(&self, local: SocketAddr) -> Option<ConnRecord> {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let record = guard.0.get_mut(&local)?;
        let before = record.clone();
        record.uses += 1;
        record.active += 1;
        Some(before)
    }

    /// A round trip is done with the connection.
    pub(crate) fn release(&self, local: SocketAddr, at: Instant) {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = guard.0.get_mut(&local) {
            record.active = record.active.saturating_sub(1);
            if record.active == 0 {
                record.idle_since = at;
            }
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
        match local.and_then(|l| self.acquire(l)) {
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
