//! Querying a running Jaeger: traces and services over api_v3, metrics
//! from its Prometheus exporter, each waited for until they are as expected.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::prometheus::{Sample, parse_prometheus};
use crate::{Error, Jaeger, rfc3339};

impl Jaeger {
    /// Scrapes [`Jaeger::metrics_url`] until `ready` accepts the samples, or
    /// `timeout` passes (the error then shows the last scrape).
    pub async fn wait_for_metrics(
        &self,
        timeout: Duration,
        ready: impl Fn(&[Sample]) -> bool,
    ) -> Result<Vec<Sample>, Error> {
        let deadline = Instant::now() + timeout;
        let url = self.metrics_url();
        loop {
            let text = match self.http.get(&url).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(e) => format!("GET {url}: {e}"),
            };
            let samples = parse_prometheus(&text);
            if ready(&samples) {
                return Ok(samples);
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "metrics not as expected within {timeout:?}; last scrape:\n{text}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn get_json(&self, url: &str) -> Result<Option<Value>, Error> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Error::new(format!("GET {url}: {e}")))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| Error::new(format!("GET {url}: reading the body: {e}")))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(Error::new(format!("GET {url}: {status}: {body}")));
        }
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| Error::new(format!("GET {url}: bad JSON ({e}): {body}")))
    }

    /// `GET /api/v3/traces/{trace_id}` (raw, without Jaeger's adjusters):
    /// the OTLP JSON (`{"result":{"resourceSpans":[..]}}`), or `None` when
    /// Jaeger does not know the trace (yet).
    pub async fn get_trace(&self, trace_id: &str) -> Result<Option<Value>, Error> {
        let url = format!(
            "{}/api/v3/traces/{trace_id}?raw_traces=true",
            self.query_url()
        );
        self.get_json(&url).await
    }

    /// Polls [`Jaeger::get_trace`] until the trace exists and `ready` says it
    /// is complete (spans arrive in batches), or `timeout` passes.
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        timeout: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> Result<Value, Error> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(trace) = self.get_trace(trace_id).await? {
                if ready(&trace) {
                    return Ok(trace);
                }
                last = Some(trace);
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "trace {trace_id} not complete in Jaeger within {timeout:?}; last seen: {}",
                    last.map_or("nothing".to_string(), |t| t.to_string())
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Searches traces of `service` that started between `from` and `to`
    /// (`GET /api/v3/traces?query.service_name=..`, at most 100 traces): the
    /// OTLP JSON of all matches, or `None` when there are none.
    pub async fn find_traces(
        &self,
        service: &str,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Option<Value>, Error> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v3/traces", self.query_url()),
            &[
                ("query.service_name", service.to_string()),
                ("query.start_time_min", rfc3339(from)),
                ("query.start_time_max", rfc3339(to)),
                ("query.raw_traces", "true".to_string()),
                // The memory store refuses a search without a depth.
                ("query.num_traces", "100".to_string()),
            ],
        )
        .map_err(|e| Error::new(format!("bad query URL: {e}")))?;
        self.get_json(url.as_str()).await
    }

    /// The services Jaeger has seen (`GET /api/v3/services`).
    pub async fn services(&self) -> Result<Vec<String>, Error> {
        let url = format!("{}/api/v3/services", self.query_url());
        let v = self.get_json(&url).await?.unwrap_or(Value::Null);
        Ok(v.get("services")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }
}
