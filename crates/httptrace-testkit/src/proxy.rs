//! A forward HTTP proxy on `127.0.0.1:<ephemeral port>`: `CONNECT` tunnels and
//! absolute-form requests, optionally behind Basic proxy authentication, and
//! optionally spoken to over TLS (an `https://` proxy).
//!
//! Every target host name is sent to 127.0.0.1 (the port is kept), so a test
//! can address a local server by any name, and can check that the client
//! never resolved that name itself. Each request head the proxy reads is kept
//! for the test to inspect ([`ForwardProxy::heads`]).
//!
//! ```no_run
//! # async fn demo() {
//! use httptrace_testkit::proxy::ForwardProxy;
//!
//! let proxy = ForwardProxy::start();
//! let url = proxy.url(); // http://127.0.0.1:PORT
//! # }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::http::read_head;
use crate::tls::{ServerIdentity, rustls_server_config};

/// A running forward proxy; dropping it stops it and every tunnel.
#[derive(Debug)]
pub struct ForwardProxy {
    addr: SocketAddr,
    tls: bool,
    heads: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ForwardProxy {
    /// A proxy that lets every request through. Must be called inside a tokio runtime.
    pub fn start() -> ForwardProxy {
        Self::spawn(None, None)
    }

    /// A proxy clients reach over TLS (`https://127.0.0.1:PORT`), presenting
    /// `identity` and offering only HTTP/1.1, optionally requiring Basic
    /// credentials (`user`, `password`).
    pub fn https(identity: &ServerIdentity, credentials: Option<(&str, &str)>) -> ForwardProxy {
        let acceptor = TlsAcceptor::from(rustls_server_config(identity, &[b"http/1.1"]));
        Self::spawn(credentials.map(|(u, p)| basic(u, p)), Some(acceptor))
    }

    /// A proxy that answers `407 Proxy Authentication Required` unless the
    /// request carries `Proxy-Authorization: Basic` with these credentials.
    pub fn with_basic_auth(user: &str, password: &str) -> ForwardProxy {
        Self::spawn(Some(basic(user, password)), None)
    }

    fn spawn(auth: Option<String>, tls: Option<TlsAcceptor>) -> ForwardProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let listener = TcpListener::from_std(listener)
            .expect("ForwardProxy::start must be called inside a tokio runtime");
        let addr = listener.local_addr().expect("local_addr");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let tls_used = tls.is_some();
        let task = tokio::spawn(accept_loop(listener, tls, Arc::new(auth), heads.clone()));
        ForwardProxy {
            addr,
            tls: tls_used,
            heads,
            task,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS proxy), for a client's
    /// proxy setting.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The request heads read so far (request line and headers, as sent), in
    /// arrival order. A tunnel or forwarded connection records only its first
    /// head: what follows on it goes to the target unread.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads lock").clone()
    }

    /// The `host:port` of every `CONNECT` read so far, in arrival order.
    pub fn connect_targets(&self) -> Vec<String> {
        self.heads()
            .iter()
            .filter_map(|h| h.strip_prefix("CONNECT "))
            .filter_map(|rest| rest.split(' ').next())
            .map(str::to_string)
            .collect()
    }
}

/// `Basic` credentials as a `Proxy-Authorization` value.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {credentials}")
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    auth: Arc<Option<String>>,
    heads: Arc<Mutex<Vec<String>>>,
) {
    let mut conns = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        while conns.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let (auth, heads) = (auth.clone(), heads.clone());
        match tls.clone() {
            None => conns.spawn(serve(stream, auth, heads)),
            Some(acceptor) => conns.spawn(async move {
                // A failed handshake (an untrusted certificate) just closes.
                if let Ok(stream) = acceptor.accept(stream).await {
                    serve(stream, auth, heads).await;
                }
            }),
        };
    }
}

async fn serve<S>(mut client: S, auth: Arc<Option<String>>, heads: Arc<Mutex<Vec<String>>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some((head, rest)) = read_head(&mut client).await else {
        return;
    };
    heads.lock().expect("heads lock").push(head.clone());
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let given = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_string());
    if let Some(expected) = auth.as_ref()
        && given.as_deref() != Some(expected.as_str())
    {
        let _ = client
            .write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"testkit\"\r\n\
                  Content-Length: 0\r\n\r\n",
            )
            .await;
        return;
    }
    let authority = if method == "CONNECT" {
        target
    } else {
        // Absolute form: http://host[:port]/path
        let without_scheme = target.strip_prefix("http://").unwrap_or_default();
        without_scheme.split('/').next().unwrap_or_default()
    };
    let Some(port) = port_of(authority, method == "CONNECT") else {
        let _ = client
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let _ = upstream.set_nodelay(true);
    let sent = if method == "CONNECT" {
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
    } else {
        // Origin servers accept the absolute form too: pass it on as is.
        upstream.write_all(head.as_bytes()).await
    };
    if sent.is_err() || upstream.write_all(&rest).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// The port of `host:port` (IPv6 hosts in brackets); without one, 80 for
/// absolute-form requests and none for `CONNECT`, which must name it.
fn port_of(authority: &str, connect: bool) -> Option<u16> {
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[host_end..].rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None if connect => None,
        None => Some(80),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_authorities() {
        assert_eq!(port_of("origin.test:8443", true), Some(8443));
        assert_eq!(port_of("[::1]:8080", false), Some(8080));
        assert_eq!(port_of("origin.test", false), Some(80));
        assert_eq!(port_of("origin.test", true), None);
        assert_eq!(port_of("[::1]", true), None);
    }
}
