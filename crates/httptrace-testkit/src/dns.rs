//! A real DNS server (UDP + TCP on 127.0.0.1) with configurable answers and latency.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use httptrace_testkit::dns::{DnsConfig, DnsServer};
//!
//! let dns = DnsServer::start(
//!     DnsConfig::new()
//!         .record("api.example.test", ["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()])
//!         .wildcard(".test", ["127.0.0.1".parse().unwrap()])
//!         .delay(Duration::from_millis(50)),
//! )?;
//! // Point the resolver under test at `dns.addr()` (UDP; TCP on `dns.tcp_addr()`,
//! // normally the same port).
//! # let _ = dns; Ok(()) }
//! ```
//!
//! Matching rules:
//! * names are compared case-insensitively and a trailing dot is ignored;
//! * exact [`DnsConfig::record`] entries win over [`DnsConfig::wildcard`] suffixes
//!   (longest matching suffix wins among wildcards);
//! * `A` queries are answered with the configured IPv4 addresses, `AAAA` with the IPv6 ones;
//!   a known name with no address of the requested type (or any other query type) gets
//!   `NOERROR` with an empty answer section;
//! * unknown names get `NXDOMAIN`.
//!
//! Every query is answered from its own task after the configured delay, so delays of
//! concurrent queries overlap. The server shuts down when the [`DnsServer`] is dropped.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// Normalizes a DNS name for comparisons: ASCII-lowercase, without trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Configuration for [`DnsServer::start`]. Build it with the chained setters.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    records: HashMap<String, Vec<IpAddr>>,
    wildcards: Vec<(String, Vec<IpAddr>)>,
    delay: Duration,
    ttl: u32,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl DnsConfig {
    /// An empty configuration: no names (everything is `NXDOMAIN`), no delay, TTL 1 s.
    pub fn new() -> Self {
        DnsConfig {
            records: HashMap::new(),
            wildcards: Vec::new(),
            delay: Duration::ZERO,
            ttl: 1,
        }
    }

    /// Adds (or replaces) the addresses for `name`. IPv4 addresses answer `A` queries, IPv6
    /// addresses answer `AAAA` queries. An empty list makes the name exist with no addresses
    /// (`NOERROR`, empty answer).
    pub fn record(mut self, name: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.records
            .insert(normalize_name(name), addrs.into_iter().collect());
        self
    }

    /// Answers every name ending with `suffix` (e.g. `".test"`; a leading dot is added when
    /// missing, so `"test"` means the same) with `addrs`, unless an exact record exists.
    pub fn wildcard(mut self, suffix: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        let mut s = normalize_name(suffix);
        if !s.starts_with('.') {
            s.insert(0, '.');
        }
        self.wildcards.retain(|(w, _)| *w != s);
        self.wildcards.push((s, addrs.into_iter().collect()));
        self
    }

    /// Delay applied before every answer (default: none).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// TTL (seconds) of answer records (default: 1).
    pub fn ttl(mut self, ttl_secs: u32) -> Self {
        self.ttl = ttl_secs;
        self
    }

    fn lookup(&self, name: &str) -> Option<&Vec<IpAddr>> {
        if let Some(addrs) = self.records.get(name) {
            return Some(addrs);
        }
        self.wildcards
            .iter()
            .filter(|(suffix, _)| name.ends_with(suffix.as_str()) && name.len() > suffix.len())
            .max_by_key(|(suffix, _)| suffix.len())
            .map(|(_, addrs)| addrs)
    }
}

struct State {
    records: RwLock<DnsConfig>,
    delay_nanos: AtomicU64,
    ttl: AtomicU32,
    total: AtomicUsize,
    per_name: Mutex<HashMap<String, usize>>,
}

