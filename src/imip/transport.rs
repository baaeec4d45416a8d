//! Sending composed messages: [`MailTransport`], and [`SmtpTransport`],
//! which hands them to a mail relay over SMTP (RFC 5321) with `lettre`.
//!
//! # The relay URL (`smtp_url`)
//!
//! | form | connection | default port |
//! |---|---|---|
//! | `smtp://HOST[:PORT]` | plain SMTP, no authentication: a local relay or a test server | 25 |
//! | `smtp+starttls://[USER:PASS@]HOST[:PORT]` | STARTTLS required (RFC 3207): a relay that does not offer it, or whose certificate does not verify, is not sent to | 587 |
//! | `smtp://[USER:PASS@]HOST[:PORT]?tls=required` | the same, in `lettre`'s spelling | 587 |
//! | `smtps://[USER:PASS@]HOST[:PORT]` | TLS from the first byte (RFC 8314 §3.3) | 465 |
//!
//! A path, `…/NAME`, sets the name the client gives in EHLO (default: an
//! address literal, `[127.0.0.1]`, RFC 5321 §4.1.4). User name and password
//! are percent-decoded. Refused: any other scheme, credentials over plain
//! `smtp://` (they would cross the network in clear), `tls=opportunistic`
//! (a man in the middle can strip STARTTLS), other query parameters.
//! Certificates are checked against the system's trusted roots.
//!
//! The URL, the transport and every error print with the password replaced
//! by `***` ([`SmtpUrl`]'s `Display` and `Debug`); nothing here logs it.
//!
//! # Timeouts
//!
//! Connecting (resolution and TCP) is bounded by `connect_timeout` (10 s);
//! every later read or write that makes no progress for `command_timeout`
//! (30 s) fails the send — the stream under TLS carries the timer, so the
//! greeting, each command's reply, STARTTLS and TLS handshakes and the
//! message data are all bounded, while a large message that keeps moving
//! is not cut. (`lettre`'s own transport bounds only the connection.)
//!
//! # Failures
//!
//! A 4xx reply, a refused or lost connection, a timeout, a TLS failure or
//! a relay without STARTTLS when required are [`SendError::Temporary`]:
//! the caller retries later. A 5xx reply (RFC 5321 §4.2.1) is
//! [`SendError::Permanent`], and so is a message or address this relay can
//! never take (an invalid address, 8-bit data without 8BITMIME). With
//! several recipients, the first refused one fails the whole send: send
//! one message per recipient (each external attendee has its own reply
//! address anyway) to know who got it.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};
use lettre::address::Envelope;
use lettre::Address;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx, relay unreachable, timeout, TLS.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Retrying the same message will fail again: 5xx, invalid address.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Something that delivers a composed message to an envelope.
#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Send `message` (RFC 5322 bytes, CRLF lines) from `envelope_from`
    /// (the bounce address, `""` for none) to `recipients`.
    async fn send(&self, envelope_from: &str, recipients: &[String], message: &[u8]) -> Result<(), SendError>;
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP.
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the start (submissions).
    Tls,
}

/// A validated relay URL (forms in the module documentation). Its
/// `Display` and `Debug` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    security: Security,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    hello_name: Option<String>,
    redacted: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpUrlError {
    #[error("not a URL")]
    Syntax,
    #[error("unknown scheme {0:?}: expected smtp://, smtp+starttls:// or smtps://")]
    Scheme(String),
    #[error("no host")]
    Host,
    #[error("credentials over plain smtp:// would cross the network in clear: use smtp+starttls:// or smtps://")]
    CredentialsInClear,
    #[error("unsupported query {0:?}: only tls=required (with smtp://) is accepted")]
    Query(String),
    #[error("a URL fragment is not accepted")]
    Fragment,
    #[error("the user name and password must be valid percent-encoded UTF-8")]
    Credentials,
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<SmtpUrl, SmtpUrlError> {
        let url = url::Url::parse(text.trim()).map_err(|_| SmtpUrlError::Syntax)?;
        let mut security = match url.scheme() {
            "smtp" => Security::None,
            "smtp+starttls" => Security::StartTls,
            "smtps" => Security::Tls,
            other => return Err(SmtpUrlError::Scheme(other.to_string())),
        };
        match url.query() {
            None => {}
            Some("tls=required") if security == Security::None => security = Security::StartTls,
            Some(q) => return Err(SmtpUrlError::Query(q.to_string())),
        }
        if url.fragment().is_some() {
            return Err(SmtpUrlError::Fragment);
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(SmtpUrlError::Host),
        };
        let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| SmtpUrlError::Credentials);
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
        };
        if credentials.is_some() && security == Security::None {
            return Err(SmtpUrlError::CredentialsInClear);
        }
        let port = url.port().unwrap_or(match security {
            Security::None => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        });
        let path = url.path().trim_matches('/');
        let hello_name = (!path.is_empty()).then(|| path.to_string());
        let mut shown = url.clone();
        if url.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        Ok(SmtpUrl { security, host, port, credentials, hello_name, redacted: shown.to_string() })
    }

    pub fn security(&self) -> Security {
        self.security
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl std::str::FromStr for SmtpUrl {
    type Err = SmtpUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SmtpUrl::parse(s)
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", self.redacted)
    }
}

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends through an SMTP relay, one connection per message.
pub struct SmtpTransport {
    url: SmtpUrl,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("url", &self.url)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .finish()
    }
}

