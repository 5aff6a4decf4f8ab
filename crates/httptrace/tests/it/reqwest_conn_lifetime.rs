//! Why the reqwest transport reports no connection close (the crate docs
//! of httptrace-otel, "The connection metrics on the reqwest transport"),
//! measured with reqwest's public API only: a connector layer sees a
//! `Connected` that reqwest builds afresh on every call, not the one the
//! pool keeps. Poisoning it (hyper-util's way to have the pool drop a
//! connection) does not reach the pool: the connection is reused all the
//! same. So nothing the layer attaches to it (an extra whose last clone's
//! drop would mark the close) can follow the pooled connection either.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use httptrace_testkit::http::TestServer;
use hyper_util::client::legacy::connect::Connection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Poisons the `Connected` of every connection it sees dialled.
#[derive(Clone)]
struct PoisonLayer(Arc<AtomicUsize>);

impl<S> tower_layer::Layer<S> for PoisonLayer {
    type Service = Poison<S>;

    fn layer(&self, inner: S) -> Poison<S> {
        Poison(inner, self.0.clone())
    }
}

#[derive(Clone)]
struct Poison<S>(S, Arc<AtomicUsize>);

impl<S, R> tower_service::Service<R> for Poison<S>
where
    S: tower_service::Service<R> + Send + 'static,
    S::Response: Connection + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let dial = self.0.call(req);
        let poisoned = self.1.clone();
        Box::pin(async move {
            let conn = dial.await.map_err(Into::into)?;
            conn.connected().poison();
            poisoned.fetch_add(1, Ordering::SeqCst);
            Ok(conn)
        })
    }
}

#[tokio::test]
async fn the_connected_a_connector_layer_sees_is_not_the_pools() {
    let server = TestServer::http();
    let poisoned = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .no_proxy()
        .connector_layer(PoisonLayer(poisoned.clone()))
        .build()
        .unwrap();
    for _ in 0..3 {
        let body = client.get(server.url("/")).send().await.unwrap();
        assert_eq!(body.text().await.unwrap(), "hello");
    }
    // One dial, poisoned, and still reused twice: the pool never saw it.
    assert_eq!(poisoned.load(Ordering::SeqCst), 1);
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(server.requests_served(), 3);
}
