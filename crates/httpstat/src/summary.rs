//! The `-n COUNT` summary: per phase, min / median / p90 / max over every
//! round trip of one URL's runs, how many round trips reused a connection
//! and, when a round trip had to open a new one, the likely reason seen;
//! for people and as one JSON object.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use httptrace::Event;

use serde_json::{Map, Value, json};

use crate::hop::HopReport;
use crate::output::{human_ms, ms};

/// The phases summarised: JSON name, title.
const PHASES: [(&str, &str); 6] = [
    ("dns_ms", "DNS Lookup"),
    ("tcp_ms", "TCP Connection"),
    ("tls_ms", "TLS Handshake"),
    ("ttfb_ms", "Server Processing"),
    ("transfer_ms", "Content Transfer"),
    ("total_ms", "total"),
];

/// One phase's statistics over the round trips that had it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// How many round trips had the phase.
    pub n: usize,
    /// The shortest.
    pub min: Duration,
    /// The median (the mean of the two middle values for an even count).
    pub median: Duration,
    /// The 90th percentile, nearest rank: the smallest value at least 90 %
    /// of the samples are not above.
    pub p90: Duration,
    /// The longest.
    pub max: Duration,
}

/// Statistics of `samples`, `None` when there are none.
pub fn stats(samples: &[Duration]) -> Option<Stats> {
    let mut s = samples.to_vec();
    s.sort();
    let n = s.len();
    if n == 0 {
        return None;
    }
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2
    };
    let rank = (n * 9).div_ceil(10).max(1);
    Some(Stats {
        n,
        min: s[0],
        median,
        p90: s[rank - 1],
        max: s[n - 1],
    })
}

/// Why a round trip opened a new connection to a server it had a
/// connection to already: what the round trip before it, to the same
/// server, showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotReused {
    /// The request itself sent `Connection: close`.
    RequestClose,
    /// The server's response carried `Connection: close`.
    ServerClose,
    /// The server answered HTTP/1.0 without `Connection: keep-alive`.
    Http10,
    /// The round trip before failed (its connection is not reused).
    Failed,
    /// Nothing said the connection would close: it was closed between the
    /// runs (by the server or something in between, e.g. an idle timeout
    /// shorter than the gap), or was not back in the pool yet.
    ClosedBetween,
}

impl NotReused {
    /// A short name for JSON: `request_connection_close`,
    /// `server_connection_close`, `http_1_0`, `previous_failed`,
    /// `closed_between_runs`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotReused::RequestClose => "request_connection_close",
            NotReused::ServerClose => "server_connection_close",
            NotReused::Http10 => "http_1_0",
            NotReused::Failed => "previous_failed",
            NotReused::ClosedBetween => "closed_between_runs",
        }
    }

    /// In words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            NotReused::RequestClose => "the request sent Connection: close",
            NotReused::ServerClose => "the server sent Connection: close",
            NotReused::Http10 => "the server answered HTTP/1.0 without keep-alive",
            NotReused::Failed => "the round trip before failed",
            NotReused::ClosedBetween => {
                "nothing asked to close it: the connection was closed between runs \
                 (by the server or something in between, e.g. an idle timeout)"
            }
        }
    }
}

/// What a finished round trip says about its connection's next use.
#[derive(Clone, Copy, Debug)]
enum After {
    KeptAlive,
    Closes(NotReused),
}

/// The round trips of one URL's `-n` runs.
#[derive(Debug, Default)]
pub struct Summary {
    /// The URL, credentials redacted.
    pub url: String,
    /// How many requests were sent.
    pub requests: u32,
    samples: [Vec<Duration>; 6],
    /// Round trips that got a connection.
    pub round_trips: u32,
    /// Of those, how many reused one.
    pub reused: u32,
    /// New connections to a server that had one already, by the reason
    /// seen.
    pub not_reused: HashMap<NotReused, u32>,
    /// Per server (`host:port`), what its latest round trip showed.
    last: HashMap<String, After>,
}

impl Summary {
    /// An empty summary for `url` (redacted).
    pub fn new(url: String) -> Self {
        Summary {
            url,
            ..Summary::default()
        }
    }

    /// Adds one request's round trips; `final_headers` are the final
    /// response's headers, for a last hop whose events do not carry them.
    pub fn add(&mut self, hops: &[HopReport], final_headers: Option<&http::HeaderMap>) {
        self.requests += 1;
        let last = hops.len().saturating_sub(1);
        for (i, hop) in hops.iter().enumerate() {
            let values = [hop.dns, hop.tcp, hop.tls, hop.ttfb, hop.transfer, hop.total];
            for (samples, v) in self.samples.iter_mut().zip(values) {
                samples.extend(v);
            }
            let headers = hop.headers.as_ref().or_else(|| {
                hop.events
                    .iter()
                    .find_map(|e| match e {
                        Event::RoundTripDone(d) => d.headers.as_ref(),
                        _ => None,
                    })
                    .or(final_headers.filter(|_| i == last))
            });
            self.add_connection(hop, headers);
        }
    }

