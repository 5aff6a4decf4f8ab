//! A hyper round trip in flight: the connection the pool handed it (caught
//! the moment it did), and what a round trip dropped before its response
//! still reports about that connection.

use std::time::Instant;

use hyper_util::client::legacy;

use super::io::ConnExtra;
use crate::event::*;
use crate::interest::EventKind;
use crate::transport::registry::ConnRegistry;
use crate::transport::round_trip::{PendingRoundTrip, report_got_conn, report_written};

/// Asks hyper-util to say which connection the request gets, the moment
/// the pool hands it over, unless the caller asked already: a request holds
/// one capture, and the caller's must keep working.
pub(super) fn capture_connection<B>(
    request: &mut http::Request<B>,
) -> Option<legacy::connect::CaptureConnection> {
    let mut probe = http::Request::new(());
    let capture = legacy::connect::capture_connection(&mut probe);
    let ours = std::mem::take(probe.extensions_mut());
    // The capture's type is private: a clone with ours merged in that gains
    // no entry already had one.
    let mut merged = request.extensions().clone();
    let before = merged.len();
    merged.extend(ours.clone());
    if merged.len() == before {
        return None;
    }
    request.extensions_mut().extend(ours);
    Some(capture)
}

/// The connection the pool handed a round trip, and when.
pub(super) struct Captured {
    pub(super) at: Instant,
    pub(super) conn: ConnExtra,
    pub(super) h2: bool,
}

/// A round trip in flight. Dropped before its response arrived (cancelled,
/// or timed out by the caller), it still reports what happened on the
/// connection it got, then the cancellation.
pub(super) struct Pending<'a> {
    pub(super) round_trip: PendingRoundTrip,
    /// The connection, once the pool handed it over.
    pub(super) conn: Option<Captured>,
    pub(super) registry: &'a ConnRegistry,
    pub(super) started: Instant,
    pub(super) get_conn_at: Instant,
    pub(super) sent_headers: &'a http::HeaderMap,
    pub(super) body_bytes: u64,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let (Some(traces), Some(Captured { at, conn, h2 })) = (&self.round_trip.0, &self.conn)
        else {
            return; // answered, or no connection yet: PendingRoundTrip says it
        };
        let mut reuse = self
            .registry
            .take(Some(conn.local_addr), self.started, self.get_conn_at);
        reuse.at = *at;
        let now = Instant::now();
        if reuse.known {
            self.registry.release(conn.local_addr, now);
        }
        let protocol = if *h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        report_got_conn(
            traces,
            &reuse,
            Some(conn.local_addr),
            Some(conn.remote_addr),
            protocol,
        );
        // What the socket did for this round trip before it was dropped.
        let exchange = conn.stats.latest();
        let after_start = |t: Option<Instant>| t.filter(|t| *t >= self.started);
        if let Some(first_write) = after_start(exchange.first_write) {
            let last_write = after_start(exchange.last_write).unwrap_or(first_write);
            report_written(
                traces,
                self.sent_headers,
                first_write,
                (last_write, self.body_bytes, None),
            );
            if let Some(first_read) = after_start(exchange.first_read) {
                traces.emit_with(EventKind::GotFirstResponseByte, || {
                    Event::GotFirstResponseByte(GotFirstResponseByte { at: first_read })
                });
            }
        }
    }
}
