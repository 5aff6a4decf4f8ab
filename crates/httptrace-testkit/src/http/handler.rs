//! What a handler of the test servers sees and returns: the body and
//! handler types, and the [`ConnInfo`] every request carries.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use ::http::{Request, Response};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

/// Boxed error type used by [`TestBody`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body type of the test servers (and of custom handlers).
pub type TestBody = UnsyncBoxBody<Bytes, BoxError>;

/// Boxed future returned by a [`Handler`].
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<TestBody>> + Send>>;

/// A custom request handler (see
/// [`TestServer::http_with_handler`](super::TestServer::http_with_handler)).
pub type Handler = Arc<dyn Fn(Request<Incoming>) -> HandlerFuture + Send + Sync>;

/// A complete in-memory body.
pub fn full_body(data: impl Into<Bytes>) -> TestBody {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// Information about the connection a request arrived on. Inserted into every request's
/// extensions (`req.extensions().get::<ConnInfo>()`), useful in custom handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// 1-based sequence number of the TCP connection on this server (the value of the
    /// `x-served-by-conn` response header).
    pub seq: usize,
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's (local) address of the connection.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}
