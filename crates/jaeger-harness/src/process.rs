//! The Jaeger process: its config and free ports, finding (or building) the
//! binary, starting it, waiting until it is healthy, and killing it on drop.

use std::fmt;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::Error;

/// The config template; `{{NAME}}` placeholders are filled with free ports.
pub const CONFIG_TEMPLATE: &str = include_str!("jaeger-config.yaml");

/// The Jaeger version the harness expects: the Go module tag v1.75.0, which is
/// Jaeger v2.12.0 (the approved release).
pub const JAEGER_VERSION: &str = "v1.75.0";

/// How long [`Jaeger::start`] waits for the binary to become healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

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
/// `${HTTPTRACE_CACHE:-$HOME/.cache/httptrace}/jaeger/jaeger-v1.75.0`.
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
    pub(crate) http: reqwest::Client,
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

    /// Jaeger's own log so far (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("jaeger.log")).unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // Jaeger's own tracing stays off (its spans would be a `jaeger` service).
        assert!(cfg.contains("enable_tracing: false"));
    }
}
