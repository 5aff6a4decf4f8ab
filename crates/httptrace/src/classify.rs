//! One error story across transports: [`ErrorKind::of`] classifies any
//! error a transport returns into the [`ErrorKind`] its hooks reported.

use crate::error::{ErrorKind, HookError};
use crate::transport::errors::classify_chain;

impl ErrorKind {
    /// The kind of an error a transport returned, the same kind its hooks
    /// reported for it: the error types stay each transport's own, the
    /// kinds to match on are shared.
    ///
    /// It knows `httptrace::reqwest::Error`, `reqwest::Error` (what a
    /// client made with `instrument` returns), `reqwest_middleware::Error`,
    /// hyper-util's `legacy::Error` (what `httptrace::hyper::Client`
    /// returns), a [`HookError`], and any error whose source chain holds a
    /// DNS, IO, TLS or hyper error. Boxed errors (the hyper builder's) are
    /// passed as `&*error`.
    ///
    /// | what failed | kinds |
    /// |---|---|
    /// | DNS | [`Dns`](ErrorKind::Dns), [`HostNotFound`](ErrorKind::HostNotFound) |
    /// | connect | [`ConnectionRefused`](ErrorKind::ConnectionRefused), [`Connect`](ErrorKind::Connect) (a proxy that refused too) |
    /// | TLS | [`Certificate`](ErrorKind::Certificate), [`Tls`](ErrorKind::Tls) |
    /// | timeout | [`Timeout`](ErrorKind::Timeout) |
    /// | the exchange or the body (reading it failed midway) | [`ConnectionReset`](ErrorKind::ConnectionReset), [`Protocol`](ErrorKind::Protocol) |
    /// | redirect | [`Redirect`](ErrorKind::Redirect) |
    /// | other | [`InvalidRequest`](ErrorKind::InvalidRequest), [`Cancelled`](ErrorKind::Cancelled), [`Other`](ErrorKind::Other) |
    ///
    /// ```
    /// # #[cfg(feature = "reqwest")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use httptrace::ErrorKind;
    /// use httptrace::reqwest::ClientBuilderExt;
    ///
    /// // A port bound and not listening: connects to it are refused.
    /// let reserved = tokio::net::TcpSocket::new_v4()?;
    /// reserved.bind("127.0.0.1:0".parse()?)?;
    /// let port = reserved.local_addr()?.port();
    /// let url = format!("http://127.0.0.1:{port}/");
    /// let client = reqwest::Client::builder().traced()?;
    /// let error = client.get(&url).send().await.unwrap_err();
    /// assert_eq!(ErrorKind::of(&error), ErrorKind::ConnectionRefused);
    ///
    /// // The same kind from a plain reqwest client with the hooks installed.
    /// let client = reqwest::Client::builder().instrument(&Default::default())?;
    /// let error = client.get(&url).send().await.unwrap_err();
    /// assert_eq!(ErrorKind::of(&error), ErrorKind::ConnectionRefused);
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "reqwest"))]
    /// # fn main() {}
    /// ```
    pub fn of(error: &(dyn std::error::Error + 'static)) -> ErrorKind {
        if let Some(e) = error.downcast_ref::<HookError>() {
            return e.kind();
        }
        #[cfg(feature = "reqwest")]
        {
            if let Some(e) = error.downcast_ref::<crate::reqwest::Error>() {
                return e.kind();
            }
            if let Some(e) = error.downcast_ref::<reqwest::Error>() {
                return crate::reqwest::classify(e).kind();
            }
        }
        #[cfg(feature = "reqwest-middleware")]
        match error.downcast_ref::<reqwest_middleware::Error>() {
            Some(reqwest_middleware::Error::Reqwest(e)) => {
                return crate::reqwest::classify(e).kind();
            }
            Some(reqwest_middleware::Error::Middleware(_)) => return ErrorKind::Other,
            None => {}
        }
        classify_chain(error).kind()
    }
}
