//! The reqwest 0.13 transport.
//!
//! Three ways in, the same hooks:
//!
//! - [`ClientBuilderExt::instrument`] installs the hooks on the user's own
//!   builder and returns a plain `reqwest::Client`: every builder setting is
//!   kept, reqwest keeps following redirects (each hop it follows is its
//!   own round trip) and its total timeout bounds the whole chain. Round
//!   trips are reported for sends through [`TraceMiddleware`] (feature
//!   `reqwest-middleware`: each attempt of a retry middleware outside it is
//!   its own round trip) or [`execute`].
//! - [`ClientBuilderExt::traced`] returns a [`Client`] that follows redirects
//!   itself, one round trip per hop, each with its own propagated context
//!   and response headers.
//!
//! What the transport must own is set through [`Config`]: DNS
//! (hickory-resolver), TLS roots (rustls; reqwest's own TLS options are
//! replaced) and the redirect policy. Responses are plain
//! `reqwest::Response`s; errors are reqwest's own ([`Client`] wraps them in
//! [`Error`]), so a traced request returns what an untraced one would.
//!
//! Inside: `config` ([`Config`]), `install` (the hooks on a reqwest builder,
//! [`execute`]), `client` and `request` ([`Client`], [`RequestBuilder`]),
//! `round_trip` (one send reported from start to body end) with `hops` (the
//! hops reqwest follows inside it), and the hooks reqwest lets us see:
//! `connect` (the connector layer), `dns`, `tls`, `upload` (a streamed
//! request body).
//!
//! Redirect hops that reqwest follows inside one send (with `instrument`)
//! are reported as far as reqwest lets them be seen: the hop ends when the
//! redirect policy is asked about its response (status and `Location`
//! known, its response headers not: `round_trip_done` carries no headers),
//! its body is discarded unread (`body_done` with outcome `Dropped`), the
//! next hop's method and headers are reported by the same rules reqwest
//! applies, and its `got_conn` facts are exact only when the hop dialled (a
//! pooled connection is reported as reused, without addresses). Its
//! `traceparent` is the send's: reqwest builds inner hops from the first
//! hop's headers.
//!
//! # How each hook is captured
//!
//! reqwest hides its sockets, so some hooks are seen exactly and some only
//! approximately. The errors below were measured by `benches/timing.rs`
//! (`cargo bench -p httptrace --bench timing`) against an in-process raw
//! server sharing the client's monotonic clock, over loopback on a 2-core
//! machine, 300 new connections each (median / p90, hook minus the server's
//! instant; the server's own instants carry scheduling noise of the same
//! order):
//!
//! | approximated hook | HTTP | HTTPS |
//! |---|---|---|
//! | `connect_done` vs server accept | +0.05 / +0.06 ms | +0.03 / +0.07 ms |
//! | `wrote_headers` vs server finished reading the head | -0.15 / -0.12 ms | -0.16 / -0.11 ms |
//! | `got_first_response_byte` vs server wrote the head | +0.11 / +0.15 ms | +0.12 / +0.16 ms |
//!
//! `wrote_headers` is early (it is the moment the connection was ready, not
//! the write), and first byte is late by reqwest's header parsing; both errors
//! grow with the request and response head sizes, not with network latency.
//!
//! | hook | on reqwest | how |
//! |---|---|---|
//! | `round_trip_start` | exact | before each hop is handed to reqwest |
//! | `get_conn` | exact | right after `round_trip_start` |
//! | `dns_start` / `dns_done` | exact | our hickory resolver; `coalesced` when a concurrent lookup of the name was joined |
//! | `connect_start` | approx. | = `dns_done` (or the dial's start for IP literals); per-address attempts are not visible, `addr` is `None` |
//! | `connect_done` | approx. for HTTPS, exact-ish for HTTP | HTTPS: first TLS session-store lookup (TCP is up, ClientHello being built); HTTP: the connector's completion; `addr` is the address connected to |
//! | `tls_handshake_start` | approx. | = `connect_done` (same callback); delivered with `tls_handshake_done` |
//! | `tls_handshake_done` | exact | connector completion; version from rustls, ALPN `h2` or none, chain from the verifier, `resumed` when a ticket was offered and no chain had to be verified |
//! | `got_conn` | approx. | fresh connection: the dial's end; pooled: `get_conn` time. Delivered when the response headers arrive |
//! | `put_idle_conn` | approx. | HTTP/1, when the body was read to the end (that is when hyper returns the connection) |
//! | `wrote_header_field` | approx. | the request's own headers at `wrote_headers` time; headers reqwest adds (`user-agent`, `host`, defaults) are not seen |
//! | `wrote_headers` | approx. | first poll of a streamed request body, else `got_conn` time |
//! | `wait_100_continue` | never | not visible through reqwest |
//! | `wrote_request` | approx. | a streamed body's last chunk handed to hyper, else `got_conn` time (byte bodies are left as they are, so reqwest can still retry and replay them on 307/308) |
//! | `got_1xx_response` | never | reqwest drops 1xx responses before we can see them |
//! | `got_first_response_byte` | approx. | when reqwest hands over the parsed headers (after the first byte) |
//! | `round_trip_done` | exact | when `send` would resolve |
//! | `body_done` | exact | end, error or drop of the response body |
//!
//! Connection reuse (`reused`, `was_idle`, `idle_time`) comes from a registry
//! of connections keyed by local address: `reused` means the connection
//! existed before this round trip started; idle time counts from the end of
//! the last *traced* response on it (or its creation).
//!
//! Proxies (reqwest's own settings, system proxies included): DNS and
//! connect hooks are the proxy's and `remote_addr` is the proxy's address.
//! `got_conn`'s `proxied` is true only for plain HTTP forwarded by a proxy:
//! reqwest marks only those, and a `CONNECT` tunnel looks like a direct
//! connection from where this transport watches (the hyper transport marks
//! both). Through an `https://` proxy to an HTTPS origin there is one
//! `tls_handshake_start`/`done` pair: it starts with the proxy's handshake
//! and describes the origin's (name, chain, ALPN), spanning the `CONNECT`
//! between; the hyper transport reports the two handshakes apart.

mod client;
mod config;
mod connect;
mod dns;
mod error;
mod hops;
mod install;
#[cfg(feature = "reqwest-middleware")]
mod middleware;
mod redirect;
mod request;
mod round_trip;
mod tls;
mod upload;

pub use client::Client;
pub use config::Config;
pub use error::Error;
pub(crate) use error::classify;
pub use install::{ClientBuilderExt, execute};
#[cfg(feature = "reqwest-middleware")]
pub use middleware::TraceMiddleware;
pub use redirect::RedirectPolicy;
pub use request::RequestBuilder;
