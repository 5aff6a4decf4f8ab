//! Credentials never leave the process: URL userinfo is printed as
//! `REDACTED:REDACTED`, in URLs and inside error messages that quote them.

/// The URL with its userinfo (if any) replaced by `REDACTED:REDACTED`.
pub fn url(url: &url::Url) -> String {
    redacted(url).map_or_else(|| url.to_string(), |u| u.to_string())
}

fn redacted(url: &url::Url) -> Option<url::Url> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut out = url.clone();
    // Both only fail for URLs that cannot carry userinfo at all.
    let _ = out.set_username("REDACTED");
    let _ = out.set_password(Some("REDACTED"));
    Some(out)
}

/// `message` with every appearance of these URLs' credentials redacted: the
/// whole URL, and its `user:password@` part wherever it appears alone.
pub fn message<'a>(message: &str, urls: impl IntoIterator<Item = &'a url::Url>) -> String {
    let mut out = message.to_string();
    for u in urls {
        let Some(safe) = redacted(u) else { continue };
        out = out.replace(u.as_str(), safe.as_str());
        let userinfo = match u.password() {
            Some(p) => format!("{}:{}@", u.username(), p),
            None => format!("{}@", u.username()),
        };
        out = out.replace(&userinfo, "REDACTED:REDACTED@");
        // A password on its own (some messages quote it without the user).
        if let Some(p) = u.password().filter(|p| p.len() >= 4) {
            out = out.replace(p, "REDACTED");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted() {
        let u = url::Url::parse("http://alice:s3cret@example.test:8080/p?q=1").unwrap();
        assert_eq!(url(&u), "http://REDACTED:REDACTED@example.test:8080/p?q=1");
        let plain = url::Url::parse("https://example.test/").unwrap();
        assert_eq!(url(&plain), "https://example.test/");
        let user_only = url::Url::parse("http://bob@example.test/").unwrap();
        assert_eq!(url(&user_only), "http://REDACTED:REDACTED@example.test/");
    }

    #[test]
    fn messages_are_redacted() {
        let u = url::Url::parse("http://alice:s3cret@example.test/").unwrap();
        let m = message(
            "error sending request for url (http://alice:s3cret@example.test/): alice:s3cret@ s3cret",
            [&u],
        );
        assert!(!m.contains("s3cret"), "{m}");
        assert!(!m.contains("alice"), "{m}");
        assert!(m.contains("http://REDACTED:REDACTED@example.test/"), "{m}");
    }
}
