//! Runs the real Jaeger v2 binary for one test and reads traces back.
//!
//! [`Jaeger::start`] writes a config (OTLP gRPC + HTTP receivers, in-memory
//! storage, query API, health check; every listener on `127.0.0.1` with a
//! port picked free for this instance, so tests can run in parallel), starts
//! the binary, waits until it reports healthy and its query API answers, and
//! kills it when dropped. Traces are read back over Jaeger's api_v3
//! (`GET /api/v3/traces/{trace_id}`, `GET /api/v3/traces?query.service_name=..`)
//! as parsed OTLP JSON; [`spans`] flattens that JSON into [`Span`]s that are
//! easy to assert on. Metrics received over OTLP are exposed by Jaeger's
//! Prometheus exporter and read back with [`Jaeger::wait_for_metrics`].
//!
//! The binary is `$JAEGER_BIN` when set, else
//! `${HTTPTRACE_CACHE:-$HOME/.cache/httptrace}/jaeger/jaeger-v1.76.0`, built by
//! `bash deploy/jaeger-build/install.sh` (needs Go). When it is missing,
//! the first test to need it runs that script (once, under a file lock, so
//! `cargo test` works on a fresh machine); if that fails (no Go) the start
//! fails with a hint, unless `HTTPTRACE_SKIP_E2E=1`: then [`Jaeger::start`]
//! prints a loud skip notice to stderr and returns `None`.
//!
//! ```no_run
//! # async fn demo() {
//! let Some(jaeger) = jaeger_harness::Jaeger::start().await.expect("jaeger") else {
//!     return; // skipped: HTTPTRACE_SKIP_E2E=1 and no binary
//! };
//! let endpoint = jaeger.otlp_grpc_endpoint(); // http://127.0.0.1:<port>
//! // ... export spans to `endpoint` ...
//! let trace = jaeger
//!     .wait_for_trace("5b8efff798038103d269b633813fc60c", std::time::Duration::from_secs(10), |t| {
//!         jaeger_harness::spans(t).len() >= 3
//!     })
//!     .await
//!     .expect("trace");
//! # }
//! ```
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// One sample of a Prometheus text exposition: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The metric name, e.g. `http_client_request_duration_seconds_count`.
    pub name: String,
    /// The labels, by name.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The label's value, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// The samples of a Prometheus text exposition (comments and malformed lines
/// skipped). Written here because the samples tests need are plain lines;
/// no timestamps, no exemplars.
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(parse_sample)
        .collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    let (name, labels) = match head.split_once('{') {
        None => (head, BTreeMap::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// `a="x",b="y \"q\""` into a map, undoing the format's escapes.
fn parse_labels(mut rest: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.trim_start_matches(',').to_string(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}

/// The config template; `{{NAME}}` placeholders are filled with free ports.
pub const CONFIG_TEMPLATE: &str = include_str!("jaeger-config.yaml");

/// The Jaeger version the harness expects (the Go module tag; Jaeger v2.13).
pub const JAEGER_VERSION: &str = "v1.76.0";

/// How long [`Jaeger::start`] waits for the binary to become healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong starting or querying Jaeger.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The ports one Jaeger instance listens on (all on `127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// OTLP over gRPC.
    pub otlp_grpc: u16,
    /// OTLP over HTTP (`/v1/traces`).
    pub otlp_http: u16,
    /// Query HTTP API (api_v3 and the legacy API).
    pub query_http: u16,
    /// Query gRPC API.
    pub query_grpc: u16,
    /// Health check (`GET /status`).
    pub health: u16,
    /// Prometheus exposition of the metrics received over OTLP (`GET /metrics`).
    pub metrics: u16,
}

impl Ports {
    /// Six distinct ports that were free a moment ago (the listeners are
    /// held together while picking, so they differ from each other).
    pub fn pick() -> Result<Ports, Error> {
        let listeners: Vec<TcpListener> = (0..6)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::new(format!("cannot bind a free port on 127.0.0.1: {e}")))?;
        let port = |i: usize| listeners[i].local_addr().map(|a| a.port()).unwrap_or(0);
        Ok(Ports {
            otlp_grpc: port(0),
            otlp_http: port(1),
            query_http: port(2),
            query_grpc: port(3),
            health: port(4),
            metrics: port(5),
        })
    }

    /// The config template with these ports filled in.
    pub fn render(&self, template: &str) -> String {
        template
            .replace("{{OTLP_GRPC}}", &self.otlp_grpc.to_string())
            .replace("{{OTLP_HTTP}}", &self.otlp_http.to_string())
            .replace("{{QUERY_HTTP}}", &self.query_http.to_string())
            .replace("{{QUERY_GRPC}}", &self.query_grpc.to_string())
            .replace("{{HEALTH}}", &self.health.to_string())
            .replace("{{METRICS}}", &self.metrics.to_string())
    }
}

/// Where the Jaeger binary is looked for: `$JAEGER_BIN`, else
/// `${HTTPTRACE_CACHE:-$HOME/.cache/httptrace}/jaeger/jaeger-v1.76.0`.
pub fn binary_path() -> PathBuf {
    if let Some(bin) = std::env::var_os("JAEGER_BIN").filter(|v| !v.is_empty()) {
        return PathBuf::from(bin);
    }
    let cache = std::env::var_os("HTTPTRACE_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache").join("httptrace")
        });
    cache
        .join("jaeger")
        .join(format!("jaeger-{JAEGER_VERSION}"))
}

