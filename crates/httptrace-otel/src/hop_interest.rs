//! Which hook events a hop reads, decided once its span knows whether it is
//! recorded: the transports build no others (`httptrace::Interest`).

use httptrace::{EventKind, EventKinds};

use crate::hop::HopSpan;
use crate::metrics::Instruments;
use crate::settings::Settings;

/// What every hop reads, recorded or not: its start and end, the status
/// and protocol `http.client.request.duration` carries, the phase errors
/// that name a failure's `error.type`, and the dial's hooks (a new
/// connection's only; an earlier hop's dial that outlived it may still
/// need them).
const ALWAYS: EventKinds = EventKinds::of(&[
    EventKind::RoundTripStart,
    EventKind::DnsStart,
    EventKind::DnsDone,
    EventKind::ConnectStart,
    EventKind::ConnectDone,
    EventKind::TlsHandshakeStart,
    EventKind::TlsHandshakeDone,
    EventKind::WroteRequest,
    EventKind::RoundTripDone,
    EventKind::BodyDone,
]);

/// What the phases (their spans, the span's duration attributes and
/// `httptrace.client.phase.duration`) read on top.
const PHASES: EventKinds = ALWAYS
    .with(EventKind::GotConn)
    .with(EventKind::GotFirstResponseByte);

/// The events a hop reads: all of them when its span records them as
/// events; the phases' when the span or the phase metric reads the phases;
/// else what the always-on duration metric (and the round-trip counter,
/// which reads `got_conn`) needs.
pub(crate) fn hop_interest(
    hop: &HopSpan,
    settings: &Settings,
    instruments: Option<&Instruments>,
) -> EventKinds {
    if hop.records_events(settings) {
        return EventKinds::ALL;
    }
    if hop.recording || instruments.is_some_and(|m| m.phase_duration.is_some()) {
        return PHASES;
    }
    if instruments.is_some_and(|m| m.round_trips.is_some()) {
        return ALWAYS.with(EventKind::GotConn);
    }
    ALWAYS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unrecorded_hop_skips_what_only_spans_read() {
        for kind in [
            EventKind::GetConn,
            EventKind::WroteHeaderField,
            EventKind::WroteHeaders,
            EventKind::GotFirstResponseByte,
            EventKind::PutIdleConn,
            EventKind::GotConn,
        ] {
            assert!(!ALWAYS.contains(kind), "{kind:?}");
        }
        for kind in [EventKind::GotConn, EventKind::GotFirstResponseByte] {
            assert!(PHASES.contains(kind), "{kind:?}");
        }
    }
}
