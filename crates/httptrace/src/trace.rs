//! `ClientTrace`: a set of optional hooks, and how traces attach to requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use crate::event::*;
use crate::interest::{EventKind, Interest};

type Hook<T> = Option<Arc<dyn Fn(&T) + Send + Sync>>;

macro_rules! hooks {
    ($( $(#[$doc:meta])* $field:ident, $setter:ident, $variant:ident, $ty:ty; )*) => {
        /// A set of optional hooks called as one HTTP request makes progress:
        /// the Rust counterpart of Go's `httptrace.ClientTrace`.
        ///
        /// Build one with [`ClientTrace::new`] and the `on_*` methods, which take
        /// closures; a hook left unset costs nothing. Attach it to one request
        /// (`RequestBuilder::trace` in the `reqwest` module) or to every request a
        /// future makes ([`ClientTrace::scope`]). Hooks run on the task that drives
        /// the request and must not block.
        ///
        /// Hooks may be called late (see [`Event`]): use each event's `at`.
        #[derive(Clone, Default)]
        pub struct ClientTrace {
            $( $field: Hook<$ty>, )*
            any: Hook<Event>,
            /// Which events `any` wants; `None`: all.
            interest: Option<Interest>,
            request_headers: Option<Arc<dyn Fn(&RoundTripStart, &mut http::HeaderMap) + Send + Sync>>,
        }

        impl ClientTrace {
            $(
                $(#[$doc])*
                pub fn $setter(mut self, hook: impl Fn(&$ty) + Send + Sync + 'static) -> Self {
                    self.$field = Some(Arc::new(hook));
                    self
                }
            )*

            /// Calls the matching hook, then the catch-all hook if its
            /// [`Interest`] takes the event's kind.
            pub fn emit(&self, event: &Event) {
                match event {
                    $( Event::$variant(e) => if let Some(h) = &self.$field { h(e) }, )*
                }
                if let Some(h) = &self.any
                    && self.any_wants(event.kind())
                {
                    h(event)
                }
            }

            /// True when a hook of this trace would receive an event of
            /// `kind`: its own hook is set, or the catch-all hook is and
            /// its interest takes `kind`.
            pub fn wants(&self, kind: EventKind) -> bool {
                let own = match kind {
                    $( EventKind::$variant => self.$field.is_some(), )*
                };
                own || (self.any.is_some() && self.any_wants(kind))
            }
        }

        impl std::fmt::Debug for ClientTrace {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut set = f.debug_set();
                $( if self.$field.is_some() { set.entry(&stringify!($field)); } )*
                if self.any.is_some() { set.entry(&"any"); }
                if let Some(i) = &self.interest { set.entry(i); }
                if self.request_headers.is_some() { set.entry(&"request_headers"); }
                set.finish()
            }
        }
    };
}

hooks! {
    /// Sets the hook called when a round trip (each redirect hop) starts.
    round_trip_start, on_round_trip_start, RoundTripStart, RoundTripStart;
    /// Sets the hook called before a connection is taken or created.
    get_conn, on_get_conn, GetConn, GetConn;
    /// Sets the hook called when a DNS lookup begins.
    dns_start, on_dns_start, DnsStart, DnsStart;
    /// Sets the hook called when a DNS lookup ends.
    dns_done, on_dns_done, DnsDone, DnsDone;
    /// Sets the hook called when a dial begins.
    connect_start, on_connect_start, ConnectStart, ConnectStart;
    /// Sets the hook called when a dial ends.
    connect_done, on_connect_done, ConnectDone, ConnectDone;
    /// Sets the hook called when a TLS handshake begins.
    tls_handshake_start, on_tls_handshake_start, TlsHandshakeStart, TlsHandshakeStart;
    /// Sets the hook called when a TLS handshake ends.
    tls_handshake_done, on_tls_handshake_done, TlsHandshakeDone, TlsHandshakeDone;
    /// Sets the hook called when the round trip has its connection.
    got_conn, on_got_conn, GotConn, GotConn;
    /// Sets the hook called when a connection goes back to the idle pool.
    put_idle_conn, on_put_idle_conn, PutIdleConn, PutIdleConn;
    /// Sets the hook called for each request header field written.
    wrote_header_field, on_wrote_header_field, WroteHeaderField, WroteHeaderField;
    /// Sets the hook called when the request headers are written.
    wrote_headers, on_wrote_headers, WroteHeaders, WroteHeaders;
    /// Sets the hook called when the request starts waiting for `100 Continue`.
    wait_100_continue, on_wait_100_continue, Wait100Continue, Wait100Continue;
    /// Sets the hook called when the whole request is written.
    wrote_request, on_wrote_request, WroteRequest, WroteRequest;
    /// Sets the hook called for each informational (1xx) response.
    got_1xx_response, on_got_1xx_response, Got1xxResponse, Got1xxResponse;
    /// Sets the hook called when the first response byte arrives.
    got_first_response_byte, on_got_first_response_byte, GotFirstResponseByte, GotFirstResponseByte;
    /// Sets the hook called when the response headers arrive or the round trip fails.
    round_trip_done, on_round_trip_done, RoundTripDone, RoundTripDone;
    /// Sets the hook called when the response body ends, fails or is dropped.
    body_done, on_body_done, BodyDone, BodyDone;
}

impl ClientTrace {
    /// A trace with no hooks set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a hook called for every event, after the event's own hook. This is
    /// what adapters (logging, OpenTelemetry) use.
    pub fn on_event(mut self, hook: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.any = Some(Arc::new(hook));
        self
    }

    /// Limits the catch-all hook ([`on_event`](Self::on_event)) to the
    /// kinds of events in `interest`, read as each event happens: the
    /// hook's owner keeps a clone and changes it while the request runs,
    /// and transports skip building events no hook wants. Without one the
    /// catch-all hook receives every event.
    pub fn event_interest(mut self, interest: Interest) -> Self {
        self.interest = Some(interest);
        self
    }

    fn any_wants(&self, kind: EventKind) -> bool {
        self.interest
            .as_ref()
            .is_none_or(|i| i.get().contains(kind))
    }

    /// Sets a hook that may add headers to each round trip's request before it
    /// is sent, right after `round_trip_start`: this is how a tracing adapter
    /// propagates its context (W3C `traceparent`) per hop. It must not remove
    /// or change the caller's headers.
    pub fn on_request_headers(
        mut self,
        hook: impl Fn(&RoundTripStart, &mut http::HeaderMap) + Send + Sync + 'static,
    ) -> Self {
        self.request_headers = Some(Arc::new(hook));
        self
    }

    /// Runs `future` with this trace attached to every request it makes, on
    /// top of the traces already attached by enclosing scopes (this one's
    /// hooks run first), like Go's `httptrace.WithClientTrace`.
    pub fn scope<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            traces: Traces::current().with(self),
            future,
        }
    }
}