impl State {
    /// Builds the wire response for one request, or `None` to drop it silently.
    async fn answer(&self, request: &[u8], udp: bool) -> Option<Vec<u8>> {
        let req = match Message::from_vec(request) {
            Ok(m) => m,
            Err(_) => return formerr_for_garbage(request),
        };
        if req.metadata.message_type != MessageType::Query {
            return None;
        }
        let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
        resp.metadata = Metadata::response_from_request(&req.metadata);
        resp.metadata.authoritative = true;
        resp.metadata.recursion_available = true;
        resp.add_queries(req.queries.iter().cloned());
        let client_payload = req.edns.as_ref().map(|e| e.max_payload());
        if client_payload.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            resp.set_edns(edns);
        }

        if req.metadata.op_code != OpCode::Query {
            resp.metadata.response_code = ResponseCode::NotImp;
        } else if req.queries.is_empty() {
            resp.metadata.response_code = ResponseCode::FormErr;
        } else {
            let delay = Duration::from_nanos(self.delay_nanos.load(Ordering::Relaxed));
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let ttl = self.ttl.load(Ordering::Relaxed);
            let mut rcode = ResponseCode::NoError;
            for q in &req.queries {
                let name = normalize_name(&q.name().to_ascii());
                {
                    let mut per = self.per_name.lock().unwrap_or_else(|e| e.into_inner());
                    *per.entry(name.clone()).or_insert(0) += 1;
                }
                self.total.fetch_add(1, Ordering::SeqCst);
                let config = self.records.read().unwrap_or_else(|e| e.into_inner());
                let Some(addrs) = config.lookup(&name) else {
                    rcode = ResponseCode::NXDomain;
                    continue;
                };
                for ip in addrs {
                    let rdata = match (q.query_type(), ip) {
                        (RecordType::A, IpAddr::V4(v4)) => RData::A(A(*v4)),
                        (RecordType::AAAA, IpAddr::V6(v6)) => RData::AAAA(AAAA(*v6)),
                        _ => continue,
                    };
                    resp.add_answer(Record::from_rdata(q.name().clone(), ttl, rdata));
                }
            }
            resp.metadata.response_code = rcode;
        }

        let bytes = resp.to_vec().ok()?;
        let limit = usize::from(client_payload.unwrap_or(512).clamp(512, 4096));
        if udp && bytes.len() > limit {
            // Too big for the client's UDP buffer: send TC=1 so it retries over TCP.
            let mut t = resp.truncate();
            t.metadata.truncation = true;
            t.to_vec().ok()
        } else {
            Some(bytes)
        }
    }
}

/// Best effort FORMERR for undecodable requests that at least carry a 12-byte header.
fn formerr_for_garbage(request: &[u8]) -> Option<Vec<u8>> {
    if request.len() < 12 || request[2] & 0x80 != 0 {
        return None; // too short, or it is a response: ignore
    }
    let id = u16::from_be_bytes([request[0], request[1]]);
    Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
        .to_vec()
        .ok()
}

/// A running DNS server. Dropping it stops the server (all tasks are aborted).
pub struct DnsServer {
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    state: Arc<State>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsServer")
            .field("udp_addr", &self.udp_addr)
            .field("tcp_addr", &self.tcp_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn bind_pair() -> io::Result<(std::net::UdpSocket, std::net::TcpListener)> {
    for _ in 0..16 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return Ok((udp, tcp));
        }
    }
    // Could not get the same port for both: fall back to independent ports.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok((udp, tcp))
}

impl DnsServer {
    /// Binds UDP and TCP on 127.0.0.1 (same ephemeral port when possible) and starts serving
    /// on the current tokio runtime.
    ///
    /// Errors if binding fails or if called outside a tokio runtime.
    pub fn start(config: DnsConfig) -> io::Result<DnsServer> {
        let handle = tokio::runtime::Handle::try_current().map_err(|e| {
            io::Error::other(format!("DnsServer::start needs a tokio runtime: {e}"))
        })?;
        let (udp, tcp) = bind_pair()?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        let udp_addr = udp.local_addr()?;
        let tcp_addr = tcp.local_addr()?;
        let _guard = handle.enter();
        let udp = Arc::new(UdpSocket::from_std(udp)?);
        let tcp = TcpListener::from_std(tcp)?;

        let state = Arc::new(State {
            delay_nanos: AtomicU64::new(duration_nanos(config.delay)),
            ttl: AtomicU32::new(config.ttl),
            records: RwLock::new(config),
            total: AtomicUsize::new(0),
            per_name: Mutex::new(HashMap::new()),
        });
        let tasks = vec![
            handle.spawn(udp_loop(udp, state.clone())),
            handle.spawn(tcp_loop(tcp, state.clone())),
        ];
        Ok(DnsServer {
            udp_addr,
            tcp_addr,
            state,
            tasks,
        })
    }

