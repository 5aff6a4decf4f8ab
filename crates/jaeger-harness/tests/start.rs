//! Starts the real Jaeger, sends it one hand-made OTLP/JSON span over HTTP and
//! reads it back over api_v3: proves the harness itself, with no SDK involved.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jaeger_harness::{Jaeger, spans};

#[tokio::test]
async fn hand_made_span_round_trips_through_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start jaeger") else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let trace_id = format!("{:032x}", now as u128 * 7919);
    let body = serde_json::json!({"resourceSpans":[{
        "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"harness-selftest"}}]},
        "scopeSpans":[{"spans":[{
            "traceId": trace_id, "spanId":"eee19b7ec3c1b174", "name":"GET", "kind":3,
            "startTimeUnixNano": now.to_string(), "endTimeUnixNano": (now + 1_000_000).to_string(),
            "attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}}],
            "events":[{"timeUnixNano": (now + 10).to_string(), "name":"dns_start"}]
        }]}]
    }]});
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/traces", jaeger.otlp_http_endpoint()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post OTLP/JSON");
    assert!(resp.status().is_success(), "{}", resp.status());

    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(20), |t| !spans(t).is_empty())
        .await
        .expect("trace in jaeger");
    let s = spans(&trace);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].service, "harness-selftest");
    assert_eq!(s[0].name, "GET");
    assert!(s[0].is_client());
    assert_eq!(s[0].start_ns, now);
    assert_eq!(s[0].events[0].name, "dns_start");
    assert_eq!(s[0].attr_str("http.request.method"), Some("GET"));

    assert!(
        jaeger
            .services()
            .await
            .unwrap()
            .contains(&"harness-selftest".to_string())
    );
    let found = jaeger
        .find_traces(
            "harness-selftest",
            SystemTime::now() - Duration::from_secs(60),
            SystemTime::now() + Duration::from_secs(60),
        )
        .await
        .unwrap()
        .expect("search finds the trace");
    assert!(spans(&found).iter().any(|s| s.trace_id == trace_id));
    assert!(
        jaeger
            .get_trace("00000000000000000000000000000001")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn two_instances_run_side_by_side() {
    let (a, b) = tokio::join!(Jaeger::start(), Jaeger::start());
    let (Some(a), Some(b)) = (a.expect("a"), b.expect("b")) else {
        return;
    };
    assert_ne!(a.ports(), b.ports());
    assert!(a.services().await.is_ok() && b.services().await.is_ok());
}