/// The traces attached to one request, newest first. Cheap to clone.
///
/// Transports capture this when a request starts and call [`Traces::emit`]
/// for each event, from whichever task the event happens on.
#[derive(Clone, Debug, Default)]
pub struct Traces(Option<Arc<[ClientTrace]>>);

tokio::task_local! {
    static CURRENT: Traces;
}

impl Traces {
    /// No trace attached.
    pub const fn none() -> Self {
        Traces(None)
    }

    /// The traces of the enclosing [`ClientTrace::scope`]s, if any.
    pub fn current() -> Self {
        CURRENT.try_with(Traces::clone).unwrap_or_default()
    }

    /// These traces with `trace` added in front.
    pub fn with(&self, trace: ClientTrace) -> Self {
        // One allocation (an exact-size iterator into `Arc<[_]>`), once
        // per request.
        let old = self.0.as_deref().unwrap_or_default();
        Traces(Some(
            std::iter::once(trace).chain(old.iter().cloned()).collect(),
        ))
    }

    /// How many traces are attached.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |t| t.len())
    }

    /// True when no trace is attached: transports skip all work then.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Delivers `event` to every attached trace, newest first.
    pub fn emit(&self, event: Event) {
        self.emit_ref(&event);
    }

    /// True when an attached trace would receive an event of `kind`
    /// ([`ClientTrace::wants`]): transports ask before building an event
    /// that costs something to build.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.0
            .as_ref()
            .is_some_and(|traces| traces.iter().any(|t| t.wants(kind)))
    }

    /// Builds and delivers an event of `kind` only when an attached trace
    /// wants it ([`Traces::wants`]).
    pub fn emit_with(&self, kind: EventKind, event: impl FnOnce() -> Event) {
        if self.wants(kind) {
            self.emit_ref(&event());
        }
    }

    /// Delivers a round trip's start and hands it back, so the transport
    /// goes on with its URL without a copy of its own.
    #[cfg(feature = "__transport")]
    pub(crate) fn emit_round_trip_start(&self, start: RoundTripStart) -> RoundTripStart {
        let event = Event::RoundTripStart(start);
        self.emit_ref(&event);
        let Event::RoundTripStart(start) = event else {
            unreachable!("built as a round_trip_start above")
        };
        start
    }

    /// [`emit`](Self::emit) for an event the transport keeps using.
    pub(crate) fn emit_ref(&self, event: &Event) {
        if let Some(traces) = &self.0 {
            for trace in traces.iter() {
                trace.emit(event);
            }
        }
    }

    /// Lets every attached trace add headers to a round trip's request
    /// (see [`ClientTrace::on_request_headers`]), newest first.
    pub fn request_headers(&self, start: &RoundTripStart, headers: &mut http::HeaderMap) {
        if let Some(traces) = &self.0 {
            for trace in traces.iter() {
                if let Some(h) = &trace.request_headers {
                    h(start, headers);
                }
            }
        }
    }

    /// Runs `future` with these traces as the current ones, so that code it
    /// calls (resolvers, connectors) sees them through [`Traces::current`],
    /// whichever task ends up polling it.
    pub fn scope<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            traces: self,
            future,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future with traces attached: see [`ClientTrace::scope`].
    pub struct Scoped<F> {
        traces: Traces,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // sync_scope sets the task-local for this poll only, so the traces
        // follow the future even when it moves between tasks.
        CURRENT.sync_scope(this.traces.clone(), || this.future.poll(cx))
    }
}

