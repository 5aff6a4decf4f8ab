//! Local servers to try httpstat against (used for the README samples):
//! an HTTP server, an HTTPS server (HTTP/2 by ALPN) for `svc.test`, and a DNS
//! server answering `svc.test` after 20 ms. Writes the CA to `./demo-ca.pem`,
//! prints example command lines, and serves until interrupted.
//!
//! ```text
//! cargo run -p httpstat --example demo_servers
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let http = TestServer::http();
    let ca = TestCa::new();
    let https = TestServer::https(&ca.server_identity(&["svc.test"]), &[b"h2", b"http/1.1"]);
    let dns = DnsServer::start(
        DnsConfig::new()
            .record("svc.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .delay(Duration::from_millis(20)),
    )?;
    std::fs::write("demo-ca.pem", ca.cert_pem())?;
    println!("httpstat {}", http.url("/redirect/2"));
    println!(
        "httpstat --dns-server {} --cacert demo-ca.pem {}",
        dns.addr(),
        https.url_with_host("svc.test", "/bytes/100000")
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
