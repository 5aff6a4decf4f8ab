//! Which events a trace wants: event kinds, sets of them, and the
//! [`Interest`] an adapter changes while a request runs, so that transports
//! skip building events nobody reads (Go's `httptrace` gets this from its
//! nil hooks; a catch-all hook needs to say it).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::event::Event;

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident, $name:literal; )*) => {
        /// Which hook an [`Event`] is for, without its payload.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EventKind {
            /// Every kind, in the order a round trip usually reports them.
            pub const ALL: &'static [EventKind] = &[$( EventKind::$variant, )*];

            /// The hook's name in snake case, as [`Event::name`] gives it.
            pub fn name(self) -> &'static str {
                match self {
                    $( EventKind::$variant => $name, )*
                }
            }
        }

        impl Event {
            /// Which hook this event is for.
            pub fn kind(&self) -> EventKind {
                match self {
                    $( Event::$variant(_) => EventKind::$variant, )*
                }
            }
        }
    };
}

kinds! {
    /// [`Event::RoundTripStart`].
    RoundTripStart, "round_trip_start";
    /// [`Event::GetConn`].
    GetConn, "get_conn";
    /// [`Event::DnsStart`].
    DnsStart, "dns_start";
    /// [`Event::DnsDone`].
    DnsDone, "dns_done";
    /// [`Event::ConnectStart`].
    ConnectStart, "connect_start";
    /// [`Event::ConnectDone`].
    ConnectDone, "connect_done";
    /// [`Event::TlsHandshakeStart`].
    TlsHandshakeStart, "tls_handshake_start";
    /// [`Event::TlsHandshakeDone`].
    TlsHandshakeDone, "tls_handshake_done";
    /// [`Event::GotConn`].
    GotConn, "got_conn";
    /// [`Event::PutIdleConn`].
    PutIdleConn, "put_idle_conn";
    /// [`Event::WroteHeaderField`].
    WroteHeaderField, "wrote_header_field";
    /// [`Event::WroteHeaders`].
    WroteHeaders, "wrote_headers";
    /// [`Event::Wait100Continue`].
    Wait100Continue, "wait_100_continue";
    /// [`Event::WroteRequest`].
    WroteRequest, "wrote_request";
    /// [`Event::Got1xxResponse`].
    Got1xxResponse, "got_1xx_response";
    /// [`Event::GotFirstResponseByte`].
    GotFirstResponseByte, "got_first_response_byte";
    /// [`Event::RoundTripDone`].
    RoundTripDone, "round_trip_done";
    /// [`Event::BodyDone`].
    BodyDone, "body_done";
}

/// A set of [`EventKind`]s.
///
/// ```
/// use httptrace::{EventKind, EventKinds};
///
/// let ends = EventKinds::of(&[EventKind::RoundTripDone, EventKind::BodyDone]);
/// assert!(ends.contains(EventKind::BodyDone));
/// assert!(!ends.contains(EventKind::GetConn));
/// assert!(EventKinds::ALL.contains(EventKind::GetConn));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKinds(u32);

impl EventKinds {
    /// No kind.
    pub const NONE: EventKinds = EventKinds(0);
    /// Every kind.
    pub const ALL: EventKinds = EventKinds::of(EventKind::ALL);

    const fn bit(kind: EventKind) -> u32 {
        1 << kind as u32
    }

    /// The set of these kinds.
    pub const fn of(kinds: &[EventKind]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= Self::bit(kinds[i]);
            i += 1;
        }
        EventKinds(bits)
    }

    /// This set with `kind` added.
    pub const fn with(self, kind: EventKind) -> Self {
        EventKinds(self.0 | Self::bit(kind))
    }

    /// The kinds in either set.
    pub const fn union(self, other: EventKinds) -> Self {
        EventKinds(self.0 | other.0)
    }

    /// True when `kind` is in the set.
    pub const fn contains(self, kind: EventKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }
}

impl Default for EventKinds {
    /// Every kind: a trace that says nothing wants everything.
    fn default() -> Self {
        Self::ALL
    }
}

impl FromIterator<EventKind> for EventKinds {
    fn from_iter<I: IntoIterator<Item = EventKind>>(kinds: I) -> Self {
        kinds.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for EventKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(
                EventKind::ALL
                    .iter()
                    .filter(|k| self.contains(**k))
                    .map(|k| k.name()),
            )
            .finish()
    }
}

/// The kinds of events a trace's catch-all hook
/// ([`ClientTrace::on_event`](crate::ClientTrace::on_event)) wants, shared
/// between the hook's owner and the transports: the owner may narrow or
/// widen it while the request runs (an adapter whose span was not sampled
/// wants only what its metrics read), and the transports do not build, and
/// the hook does not receive, events of other kinds. Cheap to clone (all
/// clones are the same set).
///
/// Hooks set for one kind (`on_dns_start`, ...) always run: an interest
/// only narrows the catch-all hook.
///
/// ```
/// use httptrace::{ClientTrace, EventKind, EventKinds, Interest, Traces};
///
/// let interest = Interest::new(EventKinds::ALL);
/// let trace = ClientTrace::new()
///     .on_event(|e| println!("{}", e.name()))
///     .event_interest(interest.clone());
/// let traces = Traces::none().with(trace);
/// assert!(traces.wants(EventKind::GetConn));
/// interest.set(EventKinds::of(&[EventKind::RoundTripDone, EventKind::BodyDone]));
/// assert!(!traces.wants(EventKind::GetConn));
/// ```
#[derive(Clone)]
pub struct Interest(Arc<AtomicU32>);

impl Interest {
    /// An interest in `kinds`.
    pub fn new(kinds: EventKinds) -> Self {
        Interest(Arc::new(AtomicU32::new(kinds.0)))
    }

    /// Replaces the kinds: events that happen from now on see the new set.
    pub fn set(&self, kinds: EventKinds) {
        // Relaxed: the set only decides which later events are built; it
        // orders nothing else.
        self.0.store(kinds.0, Ordering::Relaxed);
    }

    /// The kinds wanted now.
    pub fn get(&self) -> EventKinds {
        EventKinds(self.0.load(Ordering::Relaxed))
    }
}

impl Default for Interest {
    /// An interest in every kind.
    fn default() -> Self {
        Self::new(EventKinds::ALL)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Interest").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_bit_and_the_event_name() {
        assert_eq!(EventKind::ALL.len(), 18);
        let mut seen = EventKinds::NONE;
        for &kind in EventKind::ALL {
            assert!(!seen.contains(kind), "{kind:?} shares a bit");
            seen = seen.with(kind);
        }
        assert_eq!(seen, EventKinds::ALL);
        let event = Event::GetConn(crate::GetConn {
            at: std::time::Instant::now(),
            host_port: "x:1".into(),
        });
        assert_eq!(event.kind(), EventKind::GetConn);
        assert_eq!(event.kind().name(), event.name());
    }

    #[test]
    fn sets_collect_and_print_by_name() {
        let set: EventKinds = [EventKind::BodyDone, EventKind::DnsStart]
            .into_iter()
            .collect();
        assert_eq!(format!("{set:?}"), r#"{"dns_start", "body_done"}"#);
        assert_eq!(
            set.union(EventKinds::of(&[EventKind::GetConn])),
            EventKinds::of(&[EventKind::GetConn, EventKind::DnsStart, EventKind::BodyDone])
        );
    }

    #[test]
    fn an_interest_is_shared_by_its_clones() {
        let a = Interest::default();
        let b = a.clone();
        b.set(EventKinds::NONE);
        assert_eq!(a.get(), EventKinds::NONE);
    }
}