/// Builds the binary with the repository's install script, once: the first
/// caller builds under an exclusive file lock, the others wait for it.
fn install() -> Result<(), String> {
    if std::env::var_os("JAEGER_BIN").is_some_and(|v| !v.is_empty()) {
        return Ok(()); // the user chose a binary; never build over it
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/jaeger-build/install.sh");
    let bin = binary_path();
    let dir = bin.parent().ok_or("no cache directory")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let lock = std::fs::File::create(dir.join(".install.lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    if bin.is_file() {
        return Ok(()); // another test built it while we waited
    }
    eprintln!(
        "jaeger-harness: building Jaeger with {} (first run only)",
        script.display()
    );
    let out = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn skip_requested() -> bool {
    std::env::var("HTTPTRACE_SKIP_E2E").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn loud_skip(reason: &str) {
    let bar = "!".repeat(78);
    eprintln!(
        "\n{bar}\n!!! SKIPPED END-TO-END TEST (HTTPTRACE_SKIP_E2E=1)\n!!! {reason}\n!!! Nothing was checked against a real Jaeger.\n{bar}\n"
    );
}

/// One running Jaeger, killed on drop.
pub struct Jaeger {
    child: Child,
    ports: Ports,
    dir: PathBuf,
    http: reqwest::Client,
}

impl fmt::Debug for Jaeger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jaeger")
            .field("pid", &self.child.id())
            .field("ports", &self.ports)
            .field("dir", &self.dir)
            .finish()
    }
}

impl Jaeger {
    /// Starts Jaeger on fresh ports and waits until it is healthy and its
    /// query API answers.
    ///
    /// Returns `Ok(None)` (after a loud notice on stderr) when the binary is
    /// missing and `HTTPTRACE_SKIP_E2E=1`; without that variable a missing
    /// binary is an error that says how to build it.
    pub async fn start() -> Result<Option<Jaeger>, Error> {
        let bin = binary_path();
        let install = if !bin.is_file() && !skip_requested() {
            tokio::task::spawn_blocking(install)
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        } else {
            Ok(())
        };
        if !bin.is_file() {
            let why = install
                .err()
                .map(|e| format!(" (building it failed: {e})"))
                .unwrap_or_default();
            let msg = format!(
                "Jaeger binary not found at {}{why}; run `bash deploy/jaeger-build/install.sh` (needs Go), \
                 or point JAEGER_BIN at a Jaeger v2 binary",
                bin.display()
            );
            if skip_requested() {
                loud_skip(&msg);
                return Ok(None);
            }
            return Err(Error::new(msg));
        }
        // A port picked free can be taken by someone else before Jaeger binds
        // it: retry with new ports when that happens.
        let mut last = None;
        for _ in 0..3 {
            match Self::start_once(&bin).await {
                Ok(j) => return Ok(Some(j)),
                Err((e, retry)) => {
                    if !retry {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::new("jaeger did not start")))
    }

    async fn start_once(bin: &Path) -> Result<Jaeger, (Error, bool)> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let ports = Ports::pick().map_err(|e| (e, false))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "jaeger-harness-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let io = |what: &str, e: std::io::Error| (Error::new(format!("{what}: {e}")), false);
        fs::create_dir_all(&dir).map_err(|e| io("cannot create the temp dir", e))?;
        let config = dir.join("config.yaml");
        fs::write(&config, ports.render(CONFIG_TEMPLATE))
            .map_err(|e| io("cannot write the config", e))?;
        let log =
            fs::File::create(dir.join("jaeger.log")).map_err(|e| io("cannot create the log", e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| io("cannot clone the log handle", e))?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| io(&format!("cannot run {}", bin.display()), e))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                (
                    Error::new(format!("cannot build the HTTP client: {e}")),
                    false,
                )
            })?;
        let mut jaeger = Jaeger {
            child,
            ports,
            dir,
            http,
        };
        match jaeger.wait_ready().await {
            Ok(()) => Ok(jaeger),
            Err(e) => {
                let log = jaeger.log();
                let retry = log.contains("address already in use");
                let tail: String = {
                    let lines: Vec<&str> = log.lines().collect();
                    lines[lines.len().saturating_sub(30)..].join("\n")
                };
                Err((
                    Error::new(format!("{e}\n--- jaeger log (tail) ---\n{tail}")),
                    retry,
                ))
            }
        }
    }

    async fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + START_TIMEOUT;
        let health = format!("http://127.0.0.1:{}/status", self.ports.health);
        let services = format!("{}/api/v3/services", self.query_url());
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::new(format!(
                    "jaeger exited during start-up: {status}"
                )));
            }
            let healthy = match self.http.get(&health).send().await {
                Ok(r) if r.status().is_success() => r
                    .text()
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_str::<Value>(&b).ok())
                    .and_then(|v| v.get("healthy").and_then(Value::as_bool))
                    .unwrap_or(true),
                _ => false,
            };
            if healthy
                && let Ok(r) = self.http.get(&services).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "jaeger did not become healthy within {START_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The ports this instance listens on.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The OTLP/gRPC endpoint, `http://127.0.0.1:<port>`.
    pub fn otlp_grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.otlp_grpc)
    }

    /// The OTLP/HTTP base endpoint, `http://127.0.0.1:<port>` (traces go to
    /// `/v1/traces` below it).
    pub fn otlp_http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.otlp_http)
    }

    /// The query API base URL, `http://127.0.0.1:<port>`.
    pub fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.query_http)
    }

    /// Where the metrics received over OTLP are exposed in Prometheus text
    /// format, `http://127.0.0.1:<port>/metrics` (Jaeger's prometheus
    /// exporter; resource attributes become labels, `service_name` among them).
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.ports.metrics)
    }

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

    /// Jaeger's own log so far (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("jaeger.log")).unwrap_or_default()
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