/// Converts an event's `at` to wall-clock time, for exporters that need
/// timestamps. Uses one anchor pair taken the first time it is called, so
/// ordering and differences between converted instants are exact.
pub fn system_time(at: Instant) -> SystemTime {
    static ANCHOR: OnceLock<(Instant, SystemTime)> = OnceLock::new();
    let (i0, s0) = *ANCHOR.get_or_init(|| (Instant::now(), SystemTime::now()));
    if at >= i0 {
        s0 + (at - i0)
    } else {
        s0 - (i0 - at)
    }
}

/// What a [`MakeTrace`] knows about a request when it makes its trace.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestInfo<'a> {
    /// The request method.
    pub method: &'a http::Method,
    /// The request URL (it may hold credentials).
    pub url: &'a url::Url,
    /// The request headers as the caller set them.
    pub headers: &'a http::HeaderMap,
    /// The low-cardinality template of the URL's path, when the caller gave
    /// one ([`UrlTemplate`]).
    pub url_template: Option<&'a str>,
}

impl<'a> RequestInfo<'a> {
    /// Describes a request.
    pub fn new(method: &'a http::Method, url: &'a url::Url, headers: &'a http::HeaderMap) -> Self {
        Self {
            method,
            url,
            headers,
            url_template: None,
        }
    }

    /// The same request with the caller's URL template.
    pub fn with_url_template(mut self, template: Option<&'a str>) -> Self {
        self.url_template = template;
        self
    }
}

/// The low-cardinality template of a request's path (`/users/{id}`), given
/// by the caller, who knows it: put it in the request's extensions (the
/// `http::Request` of the hyper-util transport, the `Extensions` of a
/// reqwest-middleware stack) or use `RequestBuilder::url_template` of the
/// traced reqwest client. Adapters use it to name spans
/// (`{method} {url.template}`, as the OpenTelemetry conventions allow).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate(pub std::borrow::Cow<'static, str>);

