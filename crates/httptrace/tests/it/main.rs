//! The integration tests of `httptrace`, against real local servers
//! (`httptrace-testkit`): one test binary with a module per concern, so
//! that the tests link once rather than once per file. A module whose
//! transport's feature is off is left out.

mod support;

#[cfg(feature = "hyper")]
mod hyper_errors;
#[cfg(feature = "hyper")]
mod hyper_proxy;
// Also checks that the futures of both transports are Send.
#[cfg(all(feature = "hyper", feature = "reqwest"))]
mod hyper_transport;
#[cfg(feature = "reqwest")]
mod reqwest_builder_kept;
#[cfg(feature = "reqwest")]
mod reqwest_concurrency;
#[cfg(feature = "reqwest")]
mod reqwest_conn_lifetime;
#[cfg(feature = "reqwest")]
mod reqwest_errors;
#[cfg(feature = "reqwest-middleware")]
mod reqwest_instrument;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
#[cfg(any(feature = "reqwest", feature = "hyper"))]
mod tls_identity;
