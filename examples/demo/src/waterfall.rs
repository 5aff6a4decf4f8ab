//! Draws a trace as a terminal waterfall: the span tree (client call → one
//! row per round trip → the server's spans), each span a bar on one time
//! axis, and under every round trip its phases (dns, connect, tls, wait,
//! transfer) computed from the hook events on its span.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::trace::SpanData;

/// Attributes: key and value.
pub type Attributes = Vec<(String, Value)>;

/// One span event.
#[derive(Clone, Debug)]
pub struct EventView {
    /// Event name (for hop spans: the hook's, `httptrace.dns.start`, ...).
    pub name: String,
    /// When it happened.
    pub at: SystemTime,
    /// Its attributes.
    pub attributes: Attributes,
}

/// One finished span and the service that made it.
#[derive(Clone, Debug)]
pub struct SpanView {
    /// `service.name` of the process that made the span.
    pub service: String,
    /// Trace id, lowercase hex.
    pub trace_id: String,
    /// Span id, lowercase hex.
    pub span_id: String,
    /// Parent span id, lowercase hex; all zeros for a root.
    pub parent_id: String,
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Start.
    pub start: SystemTime,
    /// End.
    pub end: SystemTime,
    /// Attributes.
    pub attributes: Attributes,
    /// Events, in the order the span recorded them.
    pub events: Vec<EventView>,
    /// True when the span's status is Error.
    pub error: bool,
}

impl SpanView {
    /// The view of an SDK span made by `service`.
    pub fn from_data(service: &str, span: &SpanData) -> Self {
        let kv = |kvs: &[opentelemetry::KeyValue]| {
            kvs.iter()
                .map(|kv| (kv.key.as_str().to_string(), kv.value.clone()))
                .collect::<Vec<_>>()
        };
        SpanView {
            service: service.to_string(),
            trace_id: span.span_context.trace_id().to_string(),
            span_id: span.span_context.span_id().to_string(),
            parent_id: span.parent_span_id.to_string(),
            name: span.name.to_string(),
            kind: span.span_kind.clone(),
            start: span.start_time,
            end: span.end_time,
            attributes: kv(&span.attributes),
            events: span
                .events
                .iter()
                .map(|e| EventView {
                    name: e.name.to_string(),
                    at: e.timestamp,
                    attributes: kv(&e.attributes),
                })
                .collect(),
            error: matches!(span.status, Status::Error { .. }),
        }
    }

    fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The attribute as a string (any scalar is formatted).
    pub fn attr_str(&self, key: &str) -> Option<String> {
        self.attr(key).map(|v| v.as_str().into_owned())
    }

    /// The attribute as an integer.
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        match self.attr(key)? {
            Value::I64(i) => Some(*i),
            Value::String(s) => s.as_str().parse().ok(),
            _ => None,
        }
    }

    /// True for a round-trip span made by httptrace-otel.
    pub fn is_hop(&self) -> bool {
        self.kind == SpanKind::Client && self.attr("http.request.method").is_some()
    }

    /// Whether the hop's connection was reused (`got_conn` event), if known.
    pub fn reused(&self) -> Option<bool> {
        let got_conn = self
            .events
            .iter()
            .find(|e| e.name == "httptrace.conn.got")?;
        got_conn
            .attributes
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("httptrace.conn.reused", Value::Bool(b)) => Some(*b),
                ("httptrace.conn.reused", Value::Array(Array::Bool(b))) => b.first().copied(),
                _ => None,
            })
    }

    /// The phases of a hop span, from its hook events
    /// ([`httptrace::Phases`]), in time order: `dns`, `connect`, `tls`,
    /// `wait` (wrote_request → got_first_response_byte: the server's time)
    /// and `transfer` (the response body: `receive` in
    /// [`httptrace::Phase`]); `send` is left out, a sliver next to `wait`. A
    /// reused connection needs no dns, connect or tls (plain HTTP has no
    /// tls); when they show up on a hop that reused a connection they belong
    /// to a spare dial the pool started while the idle connection was on its
    /// way back, and are marked `spare`. A phase that never ended is not
    /// drawn.
    pub fn phases(&self) -> Vec<PhaseBar> {
        let phases = httptrace::Phases::from_names(self.events.iter().filter_map(|e| {
            httptrace_otel::conventions::hook_name(&e.name).map(|hook| (hook, e.at))
        }));
        let reused = self.reused() == Some(true);
        let mut out: Vec<PhaseBar> = phases
            .iter()
            .filter_map(|(phase, interval)| {
                let name = match phase {
                    httptrace::Phase::Send => return None,
                    httptrace::Phase::Receive => "transfer",
                    other => other.as_str(),
                };
                Some(PhaseBar {
                    name,
                    start: interval.start,
                    end: interval.end?,
                    spare: reused && phase <= httptrace::Phase::Tls,
                })
            })
            .collect();
        out.sort_by_key(|p| p.start);
        out
    }
}

