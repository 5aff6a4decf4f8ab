//! The `-n COUNT` summary: per phase, min / median / p90 / max over every
//! round trip of one URL's runs, for people and as one JSON object.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::hop::Hop;
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

/// The round trips of one URL's `-n` runs.
#[derive(Debug, Default)]
pub struct Summary {
    /// The URL, credentials redacted.
    pub url: String,
    /// How many requests were sent.
    pub requests: u32,
    samples: [Vec<Duration>; 6],
}

impl Summary {
    /// An empty summary for `url` (redacted).
    pub fn new(url: String) -> Self {
        Summary {
            url,
            ..Summary::default()
        }
    }

    /// Adds one request's round trips.
    pub fn add(&mut self, hops: &[Hop]) {
        self.requests += 1;
        for hop in hops {
            let values = [hop.dns, hop.tcp, hop.tls, hop.ttfb, hop.transfer, hop.total];
            for (samples, v) in self.samples.iter_mut().zip(values) {
                samples.extend(v);
            }
        }
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
        s
    }
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
