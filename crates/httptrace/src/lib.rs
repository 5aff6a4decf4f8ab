//! Per-request HTTP client tracing hooks: the Rust counterpart of Go's
//! [`net/http/httptrace`](https://pkg.go.dev/net/http/httptrace), wired into
//! reqwest 0.13.
//!
//! A [`ClientTrace`] is a set of optional hooks (DNS, connect, TLS, connection
//! reuse, request written, first byte, body done, and one round trip per
//! redirect hop). Attach it to one request, or to every request a future
//! makes, and it sees exactly that request's events, each with the instant it
//! happened.
//!
//! ```
//! # #[cfg(feature = "reqwest")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use httptrace::reqwest::ClientBuilderExt;
//! use httptrace::{ClientTrace, Event};
//! use std::time::Instant;
//! # // A one-shot local HTTP server, so the example runs anywhere.
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/", listener.local_addr()?);
//! # tokio::spawn(async move {
//! #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! #     let (mut socket, _) = listener.accept().await.unwrap();
//! #     let mut buf = [0u8; 1024];
//! #     let _ = socket.read(&mut buf).await;
//! #     let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").await;
//! # });
//!
//! // An ordinary reqwest builder, its settings kept.
//! let client = reqwest::Client::builder()
//!     .timeout(std::time::Duration::from_secs(10))
//!     .traced()?;
//!
//! // Print every hook with its offset from the start.
//! let start = Instant::now();
//! let trace = ClientTrace::new()
//!     .on_got_conn(|e| println!("reused={} idle={:?}", e.reused, e.idle_time))
//!     .on_event(move |e: &Event| {
//!         let ms = e.at().saturating_duration_since(start).as_secs_f64() * 1e3;
//!         println!("{ms:8.3} ms  {}", e.name());
//!     });
//!
//! // Attached to this one request only.
//! let response = client.get(&url).trace(trace).send().await?;
//! assert_eq!(response.text().await?, "hello"); // body_done fires here
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "reqwest"))]
//! # fn main() {}
//! ```
//!
//! A hook left unset costs nothing, as in Go: the transports build an event
//! only when a hook will receive it. A catch-all hook says which kinds it
//! wants with an [`Interest`] it may change while the request runs (the
//! OpenTelemetry adapter narrows it when a hop's span is not sampled, to what
//! its metrics read).
//!
//! The core ([`ClientTrace`], [`Event`], [`EventKind`], [`Interest`],
//! [`Traces`], and [`Phases`], the phase timings of a round trip computed
//! from its events) knows no transport;
//! [`reqwest`] (feature `reqwest`) is the transport for reqwest 0.13, and
//! [`hyper`] (feature `hyper`) a full-fidelity transport for hyper-util's
//! `Client`, whose sockets are ours to watch; both are on by default. Each
//! module has the table of which hooks it reports exactly and which it can
//! only approximate. [`redirect`] holds the redirect rules the reqwest
//! transport follows, for callers of a transport that does not.
//!
//! ## Errors
//!
//! Each transport returns its own error type, so that a traced request fails
//! as an untraced one would: `reqwest::Error` from a client made with
//! `instrument`, `httptrace::reqwest::Error` (reqwest's, or a redirect
//! refused) from a `traced` client, hyper-util's `legacy::Error` from the
//! hyper transport's requests and a boxed error from its builder. One
//! classification covers them all: `ErrorKind::of(&error)` gives the
//! [`ErrorKind`] (DNS, connect, TLS, timeout, reset or protocol error on the
//! exchange or body, redirect, other) that the hooks reported for it, the
//! same on both transports.
//!
//! ## Cargo features
//!
//! - `reqwest` (default): the reqwest 0.13 transport, `httptrace::reqwest`:
//!   `instrument()` installs the hooks on the service's own
//!   `reqwest::Client`, `traced()` makes a client that follows redirects
//!   itself.
//! - `reqwest-middleware`: `httptrace::reqwest::TraceMiddleware`, for
//!   reqwest-middleware stacks (each retry attempt its own round trip).
//! - `hyper` (default): the hyper-util transport, `httptrace::hyper`.
//!
//! With both off the crate is the transport-neutral core alone, for writing a
//! transport or a consumer of the hooks.
// With a transport's feature off its module does not exist; its links then
// point at the list above, so `cargo doc` is clean with any feature set.
#![cfg_attr(not(feature = "reqwest"), doc = "\n\n[`reqwest`]: #cargo-features")]
#![cfg_attr(not(feature = "hyper"), doc = "\n\n[`hyper`]: #cargo-features")]
#![warn(missing_docs)]

#[cfg(feature = "__transport")]
mod classify;
mod error;
pub mod event;
#[cfg(feature = "hyper")]
pub mod hyper;
mod interest;
mod phases;
pub mod redirect;
#[cfg(feature = "reqwest")]
pub mod reqwest;
mod trace;
#[cfg(feature = "__transport")]
mod transport;

pub use event::*;
pub use interest::{EventKind, EventKinds, Interest};
pub use phases::{Interval, Phase, Phases};
pub use trace::{ClientTrace, MakeTrace, RequestInfo, Scoped, Traces, UrlTemplate, system_time};
