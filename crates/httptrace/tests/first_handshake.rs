//! The process's first TLS handshake: aws-lc seeds its random generator on
//! its first draw (tens of milliseconds of CPU jitter sampling, no network).
//! That wait must be a gap between `connect_done` and `tls_handshake_start`,
//! not counted as the handshake. Its own test binary, so that its first
//! request is the process's first handshake.
#![cfg(feature = "reqwest")]

mod handshake_stamps;

use httptrace::reqwest::{ClientBuilderExt, Config, Tls};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;

use handshake_stamps::stamps;

#[tokio::test]
async fn the_generators_seeding_is_a_gap_before_the_handshake_not_part_of_it() {
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["127.0.0.1"]), &[b"http/1.1"]);
    let client = reqwest::Client::builder()
        .traced_with(
            Config::new().tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        )
        .unwrap();
    // `/close`: the server closes after the response, so each request dials.
    let url = format!("https://127.0.0.1:{}/close", server.port());
    let (connected, started, done) = stamps(&client, &url).await;
    assert!(connected <= started && started <= done);
    let gap = started - connected;
    let handshake = done - started;
    assert!(
        gap > handshake,
        "the first handshake's seeding ({gap:?} between connect_done and \
         tls_handshake_start) must not be inside the handshake ({handshake:?})"
    );
    // Seeded once per process: the next dial has no such gap.
    let (connected, started, _) = stamps(&client, &url).await;
    assert!(
        started - connected < gap,
        "the second dial waited for a seed again: {:?} (first {gap:?})",
        started - connected
    );
}
