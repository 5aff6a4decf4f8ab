//! Hook sequences replayed by hand into an `OtelTrace`: events recorded from
//! real traffic, then cut short, reordered or delivered late. (The event
//! structs are `#[non_exhaustive]`, so they cannot be built here from
//! scratch; recorded ones are edited instead.)

mod support;

use std::time::Duration;

use httptrace::{ClientTrace, Event, RequestInfo, RoundTripStart, Traces};
use opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, Value};
use support::*;

/// The events of a real 2-hop request (`/redirect/1` over HTTPS with DNS).
async fn recorded_redirect() -> Vec<Event> {
    let net = Net::start();
    let rec = Recorder::default();
    let client = net.plain_client();
    let resp = client
        .get(net.https_url("/redirect/1"))
        .trace(rec.trace())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "done");
    let events = rec.events();
    assert!(events.iter().any(|e| e.name() == "put_idle_conn"));
    events
}

fn hops_of(events: &[Event]) -> Vec<Vec<Event>> {
    let mut hops: Vec<Vec<Event>> = Vec::new();
    for e in events {
        if matches!(e, Event::RoundTripStart(_)) {
            hops.push(Vec::new());
        }
        if let Some(h) = hops.last_mut() {
            h.push(e.clone());
        }
    }
    hops
}

fn start_of(events: &[Event]) -> RoundTripStart {
    events
        .iter()
        .find_map(|e| match e {
            Event::RoundTripStart(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap()
}

fn make(cap: &Capture, otel: httptrace_otel::OtelTrace, parent: Context) -> ClientTrace {
    let _ = cap;
    let url = url::Url::parse("https://svc.test/").unwrap();
    let headers = http::HeaderMap::new();
    otel.trace_with_parent(
        &RequestInfo::new(&http::Method::GET, &url, &headers),
        parent,
    )
}

/// Hook order of the transport: header hook, then the event.
fn deliver(trace: &ClientTrace, events: &[Event]) -> http::HeaderMap {
    let traces = Traces::none().with(trace.clone());
    let mut headers = http::HeaderMap::new();
    for e in events {
        if let Event::RoundTripStart(s) = e {
            traces.request_headers(s, &mut headers);
        }
        traces.emit(e.clone());
    }
    headers
}

#[tokio::test]
async fn dropping_the_trace_without_a_final_event_ends_the_span_as_cancelled() {
    let events = recorded_redirect().await;
    let hop0 = &hops_of(&events)[0];
    let cut = hop0
        .iter()
        .position(|e| e.name() == "round_trip_done")
        .unwrap();
    let cap = Capture::new();
    let otel = cap
        .otel()
        .phase_spans(true)
        .enable_metric(httptrace_otel::OptInMetric::ActiveRequests);
    let trace = make(&cap, otel, caller());
    deliver(&trace, &hop0[..cut]);
    assert!(
        cap.hops().is_empty(),
        "the hop span does not end before the trace is dropped"
    );
    let last_at = hop0[cut - 1].at();
    drop(trace);

    let hops = cap.hops();
    assert_eq!(hops.len(), 1, "the hop span ended on drop");
    let hop = &hops[0];
    assert_eq!(attr_str(hop, "error.type").as_deref(), Some("cancelled"));
    assert!(
        matches!(&hop.status, Status::Error { description } if description.contains("cancelled"))
    );
    assert!(hop.end_time >= httptrace::system_time(last_at));
    assert_eq!(hop.events.len(), cut);
    assert_events_in_range(hop);
    // Every phase span ended too; the one still open (receive: the first
    // byte came, the headers did not) as cancelled.
    let spans = cap.spans();
    let kids: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == hop.span_context.span_id())
        .collect();
    let names: Vec<&str> = kids.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["dns", "connect", "tls", "send", "wait", "receive"]);
    assert!(is_error(kids[5]) && kids[..5].iter().all(|k| !is_error(k)));
    assert_eq!(
        attr_str(kids[5], "error.type").as_deref(),
        Some("cancelled")
    );
    let active = cap.metric_points("http.client.active_requests");
    assert!(active.iter().all(|(_, v)| *v == 0.0), "{active:?}");
    let durations = cap.metric_points("http.client.request.duration");
    assert_eq!(durations.len(), 1);
    assert_eq!(
        attr(&durations[0].0, "error.type"),
        Some(&Value::from("cancelled"))
    );
}

#[tokio::test]
async fn dropping_after_the_headers_ends_the_span_as_cancelled_keeping_the_status() {
    let events = recorded_redirect().await;
    let hop1 = &hops_of(&events)[1];
    let cut = hop1.iter().position(|e| e.name() == "body_done").unwrap();
    let cap = Capture::new();
    let trace = make(&cap, cap.otel(), caller());
    deliver(&trace, &hop1[..cut]);
    drop(trace);
    let hop = &cap.hops()[0];
    assert_eq!(attr_i64(hop, "http.response.status_code"), Some(200));
    assert_eq!(attr_str(hop, "error.type").as_deref(), Some("cancelled"));
}

#[tokio::test]
async fn late_and_reordered_delivery_is_placed_by_timestamp() {
    let events = recorded_redirect().await;
    let hop0 = hops_of(&events)[0].clone();
    // Deliver the connection phases (DNS .. got_conn) after everything else
    // except the final events, as a transport reporting them late would.
    let (early, rest): (Vec<Event>, Vec<Event>) = hop0.iter().cloned().partition(|e| {
        matches!(
            e,
            Event::RoundTripStart(_)
                | Event::GetConn(_)
                | Event::BodyDone(_)
                | Event::PutIdleConn(_)
        )
    });
    let (finals, head): (Vec<Event>, Vec<Event>) = early
        .into_iter()
        .partition(|e| matches!(e, Event::BodyDone(_) | Event::PutIdleConn(_)));
    let mut scrambled = head;
    scrambled.extend(rest.into_iter().rev());
    scrambled.extend(finals);

    let cap = Capture::new();
    let trace = make(&cap, cap.otel().phase_spans(true), caller());
    deliver(&trace, &scrambled);
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert_events_in_range(hop);
    assert_eq!(hop.events.len(), hop0.len(), "every hook is an event");
    let spans = cap.spans();
    let mut kids: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == hop.span_context.span_id())
        .collect();
    // Ties (a zero-length `send` when no body was written) order by end.
    kids.sort_by_key(|s| (s.start_time, s.end_time));
    let names: Vec<&str> = kids.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["dns", "connect", "tls", "send", "wait", "receive"]);
    for k in &kids {
        assert!(
            k.start_time <= k.end_time
                && k.start_time >= hop.start_time
                && k.end_time <= hop.end_time
        );
    }
    drop(trace);
    assert_eq!(cap.spans().len(), spans.len(), "nothing more on drop");
}

