//! OpenTelemetry for [`httptrace`]: every HTTP round trip a traced client
//! makes becomes one CLIENT span, with the hooks (DNS, connect, TLS,
//! connection reuse, request written, first byte, body done) as span events
//! at their own timestamps, HTTP client metrics beside it, and the hop's W3C
//! `traceparent` sent with the request.
//!
//! # A service in three lines
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use httptrace::reqwest::{ClientBuilderExt, Config};
//!
//! let _otel = httptrace_otel::init(); // OTLP export configured by OTEL_* variables
//! let client = reqwest::Client::builder()
//!     .traced_with(Config::new().make_trace(httptrace_otel::OtelTrace::new()))?;
//! let body = client.get("https://example.com/").send().await?.text().await?;
//! # let _ = body;
//! # Ok(())
//! # }
//! ```
//!
//! [`init`] reads the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_PROTOCOL` = `http/protobuf` (default) or `grpc`,
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and `_ARG`,
//! `OTEL_PROPAGATORS`, `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` =
//! `none`, `OTEL_SDK_DISABLED`, `OTEL_BSP_*`, ...), installs the global
//! tracer and meter providers, the TraceContext + Baggage propagator (W3C
//! `traceparent`, and `tracestate` when the context carries one) and a
//! `tracing` subscriber with the `tracing-opentelemetry` layer, and returns a
//! guard whose drop flushes (bounded). Requests made inside a `tracing` span
//! get their hop spans under it. See [`Setup`] for options, and
//! [`OtelTrace::with_tracer`] when the service already owns a provider.
//!
//! # What a hop span holds
//!
//! | | |
//! |---|---|
//! | name | the method (`GET`), or `HTTP` for unknown methods (known: RFC 9110's and PATCH, or the list in `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`, a full case-sensitive override); `{method} {url.template}` when the caller gave an [`httptrace::UrlTemplate`]; never the raw path |
//! | kind | CLIENT; start = `round_trip_start`, end = `body_done` (or the failed `round_trip_done`) |
//! | attributes | `http.request.method` (`_OTHER` + `http.request.method_original`), `url.full` (credentials redacted), `server.address`, `server.port`, `http.response.status_code`, `error.type`, `network.protocol.version`, `network.peer.address`, `network.peer.port`, `http.request.resend_count` (redirect hops), opted-in `http.request.header.*` |
//! | status | Error for 4xx/5xx (no description), for transport errors (with the message), for a redirect past the limit (on the hop that hit it) and for cancelled requests (the conventions' Status section: a request that "was cancelled" SHOULD be an Error with `error.type`) |
//! | attributes, where the time went | `httptrace.<phase>.duration` (s) for each phase the hop went through (`dns`, `connect`, `tls`, `send`, `wait`, `receive`), `httptrace.conn.reused`, `httptrace.dial.spare` |
//! | events | one per hook, named in the `httptrace.` namespace ([`conventions`]), at the hook's timestamp, in time order |
//!
//! ## Against the conventions
//!
//! Checked against `docs/http/http-spans.md` and `docs/http/http-metrics.md`
//! of open-telemetry/semantic-conventions (the stable HTTP client span;
//! `schema_url` 1.30.0). Span attributes:
//!
//! | attribute | requirement | here |
//! |---|---|---|
//! | `http.request.method` | required | always; `_OTHER` for unknown methods |
//! | `server.address`, `server.port` | required | always (the URL's host and port) |
//! | `url.full` | required | always; userinfo `REDACTED:REDACTED`; the values of `AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature` (the conventions' list) and `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token` become `REDACTED`, names matched case-insensitively; [`OtelTrace::redact_query_params`] adds names, it never removes these |
//! | `error.type` | conditionally required | on errors: the status code for 4xx/5xx, else the phase's kind ([`httptrace::ErrorKind::as_str`]) |
//! | `http.request.method_original` | conditionally required | when the method is `_OTHER` |
//! | `http.response.status_code` | conditionally required | when a response arrived |
//! | `http.request.resend_count` | recommended | from the second send of a request on (retries and redirect hops) |
//! | `network.peer.address`, `network.peer.port`, `network.protocol.version` | recommended | when the connection is known |
//! | `http.request.header.*`, `http.response.header.*` | opt-in | only the names given; credentials never; URL-valued headers redacted as `url.full` |
//! | `url.template` | opt-in | when the caller gives one |
//! | `http.request.body.size` | opt-in | on the `wrote_request` event |
//! | `network.transport` | opt-in | on the connect events |
//!
//! The metrics and their requirement levels are in the table under
//! Metrics below.
//!
//! Event attributes use the semantic conventions' registry where it has a
//! key (`dns.question.name`, `dns.answers`, `network.peer.*`,
//! `network.local.*`, `tls.protocol.version`, `tls.next_protocol`,
//! `tls.resumed`, `tls.server.subject`, `tls.server.issuer`,
//! `tls.server.not_before` / `not_after`, `http.request.body.size`,
//! `error.type`) and `httptrace.*` otherwise (`httptrace.error.message`,
//! `httptrace.dns.coalesced`, `httptrace.conn.was_idle`,
//! `httptrace.conn.idle_time` in seconds, `httptrace.response.body_bytes`,
//! ...). No deprecated key is written. [`conventions`] has the event names
//! and the table of every key with its type, unit and status in semantic
//! conventions v1.44.0. A written header's name is always an event
//! attribute, its values only when the header is opted in with
//! [`OtelTrace::record_request_headers`].
//!
//! Optional phase sub-spans ([`OtelTrace::phase_spans`]): `dns`, `connect`,
//! `tls`, `send`, `wait`, `receive`, children of the hop span.
//!
//! Without hook events ([`OtelTrace::hook_events`]`(false)`), the hop span
//! keeps only the phases' durations and `httptrace.conn.reused`: smaller
//! spans, for services that want the phases and not every hook's details.
//!
//! A dial can outlive its round trip: when the pool hands the waiting
//! request a connection another request freed, the request's own dial goes
//! on in the background and its last hooks come after the hop's span ended.
//! Those hooks go, at their own timestamps, on a `dial` span
//! (`httptrace.dial.outlived_round_trip = true`), a child of the hop that
//! started the dial, from the dial's first unfinished phase to its last
//! hook; with phase sub-spans on, its phases are the `dial` span's children.
//! The span is made once the dial is over and the request's trace is gone.
//!
//! # Metrics
//!
//! The conventions (`docs/http/http-metrics.md`, `docs/dns/dns-metrics.md`
//! in open-telemetry/semantic-conventions v1.44.0) require the request
//! duration and call the others optional: those, and the project's own
//! `httptrace.client.*` aggregates, are off until switched on, in code
//! with [`OtelTrace::enable_metric`] ([`OptInMetric`]) or without a
//! rebuild with the environment variable `HTTPTRACE_METRICS`
//! ([`METRICS_ENV`]): a comma-separated list of the names below, or `all`
//! (`HTTPTRACE_METRICS=phase_duration,round_trips`). It is read once per
//! process, when the first [`OtelTrace`]'s instruments are made, and adds
//! to what the code switched on; an unknown name is reported once at warn
//! level with the valid names, and then none of the list is switched on.
//!
//! | instrument | kind, unit | semconv v1.44.0 | on | `HTTPTRACE_METRICS` | attributes, what |
//! |---|---|---|---|---|---|
//! | `http.client.request.duration` | histogram, `s` | stable, required | always | — | per hop, the hop span's duration as the conventions ask ("SHOULD be the same as the HTTP client span duration"): round trip start to the end of the body (or the failure); `http.request.method`, `server.address`, `server.port`, `http.response.status_code`, `network.protocol.version`, `error.type`; buckets [`DURATION_BUCKETS`] |
//! | `http.client.active_requests` | up-down counter, `{request}` | development, optional | off | `active_requests` | hops in flight; `http.request.method`, `server.address`, `server.port` |
//! | `dns.lookup.duration` | histogram, `s` | development, optional | off | `dns_lookup_duration` | lookups the request made itself (not coalesced ones); `dns.question.name`, `error.type` |
//! | `http.client.open_connections` | up-down counter, `{connection}` | development, optional | off | `open_connections` | hyper-util transport only: connections by `http.connection.state` (`idle`, `active`: serving a traced request); `server.address`, `server.port`, `network.peer.address`, `network.protocol.version`, `url.scheme` |
//! | `http.client.connection.duration` | histogram, `s` | development, optional | off | `connection_duration` | hyper-util transport only: open to close; same attributes but the state |
//! | `httptrace.client.phase.duration` | histogram, `s` | not in semconv: the project's `httptrace.*` namespace | off | `phase_duration` | one sample per phase a hop went through: `httptrace.phase` (`dns`, `connect`, `tls`, `send`, `wait`, `receive`), `server.address`, `server.port`; buckets [`PHASE_DURATION_BUCKETS`] (50 µs to 60 s) |
//! | `httptrace.client.round_trips` | counter, `{round_trip}` | not in semconv: the project's `httptrace.*` namespace | off | `round_trips` | hops that got a connection: `httptrace.conn.reused` (bool), `server.address`, `server.port` |
//!
//! ## Where the time goes, per upstream
//!
//! `httptrace.client.phase.duration` and `httptrace.client.round_trips`
//! turn the hooks of every round trip into a dashboard: is DNS, connect or
//! TLS getting slow for this upstream, and did the client stop reusing
//! connections (the ratio of `httptrace.conn.reused = true` to all round
//! trips)? A phase is the same interval as the phase sub-spans
//! ([`OtelTrace::phase_spans`]) and the `httptrace.<phase>.duration` span
//! attributes every hop span carries, from the same computation: a phase
//! that happened more than once in a hop (connection attempts to several
//! addresses) is one sample, from its first start to its last end. Samples
//! are taken when the hop ends, next to `http.client.request.duration`,
//! whether or not its span is sampled. A hop on a reused connection has no
//! `dns`, `connect` or `tls` sample, not even from a spare dial the pool
//! started for it and did not use (the span marks that dial
//! `httptrace.dial.spare`); a phase that failed (a refused connect) is a
//! sample (the time went there), and a phase still open when the hop ended
//! is none. A hop that never got a
//! connection counts no round trip. The attributes are the upstream and
//! the phase or reuse only: never the path, the URL or the method, so one
//! series per upstream and phase (or reuse value).
//!
//! ## The connection metrics on the reqwest transport
//!
//! The connection metrics come from [`httptrace::MakeTrace::on_connection`],
//! which only a transport that sees connections close can call. reqwest
//! does not say when its connections close, and its connector layer (where
//! this crate sees each dial) cannot be made to: reqwest 0.13's
//! `ClientBuilder::connector_layer` requires the layered service to return
//! reqwest's own sealed `Conn` type, so the IO cannot be wrapped to see
//! its end. hyper-util's pool asks that `Conn` for its
//! `Connected` itself (`Connection::connected`, `client.rs` in hyper-util
//! 0.1.21), and reqwest builds it afresh on each call from its inner
//! stream (`connect.rs` in reqwest 0.13.5): an extra (a drop guard whose
//! last clone would go with the pooled connection) or a poison pill set on
//! the copy the layer sees never reaches the copy the pool keeps
//! (measured in httptrace's `tests/it/reqwest_conn_lifetime.rs`: a layer
//! that poisons every dial's `Connected` still sees the connection reused,
//! one dial for three requests). So on
//! the reqwest transport these two are not recorded rather than guessed;
//! use the hyper-util transport for them, or
//! `httptrace.client.round_trips` for reuse per upstream, which both
//! transports report. Response headers are recorded only
//! when opted in with [`OtelTrace::record_response_headers`].
//!
//! ## Propagation that injects nothing
//!
//! When a hop has a valid span context and the propagator in use writes no
//! header into its request (opentelemetry's global propagator is a no-op
//! until one is installed: the `traceparent` then silently goes missing,
//! as in reqwest-middleware#25), this is said once per process at warn
//! level (through `tracing`, target `httptrace_otel`, or on stderr when no
//! subscriber is set). [`init`] installs TraceContext + Baggage;
//! [`OtelTrace::propagate`]`(false)` switches propagation off on purpose
//! (nothing is said then).
//!
//! A dead, slow or misconfigured collector never blocks or fails requests:
//! spans go to a bounded queue and are exported by a background thread;
//! nothing on the request path waits for export. When an export fails the
//! user hears of it in plain words, one line per signal (which endpoint,
//! refused / timed out / not accepted): a service through `tracing` at warn
//! level, at most once per signal per 10 s, a command-line tool from
//! [`OtelGuard::finish`] (see [`export_errors`]).
//!
//! # How a request flows
//!
//! One GET through a reqwest-middleware stack, from the call to the bytes
//! on the collector's wire, each step with the file that does it:
//!
//! 1. `TraceMiddleware::handle` (httptrace, `reqwest/middleware.rs`) asks
//!    [`Config::make_trace`](httptrace::reqwest::Config::make_trace) for a
//!    trace: [`OtelTrace`]'s [`httptrace::MakeTrace`] impl (`trace.rs`)
//!    makes the request's state (`request.rs`) under the current `tracing`
//!    span, and a [`httptrace::ClientTrace`] whose hooks feed it.
//! 2. The round-trip driver (httptrace, `reqwest/round_trip.rs`) announces
//!    each hop (`round_trip_start`) and, in a task-local, the hop in
//!    flight (`reqwest/hops.rs`); the request-headers hook starts the hop's
//!    CLIENT span (`request.rs`) and injects its `traceparent`
//!    (`inject.rs`); once the sampler has decided, the trace's
//!    [`httptrace::Interest`] says which events this hop reads
//!    (`hop_interest.rs`: all of them when its span is recorded, only what
//!    the metrics read when not), and the transports build no others.
//! 3. reqwest sends: the connector layer (`reqwest/connect.rs`) follows
//!    the dial, with the resolver (`reqwest/dns.rs`) and the TLS observers
//!    (`reqwest/tls.rs`) when DNS and TLS were handed to `Config`; a
//!    redirect reqwest follows ends the hop and starts the next
//!    (`reqwest/hops.rs`); the response body's end is watched
//!    (`transport/body.rs`).
//! 4. Every hook reaches `RequestState::on_event` (`request.rs`), then
//!    `HopSpan::apply` (`hop.rs`): phases, status, error; its attributes come
//!    from `attrs.rs`, its event name from [`conventions`]. A dial that
//!    outlives its hop goes to a `dial` span (`late.rs`).
//! 5. The hop's last event ends its span with each phase's duration and
//!    the events in time order (`hop.rs`), and records the metrics
//!    (`metrics.rs`).
//! 6. The SDK's batch span processor hands finished spans to the exporter
//!    [`Setup`] built (`setup/exporters.rs`), one of ours either way. It
//!    encodes the batch straight from the SDK's spans
//!    (`export/otlp_body.rs`) and sends it: over OTLP/HTTP
//!    `export/http.rs` POSTs it (gzipped if asked) with reqwest's blocking
//!    client, on the batch thread; over gRPC `export/grpc.rs` sends it
//!    through tonic, on the export runtime. Both resolve the
//!    `OTEL_EXPORTER_OTLP_*` settings as opentelemetry-otlp does
//!    (`export/config.rs`) and retry as it does (`export/retry.rs`). The
//!    outcome is recorded (`export/status.rs`) and a failure said in plain
//!    words ([`export_errors`]).
//!
//! # Cargo features
//!
//! `setup` (default): [`Setup`], [`init`] and [`OtelGuard`], the OTLP
//! pipeline in one call (OTLP over gRPC and HTTP: this crate's span
//! exporters and opentelemetry-otlp's metric exporters; opentelemetry_sdk,
//! tracing-subscriber). A service that builds its own
//! providers turns it off (`default-features = false`) and keeps only the
//! mapping: [`OtelTrace`] with [`OtelTrace::with_tracer`] and
//! [`OtelTrace::meter`]. `tls`: https:// collector endpoints. gzip
//! (`OTEL_EXPORTER_OTLP_*COMPRESSION=gzip`) is built in with `setup`, for
//! both signals and both protocols; `zstd` is a build error of [`Setup`].
//!
//! # Layout
//!
//! | module | holds |
//! |---|---|
//! | `trace` | [`OtelTrace`]: builder, [`httptrace::MakeTrace`], the parent context |
//! | `settings` | what an `OtelTrace` was configured with |
//! | `request` | one request's state: which hop is open, span ends |
//! | `inject` | the hop's trace context into its request headers (`traceparent`), the caller's own kept |
//! | `hop` | one round trip's span in the making: what each hook does to it |
//! | `phase` | phase sub-spans and scrubbing credentials from messages |
//! | `late` | dials that outlive their round trip |
//! | `attrs` | event and span attributes (re-exporting `redact`'s items) |
//! | `redact` | `url.full` and header redaction, which headers may be recorded |
//! | `metrics` | the instruments, which are on (code and `HTTPTRACE_METRICS`), the per-phase and per-upstream samples |
//! | `diag` | configuration problems said once per process (an unknown `HTTPTRACE_METRICS` name, a propagator that injects nothing) |
//! | [`conventions`] | the hook-to-event names, every attribute key with its type, unit and status, [`conventions::check`] |
//! | `setup`, `setup/env`, `setup/exporters`, `setup/bridge`, `guard` | the pipeline, what the `OTEL_*` variables ask, its OTLP exporters, the `tracing` bridge's details and its guard (feature `setup`) |
//! | `export/otlp_body` | the OTLP traces request, encoded straight from the SDK's spans, sent over HTTP and gRPC (feature `setup`) |
//! | `export/http`, `export/grpc` | the OTLP/HTTP and OTLP/gRPC span exporters: each encodes the batch and sends it (feature `setup`) |
//! | `export/config`, `export/retry` | the `OTEL_EXPORTER_OTLP_*` transport settings of both, resolved as opentelemetry-otlp does; its retry policy and gRPC failures in plain words (feature `setup`) |
//! | `export/recording` | the metric exporters' wrapper and the OTLP/HTTP metric exporter's client, recording outcomes (feature `setup`) |
//! | [`export_errors`] (`export/errors`), `export/status` | what became of the exports, in plain words (feature `setup`) |
//! | `propagation` | the W3C Trace Context propagator `Setup` installs: `traceparent` without `core::fmt` (feature `setup`) |
#![warn(missing_docs)]

mod attrs;
pub mod conventions;
mod diag;
#[cfg(feature = "setup")]
mod export;
#[cfg(feature = "setup")]
pub use export::errors as export_errors;
#[cfg(feature = "setup")]
mod guard;
mod hop;
mod hop_interest;
mod inject;
mod late;
mod metrics;
mod phase;
#[cfg(feature = "setup")]
mod propagation;
mod redact;
mod request;
mod settings;
#[cfg(feature = "setup")]
mod setup;
mod trace;

#[cfg(feature = "setup")]
pub use export_errors::{ExportError, ExportErrorKind, Signal};
#[cfg(feature = "setup")]
pub use guard::{DEFAULT_OTEL_FILTER, DEFAULT_SHUTDOWN_TIMEOUT, OtelGuard, ShutdownError};
pub use metrics::{
    DURATION_BUCKETS, METRICS_ENV, OptInMetric, PHASE_DURATION_BUCKETS, UnknownMetrics,
};
#[cfg(feature = "setup")]
pub use setup::{BridgeDetails, InitError, Protocol, Setup, init, init_from_env};
pub use trace::{OtelTrace, SCOPE_NAME, current_context};
