//! What the transports share: DNS with coalescing, the connection registry,
//! body probes, error classification and certificates.

pub(crate) mod body;
pub(crate) mod certs;
pub(crate) mod dns;
pub(crate) mod errors;
pub(crate) mod registry;
pub(crate) mod round_trip;