#[tokio::test]
async fn events_after_the_hop_ended_are_ignored() {
    let events = recorded_redirect().await;
    let hop1 = hops_of(&events)[1].clone();
    let cap = Capture::new();
    let trace = make(&cap, cap.otel().phase_spans(true), caller());
    deliver(&trace, &hop1);
    let before = cap.spans();
    // A background dial finishing later, and a repeated final event.
    let mut late = hop0_connect_done(&events);
    if let Event::ConnectDone(c) = &mut late {
        c.at = hop1.last().unwrap().at() + Duration::from_millis(5);
    }
    trace.emit(&late);
    trace.emit(hop1.last().unwrap());
    drop(trace);
    let after = cap.spans();
    assert_eq!(after.len(), before.len());
    assert_eq!(
        after.iter().map(|s| s.events.len()).sum::<usize>(),
        before.iter().map(|s| s.events.len()).sum::<usize>()
    );
}

fn hop0_connect_done(events: &[Event]) -> Event {
    events
        .iter()
        .find(|e| e.name() == "connect_done")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn header_hook_and_event_in_either_order_make_one_span_per_hop() {
    let events = recorded_redirect().await;
    let hops = hops_of(&events);
    let cap = Capture::new();
    let trace = make(&cap, cap.otel(), caller());
    let traces = Traces::none().with(trace.clone());
    let mut injected = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let start = start_of(hop);
        let mut headers = http::HeaderMap::new();
        if i == 0 {
            traces.request_headers(&start, &mut headers);
            for e in hop {
                traces.emit(e.clone());
            }
        } else {
            traces.emit(hop[0].clone());
            traces.request_headers(&start, &mut headers);
            for e in &hop[1..] {
                traces.emit(e.clone());
            }
        }
        injected.push(
            headers
                .get("traceparent")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    drop((trace, traces));
    let spans = cap.hops();
    assert_eq!(spans.len(), 2);
    for (span, tp) in spans.iter().zip(&injected) {
        assert_eq!(
            tp,
            &format!(
                "00-{}-{}-01",
                span.span_context.trace_id(),
                span.span_context.span_id()
            )
        );
    }
}

#[tokio::test]
async fn sampled_out_requests_record_nothing_but_still_propagate() {
    let events = recorded_redirect().await;
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::ParentBased(Box::new(
            opentelemetry_sdk::trace::Sampler::AlwaysOn,
        )))
        .with_simple_exporter(exporter.clone())
        .build();
    use opentelemetry::trace::TracerProvider as _;
    let tracer = provider.tracer("t");
    // A remote parent that was not sampled.
    let sc = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        opentelemetry::trace::SpanId::from_hex("b7ad6b7169203331").unwrap(),
        opentelemetry::trace::TraceFlags::default(),
        true,
        Default::default(),
    );
    let parent = Context::new().with_remote_span_context(sc);
    let otel = httptrace_otel::OtelTrace::with_tracer(tracer)
        .phase_spans(true)
        .metrics(false)
        .propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let url = url::Url::parse("https://svc.test/").unwrap();
    let headers = http::HeaderMap::new();
    let trace = otel.trace_with_parent(
        &RequestInfo::new(&http::Method::GET, &url, &headers),
        parent,
    );
    let sent = deliver(&trace, &events);
    drop(trace);
    assert!(exporter.get_finished_spans().unwrap().is_empty());
    let tp = sent.get("traceparent").unwrap().to_str().unwrap();
    assert!(
        tp.starts_with("00-0af7651916cd43dd8448eb211c80319c-") && tp.ends_with("-00"),
        "{tp}"
    );
    let _ = provider.tracer("unused").start("x");
}

/// A sampled remote caller: the hops are its children, as when a service
/// calls out while handling a traced request.
fn caller() -> Context {
    let sc = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    Context::new().with_remote_span_context(sc)
}
