//! What an [`crate::OtelTrace`] was configured with: where spans, metrics
//! and propagation go, phase spans, recorded headers, redaction. Shared by
//! every request's state.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::Meter;
use opentelemetry::propagation::TextMapPropagator;

use crate::attrs::HeaderPolicy;
use crate::metrics::{Instruments, OptIns};

#[derive(Clone)]
pub(crate) enum TracerSource {
    Global,
    Fixed(Arc<BoxedTracer>),
}

#[derive(Clone)]
pub(crate) enum MeterSource {
    Global,
    Fixed(Meter),
    Off,
}

#[derive(Clone)]
pub(crate) enum Propagation {
    Global,
    Fixed(Arc<dyn TextMapPropagator + Send + Sync>),
    Off,
}

#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) tracer: TracerSource,
    pub(crate) meter: MeterSource,
    pub(crate) instruments: Arc<OnceLock<Option<Instruments>>>,
    /// The global provider's tracer, taken at the first traced request (as
    /// the instruments are) rather than made anew for every request.
    pub(crate) global_tracer: Arc<OnceLock<Arc<BoxedTracer>>>,
    pub(crate) propagation: Propagation,
    pub(crate) phase_spans: bool,
    /// Each hook a span event (the default); off: only the phase durations
    /// the hop span always carries.
    pub(crate) hook_events: bool,
    pub(crate) record_headers: Vec<String>,
    pub(crate) record_response_headers: Vec<String>,
    pub(crate) sensitive_headers: Vec<String>,
    pub(crate) headers: HeaderPolicy,
    pub(crate) response_headers: HeaderPolicy,
    pub(crate) extra_redacted_params: Vec<String>,
    pub(crate) redacted_params: HashSet<String>,
    pub(crate) opt_ins: OptIns,
    /// Known routes of the upstreams (`/users/{id}`), naming the hops whose
    /// path matches one.
    pub(crate) url_templates: Arc<[String]>,
}

impl Settings {
    /// The recorded-header policies from the lists, redacting URL-valued
    /// headers with the same parameters as `url.full`.
    pub(crate) fn rebuild_header_policies(&mut self) {
        self.headers = HeaderPolicy::new(&self.record_headers, &self.sensitive_headers)
            .with_redacted_params(self.redacted_params.clone());
        self.response_headers =
            HeaderPolicy::new(&self.record_response_headers, &self.sensitive_headers)
                .with_redacted_params(self.redacted_params.clone());
    }
}

/// The first of `templates` that `path` matches, segment by segment (a
/// `{name}` segment matches any one non-empty segment).
pub(crate) fn match_template<'t>(templates: &'t [String], path: &str) -> Option<&'t str> {
    templates
        .iter()
        .find(|t| {
            let mut want = t.split('/');
            let mut got = path.split('/');
            loop {
                match (want.next(), got.next()) {
                    (None, None) => return true,
                    (Some(w), Some(g))
                        if w == g || (w.starts_with('{') && w.ends_with('}') && !g.is_empty()) => {}
                    _ => return false,
                }
            }
        })
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::match_template;

    #[test]
    fn templates_match_segment_by_segment() {
        let t: Vec<String> = ["/", "/gettime", "/users/{id}", "/users/{id}/orders"]
            .map(String::from)
            .to_vec();
        assert_eq!(match_template(&t, "/"), Some("/"));
        assert_eq!(match_template(&t, "/gettime"), Some("/gettime"));
        assert_eq!(match_template(&t, "/users/42"), Some("/users/{id}"));
        assert_eq!(
            match_template(&t, "/users/42/orders"),
            Some("/users/{id}/orders")
        );
        assert_eq!(
            match_template(&t, "/users/"),
            None,
            "an empty segment is no id"
        );
        assert_eq!(match_template(&t, "/users/42/x"), None);
        assert_eq!(match_template(&t, "/other"), None);
    }
}
