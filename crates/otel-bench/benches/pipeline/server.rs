//! The HTTP server every variant sends its GETs to.

use super::*;

/// Starts the server on its own thread; returns its address, its thread's
/// CPU clock and whether it is pinned.
pub(crate) fn start_server() -> (SocketAddr, libc::clockid_t, bool) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            ROLE.with(|r| r.set(ROLE_SERVER));
            let pinned = pin_to(1);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                tx.send((addr, this_thread_cpu_clock(), pinned)).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    tcp.set_nodelay(true).ok();
                    tokio::spawn(async move {
                        let service = service_fn(|_req| async {
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(BODY),
                            )))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    });
                }
            });
        })
        .unwrap();
    rx.recv().unwrap()
}