/// One phase of a round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseBar {
    /// `dns`, `connect`, `tls`, `wait` or `transfer`.
    pub name: &'static str,
    /// Start.
    pub start: SystemTime,
    /// End.
    pub end: SystemTime,
    /// A dns/connect/tls phase of a dial this round trip did not use (its
    /// connection came from the pool).
    pub spare: bool,
}

/// How to draw.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Width of the bar column, in characters.
    pub bar_width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            bar_width: 48,
        }
    }
}

/// The trace ids of `spans`, in the order their earliest span started.
pub fn trace_ids(spans: &[SpanView]) -> Vec<String> {
    let mut firsts: Vec<(SystemTime, String)> = Vec::new();
    for s in spans {
        match firsts.iter_mut().find(|(_, id)| *id == s.trace_id) {
            Some((t, _)) => *t = (*t).min(s.start),
            None => firsts.push((s.start, s.trace_id.clone())),
        }
    }
    firsts.sort();
    firsts.into_iter().map(|(_, id)| id).collect()
}

enum RowKind<'a> {
    Span(&'a SpanView),
    PhaseBar(PhaseBar),
}

struct Row<'a> {
    prefix: String,
    kind: RowKind<'a>,
}

impl Row<'_> {
    fn start(&self) -> SystemTime {
        match &self.kind {
            RowKind::Span(s) => s.start,
            RowKind::PhaseBar(p) => p.start,
        }
    }
    fn end(&self) -> SystemTime {
        match &self.kind {
            RowKind::Span(s) => s.end,
            RowKind::PhaseBar(p) => p.end,
        }
    }
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD_BLUE: &str = "\x1b[1;34m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";
const BLUE: &str = "\x1b[34m";

