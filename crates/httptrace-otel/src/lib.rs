//! OpenTelemetry adapter for `httptrace` (work in progress).
#![warn(missing_docs)]
