//! What a `reqwest::ClientBuilder` says of its own settings, read from its
//! `Debug` form, the only place reqwest shows them.
//!
//! `Debug` is not an API, so every read is guarded: once per process,
//! [`check_format`] formats a probe builder whose settings are known and a
//! default one, and parses both back. If what comes back is not what was
//! set (a reqwest release changed the format), instrumenting fails with a
//! clear error at start-up instead of silently misreading a setting, which
//! could weaken a client (a dropped `tls_version_min`, say).
//!
//! Read, and why: `timeout` (the traced [`Client`](super::Client) follows
//! redirects itself and bounds the whole chain by it), `redirect_policy`
//! (set or not), and, only when [`Config`](super::Config) takes over TLS,
//! the TLS settings it must carry over or refuse (`tls_version_min` / `_max`,
//! `tls_danger_accept_invalid_certs` / `_hostnames`, `tls_sni`,
//! `tls_backend`, `http1_only`), and `referer` (the traced client sets it on
//! the redirects it follows, as reqwest would).

use std::sync::OnceLock;
use std::time::Duration;

use super::Error;

/// The reqwest release whose `Debug` format this reader was written for.
const KNOWN_FORMAT: &str = "reqwest 0.13.5";

/// A TLS version as the builder's Debug form names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// The settings of a reqwest builder this crate needs to know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct BuilderSettings {
    pub(super) timeout: Option<Duration>,
    pub(super) redirect_policy: bool,
    pub(super) tls_version_min: Option<TlsVersion>,
    pub(super) tls_version_max: Option<TlsVersion>,
    pub(super) accept_invalid_certs: bool,
    pub(super) accept_invalid_hostnames: bool,
    pub(super) no_sni: bool,
    /// A TLS backend handed over whole (`tls_backend_preconfigured`,
    /// `use_preconfigured_tls`).
    pub(super) preconfigured_tls: bool,
    pub(super) http1_only: bool,
    /// `referer(false)`: no `Referer` on redirects.
    pub(super) no_referer: bool,
}

impl BuilderSettings {
    /// Reads `builder`'s settings, after checking (once per process) that
    /// its Debug format is the one this reader knows.
    pub(super) fn read(builder: &reqwest::ClientBuilder) -> Result<Self, Error> {
        check_format()?;
        Ok(Self::parse(&format!("{builder:?}")))
    }

    fn parse(debug: &str) -> Self {
        // The default headers' values could pass for a setting: fields are
        // looked for before or after them, by where reqwest writes them.
        let (before, after) = around_default_headers(debug);
        let field = |name: &str| {
            let key = format!(", {name}: ");
            let text = match name {
                "redirect_policy" | "referer" => before,
                _ => after,
            };
            let at = text.find(&key)? + key.len();
            let rest = &text[at..];
            Some(rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim())
        };
        let is_true = |name: &str| field(name) == Some("true");
        let version = |name: &str| {
            field(name).and_then(|v| match v.trim_end_matches(')') {
                v if v.ends_with("Tls1_0") => Some(TlsVersion::Tls10),
                v if v.ends_with("Tls1_1") => Some(TlsVersion::Tls11),
                v if v.ends_with("Tls1_2") => Some(TlsVersion::Tls12),
                v if v.ends_with("Tls1_3") => Some(TlsVersion::Tls13),
                _ => None,
            })
        };
        BuilderSettings {
            timeout: field("timeout").and_then(parse_duration_debug),
            redirect_policy: field("redirect_policy").is_some(),
            tls_version_min: version("tls_version_min"),
            tls_version_max: version("tls_version_max"),
            accept_invalid_certs: is_true("tls_danger_accept_invalid_certs"),
            accept_invalid_hostnames: is_true("tls_danger_accept_invalid_hostnames"),
            no_sni: field("tls_sni") == Some("false"),
            preconfigured_tls: field("tls_backend")
                .is_some_and(|b| b == "BuiltRustls" || b.contains("Preconfigured")),
            http1_only: is_true("http1_only"),
            no_referer: !is_true("referer"),
        }
    }
}

/// The Debug form before the `default_headers` field and after its value
/// (a map whose quoted values may hold any text).
fn around_default_headers(debug: &str) -> (&str, &str) {
    const KEY: &str = ", default_headers: ";
    let Some(start) = debug.find(KEY) else {
        return (debug, "");
    };
    let value = &debug[start + KEY.len()..];
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (&debug[..start], &value[i + 1..]);
                }
            }
            _ => {}
        }
    }
    (&debug[..start], "")
}

/// Checks, once per process, that reqwest's builder Debug form is the one
/// [`BuilderSettings::parse`] was written for: a probe with every read
/// setting changed, and a default builder, must read back as set.
pub(super) fn check_format() -> Result<(), Error> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let (probe, expected) = probe();
            let read = BuilderSettings::parse(&format!("{probe:?}"));
            let default = BuilderSettings::parse(&format!("{:?}", reqwest::Client::builder()));
            if read == expected && default == BuilderSettings::default() {
                Ok(())
            } else {
                Err(format!(
                    "the reqwest in this build formats ClientBuilder's settings differently \
                     from {KNOWN_FORMAT}, which httptrace reads them from (reqwest shows them \
                     nowhere else); read {read:?} from a builder set to {expected:?}. \
                     Pin reqwest to a release httptrace supports, or update httptrace"
                ))
            }
        })
        .clone()
        .map_err(Error::config)
}