    /// Counts the hop's connection: reused, or new and why.
    fn add_connection(&mut self, hop: &HopReport, headers: Option<&http::HeaderMap>) {
        let Some(server) = hop.requested_url().map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or(""),
                u.port_or_known_default().unwrap_or(0)
            )
        }) else {
            return;
        };
        let got_conn = hop.events.iter().any(|e| matches!(e, Event::GotConn(_)));
        if got_conn {
            self.round_trips += 1;
            if hop.conn_reused {
                self.reused += 1;
            } else if let Some(before) = self.last.get(&server) {
                let why = match before {
                    After::Closes(why) => *why,
                    After::KeptAlive => NotReused::ClosedBetween,
                };
                *self.not_reused.entry(why).or_default() += 1;
            }
        }
        let request_close = hop.events.iter().any(|e| match e {
            Event::WroteHeaderField(f) => {
                f.name == http::header::CONNECTION && f.values.iter().any(|v| has_token(v, "close"))
            }
            _ => false,
        });
        let after = if hop.error.is_some() || !got_conn {
            After::Closes(NotReused::Failed)
        } else if request_close {
            After::Closes(NotReused::RequestClose)
        } else if headers.is_some_and(|h| connection_has(h, "close")) {
            After::Closes(NotReused::ServerClose)
        } else if hop.version == Some(http::Version::HTTP_10)
            && !headers.is_some_and(|h| connection_has(h, "keep-alive"))
        {
            After::Closes(NotReused::Http10)
        } else {
            After::KeptAlive
        };
        self.last.insert(server, after);
    }

    /// The most frequent reason a round trip opened a new connection to a
    /// server it had one to (ties: the order of [`NotReused`]).
    pub fn likely_reason(&self) -> Option<NotReused> {
        self.not_reused
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(why, _)| *why)
    }

    fn all(&self) -> impl Iterator<Item = ((&'static str, &'static str), Option<Stats>)> + '_ {
        PHASES
            .iter()
            .zip(&self.samples)
            .map(|(p, s)| (*p, stats(s)))
    }

    /// One JSON object (no newline): `{"summary": {"url", "requests",
    /// "dns_ms": {"n", "min", "median", "p90", "max"} | null, ...}}`.
    pub fn json_line(&self) -> String {
        let mut m = Map::new();
        m.insert("url".into(), json!(self.url));
        m.insert("requests".into(), json!(self.requests));
        for ((name, _), s) in self.all() {
            let v = s.map_or(Value::Null, |s| {
                json!({
                    "n": s.n,
                    "min": ms(s.min),
                    "median": ms(s.median),
                    "p90": ms(s.p90),
                    "max": ms(s.max),
                })
            });
            m.insert(name.into(), v);
        }
        m.insert("round_trips".into(), json!(self.round_trips));
        m.insert("reused".into(), json!(self.reused));
        let mut reasons = Map::new();
        let mut counted: Vec<_> = self.not_reused.iter().collect();
        counted.sort();
        for (why, n) in counted {
            reasons.insert(why.as_str().into(), json!(n));
        }
        m.insert("not_reused".into(), Value::Object(reasons));
        json!({ "summary": m }).to_string()
    }

    /// A table for people.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "\nsummary: {} requests to {}", self.requests, self.url);
        let _ = writeln!(
            s,
            "  {:<18} {:>4} {:>9} {:>9} {:>9} {:>9}",
            "phase", "n", "min", "median", "p90", "max"
        );
        for ((_, title), st) in self.all() {
            let cells = match st {
                Some(st) => [
                    st.n.to_string(),
                    human_ms(Some(st.min)),
                    human_ms(Some(st.median)),
                    human_ms(Some(st.p90)),
                    human_ms(Some(st.max)),
                ],
                None => ["0", "-", "-", "-", "-"].map(String::from),
            };
            let _ = writeln!(
                s,
                "  {:<18} {:>4} {:>9} {:>9} {:>9} {:>9}",
                title, cells[0], cells[1], cells[2], cells[3], cells[4]
            );
        }
        let _ = writeln!(
            s,
            "  connection reuse: {} of {} round trips reused a connection",
            self.reused, self.round_trips
        );
        if self.reused == 0
            && let Some(why) = self.likely_reason()
        {
            let _ = writeln!(s, "  none reused: {}", why.describe());
        }
        s
    }
}

/// Whether a `Connection` header value lists `token`.
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn connection_has(headers: &http::HeaderMap, token: &str) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| has_token(v, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_nearest_rank() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(stats(&[]), None);
        let s = stats(&ms(&[5])).unwrap();
        assert_eq!(
            (s.min, s.median, s.p90, s.max),
            (ms(&[5])[0], ms(&[5])[0], ms(&[5])[0], ms(&[5])[0])
        );
        let s = stats(&ms(&[10, 1, 9, 2, 8, 3, 7, 4, 6, 5])).unwrap();
        assert_eq!(s.n, 10);
        assert_eq!(s.min, Duration::from_millis(1));
        assert_eq!(s.median, Duration::from_micros(5_500));
        assert_eq!(s.p90, Duration::from_millis(9));
        assert_eq!(s.max, Duration::from_millis(10));
        let s = stats(&ms(&[1, 2, 100])).unwrap();
        assert_eq!(s.median, Duration::from_millis(2));
        assert_eq!(s.p90, Duration::from_millis(100));
    }
}
