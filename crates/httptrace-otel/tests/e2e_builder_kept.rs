//! End to end over OTLP/HTTP into a real Jaeger, for a service whose
//! reqwest builder trusts a private CA: with `instrument()` as it is, the
//! HTTPS call succeeds and its hop span shows the dial as one connect phase;
//! with the CA handed to `Config::tls`, the same call's span has the TLS
//! handshake apart. Read back over Jaeger's API.
//! Its own test binary: the pipeline installs process-wide globals.

mod support;

use httptrace::reqwest::{ClientBuilderExt, Config, Dns, Tls, TraceMiddleware};
use httptrace_otel::{OtelTrace, Protocol};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;
use jaeger_harness::{Jaeger, Span};
use tracing::Instrument as _;

const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn event_names(hop: &Span) -> Vec<&str> {
    hop.events.iter().map(|e| e.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_on_the_builder_is_kept_and_traced_in_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let service = format!("httptrace-builder-kept-e2e-{}", std::process::id());
    let guard = support::e2e::install(
        &service,
        jaeger.otlp_http_endpoint(),
        Protocol::HttpProtobuf,
    );

    httptrace_testkit::init_crypto();
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["internal.test"]), &[b"http/1.1"]);
    let dns = DnsServer::start(DnsConfig::new().record("internal.test", [LOCAL])).unwrap();
    let url = server.url_with_host("internal.test", "/");

    // As the service has it (its CA, its pinned address), and with TLS and
    // DNS handed to Config.
    let kept = Config::new().make_trace(OtelTrace::new());
    let kept_builder = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_der(&ca.cert_der()).unwrap())
        .resolve("internal.test", server.addr());
    let exact = Config::new()
        .make_trace(OtelTrace::new())
        .tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec()))
        .dns(Dns::servers([dns.addr()]));
    let exact_builder = reqwest::Client::builder().no_proxy();
    let clients: Vec<_> = [(kept_builder, &kept), (exact_builder, &exact)]
        .into_iter()
        .map(|(builder, config)| {
            let client = ClientBuilderExt::instrument(builder, config).unwrap();
            reqwest_middleware::ClientBuilder::new(client)
                .with(TraceMiddleware::new(config))
                .build()
        })
        .collect();

    let caller = tracing::info_span!("internal-call");
    let trace_id = support::trace_id(&caller);
    async {
        for client in &clients {
            let response = client
                .get(&url)
                .send()
                .await
                .expect("HTTPS to the private CA");
            assert_eq!(response.status(), 200);
            response.text().await.unwrap();
        }
    }
    .instrument(caller.clone())
    .await;
    drop(caller);
    guard.force_flush().expect("flush to Jaeger");

    let all = support::e2e::read_back(&jaeger, &trace_id, 3).await;
    let hops = support::e2e::hops(&all);
    assert_eq!(
        hops.len(),
        2,
        "{:#?}",
        all.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for hop in &hops {
        assert_eq!(hop.attr_i64("http.response.status_code"), Some(200));
        assert!(!hop.is_error());
    }
    let kept_events = event_names(hops[0]);
    assert!(
        kept_events
            .iter()
            .any(|n| n.contains("connect_done") || n.contains("connect.done")),
        "{kept_events:?}"
    );
    assert!(
        !kept_events
            .iter()
            .any(|n| n.contains("tls") || n.contains("dns")),
        "the builder's own TLS and DNS are one connect phase: {kept_events:?}"
    );
    let exact_events = event_names(hops[1]);
    for phase in ["dns", "connect", "tls"] {
        assert!(
            exact_events.iter().any(|n| n.contains(phase)),
            "{phase} apart with Config: {exact_events:?}"
        );
    }
    eprintln!("e2e builder kept: trace {trace_id} read back from Jaeger, 2 hop spans");
    guard.shutdown().expect("bounded shutdown");
}
