//! 200 concurrent requests on one shared client, to several hosts: every trace
//! receives exactly its own request's events.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::Recorder;
use httptrace::Event;
use httptrace::reqwest::{ClientBuilderExt, Config};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_each_see_only_their_own_events() {
    let hosts = ["a.test", "b.test", "c.test", "d.test"];
    let mut config = DnsConfig::new().delay(Duration::from_millis(30));
    for host in hosts {
        config = config.record(host, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }
    let dns = DnsServer::start(config).unwrap();
    let servers: Vec<TestServer> = hosts.iter().map(|_| TestServer::http()).collect();
    let client = reqwest::Client::builder()
        .traced_with(Config::new().dns_server(dns.addr()))
        .unwrap();

    let mut tasks = Vec::new();
    for i in 0..200usize {
        let h = i % hosts.len();
        let url = servers[h].url_with_host(hosts[h], &format!("/echo?request={i}"));
        let client = client.clone();
        let rec = Recorder::new();
        tasks.push(tokio::spawn(async move {
            let response = client.get(&url).trace(rec.trace()).send().await.unwrap();
            let body = response.bytes().await.unwrap();
            (i, h, url, rec, body.len() as u64)
        }));
    }
    let mut coalesced = 0;
    let mut dialled = 0;
    for task in tasks {
        let (i, h, url, rec, body_len) = task.await.unwrap();
        let events = rec.events();
        let starts: Vec<_> = rec.find(|e| match e {
            Event::RoundTripStart(s) => Some(s.url.to_string()),
            _ => None,
        });
        assert_eq!(
            starts,
            std::slice::from_ref(&url),
            "request {i} saw another request's start"
        );
        let done: Vec<_> = rec.find(|e| match e {
            Event::RoundTripDone(d) => d.status,
            _ => None,
        });
        assert_eq!(done, [http::StatusCode::OK], "request {i}");
        let bodies: Vec<_> = rec.find(|e| match e {
            Event::BodyDone(b) => Some(b.bytes),
            _ => None,
        });
        assert_eq!(
            bodies,
            [body_len],
            "request {i} got another request's body_done"
        );
        let conns: Vec<_> = rec.find(|e| match e {
            Event::GotConn(g) => g.remote_addr,
            _ => None,
        });
        assert_eq!(
            conns,
            [servers[h].addr()],
            "request {i} attributed to another host"
        );
        for e in &events {
            match e {
                Event::DnsStart(d) => assert_eq!(d.host, hosts[h], "request {i}"),
                Event::DnsDone(d) => {
                    assert_eq!(d.host, hosts[h], "request {i}");
                    coalesced += d.coalesced as usize;
                }
                Event::ConnectDone(c) => {
                    dialled += 1;
                    assert_eq!(c.addr, Some(servers[h].addr()), "request {i}");
                }
                _ => {}
            }
        }
        // Each kind of once-per-round-trip event appears exactly once.
        let names: Vec<_> = events.iter().map(Event::name).collect();
        for once in [
            "round_trip_start",
            "get_conn",
            "got_conn",
            "round_trip_done",
            "body_done",
        ] {
            assert_eq!(
                names.iter().filter(|n| **n == once).count(),
                1,
                "{once} in request {i}"
            );
        }
        let unique: HashSet<_> = names.iter().filter(|n| n.starts_with("dns_")).collect();
        assert!(unique.len() <= 2);
    }
    assert!(
        dialled >= hosts.len(),
        "every host was dialled at least once"
    );
    assert!(
        coalesced > 0,
        "concurrent lookups of one name should have been coalesced"
    );
    let queries: usize = hosts.iter().map(|h| dns.queries_for(h)).sum();
    assert!(queries < 200, "{queries} DNS queries for 200 requests");
}
