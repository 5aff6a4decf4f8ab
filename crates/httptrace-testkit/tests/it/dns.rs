//! The DNS fixture, exercised with a real resolver (hickory-resolver).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use httptrace_testkit::dns::{DnsConfig, DnsServer};

fn resolver(dns: &DnsServer, protocol: ProtocolConfig, cache: bool) -> TokioResolver {
    let port = match protocol {
        ProtocolConfig::Tcp => dns.tcp_addr().port(),
        _ => dns.addr().port(),
    };
    let mut conn = ConnectionConfig::new(protocol);
    conn.port = port;
    let ns = NameServerConfig::new(dns.addr().ip(), true, vec![conn]);
    let mut builder = TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], vec![ns]),
        TokioRuntimeProvider::default(),
    );
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.timeout = Duration::from_secs(5);
    opts.attempts = 1;
    if !cache {
        opts.cache_size = 0;
    }
    builder.build().expect("build resolver")
}

const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

#[tokio::test]
async fn answers_a_and_aaaa_and_respects_delay() {
    let delay = Duration::from_millis(150);
    let dns = DnsServer::start(
        DnsConfig::new()
            .record("API.Example.TEST.", [V4, V6])
            .delay(delay),
    )
    .unwrap();
    assert_eq!(dns.addr().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    let resolver = resolver(&dns, ProtocolConfig::Udp, false);

    let start = Instant::now();
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("api.example.test.")
        .await
        .unwrap()
        .iter()
        .collect();
    let elapsed = start.elapsed();
    assert!(elapsed >= delay, "elapsed {elapsed:?} < delay {delay:?}");
    assert!(ips.contains(&V4), "{ips:?}");
    assert!(ips.contains(&V6), "{ips:?}");

    // lookup_ip asks A and AAAA (concurrently, so both delays overlap).
    assert!(
        elapsed < delay * 2 + Duration::from_millis(500),
        "{elapsed:?}"
    );
    assert_eq!(dns.queries_for("api.example.test"), 2);
    assert_eq!(dns.queries_for("Api.Example.Test."), 2);
    assert_eq!(dns.query_count(), 2);
}

#[tokio::test]
async fn nxdomain_nodata_and_wildcard() {
    let dns = DnsServer::start(
        DnsConfig::new()
            .record("v4only.test", [V4])
            .wildcard(".wild.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .ttl(30),
    )
    .unwrap();
    let resolver = resolver(&dns, ProtocolConfig::Udp, false);

    let err = resolver.lookup_ip("missing.example.").await.unwrap_err();
    assert!(err.is_nx_domain(), "{err:?}");
    assert!(dns.queries_for("missing.example") >= 1);

    let aaaa = resolver
        .lookup(
            "v4only.test.",
            hickory_resolver::proto::rr::RecordType::AAAA,
        )
        .await;
    let err = aaaa.unwrap_err();
    assert!(err.is_no_records_found() && !err.is_nx_domain(), "{err:?}");

    let ips: Vec<IpAddr> = resolver
        .lookup_ip("anything.Wild.test.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ips, vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let lookup = resolver
        .lookup("x.wild.test.", hickory_resolver::proto::rr::RecordType::A)
        .await
        .unwrap();
    let ttl = lookup.answers()[0].ttl;
    assert!((25..=30).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn serves_tcp_on_same_port() {
    let dns = DnsServer::start(DnsConfig::new().record("tcp.test", [V4])).unwrap();
    assert_eq!(dns.addr(), dns.tcp_addr(), "same port for UDP and TCP");
    let resolver = resolver(&dns, ProtocolConfig::Tcp, false);
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("tcp.test.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ips, vec![V4]);
}

#[tokio::test]
async fn concurrent_queries_overlap_and_runtime_changes_apply() {
    let delay = Duration::from_millis(300);
    let dns = DnsServer::start(DnsConfig::new().wildcard("test", [V4]).delay(delay)).unwrap();
    let resolver = resolver(&dns, ProtocolConfig::Udp, false);
    let start = Instant::now();
    let (a, b, c, d, e) = tokio::join!(
        resolver.lookup_ip("n0.test."),
        resolver.lookup_ip("n1.test."),
        resolver.lookup_ip("n2.test."),
        resolver.lookup_ip("n3.test."),
        resolver.lookup_ip("n4.test."),
    );
    for r in [a, b, c, d, e] {
        r.unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= delay);
    assert!(elapsed < delay * 3, "queries were serialized: {elapsed:?}");
    assert_eq!(dns.query_count(), 10);

    dns.set_delay(Duration::ZERO);
    dns.set_record("n0.test", [V6]);
    let start = Instant::now();
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("n0.test.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert!(start.elapsed() < delay);
    assert_eq!(ips, vec![V6]);
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_current_thread_runtime_and_stops_on_drop() {
    let dns = DnsServer::start(DnsConfig::new().record("ct.test", [V4])).unwrap();
    let tcp_addr = dns.tcp_addr();
    let resolver = resolver(&dns, ProtocolConfig::Udp, false);
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("ct.test.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ips, vec![V4]);
    drop(dns);
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(tokio::net::TcpStream::connect(tcp_addr).await.is_err());
}

#[tokio::test]
async fn garbage_does_not_kill_the_server() {
    let dns = DnsServer::start(DnsConfig::new().record("ok.test", [V4])).unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(b"\x00", dns.addr()).await.unwrap();
    sock.send_to(&[0xAB; 40], dns.addr()).await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(dns.tcp_addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, b"\x00\x05hello")
        .await
        .unwrap();
    drop(tcp);
    let resolver = resolver(&dns, ProtocolConfig::Udp, false);
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("ok.test.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ips, vec![V4]);
}
