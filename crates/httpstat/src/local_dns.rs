//! `--resolve`, `--connect-to`, `-4` and `-6` for `--transport hyper`,
//! whose builder can only be told which DNS server to ask: a DNS responder
//! inside httpstat, on 127.0.0.1 (UDP), that answers pinned names with
//! their pinned addresses and every other name as `--dns-server` (or the
//! system's resolver) does, without the addresses of the family `-4`/`-6`
//! leaves out. The DNS phase is then this local answer: a pinned name's
//! lookup takes a fraction of a millisecond, and is reported as pinned.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;

use crate::pin::Family;

/// What the responder answers.
#[derive(Clone, Debug)]
pub struct Answers {
    /// Pinned names (lower case) and their addresses.
    pub pins: Vec<(String, Vec<IpAddr>)>,
    /// `-4`/`-6`.
    pub family: Option<Family>,
    /// `--dns-server`: where other names are asked (else the system's
    /// resolver, through the C library).
    pub upstream: Option<SocketAddr>,
}

/// The running responder; it stops when dropped.
#[derive(Debug)]
pub struct LocalDns {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalDns {
    /// Starts the responder on 127.0.0.1 (needs a tokio runtime).
    pub fn start(answers: Answers) -> io::Result<LocalDns> {
        let socket = std::net::UdpSocket::bind((IpAddr::from([127, 0, 0, 1]), 0))?;
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let answers = Arc::new(answers);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let request = buf[..n].to_vec();
                let (socket, answers) = (socket.clone(), answers.clone());
                tokio::spawn(async move {
                    if let Some(reply) = answer(&answers, &request).await {
                        let _ = socket.send_to(&reply, peer).await;
                    }
                });
            }
        });
        Ok(LocalDns { addr, task })
    }

    /// The address to give the transport as its DNS server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Whether the transport's resolver answers `host` without asking any
/// server (so the responder cannot pin or filter it): `localhost` and its
/// subdomains, and the names of the hosts file.
pub fn answered_locally(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts.lines().any(|line| {
        let line = line.split('#').next().unwrap_or("");
        line.split_whitespace()
            .skip(1)
            .any(|name| name.trim_end_matches('.').eq_ignore_ascii_case(&host))
    })
}

fn allowed(family: Option<Family>, ip: &IpAddr) -> bool {
    match family {
        Some(Family::V4) => ip.is_ipv4(),
        Some(Family::V6) => ip.is_ipv6(),
        None => true,
    }
}

/// The reply to one query, `None` to drop it.
async fn answer(answers: &Answers, request: &[u8]) -> Option<Vec<u8>> {
    let req = Message::from_vec(request).ok()?;
    if req.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata = Metadata::response_from_request(&req.metadata);
    resp.metadata.recursion_available = true;
    resp.add_queries(req.queries.iter().cloned());
    let Some(q) = req
        .queries
        .first()
        .filter(|_| req.metadata.op_code == OpCode::Query)
    else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return resp.to_vec().ok();
    };
    let name = q
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let wanted = q.query_type();
    let addrs: Result<Vec<IpAddr>, ()> = match answers.pins.iter().find(|(h, _)| *h == name) {
        Some((_, addrs)) => Ok(addrs.clone()),
        None if !matches!(wanted, RecordType::A | RecordType::AAAA) => Ok(Vec::new()),
        None => match answers.upstream {
            // A query for the family left out needs no asking.
            Some(_) if !family_wants(answers.family, wanted) => Ok(Vec::new()),
            Some(upstream) => return forward(upstream, request).await,
            None => system_lookup(&name).await,
        },
    };
    match addrs {
        Err(()) => resp.metadata.response_code = ResponseCode::NXDomain,
        Ok(addrs) => {
            for ip in addrs.iter().filter(|ip| allowed(answers.family, ip)) {
                let rdata = match (wanted, ip) {
                    (RecordType::A, IpAddr::V4(v4)) => RData::A(A(*v4)),
                    (RecordType::AAAA, IpAddr::V6(v6)) => RData::AAAA(AAAA(*v6)),
                    _ => continue,
                };
                resp.add_answer(Record::from_rdata(q.name().clone(), 60, rdata));
            }
        }
    }
    resp.to_vec().ok()
}

fn family_wants(family: Option<Family>, wanted: RecordType) -> bool {
    !matches!(
        (family, wanted),
        (Some(Family::V4), RecordType::AAAA) | (Some(Family::V6), RecordType::A)
    )
}

/// The system resolver's addresses for `name` (the C library's, with
/// `/etc/hosts`); `Err` when it has none.
async fn system_lookup(name: &str) -> Result<Vec<IpAddr>, ()> {
    match tokio::net::lookup_host((name, 0)).await {
        Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
        Err(_) => Err(()),
    }
}

/// Asks `upstream` the same question and hands its answer back as it is.
async fn forward(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let local: SocketAddr = if upstream.is_ipv4() {
        (IpAddr::from([0, 0, 0, 0]), 0).into()
    } else {
        (IpAddr::from([0u16; 8]), 0).into()
    };
    let socket = UdpSocket::bind(local).await.ok()?;
    socket.send_to(request, upstream).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let read = socket.recv_from(&mut buf);
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?
        .ok()?;
    buf.truncate(n);
    Some(buf)
}
