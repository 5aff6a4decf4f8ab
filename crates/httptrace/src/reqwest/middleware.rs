//! The reqwest-middleware layer: every `next.run` is reported as round
//! trips, so a retry middleware outside it makes one round trip per attempt.

use std::sync::Arc;

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use super::Config;
use super::round_trip::{self, SendError};
use crate::event::{ErrorKind, HookError};
use crate::{MakeTrace, RequestInfo, Traces, UrlTemplate};

/// A `reqwest_middleware::Middleware` that reports each request it passes
/// on as round trips: [`Config::make_trace`]'s trace and those of the
/// enclosing [`ClientTrace::scope`](crate::ClientTrace::scope)s see its
/// hooks.
///
/// Place it innermost (last `.with(..)`), so that every attempt of a retry
/// middleware outside it is its own round trip. The attempts and the
/// redirect hops of one logical request count on in
/// `resend_count` (`http.request.resend_count` in the OpenTelemetry
/// adapter: 0 for the first send, then 1, 2, ...), and share one trace, so
/// their spans share one parent. On a client made with
/// [`instrument`](super::ClientBuilderExt::instrument), the DNS, connect and
/// TLS hooks and each redirect hop reqwest follows are reported too; on any
/// other client, a send is one round trip without them.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use httptrace::reqwest::{ClientBuilderExt as _, Config, TraceMiddleware};
///
/// let config = Config::new();
/// let client = reqwest_middleware::ClientBuilder::new(
///     reqwest::Client::builder().instrument(&config)?,
/// )
/// .with(TraceMiddleware::new(&config))
/// .build();
/// let status = client.get("https://example.com/").send().await?.status();
/// # let _ = status;
/// # Ok(())
/// # }
/// ```
///
/// A [`UrlTemplate`] in the request's extensions (put there by a middleware
/// outside, or with `reqwest_middleware::RequestBuilder::with_extension`)
/// reaches [`Config::make_trace`] as [`RequestInfo::url_template`].
///
/// With reqwest-tracing in the same stack: reqwest-tracing makes one span
/// for the whole logical request (retries and redirects included) and
/// propagates that span's context; with the OpenTelemetry adapter this
/// middleware makes one CLIENT span per round trip, propagating each one's.
/// Use one of them for CLIENT spans, not both: if both stay, put
/// reqwest-tracing outside and let its span be the parent (its kind is then
/// the only duplication).
#[derive(Clone, Default)]
pub struct TraceMiddleware {
    make_trace: Option<Arc<dyn MakeTrace>>,
}

impl TraceMiddleware {
    /// A middleware making traces with `config`'s
    /// [`make_trace`](Config::make_trace) (its other settings belong to the
    /// client: [`instrument`](super::ClientBuilderExt::instrument)).
    pub fn new(config: &Config) -> Self {
        TraceMiddleware {
            make_trace: config.make_trace.clone(),
        }
    }
}

impl std::fmt::Debug for TraceMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceMiddleware")
            .field("make_trace", &self.make_trace.is_some())
            .finish()
    }
}

/// One logical request's traces and round trips so far, kept in its
/// extensions across the attempts of a retry middleware.
#[derive(Clone)]
struct LogicalRequest {
    traces: Traces,
    round_trips: u32,
}

impl SendError for reqwest_middleware::Error {
    fn hook_error(&self) -> HookError {
        match self {
            reqwest_middleware::Error::Reqwest(e) => e.hook_error(),
            reqwest_middleware::Error::Middleware(e) => {
                HookError::new(ErrorKind::Other, format!("{e:#}"))
            }
        }
    }

    fn is_redirect(&self) -> bool {
        match self {
            reqwest_middleware::Error::Reqwest(e) => e.is_redirect(),
            reqwest_middleware::Error::Middleware(_) => false,
        }
    }
}

#[async_trait::async_trait]
impl Middleware for TraceMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let logical = match extensions.get::<LogicalRequest>() {
            Some(logical) => logical.clone(),
            None => {
                let mut traces = Traces::current();
                if let Some(make) = &self.make_trace {
                    let template = extensions.get::<UrlTemplate>();
                    let info = RequestInfo::new(request.method(), request.url(), request.headers())
                        .with_url_template(template.map(UrlTemplate::as_str));
                    if let Some(trace) = make.make_trace(&info) {
                        traces = traces.with(trace);
                    }
                }
                LogicalRequest {
                    traces,
                    round_trips: 0,
                }
            }
        };
        let (result, made) = round_trip::send(
            request,
            &logical.traces,
            logical.round_trips,
            |_| None,
            |r| next.run(r, extensions),
        )
        .await;
        extensions.insert(LogicalRequest {
            round_trips: logical.round_trips + made,
            ..logical
        });
        result
    }
}
