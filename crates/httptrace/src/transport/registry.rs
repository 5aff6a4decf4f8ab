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
    pub(crate) fn acquire(&self, local: SocketAddr) -> Option<ConnRecord> {
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
