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
//! ```no_run
//! # #[cfg(feature = "reqwest")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use httptrace::{ClientTrace, Event};
//! use httptrace::reqwest::ClientBuilderExt;
//! use std::time::Instant;
//!
//! // An ordinary reqwest builder, with its settings kept.
//! let client = reqwest::Client::builder()
//!     .timeout(std::time::Duration::from_secs(10))
//!     .traced()?;
//!
//! let start = Instant::now();
//! let trace = ClientTrace::new()
//!     .on_dns_done(|e| println!("dns done: {:?} coalesced={}", e.addrs, e.coalesced))
//!     .on_got_conn(|e| println!("got conn: reused={} idle={:?}", e.reused, e.idle_time))
//!     .on_event(move |e: &Event| {
//!         println!("{:>8.3} ms  {}", (e.at() - start).as_secs_f64() * 1e3, e.name())
//!     });
//!
//! let response = client.get("https://example.com/").trace(trace).send().await?;
//! let body = response.text().await?; // body_done fires here
//! println!("{} bytes", body.len());
//! # Ok(())
//! # }
//! ```
//!
//! The core ([`ClientTrace`], [`Event`], [`Traces`]) knows no transport;
//! [`reqwest`] (feature `reqwest`, on by default) is the transport for
//! reqwest 0.13. See that module for which hooks it reports exactly and which
//! it can only approximate.
#![warn(missing_docs)]

pub mod event;
#[cfg(feature = "reqwest")]
pub mod reqwest;
mod trace;

pub use event::*;
pub use trace::{ClientTrace, MakeTrace, RequestInfo, Scoped, Traces, system_time};