impl UrlTemplate {
    /// A template, e.g. `UrlTemplate::new("/users/{id}")`.
    pub fn new(template: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        UrlTemplate(template.into())
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Makes a fresh [`ClientTrace`] for each request a client sends, like
/// tower-http's `MakeSpan`: the way to give every request its own state (an
/// adapter's span, a timer). Closures `Fn(&RequestInfo) -> Option<ClientTrace>`
/// implement it; returning `None` leaves that request untraced.
pub trait MakeTrace: Send + Sync + 'static {
    /// The trace for one request, or `None`.
    fn make_trace(&self, request: &RequestInfo<'_>) -> Option<ClientTrace>;

    /// A connection of the client opened, changed state or closed (only from
    /// transports that can see it: see [`ConnectionEvent`]). Does nothing
    /// unless overridden; adapters count open connections and their lifetime
    /// here.
    fn on_connection(&self, event: &ConnectionEvent) {
        let _ = event;
    }
}

impl<F> MakeTrace for F
where
    F: Fn(&RequestInfo<'_>) -> Option<ClientTrace> + Send + Sync + 'static,
{
    fn make_trace(&self, request: &RequestInfo<'_>) -> Option<ClientTrace> {
        self(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn dns_start() -> Event {
        Event::DnsStart(DnsStart {
            at: Instant::now(),
            host: "example.test".into(),
        })
    }

    #[test]
    fn specific_hook_runs_before_catch_all() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (a, b) = (log.clone(), log.clone());
        let trace = ClientTrace::new()
            .on_event(move |e| a.lock().unwrap().push(format!("any:{}", e.name())))
            .on_dns_start(move |e| b.lock().unwrap().push(format!("dns:{}", e.host)));
        trace.emit(&dns_start());
        trace.emit(&Event::GetConn(GetConn {
            at: Instant::now(),
            host_port: "x:1".into(),
        }));
        assert_eq!(
            *log.lock().unwrap(),
            ["dns:example.test", "any:dns_start", "any:get_conn"]
        );
    }

    #[test]
    fn interest_narrows_the_catch_all_hook_only() {
        use crate::{EventKinds, Interest};
        let log = Arc::new(Mutex::new(Vec::new()));
        let (a, b) = (log.clone(), log.clone());
        let interest = Interest::new(EventKinds::of(&[EventKind::GetConn]));
        let traces = Traces::none().with(
            ClientTrace::new()
                .on_event(move |e| a.lock().unwrap().push(format!("any:{}", e.name())))
                .on_dns_start(move |_| b.lock().unwrap().push("dns".to_string()))
                .event_interest(interest.clone()),
        );
        assert!(traces.wants(EventKind::DnsStart), "its own hook is set");
        assert!(traces.wants(EventKind::GetConn));
        assert!(!traces.wants(EventKind::BodyDone));
        traces.emit(dns_start());
        let built = std::cell::Cell::new(false);
        traces.emit_with(EventKind::BodyDone, || {
            built.set(true);
            dns_start()
        });
        assert!(!built.get(), "an event no hook wants is not built");
        interest.set(EventKinds::ALL);
        traces.emit(dns_start());
        assert_eq!(*log.lock().unwrap(), ["dns", "dns", "any:dns_start"]);
        assert!(!Traces::none().wants(EventKind::RoundTripStart));
    }

    #[tokio::test]
    async fn scopes_nest_newest_first_and_end_with_the_future() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let tag = |name: &'static str| {
            let log = log.clone();
            ClientTrace::new().on_dns_start(move |_| log.lock().unwrap().push(name))
        };
        assert!(Traces::current().is_empty());
        let (outer, inner) = (tag("outer"), tag("inner"));
        outer
            .scope(async move {
                inner
                    .scope(async {
                        assert_eq!(Traces::current().len(), 2);
                        Traces::current().emit(dns_start());
                    })
                    .await;
                assert_eq!(Traces::current().len(), 1);
            })
            .await;
        assert!(Traces::current().is_empty());
        assert_eq!(*log.lock().unwrap(), ["inner", "outer"]);
    }

    #[test]
    fn empty_traces_cost_nothing_and_ignore_events() {
        let traces = Traces::none();
        assert!(traces.is_empty());
        traces.emit(dns_start());
        let mut headers = http::HeaderMap::new();
        let start = RoundTripStart {
            at: Instant::now(),
            method: http::Method::GET,
            url: url::Url::parse("http://x/").unwrap(),
            resend_count: 0,
        };
        traces.request_headers(&start, &mut headers);
        assert!(headers.is_empty());
    }

    #[test]
    fn request_headers_hook_adds_headers() {
        let trace = ClientTrace::new().on_request_headers(|start, headers| {
            headers.insert("x-hop", start.resend_count.to_string().parse().unwrap());
        });
        let traces = Traces::none().with(trace);
        let mut headers = http::HeaderMap::new();
        let start = RoundTripStart {
            at: Instant::now(),
            method: http::Method::GET,
            url: url::Url::parse("http://x/").unwrap(),
            resend_count: 2,
        };
        traces.request_headers(&start, &mut headers);
        assert_eq!(headers["x-hop"], "2");
    }

    #[test]
    fn system_time_preserves_order_and_differences() {
        let a = Instant::now();
        let b = a + std::time::Duration::from_millis(250);
        let (sa, sb) = (system_time(a), system_time(b));
        assert_eq!(
            sb.duration_since(sa).unwrap(),
            std::time::Duration::from_millis(250)
        );
        let earlier = system_time(a - std::time::Duration::from_millis(5));
        assert!(earlier < sa);
    }
}
