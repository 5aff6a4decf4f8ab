//! The reqwest 0.13 transport.
//!
//! # Which way in
//!
//! | you have | use | round trips |
//! |---|---|---|
//! | a reqwest-middleware stack (`ClientWithMiddleware`) | [`ClientBuilderExt::instrument`] on your builder, then [`TraceMiddleware`] innermost in the stack | every send, each retry attempt and each redirect hop its own |
//! | a plain `reqwest::Client` you pass around | [`ClientBuilderExt::instrument`], and [`execute`] at the call sites you want traced | each send through `execute` |
//! | a plain `reqwest::Client`, and you can change its type | [`ClientBuilderExt::traced`] → [`Client`] | every send; each redirect hop with its own `traceparent` and response headers |
//!
//! A plain `client.get(..).send()` on an instrumented client reports the
//! connection hooks of the dials it makes (inside a
//! [`ClientTrace::scope`](crate::ClientTrace::scope)) but no round trips:
//! reqwest 0.13 calls nothing a library can hook when a request starts on a
//! pooled connection (its cookie-store call for the first hop runs inside
//! `send()` itself, before the caller's scope; the retry classifier runs only
//! when a retry is possible). hyper-util's own `Client` users have
//! [`crate::hyper`], which sees every socket event.
//!
//! # Nothing on your builder is lost
//!
//! By default the transport takes nothing over: the builder's TLS (backend,
//! added roots, client identity, versions) and DNS resolver stay in force,
//! and each dial is observed from outside reqwest's connector. DNS, the TCP
//! connect and the TLS handshake are then one phase, reported as
//! `connect_start` / `connect_done` (no `dns_*` or `tls_*` events). For the
//! exact split, hand that part to [`Config`] in one line:
//! [`Config::tls`] with [`Tls::platform`] (its roots, client certificate) or
//! [`Tls::rustls`] (your own `rustls::ClientConfig`), and [`Config::dns`]
//! with [`Dns::system`], [`Dns::servers`] or [`Dns::resolver`] (your own
//! resolver, observed). What the builder set that would then be replaced is
//! refused when the client is built if reqwest shows it (a preconfigured TLS
//! backend, `tls_danger_accept_invalid_hostnames`; see
//! [`ClientBuilderExt`]); roots, identities and a resolver set on the builder
//! are not shown by reqwest, so `Config::tls` / `Config::dns` replace them
//! by contract: move them into the `Tls` / `Dns` you hand over.
//!
//! The builder's settings are read from its `Debug` form, reqwest's only
//! way of showing them, behind a once-per-process check that the form is
//! the one this crate was written for (reqwest 0.13.5); a release that
//! changes it makes building fail with a clear error rather than misread a
//! setting. Redirect decisions come from [`RedirectPolicy`]'s own limit.
//!
//! Responses are plain `reqwest::Response`s; errors are reqwest's own
//! ([`Client`] wraps them in [`Error`]), so a traced request returns what an
//! untraced one would.
//!
//! Inside: `config` ([`Config`], [`Tls`], [`Dns`]), `builder_settings`
//! (the builder's Debug form, guarded), `install` (the hooks on a reqwest
//! builder, [`execute`]), `client` and `request` ([`Client`],
//! [`RequestBuilder`]), `round_trip` (one send reported from start to body
//! end) with `hops` (the hops reqwest follows inside it), and the hooks
//! reqwest lets us see: `connect` (the connector layer), `dns`, `tls`,
//! `upload` (a streamed request body).
//!
//! # State that is not passed explicitly, and why
//!
//! reqwest calls the connector, the resolver, the rustls callbacks and the
//! redirect policy with no argument of ours, so what they need travels in
//! the task that runs them:
//!
//! - [`ClientTrace::scope`](crate::ClientTrace::scope)'s task-local: the
//!   traces of the enclosing scopes (also the hyper transport's).
//! - `hops::ROUND_TRIP`, a task-local set by the round-trip driver around
//!   reqwest's future: the hop in flight, read by the connector and the
//!   redirect policy.
//! - `connect::DIAL`, a task-local set by the connector around its own
//!   future: the dial in flight, read by the resolver and the TLS observers
//!   (which may run in a background task when the pool races a dial).
//! - `hops::registry()`, one process-wide table of connections keyed by
//!   local address: a send that reuses a pooled connection reaches no hook
//!   of the client that made it, so reuse and idle time are looked up there.
//!   It is bounded.
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
//! | `dns_start` / `dns_done` | exact, with [`Config::dns`] | the resolver handed over, around each lookup; `coalesced` when [`Dns::system`] / [`Dns::servers`] joined a concurrent lookup of the name. Not reported with the builder's own resolver |
//! | `connect_start` | approx. | = `dns_done` with [`Config::dns`], else the dial's start (so the phase includes the builder's own DNS); per-address attempts are not visible, `addr` is `None` |
//! | `connect_done` | approx. | with [`Config::tls`] for HTTPS: first TLS session-store lookup (TCP is up, ClientHello being built); else the connector's completion (for HTTPS with the builder's own TLS, the phase includes the handshake); `addr` is the address connected to |
//! | `tls_handshake_start` | approx., with [`Config::tls`] | = `connect_done` (same callback), except on the process's first handshake, which starts after the TLS generator's one-time seeding (about 30 ms with aws-lc, started beside DNS and connect; what is left of it is a gap between the two, part of neither); delivered with `tls_handshake_done`. Not reported with the builder's own TLS |
//! | `tls_handshake_done` | exact, with [`Config::tls`] | connector completion; version from reqwest's `TlsInfo`, ALPN `h2` or none; with [`Tls::platform`], the chain from our verifier and `resumed` when a ticket was offered and no chain had to be verified; with [`Tls::rustls`], the leaf from `TlsInfo` and `resumed` false (your verifier cannot be wrapped) |
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

mod builder_settings;
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
pub use config::{Config, Dns, Tls};
pub use error::Error;
pub(crate) use error::classify;
pub use install::{ClientBuilderExt, execute};
#[cfg(feature = "reqwest-middleware")]
pub use middleware::TraceMiddleware;
pub use redirect::RedirectPolicy;
pub use request::RequestBuilder;
