//! The integration tests of `httptrace-testkit`, each server tested against
//! a real client: one test binary with a module per server, so that the
//! tests link once rather than once per file.

mod dns;
mod http;
mod proxy;