fn label_and_color(row: &Row<'_>) -> (String, &'static str) {
    match &row.kind {
        RowKind::PhaseBar(p) => {
            let c = match p.name {
                "dns" => CYAN,
                "connect" => YELLOW,
                "tls" => MAGENTA,
                "wait" => BLUE,
                _ => GREEN,
            };
            if p.spare {
                (format!("{} (spare dial)", p.name), DIM)
            } else {
                (p.name.to_string(), c)
            }
        }
        RowKind::Span(s) if s.is_hop() => {
            let method = s.attr_str("http.request.method").unwrap_or_default();
            let path = s
                .attr_str("url.full")
                .and_then(|u| reqwest::Url::parse(&u).ok())
                .map(|u| u.path().to_string())
                .unwrap_or_default();
            let status = s.attr_i64("http.response.status_code");
            let conn = match s.reused() {
                Some(true) => "  reused conn",
                Some(false) => "  new conn",
                None => "",
            };
            let status_text = status.map_or("error".to_string(), |c| c.to_string());
            let color = match status {
                _ if s.error => RED,
                Some(c) if c >= 400 => RED,
                Some(c) if c >= 300 => YELLOW,
                Some(_) => GREEN,
                None => RED,
            };
            (format!("{method} {path} → {status_text}{conn}"), color)
        }
        RowKind::Span(s) => {
            let color = if s.error {
                RED
            } else if s.kind == SpanKind::Server {
                MAGENTA
            } else if s.parent_id.chars().all(|c| c == '0') {
                BOLD_BLUE
            } else {
                CYAN
            };
            (s.name.clone(), color)
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn since(t: SystemTime, t0: SystemTime) -> Duration {
    t.duration_since(t0).unwrap_or_default()
}

fn children_rows<'a>(
    all: &'a [SpanView],
    parent: &SpanView,
    prefix: &str,
    rows: &mut Vec<Row<'a>>,
) {
    enum Child<'a> {
        Span(&'a SpanView),
        PhaseBar(PhaseBar),
    }
    let mut kids: Vec<(SystemTime, Child<'a>)> = all
        .iter()
        .filter(|s| s.parent_id == parent.span_id && s.trace_id == parent.trace_id)
        .map(|s| (s.start, Child::Span(s)))
        .collect();
    if parent.is_hop() {
        kids.extend(
            parent
                .phases()
                .into_iter()
                .map(|p| (p.start, Child::PhaseBar(p))),
        );
    }
    // Phases first on ties: the server span starts inside `wait`.
    kids.sort_by_key(|(t, c)| (*t, matches!(c, Child::Span(_))));
    let n = kids.len();
    for (i, (_, kid)) in kids.into_iter().enumerate() {
        let last = i + 1 == n;
        let branch = if last { "└─ " } else { "├─ " };
        let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
        match kid {
            Child::PhaseBar(p) => rows.push(Row {
                prefix: format!("{prefix}{branch}"),
                kind: RowKind::PhaseBar(p),
            }),
            Child::Span(s) => {
                rows.push(Row {
                    prefix: format!("{prefix}{branch}"),
                    kind: RowKind::Span(s),
                });
                children_rows(all, s, &deeper, rows);
            }
        }
    }
}

/// Draws the trace `trace_id` of `spans` (spans of other traces are
/// ignored). Spans whose parent is not among them are drawn as roots.
pub fn render(spans: &[SpanView], trace_id: &str, style: Style) -> String {
    let spans: Vec<SpanView> = spans
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect();
    let mut out = String::new();
    if spans.is_empty() {
        let _ = writeln!(out, "trace {trace_id}: no spans");
        return out;
    }
    let mut roots: Vec<&SpanView> = spans
        .iter()
        .filter(|s| !spans.iter().any(|p| p.span_id == s.parent_id))
        .collect();
    roots.sort_by_key(|s| s.start);
    let mut rows: Vec<Row<'_>> = Vec::new();
    for root in &roots {
        rows.push(Row {
            prefix: String::new(),
            kind: RowKind::Span(root),
        });
        children_rows(&spans, root, "", &mut rows);
    }
    let t0 = spans
        .iter()
        .map(|s| s.start)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let t1 = spans.iter().map(|s| s.end).max().unwrap_or(t0);
    let total = since(t1, t0).max(Duration::from_nanos(1));
    let hops = spans.iter().filter(|s| s.is_hop()).count();
    let services: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for s in &spans {
            if !v.contains(&s.service.as_str()) {
                v.push(&s.service);
            }
        }
        v
    };

    let labels: Vec<(String, &str)> = rows.iter().map(label_and_color).collect();
    let svc_w = services
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let label_w = rows
        .iter()
        .zip(&labels)
        .map(|(r, (l, _))| r.prefix.chars().count() + l.chars().count())
        .max()
        .unwrap_or(0);
    let w = style.bar_width.max(10);
    let paint = |code: &str, text: &str| -> String {
        if style.color && !text.is_empty() {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };

    let _ = writeln!(
        out,
        "{} {trace_id}  {} · {hops} round trip{} · {}",
        paint(BOLD_BLUE, "trace"),
        services.join(" → "),
        if hops == 1 { "" } else { "s" },
        ms(total)
    );
    let axis_left = "0 ms";
    let axis_right = ms(total);
    let pad = w.saturating_sub(axis_left.len() + axis_right.len());
    let _ = writeln!(
        out,
        "{:svc_w$}  {:label_w$}   {}",
        "",
        "",
        paint(DIM, &format!("{axis_left}{}{axis_right}", " ".repeat(pad)))
    );
    for (row, (label, color)) in rows.iter().zip(&labels) {
        let svc = match &row.kind {
            RowKind::Span(s) => s.service.as_str(),
            RowKind::PhaseBar(_) => "",
        };
        let start = since(row.start(), t0).as_secs_f64() / total.as_secs_f64();
        let end = since(row.end(), t0).as_secs_f64() / total.as_secs_f64();
        let from = ((start * w as f64).floor() as usize).min(w - 1);
        let to = ((end * w as f64).ceil() as usize).clamp(from, w);
        let bar = if to <= from + 1 && (end - start) * (w as f64) < 0.5 {
            "▏".to_string()
        } else {
            "█".repeat((to - from).max(1))
        };
        let bar_len = bar.chars().count();
        let used = label.chars().count() + row.prefix.chars().count();
        let _ = writeln!(
            out,
            "{}  {}{}{}  │{}{}{}│ {:>10}",
            paint(DIM, &format!("{svc:svc_w$}")),
            paint(DIM, &row.prefix),
            paint(color, label),
            " ".repeat(label_w - used),
            " ".repeat(from),
            paint(color, &bar),
            " ".repeat(w.saturating_sub(from + bar_len)),
            ms(since(row.end(), row.start())),
        );
    }
    out
}
