//! Real HTTP test servers (hyper; HTTP/1.1 and HTTP/2, plain or TLS) plus raw-socket
//! misbehaving servers.
//!
//! ```no_run
//! # async fn demo() {
//! use httptrace_testkit::http::TestServer;
//! use httptrace_testkit::tls::TestCa;
//!
//! let plain = TestServer::http();
//! let url = plain.url("/redirect/2"); // http://127.0.0.1:PORT/redirect/2
//!
//! let ca = TestCa::new();
//! let tls = TestServer::https(&ca.server_identity(&["localhost"]), &[b"h2", b"http/1.1"]);
//! let url = tls.url("/"); // https://localhost:PORT/
//! # }
//! ```
//!
//! Inside: `server` ([`TestServer`] on hyper), `handler` (the types a custom
//! handler sees), `routes` and `bodies` (the built-in routes below), `raw`
//! (the raw-socket servers, [`refused_addr`], [`BlackHole`]), `recording`
//! ([`TestServer::recording`], keeping every request it is sent).
//!
//! # Built-in routes (of [`TestServer::http`] / [`TestServer::https`])
//!
//! Every response carries `x-served-by-conn: <n>` where `n` is the 1-based sequence number of
//! the TCP connection (per server) that served it, so tests can detect connection reuse.
//! Methods are not enforced (any method works on every route).
//!
//! | route | response |
//! |---|---|
//! | `/` | 200 `hello` |
//! | `/status/{code}` | that status (200..=999 except 1xx), body `status {code}` |
//! | `/redirect/{n}` | 302 → `/redirect/{n-1}` (relative); `/redirect/0` → 200 `done` |
//! | `/redirect-abs/{n}` | same with absolute `Location` (`scheme://host/redirect-abs/{n-1}`, host taken from the request) |
//! | `/redirect-303`, `/redirect-307`, `/redirect-308` | that status → `/echo` |
//! | `/redirect-to?url=<percent-encoded>[&status=3xx]` | 302 (or `status`) → `url` |
//! | `/redirect-loop` | 302 → `/redirect-loop` |
//! | `/echo` | 200 JSON `{"method","path","query","version","authority","conn","headers":{lowercase name: value (duplicates joined with ", ")},"body","body_encoding":"utf8"\|"base64"}` |
//! | `/delay/{ms}` | waits `ms` before the response head, then 200 `ok` |
//! | `/bytes/{n}` | 200, `Content-Length: n`, body byte `i` = `(i % 256) as u8`, produced in 16 KiB chunks |
//! | `/slow-body/{chunks}/{ms}` | head at once (no Content-Length, chunked on HTTP/1.1), then `chunks` chunks of 1 KiB (`.` bytes), each preceded by a `ms` pause |
//! | `/abort-mid-body` | 200 with `Content-Length: 100000`, 1000 bytes, then the body errors: HTTP/1.1 connection is closed abruptly, HTTP/2 stream is reset (`RST_STREAM`) |
//! | `/close` | 200 `bye` with `Connection: close` (HTTP/1.1 closes the connection after it) |
//! | `/continue` | reads the whole request body (so hyper answers `Expect: 100-continue` with `100 Continue`), then 200 with the body length in decimal |
//! | anything else | 404 `not found` |
//!
//! For a TCP-level reset mid-body use [`TestServer::raw_reset_mid_body`]; for a server that
//! accepts but never answers use [`TestServer::stall`]; for a port with nothing listening use
//! [`refused_addr`].

mod bodies;
mod handler;
mod raw;
mod recording;
mod routes;
mod server;

pub use handler::{BoxError, ConnInfo, Handler, HandlerFuture, TestBody, full_body};
pub(crate) use raw::read_head;
pub use raw::{BlackHole, RefusedAddr, refused_addr};
pub use recording::Received;
pub use server::TestServer;
