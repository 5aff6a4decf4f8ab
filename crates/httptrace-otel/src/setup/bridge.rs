//! What the `tracing-opentelemetry` layer [`Setup`](crate::Setup) installs
//! adds to a `tracing` span beyond its own fields: nothing by default.

/// The details the `tracing` → OpenTelemetry bridge can add to every
/// `tracing` span, each off by default ([`Setup::bridge`](crate::Setup::bridge)):
/// they are not semantic-convention attributes, and a `tracing` event
/// turned into a span event (a library's log line, such as rustls's
/// "failed to verify TLS certificate") clutters the trace a user reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeDetails {
    /// `busy_ns` and `idle_ns`: the time a span was entered and not.
    pub timings: bool,
    /// `code.file.path`, `code.line.number`, `code.module.name`.
    pub location: bool,
    /// `thread.id` and `thread.name`.
    pub threads: bool,
    /// `target` (the `tracing` target) and `level`.
    pub target: bool,
    /// `tracing` events inside a span become span events.
    pub log_events: bool,
}

impl BridgeDetails {
    /// Everything the bridge can add (its own defaults).
    pub fn all() -> Self {
        BridgeDetails {
            timings: true,
            location: true,
            threads: true,
            target: true,
            log_events: true,
        }
    }

    /// None of it (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// With or without `busy_ns` / `idle_ns`.
    pub fn timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }

    /// With or without `code.*`.
    pub fn location(mut self, on: bool) -> Self {
        self.location = on;
        self
    }

    /// With or without `thread.*`.
    pub fn threads(mut self, on: bool) -> Self {
        self.threads = on;
        self
    }

    /// With or without `target` and `level`.
    pub fn target(mut self, on: bool) -> Self {
        self.target = on;
        self
    }

    /// With or without `tracing` events as span events.
    pub fn log_events(mut self, on: bool) -> Self {
        self.log_events = on;
        self
    }
}
