//! What the standard `OTEL_*` variables ask of [`Setup`]: exporters on or
//! off, the protocol per signal, the propagators, the resource.

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::BaggagePropagator;

use super::{Protocol, Setup};

impl Setup {
    pub(super) fn var(&self, key: &str) -> Option<String> {
        (self.env)(key).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn sdk_disabled(&self) -> bool {
        self.var("OTEL_SDK_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// Whether an `OTEL_*_EXPORTER` list asks for OTLP: `none` alone turns
    /// the signal off; unknown exporters are reported and OTLP is used.
    pub(super) fn exporter_enabled(&self, key: &str, notes: &mut Vec<String>) -> bool {
        let Some(v) = self.var(key) else { return true };
        let items: Vec<String> = v
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        if items.iter().all(|s| s == "none") {
            return false;
        }
        for other in items.iter().filter(|s| *s != "otlp" && *s != "none") {
            notes.push(format!(
                "{key}: exporter `{other}` is not supported here; using otlp"
            ));
        }
        true
    }

    /// The transport for a signal: programmatic, else
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`, else
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`.
    pub fn resolved_protocol(&self, signal: &str) -> Protocol {
        self.resolve_protocol(signal, &mut Vec::new())
    }

    pub(super) fn resolve_protocol(&self, signal: &str, notes: &mut Vec<String>) -> Protocol {
        if let Some(p) = self.protocol {
            return p;
        }
        let specific = format!(
            "OTEL_EXPORTER_OTLP_{}_PROTOCOL",
            signal.to_ascii_uppercase()
        );
        for key in [specific.as_str(), "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let Some(v) = self.var(key) {
                match Protocol::parse(&v) {
                    Some(p) => return p,
                    None => notes.push(format!(
                        "{key}={v} is not supported (grpc, http/protobuf); using http/protobuf"
                    )),
                }
                break;
            }
        }
        Protocol::HttpProtobuf
    }

    /// The propagator `OTEL_PROPAGATORS` asks for (default `tracecontext,baggage`).
    pub(super) fn propagator(&self, notes: &mut Vec<String>) -> TextMapCompositePropagator {
        let list = self
            .var("OTEL_PROPAGATORS")
            .unwrap_or_else(|| "tracecontext,baggage".into());
        let mut props: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
        for name in list.split(',').map(|s| s.trim().to_ascii_lowercase()) {
            match name.as_str() {
                "tracecontext" => props.push(Box::new(crate::propagation::TraceContext::new())),
                "baggage" => props.push(Box::new(BaggagePropagator::new())),
                "none" | "" => {}
                other => notes.push(format!(
                    "OTEL_PROPAGATORS: `{other}` is not supported here; skipped"
                )),
            }
        }
        TextMapCompositePropagator::new(props)
    }

    pub(super) fn resource(&self) -> Resource {
        let env_names_service = self.var("OTEL_SERVICE_NAME").is_some()
            || self.var("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|attrs| {
                attrs.split(',').any(|kv| {
                    kv.split('=')
                        .next()
                        .is_some_and(|k| k.trim() == "service.name")
                })
            });
        let builder = Resource::builder();
        match &self.service_name {
            Some(name) if !env_names_service => builder.with_service_name(name.clone()).build(),
            _ => builder.build(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Setup {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Setup::with_env(move |k| map.get(k).cloned())
    }

    #[test]
    fn protocol_precedence() {
        assert_eq!(env(&[]).resolved_protocol("traces"), Protocol::HttpProtobuf);
        assert_eq!(
            env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).resolved_protocol("traces"),
            Protocol::Grpc
        );
        let s = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ]);
        assert_eq!(s.resolved_protocol("traces"), Protocol::HttpProtobuf);
        assert_eq!(s.resolved_protocol("metrics"), Protocol::Grpc);
        assert_eq!(
            s.clone()
                .protocol(Protocol::Grpc)
                .resolved_protocol("traces"),
            Protocol::Grpc
        );
        let mut notes = Vec::new();
        let json = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
        assert_eq!(
            json.resolve_protocol("traces", &mut notes),
            Protocol::HttpProtobuf
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn exporters_and_sdk_switches() {
        let mut notes = Vec::new();
        assert!(env(&[]).exporter_enabled("OTEL_TRACES_EXPORTER", &mut notes));
        assert!(
            !env(&[("OTEL_TRACES_EXPORTER", "none")])
                .exporter_enabled("OTEL_TRACES_EXPORTER", &mut notes)
        );
        assert!(
            env(&[("OTEL_TRACES_EXPORTER", "otlp,zipkin")])
                .exporter_enabled("OTEL_TRACES_EXPORTER", &mut notes)
        );
        assert_eq!(notes.len(), 1);
        let g = env(&[("OTEL_SDK_DISABLED", "true")]).build().unwrap();
        assert!(g.tracer_provider().is_none() && g.meter_provider().is_none());
        let g = env(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ])
        .build()
        .unwrap();
        assert!(g.tracer_provider().is_none() && g.meter_provider().is_none());
    }

    #[test]
    fn propagators_from_env() {
        let mut notes = Vec::new();
        let fields = |s: Setup, notes: &mut Vec<String>| -> Vec<String> {
            let mut f: Vec<String> = s.propagator(notes).fields().map(String::from).collect();
            f.sort();
            f
        };
        assert_eq!(
            fields(env(&[]), &mut notes),
            ["baggage", "traceparent", "tracestate"]
        );
        assert_eq!(
            fields(env(&[("OTEL_PROPAGATORS", "tracecontext")]), &mut notes),
            ["traceparent", "tracestate"]
        );
        assert!(fields(env(&[("OTEL_PROPAGATORS", "none")]), &mut notes).is_empty());
        assert!(notes.is_empty());
        fields(env(&[("OTEL_PROPAGATORS", "b3,baggage")]), &mut notes);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn service_name_is_a_default_only() {
        let name = |s: Setup| {
            s.resource()
                .get(&opentelemetry::Key::new("service.name"))
                .map(|v| v.to_string())
        };
        // The SDK's own detectors read the real process environment, which
        // this test does not set; the programmatic default applies unless
        // the (fake) environment names the service.
        if std::env::var_os("OTEL_SERVICE_NAME").is_none()
            && std::env::var_os("OTEL_RESOURCE_ATTRIBUTES").is_none()
        {
            assert_eq!(
                name(env(&[]).service_name("checkout")).as_deref(),
                Some("checkout")
            );
        }
        let named = env(&[("OTEL_SERVICE_NAME", "from-env")]).service_name("checkout");
        assert_ne!(name(named).as_deref(), Some("checkout"));
    }
}
