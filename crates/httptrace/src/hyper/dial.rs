//! Dialling: one TCP attempt per resolved address, raced Happy Eyeballs
//! style, each reported from `connect_start` to `connect_done`.

use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use http::Uri;
use tokio::net::TcpStream;

use crate::Traces;
use crate::event::*;
use crate::transport::errors::classify_chain;

/// The URI's host without the brackets of an IPv6 literal.
pub(super) fn bare_host(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
}

/// Runs `work` within `limit`, if any; past it, a `TimedOut` error with
/// `message`.
pub(super) async fn within<T, E: From<std::io::Error>>(
    limit: Option<Duration>,
    message: &str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let Some(limit) = limit else {
        return work.await;
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, message).into()))
}

/// Connects to the first address that answers, Happy Eyeballs style
/// (RFC 8305, like Go's dialer and hyper-util's `HttpConnector`): attempts
/// start in order, the next one when the previous fails or after
/// `happy_eyeballs_delay` without an answer, whichever comes first; the
/// first to connect wins and the others are abandoned. Every attempt is
/// its own `connect_start`/`connect_done` pair; abandoned ones end with a
/// `Cancelled` error, as Go reports them.
pub(super) async fn race(
    traces: &Traces,
    addrs: Vec<SocketAddr>,
    happy_eyeballs_delay: Option<Duration>,
    connect_timeout: Option<Duration>,
) -> std::io::Result<TcpStream> {
    let mut waiting = addrs.into_iter();
    let mut running = FuturesUnordered::new();
    let mut last_error = None;
    let lost = Arc::new(AtomicBool::new(false));
    loop {
        if running.is_empty() {
            let Some(addr) = waiting.next() else {
                return Err(last_error.unwrap_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no address to connect to")
                }));
            };
            running.push(attempt(traces.clone(), addr, lost.clone(), connect_timeout));
        }
        let stagger = happy_eyeballs_delay.filter(|_| waiting.len() > 0);
        tokio::select! {
            biased;
            Some(result) = running.next() => match result {
                Ok(stream) => {
                    // Dropping `running` ends the other attempts.
                    lost.store(true, Ordering::Relaxed);
                    return Ok(stream);
                }
                Err(e) => {
                    last_error = Some(e);
                    if let Some(addr) = waiting.next() {
                        running.push(attempt(traces.clone(), addr, lost.clone(), connect_timeout));
                    }
                }
            },
            () = tokio::time::sleep(stagger.unwrap_or_default()), if stagger.is_some() => {
                if let Some(addr) = waiting.next() {
                    running.push(attempt(traces.clone(), addr, lost.clone(), connect_timeout));
                }
            }
        }
    }
}

/// One TCP connection attempt, reported from start to done.
async fn attempt(
    traces: Traces,
    addr: SocketAddr,
    lost: Arc<AtomicBool>,
    limit: Option<Duration>,
) -> std::io::Result<TcpStream> {
    traces.emit(Event::ConnectStart(ConnectStart {
        at: Instant::now(),
        network: "tcp",
        addr: Some(addr),
    }));
    let mut guard = AttemptGuard {
        traces,
        addr,
        lost,
        finished: false,
    };
    let result = within(limit, "connect timed out", TcpStream::connect(addr)).await;
    guard.finished = true;
    guard.traces.emit(Event::ConnectDone(ConnectDone {
        at: Instant::now(),
        network: "tcp",
        addr: Some(addr),
        error: result.as_ref().err().map(|e| classify_chain(e)),
    }));
    result
}

/// Closes a connect attempt dropped before it finished: it lost the race to
/// another address, or the whole dial was cancelled.
struct AttemptGuard {
    traces: Traces,
    addr: SocketAddr,
    lost: Arc<AtomicBool>,
    finished: bool,
}

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let message = if self.lost.load(Ordering::Relaxed) {
            "connect attempt abandoned: another address connected first"
        } else {
            "dial cancelled before it finished"
        };
        self.traces.emit(Event::ConnectDone(ConnectDone {
            at: Instant::now(),
            network: "tcp",
            addr: Some(self.addr),
            error: Some(HookError::new(ErrorKind::Cancelled, message)),
        }));
    }
}

/// Orders addresses for Happy Eyeballs (RFC 8305 section 4): alternating
/// families, starting with the family of the resolver's first answer, each
/// family in the resolver's order.
pub(super) fn interleave_families(ips: Vec<IpAddr>) -> Vec<IpAddr> {
    let Some(first) = ips.first() else {
        return ips;
    };
    let first_is_v6 = first.is_ipv6();
    let (mut preferred, mut other): (VecDeque<IpAddr>, VecDeque<IpAddr>) =
        ips.iter().partition(|ip| ip.is_ipv6() == first_is_v6);
    let mut ordered = Vec::with_capacity(ips.len());
    while !preferred.is_empty() || !other.is_empty() {
        ordered.extend(preferred.pop_front());
        ordered.extend(other.pop_front());
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first_answer() {
        let v4 = |n| IpAddr::from([10, 0, 0, n]);
        let v6 = |n| IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, n]);
        assert_eq!(
            interleave_families(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleave_families(vec![v4(1), v6(1), v4(2)]),
            [v4(1), v6(1), v4(2)]
        );
        assert_eq!(interleave_families(vec![v4(1), v4(2)]), [v4(1), v4(2)]);
        assert!(interleave_families(Vec::new()).is_empty());
    }
}