impl SmtpTransport {
    pub fn new(url: SmtpUrl) -> SmtpTransport {
        SmtpTransport { url, connect_timeout: DEFAULT_CONNECT_TIMEOUT, command_timeout: DEFAULT_COMMAND_TIMEOUT }
    }

    pub fn from_url(url: &str) -> Result<SmtpTransport, SmtpUrlError> {
        Ok(SmtpTransport::new(SmtpUrl::parse(url)?))
    }

    pub fn with_timeouts(mut self, connect: Duration, command: Duration) -> SmtpTransport {
        self.connect_timeout = connect;
        self.command_timeout = command;
        self
    }

    pub fn url(&self) -> &SmtpUrl {
        &self.url
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let url = &self.url;
        let target = (url.host.as_str(), url.port);
        let tcp = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(target)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(SendError::Temporary(format!("cannot connect to {}:{}: {e}", url.host, url.port))),
            Err(_) => {
                return Err(SendError::Temporary(format!(
                    "no connection to {}:{} within {:?}",
                    url.host, url.port, self.connect_timeout
                )))
            }
        };
        let _ = tcp.set_nodelay(true);
        let peer = tcp.peer_addr().map_err(|e| SendError::Temporary(e.to_string()))?;
        let stream = IdleTimeout::new(tcp, peer, self.command_timeout);
        let hello = match &url.hello_name {
            Some(n) => ClientId::Domain(n.clone()),
            None => ClientId::default(),
        };
        let boxed: Box<dyn AsyncTokioStream> = match url.security {
            Security::Tls => Box::new(tls_connect(stream, &url.host).await?),
            _ => Box::new(stream),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(boxed, &hello).await.map_err(map_error)?;
        if url.security == Security::StartTls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::Temporary(format!("{}:{} does not offer STARTTLS, which is required", url.host, url.port)));
            }
            let params = TlsParameters::new(url.host.clone()).map_err(|e| SendError::Temporary(format!("TLS setup: {e}")))?;
            if let Err(e) = conn.starttls(params, &hello).await {
                conn.abort().await;
                return Err(map_error(e));
            }
        }
        if let Some((user, password)) = &url.credentials {
            let credentials = Credentials::new(user.clone(), password.clone());
            if let Err(e) = conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials).await {
                conn.abort().await;
                return Err(map_error(e));
            }
        }
        Ok(conn)
    }
}

/// A `lettre` error as a [`SendError`]: 5xx permanent, everything else
/// (4xx, network, timeout, TLS, a reply that does not parse) temporary.
fn map_error(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Temporary(e.to_string())
    }
}

fn parse_address(a: &str) -> Result<Address, SendError> {
    a.parse::<Address>().map_err(|e| SendError::Permanent(format!("invalid address {a:?}: {e}")))
}

#[async_trait]
impl MailTransport for SmtpTransport {
    async fn send(&self, envelope_from: &str, recipients: &[String], message: &[u8]) -> Result<(), SendError> {
        let from = match envelope_from {
            "" => None,
            a => Some(parse_address(a)?),
        };
        let to = recipients.iter().map(|r| parse_address(r)).collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(from, to).map_err(|e| SendError::Permanent(e.to_string()))?;
        let mut conn = self.connect().await?;
        if !message.is_ascii() && !conn.server_info().supports_feature(Extension::EightBitMime) {
            conn.abort().await;
            return Err(SendError::Permanent("8-bit message, and the relay does not offer 8BITMIME (RFC 6152)".into()));
        }
        // lettre ends the data with CRLF "." CRLF; the first CRLF is the
        // end of the message's last line (RFC 5321 §4.1.1.4), so the
        // message goes without its own final CRLF, and arrives whole.
        let data = message.strip_suffix(b"\r\n").unwrap_or(message);
        let result = conn.send(&envelope, data).await;
        match result {
            Ok(_) => {
                let _ = conn.quit().await;
                tracing::debug!(relay = %self.url, recipients = recipients.len(), "message sent");
                Ok(())
            }
            Err(e) => {
                conn.abort().await;
                let e = map_error(e);
                tracing::debug!(relay = %self.url, error = %e, "message not sent");
                Err(e)
            }
        }
    }
}

/// The rustls client configuration of `smtps://`: the system's roots (as
/// `lettre` uses for STARTTLS), loaded once.
pub(crate) fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!("no trusted root certificate found on this system: TLS to the mail relay and the visio server will fail");
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