    /// The UDP address (127.0.0.1:PORT). The TCP listener uses the same port unless
    /// [`DnsServer::tcp_addr`] says otherwise.
    pub fn addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The UDP address (same as [`DnsServer::addr`]).
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The TCP address (normally the same port as UDP).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// Total number of questions answered so far (all names, all types, UDP + TCP).
    /// Incremented after the delay, just before the answer is sent.
    pub fn query_count(&self) -> usize {
        self.state.total.load(Ordering::SeqCst)
    }

    /// Number of questions answered for `name` (any type; case-insensitive, trailing dot
    /// ignored).
    pub fn queries_for(&self, name: &str) -> usize {
        let per = self
            .state
            .per_name
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        per.get(&normalize_name(name)).copied().unwrap_or(0)
    }

    /// Changes the delay applied to answers from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_nanos
            .store(duration_nanos(delay), Ordering::Relaxed);
    }

    /// Adds or replaces the addresses of `name` while running.
    pub fn set_record(&self, name: &str, addrs: impl IntoIterator<Item = IpAddr>) {
        let mut config = self
            .state
            .records
            .write()
            .unwrap_or_else(|e| e.into_inner());
        config
            .records
            .insert(normalize_name(name), addrs.into_iter().collect());
    }

    /// Removes an exact record for `name` while running (wildcards still apply).
    pub fn remove_record(&self, name: &str) {
        let mut config = self
            .state
            .records
            .write()
            .unwrap_or_else(|e| e.into_inner());
        config.records.remove(&normalize_name(name));
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

async fn udp_loop(sock: Arc<UdpSocket>, state: Arc<State>) {
    let mut answers = JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, peer) = match sock.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        while answers.try_join_next().is_some() {}
        let request = buf[..n].to_vec();
        let sock = sock.clone();
        let state = state.clone();
        answers.spawn(async move {
            if let Some(resp) = state.answer(&request, true).await {
                let _ = sock.send_to(&resp, peer).await;
            }
        });
    }
}

async fn tcp_loop(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        conns.spawn(tcp_conn(stream, state.clone()));
    }
}

async fn tcp_conn(stream: tokio::net::TcpStream, state: Arc<State>) {
    let (mut rd, wr) = stream.into_split();
    let wr = Arc::new(tokio::sync::Mutex::new(wr));
    let mut answers = JoinSet::new();
    loop {
        // Idle connections are closed after a while, like real servers do.
        let len = match tokio::time::timeout(Duration::from_secs(30), rd.read_u16()).await {
            Ok(Ok(len)) => usize::from(len),
            _ => break,
        };
        let mut request = vec![0u8; len];
        match tokio::time::timeout(Duration::from_secs(10), rd.read_exact(&mut request)).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        while answers.try_join_next().is_some() {}
        let state = state.clone();
        let wr = wr.clone();
        answers.spawn(async move {
            if let Some(resp) = state.answer(&request, false).await {
                let Ok(len) = u16::try_from(resp.len()) else {
                    return;
                };
                let mut frame = Vec::with_capacity(resp.len() + 2);
                frame.extend_from_slice(&len.to_be_bytes());
                frame.extend_from_slice(&resp);
                let mut w = wr.lock().await;
                let _ = w.write_all(&frame).await;
            }
        });
    }
    // The client may half-close after sending its queries: finish outstanding answers.
    while answers.join_next().await.is_some() {}
}
