//! [`TestServer::recording`]: a server that keeps what it was sent, for
//! tests of clients whose requests are the thing under test (exporters).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt as _;

use super::handler::full_body;
use super::server::TestServer;

/// What a [`TestServer::recording`] server got: each request's head and
/// whole body, in the order they arrived.
pub type Received = Arc<Mutex<Vec<(::http::request::Parts, Bytes)>>>;

impl TestServer {
    /// Plain HTTP server recording every request (head and whole body) and
    /// answering each with `status` and `body`. Same runtime rules as
    /// [`TestServer::http_with_handler`].
    pub fn recording(status: u16, body: Bytes) -> (TestServer, Received) {
        let received = Received::default();
        let log = received.clone();
        let server = TestServer::http_with_handler(move |request| {
            let (log, body) = (log.clone(), body.clone());
            async move {
                let (head, request_body) = request.into_parts();
                let request_body = request_body.collect().await.unwrap().to_bytes();
                log.lock().unwrap().push((head, request_body));
                ::http::Response::builder()
                    .status(status)
                    .body(full_body(body))
                    .unwrap()
            }
        });
        (server, received)
    }
}
