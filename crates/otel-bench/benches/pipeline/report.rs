//! The report: medians, ranges and the tables the run prints.

use super::*;

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub(crate) fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// A `kB` field of `/proc/self/status` (0 where there is none).
pub(crate) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Prints the markdown table; true when a row is INVALID.
pub(crate) fn report(opts: &Options, runs: &[Vec<Vec<Run>>]) -> bool {
    let plain = opts.variants.iter().position(|&v| v == Variant::Plain);
    let plain_parent = opts
        .variants
        .iter()
        .position(|&v| v == Variant::PlainParent);
    let mut invalid = false;
    println!();
    println!(
        "| variant | OTLP | in flight | req/s (median) | throughput vs plain [min, max] (counting the final flush) | vs (g) [min, max] | client CPU µs/req, median [min, max] | allocs/req (request thread + other client threads) | reallocs/req | spans/req expected | spans/req got | receiver CPU µs/req | flush ms (median) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (ci, &concurrency) in opts.concurrency.iter().enumerate() {
        for (vi, &variant) in opts.variants.iter().enumerate() {
            let rs = &runs[ci][vi];
            let dropped: i64 = rs.iter().map(|r| r.dropped(variant)).sum();
            let requests: u64 = rs.iter().map(|r| r.requests).sum();
            let spans: u64 = rs.iter().map(|r| r.spans).sum();
            let sampled: u64 = rs.iter().map(|r| r.sampled).sum();
            let bad_round = rs.iter().any(|r| r.dropped(variant) != 0);
            let ratio = if bad_round {
                invalid = true;
                if dropped > 0 {
                    format!("**INVALID: {dropped} spans dropped**")
                } else {
                    format!("**INVALID: {} unexpected spans**", -dropped)
                }
            } else if let Some(pi) = plain {
                let ratios = |f: fn(&Run) -> f64| -> (f64, f64) {
                    let v: Vec<f64> = rs
                        .iter()
                        .zip(&runs[ci][pi])
                        .map(|(r, p)| f(r) / f(p))
                        .collect();
                    min_max(&v)
                };
                let (lo, hi) = ratios(Run::rate);
                let (slo, shi) = ratios(Run::sustained_rate);
                format!("{lo:.2}–{hi:.2} ({slo:.2}–{shi:.2})")
            } else {
                "n/a (plain not run)".to_string()
            };
            let vs_parent = match plain_parent {
                Some(gi) if !bad_round => {
                    let v: Vec<f64> = rs
                        .iter()
                        .zip(&runs[ci][gi])
                        .map(|(r, g)| r.rate() / g.rate())
                        .collect();
                    let (lo, hi) = min_max(&v);
                    format!("{:.2} [{lo:.2}, {hi:.2}]", median(v))
                }
                _ => "–".to_string(),
            };
            if bad_round {
                eprintln!(
                    "\n!!! INVALID: {} at {concurrency} in flight: the receiver got {spans} spans for {requests} requests, expected {} !!!",
                    variant.label(),
                    variant.expected_spans() * sampled
                );
            }
            let cpu: Vec<f64> = rs
                .iter()
                .map(|r| r.per_req(r.client_cpu_ns) / 1e3)
                .collect();
            let (cpu_lo, cpu_hi) = min_max(&cpu);
            println!(
                "| {} | {} | {concurrency} | {:.0} | {ratio} | {vs_parent} | {:.1} [{cpu_lo:.1}, {cpu_hi:.1}] | {:.1} ({:.1} + {:.1}) | {:.1} | {:.3} | {:.3} | {:.1} | {:.1} |",
                variant.label(),
                if variant.expected_spans() == 0 {
                    "–"
                } else {
                    opts.protocol.name()
                },
                median(rs.iter().map(Run::rate).collect()),
                median(cpu),
                median(rs.iter().map(|r| r.per_req(r.allocs)).collect()),
                median(rs.iter().map(|r| r.per_req(r.path_allocs)).collect()),
                median(
                    rs.iter()
                        .map(|r| r.per_req(r.allocs - r.path_allocs))
                        .collect()
                ),
                median(rs.iter().map(|r| r.per_req(r.reallocs)).collect()),
                variant.expected_spans() as f64 * sampled as f64 / requests as f64,
                spans as f64 / requests as f64,
                median(
                    rs.iter()
                        .map(|r| r.per_req(r.receiver_cpu_ns) / 1e3)
                        .collect()
                ),
                median(rs.iter().map(|r| r.flush_secs * 1e3).collect()),
            );
        }
    }
    println!();
    println!(
        "What the receiver got per request over OTLP {} (median over rounds; OTLP bytes = encoded export requests, uncompressed):",
        opts.protocol.name()
    );
    println!();
    println!(
        "| variant | in flight | spans | span events | attributes (span + event) | OTLP bytes |"
    );
    println!("|---|---|---|---|---|---|");
    for (ci, &concurrency) in opts.concurrency.iter().enumerate() {
        for (vi, &variant) in opts.variants.iter().enumerate() {
            if variant.expected_spans() == 0 {
                continue;
            }
            let rs = &runs[ci][vi];
            let per = |f: fn(&Run) -> u64| median(rs.iter().map(|r| r.per_req(f(r))).collect());
            println!(
                "| {} | {concurrency} | {:.2} | {:.1} | {:.1} | {:.0} |",
                variant.label(),
                per(|r| r.spans),
                per(|r| r.events),
                per(|r| r.attributes),
                per(|r| r.bytes),
            );
        }
    }
    invalid
}
