//! The in-process OTLP receiver (gRPC and HTTP/protobuf): decodes and counts
//! every span, event, attribute and byte it is sent.

use super::*;

/// The OTLP transport both OpenTelemetry variants export over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// OTLP/gRPC (tonic on both ends).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`POST /v1/traces`, `/v1/metrics`).
    Http,
}

impl Protocol {
    pub(crate) fn parse(s: &str) -> Protocol {
        match s {
            "grpc" => Protocol::Grpc,
            "http" | "http/protobuf" => Protocol::Http,
            other => panic!("unknown protocol {other} (grpc, http)"),
        }
    }

    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` spelling.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http/protobuf",
        }
    }
}

#[derive(Default)]
pub(crate) struct Received {
    pub(crate) spans: AtomicU64,
    /// Span events, in all spans.
    pub(crate) events: AtomicU64,
    /// Attributes of spans and of their events.
    pub(crate) attributes: AtomicU64,
    /// Encoded size of the export requests (protobuf, uncompressed).
    pub(crate) bytes: AtomicU64,
    pub(crate) trace_exports: AtomicU64,
    pub(crate) metric_exports: AtomicU64,
}

impl Received {
    /// Counts one decoded trace export, whichever transport brought it.
    pub(crate) fn count_traces(&self, request: &ExportTraceServiceRequest) {
        let spans = || {
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
        };
        let events: usize = spans().map(|s| s.events.len()).sum();
        let attributes: usize = spans()
            .map(|s| {
                s.attributes.len() + s.events.iter().map(|e| e.attributes.len()).sum::<usize>()
            })
            .sum();
        self.events.fetch_add(events as u64, Ordering::Relaxed);
        self.attributes
            .fetch_add(attributes as u64, Ordering::Relaxed);
        self.bytes.fetch_add(
            prost::Message::encoded_len(request) as u64,
            Ordering::Relaxed,
        );
        self.spans
            .fetch_add(spans().count() as u64, Ordering::Relaxed);
        self.trace_exports.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one decoded metric export, whichever transport brought it.
    pub(crate) fn count_metrics(&self, _request: &ExportMetricsServiceRequest) {
        self.metric_exports.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub(crate) struct Receiver(pub(crate) Arc<Received>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.count_traces(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.count_metrics(request.get_ref());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// A reply of the OTLP/HTTP receiver.
pub(crate) fn http_reply(
    status: hyper::StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

/// One OTLP/HTTP request: `POST /v1/traces` or `POST /v1/metrics` with a
/// protobuf body, decoded and counted like the gRPC path; the reply is the
/// encoded (empty) export response. Neither exporter compresses by default,
/// so a compressed body is refused (415), not guessed at: its spans would
/// then be missing and the row marked INVALID.
pub(crate) async fn otlp_http(
    received: &Received,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    use http_body_util::BodyExt as _;
    use prost::Message as _;
    const PROTOBUF: &str = "application/x-protobuf";
    const TEXT: &str = "text/plain";
    let bad = |status, text: String| http_reply(status, TEXT, text.into_bytes());
    let signal = match request.uri().path() {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        other => {
            return bad(
                hyper::StatusCode::NOT_FOUND,
                format!("no OTLP path {other}"),
            );
        }
    };
    if request.method() != hyper::Method::POST {
        return bad(
            hyper::StatusCode::METHOD_NOT_ALLOWED,
            "OTLP/HTTP takes POST".into(),
        );
    }
    if let Some(encoding) = request
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .filter(|e| e.as_bytes() != b"identity")
    {
        return bad(
            hyper::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content-encoding {encoding:?} is not supported by the bench receiver"),
        );
    }
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return bad(hyper::StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let reply = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(|request| {
            received.count_traces(&request);
            ExportTraceServiceResponse {
                partial_success: None,
            }
            .encode_to_vec()
        }),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(|request| {
            received.count_metrics(&request);
            ExportMetricsServiceResponse {
                partial_success: None,
            }
            .encode_to_vec()
        }),
    };
    match reply {
        Ok(encoded) => http_reply(hyper::StatusCode::OK, PROTOBUF, encoded),
        Err(e) => bad(hyper::StatusCode::BAD_REQUEST, format!("protobuf: {e}")),
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

/// Where the receiver listens: one port per transport, on 127.0.0.1.
pub(crate) struct ReceiverAddrs {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
}

/// Starts the receiver on its own thread: the gRPC server and the OTLP/HTTP
/// server (hyper, HTTP/1.1, keep-alive) on one current-thread runtime, so
/// both are measured by the same thread CPU clock, scheduled at `priority`
/// against the server it shares core 1 with (see `main.rs`). Returns their
/// addresses, the counters, that clock and whether the priority was granted.
pub(crate) fn start_receiver(
    priority: Priority,
) -> (ReceiverAddrs, Arc<Received>, libc::clockid_t, bool) {
    let (tx, rx) = std::sync::mpsc::channel();
    let received = Arc::new(Received::default());
    let counts = received.clone();
    std::thread::Builder::new()
        .name("bench-receiver".into())
        .spawn(move || {
            ROLE.with(|r| r.set(ROLE_RECEIVER));
            pin_to(1);
            let granted = priority.apply();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addrs = ReceiverAddrs {
                    grpc: grpc.local_addr().unwrap(),
                    http: http.local_addr().unwrap(),
                };
                tx.send((addrs, this_thread_cpu_clock(), granted)).unwrap();
                let http_counts = counts.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok((tcp, _)) = http.accept().await else {
                            continue;
                        };
                        tcp.set_nodelay(true).ok();
                        let counts = http_counts.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |request| {
                                let counts = counts.clone();
                                async move { Ok::<_, Infallible>(otlp_http(&counts, request).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(tcp), service)
                                .await;
                        });
                    }
                });
                let receiver = Receiver(counts);
                tonic::transport::Server::builder()
                    .add_service(
                        TraceServiceServer::new(receiver.clone())
                            .max_decoding_message_size(64 << 20),
                    )
                    .add_service(
                        MetricsServiceServer::new(receiver).max_decoding_message_size(64 << 20),
                    )
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc))
                    .await
                    .unwrap();
            });
        })
        .unwrap();
    let (addrs, clock, granted) = rx.recv().unwrap();
    (addrs, received, clock, granted)
}
