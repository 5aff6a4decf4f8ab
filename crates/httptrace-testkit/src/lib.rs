//! Real, local test servers for the integration tests of `httptrace`: a DNS server
//! ([`dns`]), a throw-away certificate authority ([`tls`]) and HTTP/1.1 + HTTP/2 servers,
//! plain or over TLS, plus deliberately misbehaving raw-socket servers ([`http`]), a
//! forward proxy ([`proxy`]) and the hook orders the tests expect ([`hooks`]).
//!
//! Everything binds `127.0.0.1:0` (so tests can run in parallel), runs on the caller's tokio
//! runtime (multi-thread or current-thread), and shuts down when its handle is dropped.
//! Malformed network input never panics; bad connections are just closed.
#![warn(missing_docs)]

pub mod dns;
pub mod hooks;
pub mod http;
pub mod proxy;
pub mod tls;

pub use crate::dns::{DnsConfig, DnsServer};
pub use crate::http::{BlackHole, TestServer, refused_addr};
pub use crate::tls::{ServerIdentity, TestCa, rustls_server_config};

/// Installs aws-lc-rs as the process-wide default rustls crypto provider if none is installed
/// yet; otherwise does nothing. Idempotent and safe to call from every test.
///
/// The testkit itself never needs this (it always passes the aws-lc-rs provider explicitly);
/// call it only if code under test relies on a process-default provider.
pub fn init_crypto() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}