impl Drop for Jaeger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- jaeger log ({}) ---\n{}",
                self.dir.display(),
                self.log()
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `t` as RFC 3339 in UTC with nanoseconds (what api_v3 expects).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// One span of a trace read back from Jaeger, flattened from OTLP JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// `service.name` of the span's resource.
    pub service: String,
    /// Trace id, lowercase hex.
    pub trace_id: String,
    /// Span id, lowercase hex.
    pub span_id: String,
    /// Parent span id, empty for a root span.
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// Span kind as the OTLP enum number (3 = CLIENT) or name.
    pub kind: String,
    /// Start, Unix nanoseconds.
    pub start_ns: u64,
    /// End, Unix nanoseconds.
    pub end_ns: u64,
    /// Attributes, values flattened to JSON scalars or arrays.
    pub attributes: BTreeMap<String, Value>,
    /// Events in the order Jaeger returned them.
    pub events: Vec<SpanEvent>,
    /// Status code as sent (`""` unset, `"STATUS_CODE_ERROR"` or `2` for error).
    pub status_code: String,
    /// Status message.
    pub status_message: String,
}

impl Span {
    /// The attribute as a string, if it is one.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// The attribute as an integer (OTLP JSON carries int64 as strings).
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        self.attributes.get(key).and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// True when the status is Error.
    pub fn is_error(&self) -> bool {
        self.status_code == "2" || self.status_code.eq_ignore_ascii_case("STATUS_CODE_ERROR")
    }

    /// The CLIENT kind, as number or name.
    pub fn is_client(&self) -> bool {
        self.kind == "3" || self.kind.eq_ignore_ascii_case("SPAN_KIND_CLIENT")
    }
}

/// One event of a [`Span`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// When, Unix nanoseconds.
    pub time_ns: u64,
    /// Attributes, values flattened.
    pub attributes: BTreeMap<String, Value>,
}

fn any_value(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    if let Some(s) = obj.get("stringValue") {
        return s.clone();
    }
    if let Some(b) = obj.get("boolValue") {
        return b.clone();
    }
    if let Some(i) = obj.get("intValue") {
        // int64 is a JSON string in OTLP/JSON.
        return match i {
            Value::String(s) => s
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| i.clone()),
            other => other.clone(),
        };
    }
    if let Some(d) = obj.get("doubleValue") {
        return d.clone();
    }
    if let Some(a) = obj.get("arrayValue") {
        let items = a
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        return Value::Array(items.iter().map(any_value).collect());
    }
    if obj.is_empty() {
        // An empty array/string can come back as `{}`.
        return Value::Null;
    }
    v.clone()
}