/// A builder with every setting [`BuilderSettings`] reads changed from its
/// default, and what it must read back as.
fn probe() -> (reqwest::ClientBuilder, BuilderSettings) {
    use reqwest::tls::Version;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .redirect(reqwest::redirect::Policy::limited(3))
        .tls_version_min(Version::TLS_1_1)
        .tls_version_max(Version::TLS_1_2)
        .tls_danger_accept_invalid_certs(true)
        .tls_danger_accept_invalid_hostnames(true)
        .tls_sni(false)
        .http1_only()
        .referer(false)
        .default_headers(tricky_headers());
    let preconfigured_tls = tls.is_ok();
    if let Ok(tls) = tls {
        builder = builder.tls_backend_preconfigured(tls);
    }
    let expected = BuilderSettings {
        timeout: Some(Duration::from_millis(1500)),
        redirect_policy: true,
        tls_version_min: Some(TlsVersion::Tls11),
        tls_version_max: Some(TlsVersion::Tls12),
        accept_invalid_certs: true,
        accept_invalid_hostnames: true,
        no_sni: true,
        preconfigured_tls,
        http1_only: true,
        no_referer: true,
    };
    (builder, expected)
}

/// A default header whose value reads like settings (and a `}`).
fn tricky_headers() -> reqwest::header::HeaderMap {
    [(
        reqwest::header::HeaderName::from_static("x-note"),
        reqwest::header::HeaderValue::from_static(
            "\"}, tls_sni: true, timeout: 1s, redirect_policy: x, tls_backend: BuiltRustls",
        ),
    )]
    .into_iter()
    .collect()
}

/// Parses a `Duration`'s Debug form: `300ms`, `1.5s`, `10µs`.
fn parse_duration_debug(text: &str) -> Option<Duration> {
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let value: f64 = text[..number_len].parse().ok()?;
    let seconds = match &text[number_len..] {
        "ms" => value / 1e3,
        "µs" => value / 1e6,
        "ns" => value / 1e9,
        "s" => value,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::tls::Version;

    fn read(builder: reqwest::ClientBuilder) -> BuilderSettings {
        BuilderSettings::read(&builder).expect("known format")
    }

    #[test]
    fn the_debug_format_of_this_reqwest_is_the_known_one() {
        check_format().unwrap();
        let (probe, expected) = probe();
        assert!(expected.preconfigured_tls, "the probe sets every field");
        assert_eq!(read(probe), expected);
    }

    #[test]
    fn a_changed_format_is_refused_not_misread() {
        // What check_format compares: a format that lost a field reads as
        // the default, which differs from what the probe set.
        let (probe, expected) = probe();
        let renamed = format!("{probe:?}").replace("tls_version_min", "min_tls_version");
        assert_ne!(BuilderSettings::parse(&renamed), expected);
        let reformatted = format!("{probe:?}").replace("1.5s", "1500 milliseconds");
        assert_ne!(BuilderSettings::parse(&reformatted), expected);
    }

    #[test]
    fn every_read_field_is_pinned() {
        let builder = reqwest::Client::builder;
        assert_eq!(read(builder()), BuilderSettings::default());
        let t = read(builder().connect_timeout(Duration::from_secs(7)));
        assert_eq!(t.timeout, None, "connect_timeout is not the total timeout");
        let t = read(
            builder()
                .connect_timeout(Duration::from_secs(7))
                .timeout(Duration::from_millis(300)),
        );
        assert_eq!(t.timeout, Some(Duration::from_millis(300)));
        assert_eq!(
            read(builder().timeout(Duration::from_micros(250))).timeout,
            Some(Duration::from_micros(250))
        );
        assert!(read(builder().redirect(reqwest::redirect::Policy::none())).redirect_policy);
        for (version, read_as) in [
            (Version::TLS_1_0, TlsVersion::Tls10),
            (Version::TLS_1_1, TlsVersion::Tls11),
            (Version::TLS_1_2, TlsVersion::Tls12),
            (Version::TLS_1_3, TlsVersion::Tls13),
        ] {
            assert_eq!(
                read(builder().tls_version_min(version)).tls_version_min,
                Some(read_as)
            );
            assert_eq!(
                read(builder().tls_version_max(version)).tls_version_max,
                Some(read_as)
            );
        }
        assert!(read(builder().tls_danger_accept_invalid_certs(true)).accept_invalid_certs);
        assert!(read(builder().tls_danger_accept_invalid_hostnames(true)).accept_invalid_hostnames);
        assert!(read(builder().tls_sni(false)).no_sni);
        assert!(read(builder().http1_only()).http1_only);
        assert!(read(builder().referer(false)).no_referer);
        assert!(read(builder().tls_backend_preconfigured(0u8)).preconfigured_tls);
        // A default header's value cannot pass for a setting.
        assert_eq!(
            read(builder().default_headers(tricky_headers())),
            BuilderSettings::default()
        );
    }
}
