//! Proxies: which one a request goes through, greeting an `https://` one,
//! and the `CONNECT` tunnel through it.

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};

use super::dial::{bare_host, within};
use super::io::Stream;
use crate::transport::errors::{BoxError, ProxyError};

/// Which proxy a request goes through, and how to greet an `https://` one.
#[derive(Clone)]
pub(crate) struct Proxies {
    pub(crate) matcher: Arc<Matcher>,
    /// The same trust as the origin's, HTTP/1.1 only.
    pub(crate) tls: tokio_rustls::TlsConnector,
}

/// The proxy's host and port, and for an `https://` proxy the TLS connector
/// to greet it with. The message of an unsupported scheme names the proxy
/// without its credentials.
pub(super) fn proxy_endpoint<'a>(
    proxy: &Uri,
    tls: &'a tokio_rustls::TlsConnector,
) -> Result<(String, u16, Option<&'a tokio_rustls::TlsConnector>), BoxError> {
    let host = bare_host(proxy).ok_or("proxy URL has no host")?;
    match proxy.scheme_str() {
        Some("http") => Ok((host, proxy.port_u16().unwrap_or(80), None)),
        Some("https") => Ok((host, proxy.port_u16().unwrap_or(443), Some(tls))),
        other => Err(format!(
            "proxy {}://{host}: only http:// and https:// proxies are supported by the hyper transport",
            other.unwrap_or("")
        )
        .into()),
    }
}

/// Opens an HTTP `CONNECT` tunnel to `origin` through the proxy connection
/// `tcp`. Written here rather than with hyper-util's `Tunnel` because its
/// error type is not public and drops the proxy's status, which is what a
/// user debugging a proxy needs to see.
pub(super) async fn tunnel(
    mut tcp: Box<dyn Stream>,
    proxy: &Intercept,
    origin: &Uri,
    limit: Option<Duration>,
) -> Result<Box<dyn Stream>, BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = origin.host().ok_or("URL has no host")?;
    let port = origin.port_u16().unwrap_or(443);
    let mut head = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some(auth) = proxy.basic_auth().and_then(|v| v.to_str().ok()) {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        tcp.write_all(head.as_bytes()).await?;
        let mut buf = Vec::with_capacity(512);
        let mut chunk = [0u8; 512];
        loop {
            let n = tcp.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "proxy closed the connection before answering CONNECT",
                )
                .into());
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let code = response.code.unwrap_or_default();
                    let reason = response.reason.unwrap_or_default().to_string();
                    return match (code, len == buf.len()) {
                        (200..=299, true) => Ok(()),
                        (200..=299, false) => Err(ProxyError(
                            "proxy sent data after its CONNECT response".into(),
                        )
                        .into()),
                        _ => Err(ProxyError(format!(
                            "proxy refused CONNECT {host}:{port}: {code} {reason}"
                        ))
                        .into()),
                    };
                }
                Ok(httparse::Status::Partial) if buf.len() < 16 * 1024 => {}
                Ok(httparse::Status::Partial) => {
                    return Err(ProxyError("proxy's CONNECT response head too long".into()).into());
                }
                Err(e) => {
                    return Err(ProxyError(format!("proxy's CONNECT response: {e}")).into());
                }
            }
        }
    };
    within::<(), BoxError>(limit, "proxy did not answer CONNECT in time", exchange).await?;
    Ok(tcp)
}
