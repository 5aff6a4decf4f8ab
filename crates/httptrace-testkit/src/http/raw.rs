//! Misbehaving servers and addresses, on raw sockets: a server that resets
//! mid-body, one that answers garbage, one that never answers, a port that
//! refuses and an address that black-holes connects.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::server::{Counters, Kind, TestServer, bind_local};

/// A port on 127.0.0.1 that refuses connections for as long as this value
/// lives: a TCP socket is bound to it and never listens, so a connect gets
/// a reset, and no other socket can take the port meanwhile (it is bound
/// without `SO_REUSEADDR`, which Linux requires of both sockets to share a
/// port). Hold it in a variable for the whole test: a temporary is dropped
/// at the end of its statement, and the port with it.
#[derive(Debug)]
pub struct RefusedAddr {
    addr: SocketAddr,
    socket: tokio::net::TcpSocket,
}

impl RefusedAddr {
    /// The refusing address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The refusing port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Starts listening on the port after all (a service that comes back):
    /// the same socket, so nothing else can have taken the port in between.
    /// Needs a tokio runtime.
    pub fn listen(self) -> io::Result<TcpListener> {
        self.socket.listen(1024)
    }
}

impl std::fmt::Display for RefusedAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.addr.fmt(f)
    }
}

/// Reserves a port on 127.0.0.1 that refuses connections: see [`RefusedAddr`].
pub fn refused_addr() -> RefusedAddr {
    let socket = tokio::net::TcpSocket::new_v4().expect("TCP socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("local_addr");
    RefusedAddr { addr, socket }
}

/// An address where TCP connects hang unanswered, like a blackholed route:
/// a listener whose one-slot accept queue is kept full and never accepted,
/// so the kernel drops every further SYN. Dropping it frees the address.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    _listener: TcpListener,
    _filler: std::net::TcpStream,
}

impl BlackHole {
    /// Makes `addr` a black hole (port 0 picks a free one). Needs a tokio runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<BlackHole> {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(addr)?;
        // Backlog 0 leaves room for exactly one connection, taken by the filler.
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        let filler = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        Ok(BlackHole {
            addr,
            _listener: listener,
            _filler: filler,
        })
    }

    /// The address whose connects hang.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl TestServer {
    /// A raw HTTP/1.1 server that, on every connection, reads one request head, answers
    /// `HTTP/1.1 200 OK` with `Content-Length: 100000` followed by only 1000 body bytes, waits
    /// ~100 ms and then resets the TCP connection (`SO_LINGER` 0 + close → `RST`). The client
    /// sees the response head, then a body error. Path and method are ignored.
    pub fn raw_reset_mid_body() -> TestServer {
        Self::start_raw(|stream, counters| async move {
            let _ = reset_conn(stream, &counters).await;
        })
    }

    /// A raw server that, on every connection, reads once and answers with bytes that are
    /// not HTTP at all, then closes. For clients' parse errors.
    pub fn raw_garbage() -> TestServer {
        Self::start_raw(|mut stream, counters| async move {
            let mut buf = [0u8; 1024];
            if matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                counters.requests.fetch_add(1, Ordering::SeqCst);
                let _ = stream
                    .write_all(b"\x00\xffNOT HTTP AT ALL\r\n\r\n\x01\x02")
                    .await;
            }
        })
    }

    /// A TCP listener that accepts connections and never writes anything (it reads and
    /// discards whatever the client sends, keeping the connection open until the client
    /// closes it or the server is dropped). For connect/TLS-handshake/response timeouts.
    pub fn stall() -> TestServer {
        Self::start_raw(|mut stream, _| async move {
            let mut sink = [0u8; 4096];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
    }

    /// A raw-socket server: every accepted connection is counted and handed to `serve`
    /// in a task of its own, aborted when the server is dropped.
    pub(crate) fn start_raw<F, Fut>(serve: F) -> TestServer
    where
        F: Fn(TcpStream, Arc<Counters>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = bind_local();
        let addr = listener.local_addr().expect("local_addr");
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(raw_loop(listener, counters.clone(), serve));
        TestServer {
            addr,
            kind: Kind::Raw,
            counters,
            task,
        }
    }
}

async fn raw_loop<F, Fut>(listener: TcpListener, counters: Arc<Counters>, serve: F)
where
    F: Fn(TcpStream, Arc<Counters>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        counters.connections.fetch_add(1, Ordering::SeqCst);
        conns.spawn(serve(stream, counters.clone()));
    }
}

/// Reads up to the end of a request head (at most 64 KiB); returns it and
/// whatever came after it, or `None` if the peer closed or failed first.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
    }
}

async fn reset_conn(mut stream: TcpStream, counters: &Counters) -> io::Result<()> {
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream)).await;
    if !matches!(head, Ok(Some(_))) {
        return Ok(());
    }
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let mut out = Vec::with_capacity(1100);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: application/octet-stream\r\n\r\n");
    out.extend_from_slice(&[b'x'; 1000]);
    stream.write_all(&out).await?;
    stream.flush().await?;
    // Give the client time to receive the head and the partial body before the RST.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.set_zero_linger()?;
    drop(stream);
    Ok(())
}