fn attributes(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_array)
        .map(|kvs| {
            kvs.iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_string();
                    let value = kv.get("value").map(any_value).unwrap_or(Value::Null);
                    Some((key, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn u64_field(v: &Value, key: &str) -> u64 {
    match v.get(key) {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn string_field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// All spans of an api_v3 answer (`{"result":{"resourceSpans":..}}`, or
/// the bare `{"resourceSpans":..}`), sorted by start time.
pub fn spans(trace: &Value) -> Vec<Span> {
    let root = trace.get("result").unwrap_or(trace);
    let mut out = Vec::new();
    for rs in root
        .get("resourceSpans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let resource = attributes(rs.get("resource").and_then(|r| r.get("attributes")));
        let service = resource
            .get("service.name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for ss in rs
            .get("scopeSpans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for s in ss
                .get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let status = s.get("status").cloned().unwrap_or(Value::Null);
                out.push(Span {
                    service: service.clone(),
                    trace_id: string_field(s, "traceId").to_ascii_lowercase(),
                    span_id: string_field(s, "spanId").to_ascii_lowercase(),
                    parent_span_id: string_field(s, "parentSpanId").to_ascii_lowercase(),
                    name: string_field(s, "name"),
                    kind: string_field(s, "kind"),
                    start_ns: u64_field(s, "startTimeUnixNano"),
                    end_ns: u64_field(s, "endTimeUnixNano"),
                    attributes: attributes(s.get("attributes")),
                    events: s
                        .get("events")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|e| SpanEvent {
                            name: string_field(e, "name"),
                            time_ns: u64_field(e, "timeUnixNano"),
                            attributes: attributes(e.get("attributes")),
                        })
                        .collect(),
                    status_code: string_field(&status, "code"),
                    status_message: string_field(&status, "message"),
                });
            }
        }
    }
    out.sort_by_key(|s| s.start_ns);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        let t = UNIX_EPOCH + Duration::new(1_795_307_573, 531_325_481);
        assert_eq!(rfc3339(t), "2026-11-22T00:32:53.531325481Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn ports_are_distinct_and_rendered() {
        let p = Ports::pick().unwrap();
        let all = [
            p.otlp_grpc,
            p.otlp_http,
            p.query_http,
            p.query_grpc,
            p.health,
            p.metrics,
        ];
        let mut dedup = all.to_vec();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), 6);
        let cfg = p.render(CONFIG_TEMPLATE);
        assert!(!cfg.contains("{{"), "unfilled placeholder in {cfg}");
        assert!(cfg.contains(&format!("127.0.0.1:{}", p.otlp_grpc)));
        assert!(!cfg.contains("0.0.0.0"));
    }

    #[test]
    fn parses_prometheus_samples() {
        let text = "# HELP x y\n# TYPE x counter\n\
            up 1\n\
            http_client_request_duration_seconds_count{http_request_method=\"GET\",server_address=\"a \\\"b\\\"\"} 3\n\
            bad line\n";
        let samples = parse_prometheus(text);
        assert_eq!(samples.len(), 2, "{samples:?}");
        assert_eq!(samples[0].name, "up");
        assert_eq!(samples[0].value, 1.0);
        assert_eq!(samples[1].label("http_request_method"), Some("GET"));
        assert_eq!(samples[1].label("server_address"), Some("a \"b\""));
        assert_eq!(samples[1].value, 3.0);
    }

    #[test]
    fn flattens_otlp_json() {
        let v: Value = serde_json::from_str(
            r#"{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
            "scopeSpans":[{"scope":{},"spans":[{"traceId":"AB","spanId":"01","parentSpanId":"02","name":"GET","kind":3,
            "startTimeUnixNano":"10","endTimeUnixNano":"20",
            "attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}},
                          {"key":"h","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}],
            "events":[{"timeUnixNano":"15","name":"dns_start"}],"status":{"code":2,"message":"boom"}}]}]}]}}"#,
        )
        .unwrap();
        let s = spans(&v);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].service, "svc");
        assert_eq!(s[0].trace_id, "ab");
        assert_eq!(s[0].attr_i64("http.response.status_code"), Some(200));
        assert_eq!(s[0].attributes["h"], serde_json::json!(["a"]));
        assert!(s[0].is_client() && s[0].is_error());
        assert_eq!(s[0].events[0].time_ns, 15);
    }
}
