//! The process's first TLS handshake when the dial has a DNS lookup to make:
//! aws-lc's one-time seeding of its generator (tens of milliseconds) starts
//! on its own thread when the dial for an `https://` hop begins, so it is
//! done by the time a slow lookup and the connect are, and the handshake
//! starts right after the connect. Its own test binary, so that its request
//! is the process's first handshake.
#![cfg(feature = "reqwest")]

mod handshake_stamps;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use httptrace::reqwest::{ClientBuilderExt, Config, Tls};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;

use handshake_stamps::stamps;

#[tokio::test]
async fn the_generators_seeding_overlaps_a_slow_lookup() {
    let delay = Duration::from_millis(400);
    let dns = DnsServer::start(
        DnsConfig::new()
            .record("api.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .delay(delay),
    )
    .unwrap();
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["api.test"]), &[b"http/1.1"]);
    let client = reqwest::Client::builder()
        .traced_with(
            Config::new()
                .dns_server(dns.addr())
                .tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        )
        .unwrap();
    let (connected, started, done) = stamps(&client, &server.url_with_host("api.test", "/")).await;
    assert!(connected <= started && started <= done);
    // Seeding alone takes longer than the handshake (tests/first_handshake.rs
    // finds it in the gap when there is no lookup to hide it behind); here
    // it was done before the connect.
    let gap = started - connected;
    let handshake = done - started;
    assert!(
        gap < handshake,
        "the seeding should have finished during the {delay:?} lookup, but \
         the handshake ({handshake:?}) started {gap:?} after the connect"
    );
}
