//! The hyper-util transport: full fidelity, because the connector and the
//! connection's IO are ours.
//!
//! [`Client`] wraps hyper-util's legacy `Client` with a [`Connector`] that
//! resolves through hickory-resolver, dials the resolved addresses (racing
//! them Happy Eyeballs style when one is slow to answer) and
//! runs the TLS handshake with tokio-rustls, reporting each step as it
//! happens, and wraps the connection's IO to see the first and last write of
//! a request and the first byte of its response. It is a transport in Go's
//! sense (a `RoundTripper`): one request, one round trip; it does not follow
//! redirects, like hyper-util's own client. A caller that does follows them
//! with [`crate::redirect::next_hop`] (the reqwest transport's rules) and
//! marks each hop with [`ResendCount`].
//!
//! | hook | on hyper-util | how |
//! |---|---|---|
//! | `round_trip_start`, `get_conn`, `round_trip_done`, `body_done` | exact | around hyper-util's request future and the response body |
//! | `dns_start` / `dns_done` | exact | hickory-resolver, concurrent lookups coalesced |
//! | `connect_start` / `connect_done` | exact, per address | one pair per attempt; attempts race Happy Eyeballs style, families interleaved, the next starting after 300 ms unanswered; losers end `Cancelled` |
//! | `tls_handshake_start` / `tls_handshake_done` | exact | around tokio-rustls' handshake (the process's first starts after the TLS generator's one-time seeding, a gap after `connect_done`); version, ALPN, resumption, full chain |
//! | `got_conn` | exact | the instant hyper-util's pool hands the connection over (its connection capture), reused / idle from the connection registry; if the caller captures the connection itself, the time is approx. (the dial's end, or `get_conn` for a pooled one) |
//! | `wrote_header_field` | approx. | the request's headers at `wrote_headers` time (hyper adds `host` and framing headers) |
//! | `wrote_headers` | exact on HTTP/1.1 | the exchange's first write to the socket (head, maybe with the start of the body) |
//! | `wrote_request` | exact on HTTP/1.1 | the exchange's last write before the response's first read |
//! | `got_first_response_byte` | exact on HTTP/1.1 | the first read after the request was written |
//! | `got_1xx_response` | exact, HTTP/1 | hyper's `on_informational` |
//! | `put_idle_conn` | approx. | HTTP/1, when the body was read to the end |
//! | `wait_100_continue` | never | hyper sends the body without waiting for `100 Continue` |
//!
//! A round trip dropped before its response (cancelled, or timed out by the
//! caller) still reports what happened on the connection it got:
//! `got_conn`, `wrote_headers` and `wrote_request` (and the first byte, if
//! one came) from the socket, then `round_trip_done` with a `Cancelled`
//! error.
//!
//! Connections: the builder's [`MakeTrace`](crate::MakeTrace) also hears
//! every connection open, turn active (a traced request took it), turn idle
//! and close ([`MakeTrace::on_connection`](crate::MakeTrace::on_connection)),
//! which is what open-connection counts and connection lifetimes are made
//! from. Requests sent without any trace do
//! not move a connection to active.
//!
//! Measured by `benches/timing.rs` against an in-process server sharing the
//! client's clock (loopback, 2-core machine, 300 new connections, median /
//! p90 of hook minus the server's instant): `wrote_headers`, stamped as the
//! bytes are handed to the socket, vs the server having read the head
//! -0.04 / -0.03 ms over HTTP and -0.03 / -0.02 ms over HTTPS (over
//! loopback the write call itself delivers them); `got_first_response_byte`
//! vs the server having written its head +0.04 / +0.05 ms over HTTP and
//! +0.07 / +0.08 ms over HTTPS (loopback delivery and, for HTTPS,
//! decryption); `connect_done` vs accept +0.04 / +0.05 ms. The reqwest
//! transport's errors on the same run are three to four times larger (see
//! its module, `httptrace::reqwest`).
//!
//! On HTTP/2 the socket carries many streams and control frames, so the
//! three socket-level hooks come from the connection's latest write burst and
//! the read after it: approximate.
//!
//! Inside: `builder` (the settings), `client` (one round trip per request)
//! and `pending` (a round trip dropped midway), `connect` (the connector:
//! DNS, then `dial`'s Happy Eyeballs attempts, an optional `proxy` tunnel,
//! TLS) and `io` (the socket-level hooks).
//!
//! Errors: requests return hyper-util's own error (`legacy::Error`), the
//! builder a boxed error; [`ErrorKind::of`](crate::ErrorKind::of) gives
//! either's kind, the one its hooks reported and the same kinds the reqwest
//! transport's errors have.
//!
//! Proxies: [`Builder::proxy`] (`http://` and `https://` proxies; none by
//! default, as in hyper-util). Through one, DNS and connect hooks are the
//! proxy's.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use http_body_util::{BodyExt, Empty};
//! use httptrace::ClientTrace;
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/", listener.local_addr()?);
//! # tokio::spawn(async move {
//! #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! #     let (mut socket, _) = listener.accept().await.unwrap();
//! #     let mut buf = [0u8; 1024];
//! #     let _ = socket.read(&mut buf).await;
//! #     let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
//! # });
//!
//! let client = httptrace::hyper::Client::builder().build::<Empty<bytes::Bytes>>()?;
//! let trace = ClientTrace::new().on_event(|e| println!("{}", e.name()));
//! let request = http::Request::get(url).body(Empty::new())?;
//! let response = client.request_traced(request, trace).await?;
//! let body = response.into_body().collect().await?.to_bytes();
//! assert_eq!(&body[..], b"ok");
//! # Ok(())
//! # }
//! ```

mod builder;
mod client;
mod connect;
mod dial;
mod io;
mod pending;
mod proxy;

pub use crate::transport::body::ResponseBodyProbe as ResponseBody;
pub use builder::{Builder, DEFAULT_HAPPY_EYEBALLS_DELAY};
pub use client::{Client, ResendCount};
pub use connect::Connector;
/// Which proxy, if any, a request goes through: hyper-util's matcher,
/// re-exported so that callers need no hyper-util feature of their own.
pub use hyper_util::client::proxy::matcher::Matcher as ProxyMatcher;
pub use io::TracedStream;