async fn tls_connect(stream: IdleTimeout<TcpStream>, host: &str) -> Result<TlsStream, SendError> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| SendError::Temporary(format!("invalid TLS server name {host:?}: {e}")))?;
    let peer = stream.peer;
    let connector = tokio_rustls::TlsConnector::from(tls_config());
    let tls = connector.connect(name, stream).await.map_err(|e| SendError::Temporary(format!("TLS with {host}: {e}")))?;
    Ok(TlsStream { inner: tls, peer })
}

/// A stream whose reads and writes fail with `TimedOut` when they make no
/// progress for `timeout`: the per-command timeout, beneath TLS.
struct IdleTimeout<S> {
    inner: S,
    peer: SocketAddr,
    timeout: Duration,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<S> IdleTimeout<S> {
    fn new(inner: S, peer: SocketAddr, timeout: Duration) -> Self {
        IdleTimeout { inner, peer, timeout, read_timer: None, write_timer: None }
    }
}

fn poll_with_timer<T>(
    timer: &mut Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    cx: &mut Context<'_>,
    poll: Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    match poll {
        Poll::Ready(r) => {
            *timer = None;
            Poll::Ready(r)
        }
        Poll::Pending => {
            let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    *timer = None;
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {timeout:?}"))))
                }
                Poll::Pending => Poll::Pending,
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        poll_with_timer(&mut this.read_timer, this.timeout, cx, poll)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        poll_with_timer(&mut this.write_timer, this.timeout, cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        poll_with_timer(&mut this.write_timer, this.timeout, cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        poll_with_timer(&mut this.write_timer, this.timeout, cx, poll)
    }
}

impl<S> fmt::Debug for IdleTimeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdleTimeout({}, {:?})", self.peer, self.timeout)
    }
}

impl AsyncTokioStream for IdleTimeout<TcpStream> {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

/// `smtps://`: TLS over the timed stream.
struct TlsStream {
    inner: tokio_rustls::client::TlsStream<IdleTimeout<TcpStream>>,
    peer: SocketAddr,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsStream({})", self.peer)
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_url_forms() {
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((u.security(), u.host(), u.port()), (Security::None, "127.0.0.1", 2525));
        let u = SmtpUrl::parse("smtp://relay.example.fr").unwrap();
        assert_eq!(u.port(), 25);
        let u = SmtpUrl::parse("smtp+starttls://agenda:s%40cr%3At@smtp.example.fr").unwrap();
        assert_eq!((u.security(), u.port()), (Security::StartTls, 587));
        assert_eq!(u.credentials, Some(("agenda".into(), "s@cr:t".into())));
        let u = SmtpUrl::parse("smtp://agenda:pw@smtp.example.fr:2587?tls=required").unwrap();
        assert_eq!((u.security(), u.port()), (Security::StartTls, 2587));
        let u = SmtpUrl::parse("smtps://agenda:pw@smtp.example.fr/agenda.example.fr").unwrap();
        assert_eq!((u.security(), u.port()), (Security::Tls, 465));
        assert_eq!(u.hello_name.as_deref(), Some("agenda.example.fr"));
        let u = SmtpUrl::parse("smtp://[::1]:2525").unwrap();
        assert_eq!(u.host(), "::1");
    }

    #[test]
    fn refused_url_forms() {
        assert_eq!(SmtpUrl::parse("http://x"), Err(SmtpUrlError::Scheme("http".into())));
        assert_eq!(SmtpUrl::parse("lmtp://x"), Err(SmtpUrlError::Scheme("lmtp".into())));
        assert_eq!(SmtpUrl::parse("smtp://user:pw@relay.example.fr"), Err(SmtpUrlError::CredentialsInClear));
        assert!(matches!(SmtpUrl::parse("smtp://relay?tls=opportunistic"), Err(SmtpUrlError::Query(_))));
        assert!(matches!(SmtpUrl::parse("smtps://relay?tls=required"), Err(SmtpUrlError::Query(_))));
        assert_eq!(SmtpUrl::parse("smtp://relay#x"), Err(SmtpUrlError::Fragment));
        assert_eq!(SmtpUrl::parse("not a url"), Err(SmtpUrlError::Syntax));
        assert_eq!(SmtpUrl::parse("smtp:relay"), Err(SmtpUrlError::Host));
    }

    #[test]
    fn the_password_never_prints() {
        let u = SmtpUrl::parse("smtps://agenda:hunter2@smtp.example.fr:465").unwrap();
        assert_eq!(u.to_string(), "smtps://agenda:***@smtp.example.fr:465");
        assert!(!format!("{u:?}").contains("hunter2"));
        let t = SmtpTransport::new(u);
        assert!(!format!("{t:?}").contains("hunter2"));
        // An error says why, never what the URL was.
        let e = SmtpUrl::parse("smtp://agenda:hunter2@smtp.example.fr").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }
}
