//! Receiving replies: an LMTP server (RFC 2033), the protocol a mail
//! transfer agent (Postfix's `lmtp:` transport, Exim's `lmtp`) uses to hand
//! a message to a mail store, and [`extract_calendar`], which finds the
//! iCalendar object in a received message (RFC 6047).
//!
//! The mail system accepts the message from the Internet, with its own
//! queue, spam and size policies; this listener only takes the messages
//! addressed to the reply domain. LMTP differs from SMTP in two ways that
//! matter here: there is no queue on this side — each recipient gets its
//! own final answer after the data (RFC 2033 §4.2), so a temporary failure
//! for one reply address leaves the message in the MTA's queue for that
//! address only — and it is spoken only between hosts that agreed to
//! (never on port 25, RFC 2033 §5: listen on loopback or a private
//! network).
//!
//! # The dialogue
//!
//! ```text
//! S: 220 [127.0.0.1] LMTP Almanach ready
//! C: LHLO mx.example.fr
//! S: 250-[127.0.0.1]            (PIPELINING, ENHANCEDSTATUSCODES, 8BITMIME, SIZE n)
//! C: MAIL FROM:<parent@example.org> SIZE=4096
//! C: RCPT TO:<reply+TOKEN1@agenda.example.fr>     handler.accept_recipient
//! C: RCPT TO:<reply+TOKEN2@agenda.example.fr>
//! C: DATA
//! S: 250 2.1.0 / 250 2.1.5 / 550 5.1.1 / 354   (pipelined: answered in order)
//! C: …message… CRLF . CRLF
//! S: 250 2.0.0 …  (one reply per accepted RCPT, in order: handler.deliver)
//! ```
//!
//! Limits ([`LmtpLimits`]): the message size (advertised as `SIZE`, RFC
//! 1870; a larger `SIZE=` is refused at MAIL with 552, a larger message
//! after its data with 552 for each recipient, its bytes beyond the limit
//! not kept), the length of a line (RFC 5321 §4.5.3.1.4–6: 500 for a
//! command, 554 for a message), the recipients of one transaction (452,
//! §4.5.3.1.10), the wait for each command or data line (421 and the
//! connection closed, §4.5.3.2), and the sessions served at once (421 to
//! the next one, §3.1).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// How long sessions may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The envelope of one mail transaction (RFC 5321 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path of MAIL FROM, `""` for the null path `<>` (a bounce).
    pub mail_from: String,
    /// The accepted recipients, in the order of their RCPT commands.
    pub recipients: Vec<String>,
    /// The name the client gave in LHLO.
    pub client_name: String,
    /// The client's address.
    pub peer: SocketAddr,
}

/// A refusal: an SMTP reply code (RFC 5321 §4.2: 4xx temporary, 5xx
/// permanent), an enhanced status code (RFC 3463) and a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: u16,
    pub enhanced: &'static str,
    pub text: String,
}

impl Rejection {
    pub fn new(code: u16, enhanced: &'static str, text: impl Into<String>) -> Rejection {
        Rejection { code, enhanced, text: text.into() }
    }

    /// 550 5.1.1: no such mailbox (an unknown or expired reply address).
    pub fn no_such_user() -> Rejection {
        Rejection::new(550, "5.1.1", "No such mailbox")
    }

    /// 451 4.3.0: try again later (the store is unavailable).
    pub fn temporary(text: impl Into<String>) -> Rejection {
        Rejection::new(451, "4.3.0", text)
    }

    /// 554 5.6.0: this message will never be accepted (no calendar in it).
    pub fn permanent(text: impl Into<String>) -> Rejection {
        Rejection::new(554, "5.6.0", text)
    }

    /// The reply line's parts, corrected when the handler gave a code that
    /// is not a failure or an enhanced code of another class.
    fn parts(&self) -> (u16, &'static str) {
        let code = if (400..600).contains(&self.code) { self.code } else { 451 };
        let class = if code < 500 { '4' } else { '5' };
        let ok = self.enhanced.starts_with(class)
            && self.enhanced.split('.').count() == 3
            && self.enhanced.split('.').all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()));
        (code, if ok { self.enhanced } else if class == '4' { "4.0.0" } else { "5.0.0" })
    }
}

/// What receives the messages: asked about each recipient at RCPT, then
/// given the message once per accepted recipient after the data.
#[async_trait]
pub trait MailHandler: Send + Sync {
    /// Whether `rcpt` (the address of RCPT TO, without angle brackets) is
    /// a mailbox here. Refusing here costs the client nothing: the data
    /// is not sent for a refused recipient.
    async fn accept_recipient(&self, rcpt: &str) -> Result<(), Rejection>;
    /// Take the message for `rcpt`. `Ok` means the message is safely kept
    /// (RFC 2033 §4.2: the server must not lose it afterwards); a 4xx
    /// leaves it in the client's queue for that recipient.
    async fn deliver(&self, envelope: &Envelope, rcpt: &str, message: &[u8]) -> Result<(), Rejection>;
}

/// Bounds on what one client may make the listener hold or wait for.
#[derive(Debug, Clone)]
pub struct LmtpLimits {
    /// Largest message accepted, in octets after dot-unstuffing.
    pub max_message_bytes: usize,
    /// Longest line, CRLF included: command or message line (RFC 5321
    /// §4.5.3.1.6: 1000, which RFC 5322 §2.1.1 messages respect).
    pub max_line_bytes: usize,
    /// Longest wait for a command, or for the next line of the data.
    pub command_timeout: Duration,
    /// Sessions served at once; more get 421 and are closed.
    pub max_sessions: usize,
    /// Recipients of one transaction (RFC 5321 §4.5.3.1.8: at least 100).
    pub max_recipients: usize,
}

impl Default for LmtpLimits {
    fn default() -> Self {
        LmtpLimits {
            max_message_bytes: 10 * 1024 * 1024,
            max_line_bytes: 1000,
            // RFC 5321 §4.5.3.2.7: a server waits 5 minutes for a command.
            command_timeout: Duration::from_secs(300),
            max_sessions: 32,
            max_recipients: 100,
        }
    }
}

/// Serve LMTP on `listener` until `shutdown` completes; then stop
/// accepting, answer 421 to idle sessions (RFC 5321 §3.8), let those in
/// the middle of a transaction finish it (up to 30 s), and return.
pub async fn serve(listener: TcpListener, handler: Arc<dyn MailHandler>, limits: LmtpLimits, shutdown: impl Future<Output = ()>) {
    let limits = Arc::new(limits);
    let sessions = Arc::new(Semaphore::new(limits.max_sessions.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "lmtp: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                match sessions.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let (handler, limits, stop) = (handler.clone(), limits.clone(), stop_rx.clone());
                        tokio::spawn(async move {
                            session(stream, peer, handler, &limits, stop).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        tokio::spawn(async move {
                            let mut stream = stream;
                            let busy = b"421 4.3.2 Too many sessions, try again later\r\n";
                            let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(busy)).await;
                        });
                    }
                }
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = limits.max_sessions.max(1) as u32;
    if tokio::time::timeout(DRAIN_TIMEOUT, sessions.acquire_many(all)).await.is_err() {
        tracing::warn!("lmtp: sessions still running after {:?}", DRAIN_TIMEOUT);
    }
}

/// One line read from the client.
enum Line {
    /// A whole line, its line ending included, in the buffer.
    Complete,
    /// A line longer than the limit: read to its end and dropped.
    TooLong { len: usize, crlf: bool },
    /// The connection closed.
    Eof,
}

struct Transaction {
    from: String,
    recipients: Vec<String>,
}

struct Session<'a> {
    reader: BufReader<OwnedReadHalf>,
    writer: BufWriter<OwnedWriteHalf>,
    handler: Arc<dyn MailHandler>,
    limits: &'a LmtpLimits,
    peer: SocketAddr,
    line: Vec<u8>,
    client_name: Option<String>,
    transaction: Option<Transaction>,
}

/// What to do after a command.
enum Next {
    Continue,
    Close,
}

async fn session(stream: TcpStream, peer: SocketAddr, handler: Arc<dyn MailHandler>, limits: &LmtpLimits, mut stop: watch::Receiver<bool>) {
    let name = match stream.local_addr() {
        Ok(SocketAddr::V4(a)) => format!("[{}]", a.ip()),
        Ok(SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
        Err(_) => "[127.0.0.1]".to_string(),
    };
    let (r, w) = stream.into_split();
    let mut s = Session {
        reader: BufReader::with_capacity(16 * 1024, r),
        writer: BufWriter::new(w),
        handler,
        limits,
        peer,
        line: Vec::with_capacity(512),
        client_name: None,
        transaction: None,
    };
    tracing::debug!(%peer, "lmtp: session");
    // RFC 5321 §4.2: the greeting and the LHLO reply carry no enhanced code (RFC 2034 §3).
    s.raw(&format!("220 {name} LMTP Almanach ready\r\n")).await;
    loop {
        // RFC 2920 §3.2: answers to pipelined commands may wait until
        // the client's commands read so far are all answered.
        if s.reader.buffer().is_empty() && !s.flush().await {
            break;
        }
        let read = tokio::select! {
            biased;
            r = tokio::time::timeout(limits.command_timeout, read_line(&mut s.reader, &mut s.line, limits.max_line_bytes)) => Some(r),
            _ = stop.wait_for(|stop| *stop) => None,
        };
        let Some(read) = read else {
            s.reply(421, "4.3.2", "Service shutting down").await;
            break;
        };
        let next = match read {
            Err(_) => {
                s.reply(421, "4.4.2", "Timeout waiting for a command, closing").await;
                Next::Close
            }
            Ok(Err(_)) | Ok(Ok(Line::Eof)) => Next::Close,
            Ok(Ok(Line::TooLong { .. })) => {
                s.reply(500, "5.5.2", "Line too long").await;
                Next::Continue
            }
            Ok(Ok(Line::Complete)) => s.command().await,
        };
        if let Next::Close = next {
            break;
        }
    }
    s.flush().await;
    tracing::debug!(%peer, "lmtp: session closed");
}

/// Read one line (up to LF) into `buf`, never holding more than `max`
/// octets of it.
async fn read_line(reader: &mut BufReader<OwnedReadHalf>, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut len = 0;
    let mut too_long = false;
    let mut last_two = [0u8; 2];
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        len += chunk.len();
        if len > max {
            too_long = true;
        }
        if !too_long {
            buf.extend_from_slice(chunk);
        }
        match chunk.len() {
            0 => {}
            1 => last_two = [last_two[1], chunk[0]],
            n => last_two = [chunk[n - 2], chunk[n - 1]],
        }
        let consumed = chunk.len();
        reader.consume(consumed);
        if done {
            return Ok(if too_long { Line::TooLong { len, crlf: last_two == *b"\r\n" } } else { Line::Complete });
        }
    }
}

/// Split `KEYWORD:<path> params` (RFC 5321 §4.1.2: `Reverse-path`,
/// `Forward-path`): the mailbox without brackets or source route, and the
/// parameters. `None` when it does not have that shape.
fn parse_path<'l>(args: &'l str, keyword: &str) -> Option<(String, &'l str)> {
    if args.len() < keyword.len() || !args[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return None;
    }
    // One space after the colon is a common client error; accept it.
    let rest = args[keyword.len()..].strip_prefix(' ').unwrap_or(&args[keyword.len()..]);
    let rest = rest.strip_prefix('<')?;
    let mut in_quote = false;
    let mut escaped = false;
    let mut end = None;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '>' if !in_quote => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let end = end?;
    let (path, params) = (&rest[..end], &rest[end + 1..]);
    if !params.is_empty() && !params.starts_with(' ') {
        return None;
    }
    // An obsolete source route (`@a,@b:user@host`) is ignored (§4.1.1.3, appendix C).
    let mailbox = match path.strip_prefix('@') {
        Some(route) => route.split_once(':')?.1,
        None => path,
    };
    // No SMTPUTF8 (not advertised): addresses are printable ASCII; spaces
    // only inside a quoted local part.
    if !mailbox.bytes().all(|c| (0x21..0x7f).contains(&c) || c == b' ') || (mailbox.contains(' ') && !mailbox.starts_with('"')) {
        return None;
    }
    Some((mailbox.to_string(), params.trim()))
}

impl Session<'_> {
    async fn raw(&mut self, text: &str) {
        let _ = self.writer.write_all(text.as_bytes()).await;
    }

    async fn reply(&mut self, code: u16, enhanced: &str, text: &str) {
        let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        self.raw(&format!("{code} {enhanced} {text}\r\n")).await;
    }

    async fn rejection(&mut self, r: &Rejection) {
        let (code, enhanced) = r.parts();
        self.reply(code, enhanced, &r.text).await;
    }

    async fn flush(&mut self) -> bool {
        matches!(tokio::time::timeout(self.limits.command_timeout, self.writer.flush()).await, Ok(Ok(())))
    }

    async fn command(&mut self) -> Next {
        let line = std::mem::take(&mut self.line);
        let next = self.dispatch(&line).await;
        self.line = line;
        next
    }

    async fn dispatch(&mut self, line: &[u8]) -> Next {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            self.reply(500, "5.5.2", "Syntax error").await;
            return Next::Continue;
        };
        let (verb, args) = match line.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (line, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "LHLO" => {
                if args.is_empty() {
                    self.reply(501, "5.5.4", "LHLO needs a host name").await;
                    return Next::Continue;
                }
                // Like EHLO, LHLO resets the transaction (RFC 5321 §4.1.4).
                self.client_name = Some(args.to_string());
                self.transaction = None;
                let size = self.limits.max_message_bytes;
                let name = match self.writer.get_ref().local_addr() {
                    Ok(SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
                    Ok(a) => format!("[{}]", a.ip()),
                    Err(_) => "[127.0.0.1]".into(),
                };
                // RFC 2033 §4.1: PIPELINING and ENHANCEDSTATUSCODES are
                // required, 8BITMIME recommended; SIZE, RFC 1870.
                self.raw(&format!("250-{name}\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE {size}\r\n"))
                    .await;
            }
            // RFC 2033 §4.1: not LMTP commands; no positive reply, 500 recommended.
            "HELO" | "EHLO" => self.reply(500, "5.5.1", "This is LMTP: use LHLO").await,
            "MAIL" => self.mail(args).await,
            "RCPT" => self.rcpt(args).await,
            "DATA" => {
                if !args.is_empty() {
                    self.reply(501, "5.5.4", "DATA takes no argument").await;
                } else if self.transaction.is_none() {
                    self.reply(503, "5.5.1", "MAIL first").await;
                } else if self.transaction.as_ref().is_some_and(|t| t.recipients.is_empty()) {
                    // RFC 2033 §4.2: DATA MUST fail with 503 without a successful RCPT.
                    self.reply(503, "5.5.1", "No valid recipients").await;
                } else {
                    return self.data().await;
                }
            }
            "RSET" => {
                if !args.is_empty() {
                    self.reply(501, "5.5.4", "RSET takes no argument").await;
                } else {
                    self.transaction = None;
                    self.reply(250, "2.0.0", "OK").await;
                }
            }
            // RFC 5321 §4.1.1.9: NOOP may carry a string, ignored.
            "NOOP" => self.reply(250, "2.0.0", "OK").await,
            "QUIT" => {
                self.reply(221, "2.0.0", "Bye").await;
                return Next::Close;
            }
            // RFC 5321 §3.5.3: 252 when the server will not verify.
            "VRFY" => {
                if args.is_empty() {
                    self.reply(501, "5.5.4", "VRFY needs an address").await;
                } else {
                    self.reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery").await;
                }
            }
            "HELP" => self.reply(214, "2.0.0", "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY").await,
            "EXPN" | "STARTTLS" | "AUTH" | "BDAT" | "ETRN" | "TURN" | "SEND" | "SOML" | "SAML" => {
                self.reply(502, "5.5.1", "Command not implemented").await
            }
            _ => self.reply(500, "5.5.1", "Command unrecognized").await,
        }
        Next::Continue
    }

    async fn mail(&mut self, args: &str) {
        if self.client_name.is_none() {
            return self.reply(503, "5.5.1", "LHLO first").await;
        }
        if self.transaction.is_some() {
            return self.reply(503, "5.5.1", "Nested MAIL command").await;
        }
        let Some((from, params)) = parse_path(args, "FROM:") else {
            return self.reply(501, "5.1.7", "Syntax: MAIL FROM:<address>").await;
        };
        for param in params.split_ascii_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                // RFC 1870 §6: a declared size above the limit is refused now.
                "SIZE" => match value.parse::<u64>() {
                    Ok(n) if n > self.limits.max_message_bytes as u64 => {
                        let text = format!("Message size exceeds the maximum of {} octets", self.limits.max_message_bytes);
                        return self.reply(552, "5.3.4", &text).await;
                    }
                    Ok(_) => {}
                    Err(_) => return self.reply(501, "5.5.4", "Invalid SIZE parameter").await,
                },
                // RFC 6152: 8-bit data is taken as it comes.
                "BODY" if value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME") => {}
                // RFC 5321 §4.1.1.11: an unknown parameter is refused.
                _ => return self.reply(555, "5.5.4", "Unsupported MAIL parameter").await,
            }
        }
        self.transaction = Some(Transaction { from, recipients: Vec::new() });
        self.reply(250, "2.1.0", "Sender OK").await;
    }

    async fn rcpt(&mut self, args: &str) {
        let Some(count) = self.transaction.as_ref().map(|t| t.recipients.len()) else {
            return self.reply(503, "5.5.1", "MAIL first").await;
        };
        let Some((rcpt, params)) = parse_path(args, "TO:") else {
            return self.reply(501, "5.1.3", "Syntax: RCPT TO:<address>").await;
        };
        if rcpt.is_empty() {
            return self.reply(501, "5.1.3", "Empty recipient").await;
        }
        if !params.is_empty() {
            return self.reply(555, "5.5.4", "Unsupported RCPT parameter").await;
        }
        if count >= self.limits.max_recipients {
            return self.reply(452, "4.5.3", "Too many recipients").await;
        }
        match self.handler.accept_recipient(&rcpt).await {
            Ok(()) => {
                if let Some(t) = self.transaction.as_mut() {
                    t.recipients.push(rcpt);
                }
                self.reply(250, "2.1.5", "Recipient OK").await;
            }
            Err(r) => self.rejection(&r).await,
        }
    }

    /// After 354: the message, then one reply per accepted recipient.
    async fn data(&mut self) -> Next {
        self.raw("354 Start mail input; end with <CRLF>.<CRLF>\r\n").await;
        if !self.flush().await {
            return Next::Close;
        }
        let max = self.limits.max_message_bytes;
        let mut message = Vec::new();
        let mut size = 0usize;
        let mut too_big = false;
        let mut long_line = false;
        // The terminating "." must follow a CRLF: a "." after a bare LF
        // is data (RFC 5321 §4.1.1.4; a lone LF must not end the message,
        // or a message could smuggle another past a relay).
        let mut after_crlf = true;
        let mut line = Vec::with_capacity(1024);
        loop {
            let read = tokio::time::timeout(self.limits.command_timeout, read_line(&mut self.reader, &mut line, self.limits.max_line_bytes)).await;
            match read {
                Err(_) => {
                    self.reply(421, "4.4.2", "Timeout waiting for data, closing").await;
                    return Next::Close;
                }
                Ok(Err(_)) | Ok(Ok(Line::Eof)) => return Next::Close,
                Ok(Ok(Line::TooLong { len, crlf })) => {
                    long_line = true;
                    size += len;
                    after_crlf = crlf;
                }
                Ok(Ok(Line::Complete)) => {
                    if after_crlf && line == b".\r\n" {
                        break;
                    }
                    after_crlf = line.ends_with(b"\r\n");
                    // RFC 5321 §4.5.2: remove the leading dot of a stuffed line.
                    let content = if line.first() == Some(&b'.') { &line[1..] } else { &line[..] };
                    size += content.len();
                    if size > max {
                        if !too_big {
                            too_big = true;
                            message = Vec::new();
                        }
                    } else if !long_line {
                        message.extend_from_slice(content);
                    }
                }
            }
            // The rest of a too large message is read and dropped, so the
            // client gets its 552 (and bounces it rather than retrying);
            // a client that goes on past twice the limit is cut off.
            if size > max.saturating_mul(2).max(max + 1024 * 1024) {
                let text = format!("Message size exceeds the maximum of {max} octets");
                self.reply(552, "5.3.4", &text).await;
                return Next::Close;
            }
        }
        let transaction = self.transaction.take().expect("DATA is only read within a transaction");
        let recipients = transaction.recipients;
        if too_big || long_line {
            let (code, enhanced, text) = if too_big {
                (552, "5.3.4", format!("Message size exceeds the maximum of {max} octets"))
            } else {
                (554, "5.6.0", format!("Message has a line longer than {} octets", self.limits.max_line_bytes))
            };
            // RFC 2033 §4.2: one reply per accepted recipient, even for a failure of the whole message.
            for _ in &recipients {
                self.reply(code, enhanced, &text).await;
            }
            return Next::Continue;
        }
        let envelope = Envelope {
            mail_from: transaction.from,
            recipients: recipients.clone(),
            client_name: self.client_name.clone().unwrap_or_default(),
            peer: self.peer,
        };
        // One delivery per distinct recipient; one reply per RCPT, in
        // order, duplicates included (RFC 2033 §4.2).
        let mut results: Vec<(String, Result<(), Rejection>)> = Vec::new();
        for rcpt in &recipients {
            let result = match results.iter().find(|(r, _)| r == rcpt) {
                Some((_, result)) => result.clone(),
                None => {
                    let result = self.handler.deliver(&envelope, rcpt, &message).await;
                    results.push((rcpt.clone(), result.clone()));
                    result
                }
            };
            match result {
                Ok(()) => self.reply(250, "2.0.0", &format!("<{rcpt}> Delivered")).await,
                Err(r) => self.rejection(&r).await,
            }
        }
        tracing::info!(peer = %self.peer, bytes = message.len(), recipients = recipients.len(),
            delivered = results.iter().filter(|(_, r)| r.is_ok()).count(), "lmtp: message received");
        Next::Continue
    }
}

/// The iMIP content of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCalendar {
    /// The iTIP method, upper case: the part's `method` parameter, or the
    /// calendar's METHOD property when the part has none.
    pub method: String,
    /// The iCalendar object, decoded from its transfer encoding and charset.
    pub calendar_text: String,
    /// The address of `From` (not proof of anything: RFC 6047 §2.3, §3).
    pub from_address: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not an email message")]
    NotAMessage,
    #[error("no text/calendar or application/ics part")]
    NoCalendar,
    #[error("the calendar part is not an iCalendar object")]
    NotICalendar,
    #[error("the calendar part is not valid text in its charset")]
    Charset,
    #[error("the calendar has no METHOD: not an iTIP message")]
    NoMethod,
    #[error("the part's method {parameter:?} differs from the calendar's METHOD {property:?}")]
    MethodMismatch { parameter: String, property: String },
}

/// Find the iCalendar object of an iMIP message, anywhere in its MIME tree
/// (RFC 6047 §2.4: inside any `multipart/*`), and decode it.
///
/// Preferred, in the order of the message: a `text/calendar` part with a
/// `method` parameter (the iMIP body part of §2.4); then, from clients
/// that omit the parameter (Note 2 of §2.4 calls that not iMIP, but the
/// calendar still says what it is), a `text/calendar` part without one or
/// an `application/ics` attachment, whose METHOD property gives the
/// method. A parameter that contradicts the calendar's METHOD is an error
/// (§2.4: they MUST be the same). Parts are chosen by their
/// `Content-Type`, never by a file name (§2.6). Messages attached inside
/// the message (`message/rfc822`, a forwarded invitation) are not looked
/// into: they are someone else's message, not this sender's reply.
pub fn extract_calendar(message: &[u8]) -> Result<IncomingCalendar, ParseError> {
    let parsed = MessageParser::default().parse(message).ok_or(ParseError::NotAMessage)?;
    if parsed.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    // Walk the tree from the root, in order, not into attached messages.
    let mut candidates: Vec<(u8, u32)> = Vec::new();
    let mut stack = vec![0u32];
    let mut visited = 0;
    while let Some(id) = stack.pop() {
        visited += 1;
        let Some(part) = parsed.parts.get(id as usize) else { continue };
        if visited > parsed.parts.len() {
            break;
        }
        if let PartType::Multipart(children) = &part.body {
            stack.extend(children.iter().rev());
            continue;
        }
        let Some(ct) = part.content_type() else { continue };
        let (ctype, subtype) = (ct.ctype(), ct.subtype().unwrap_or(""));
        if ctype.eq_ignore_ascii_case("text") && subtype.eq_ignore_ascii_case("calendar") {
            candidates.push((if ct.attribute("method").is_some() { 0 } else { 1 }, id));
        } else if ctype.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("ics") {
            candidates.push((1, id));
        }
    }
    let &(_, id) = candidates.iter().min_by_key(|(rank, _)| *rank).ok_or(ParseError::NoCalendar)?;
    let part = &parsed.parts[id as usize];
    let ct = part.content_type().expect("candidates have a content type");
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => match ct.attribute("charset") {
            Some(cs) if !cs.eq_ignore_ascii_case("utf-8") && !cs.eq_ignore_ascii_case("us-ascii") => {
                let decode = mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()).ok_or(ParseError::Charset)?;
                decode(b)
            }
            // RFC 5545 §3.1.4: iCalendar's default charset is UTF-8.
            _ => String::from_utf8(b.to_vec()).map_err(|_| ParseError::Charset)?,
        },
        _ => return Err(ParseError::NoCalendar),
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    // Bytes, not `str` slices: byte 15 may fall inside a character.
    if !trimmed.as_bytes().get(..15).is_some_and(|b| b.eq_ignore_ascii_case(b"BEGIN:VCALENDAR")) {
        return Err(ParseError::NotICalendar);
    }
    let property = calendar_method(&text);
    let method = match (ct.attribute("method").map(str::trim), property) {
        (Some(p), Some(q)) if !p.eq_ignore_ascii_case(&q) => {
            return Err(ParseError::MethodMismatch { parameter: p.to_string(), property: q })
        }
        (Some(p), _) if !p.is_empty() => p.to_ascii_uppercase(),
        (_, Some(q)) => q.to_ascii_uppercase(),
        _ => return Err(ParseError::NoMethod),
    };
    let first = |a: Option<&mail_parser::Address<'_>>| a.and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_string);
    Ok(IncomingCalendar {
        method,
        calendar_text: text,
        from_address: first(parsed.from()),
        reply_to: first(parsed.reply_to()),
        subject: parsed.subject().map(str::to_string),
        message_id: parsed.message_id().map(str::to_string),
    })
}

/// The value of the VCALENDAR's METHOD property (RFC 5545 §3.7.2), on
/// unfolded lines, before the first component.
fn calendar_method(text: &str) -> Option<String> {
    let unfolded = crate::contentline::unfold_bytes(text.as_bytes());
    let unfolded = String::from_utf8_lossy(&unfolded);
    for line in unfolded.lines() {
        let line = line.trim_end_matches('\r');
        // Compared as bytes: a name may end inside a multi-byte character.
        let (name, rest) = line.as_bytes().split_at(line.len().min(6));
        if name.eq_ignore_ascii_case(b"BEGIN:") && !rest.eq_ignore_ascii_case(b"VCALENDAR") {
            return None;
        }
        if name.eq_ignore_ascii_case(b"METHOD") && matches!(rest.first(), Some(b':' | b';')) {
            return line.split_once(':').map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse_path("FROM:<a@b.fr>", "FROM:"), Some(("a@b.fr".into(), "")));
        assert_eq!(parse_path("from:<a@b.fr> SIZE=10 BODY=8BITMIME", "FROM:"), Some(("a@b.fr".into(), "SIZE=10 BODY=8BITMIME")));
        assert_eq!(parse_path("FROM: <a@b.fr>", "FROM:"), Some(("a@b.fr".into(), "")));
        assert_eq!(parse_path("FROM:<>", "FROM:"), Some(("".into(), "")));
        assert_eq!(parse_path("TO:<@relay.fr,@other.fr:a@b.fr>", "TO:"), Some(("a@b.fr".into(), "")));
        assert_eq!(parse_path("TO:<\"a >b\"@b.fr>", "TO:"), Some(("\"a >b\"@b.fr".into(), "")));
        assert_eq!(parse_path("TO:<Postmaster>", "TO:"), Some(("Postmaster".into(), "")));
        assert_eq!(parse_path("TO:a@b.fr", "TO:"), None);
        assert_eq!(parse_path("TO:<a@b.fr", "TO:"), None);
        assert_eq!(parse_path("TO:<a@b.fr>x", "TO:"), None);
        assert_eq!(parse_path("FROM:<a@b.fr>", "TO:"), None);
        assert_eq!(parse_path("TO:<a b@b.fr>", "TO:"), None);
        assert_eq!(parse_path("TO:<é@b.fr>", "TO:"), None);
    }

    #[test]
    fn rejection_codes_are_kept_in_their_class() {
        assert_eq!(Rejection::new(550, "5.1.1", "x").parts(), (550, "5.1.1"));
        assert_eq!(Rejection::new(450, "5.1.1", "x").parts(), (450, "4.0.0"));
        assert_eq!(Rejection::new(250, "2.0.0", "x").parts(), (451, "4.0.0"));
        assert_eq!(Rejection::new(554, "5.x", "x").parts(), (554, "5.0.0"));
    }

    #[test]
    fn method_property() {
        assert_eq!(calendar_method("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"), Some("REPLY".into()));
        assert_eq!(calendar_method("BEGIN:VCALENDAR\r\nMETH\r\n OD:REPLY\r\n"), Some("REPLY".into()));
        assert_eq!(calendar_method("BEGIN:VCALENDAR\nmethod;X=1:Cancel\n"), Some("Cancel".into()));
        // A METHOD inside a component is not the calendar's.
        assert_eq!(calendar_method("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nMETHOD:REPLY\r\n"), None);
        assert_eq!(calendar_method("BEGIN:VCALENDAR\r\nMETHODX:REPLY\r\n"), None);
        // Found by the imip_lmtp fuzz target: names compared by slicing
        // the line at byte 6 panicked inside a multi-byte character.
        assert_eq!(calendar_method("BEGIN:VCALENDAR\r\nORGANÁ:x\r\nMETHÁ:x\r\nMETHOD:REPLY\r\n"), Some("REPLY".into()));
        assert_eq!(calendar_method("BEGIN:VCALENDAR\r\nBEGIÁ\r\nBEGIN\r\nMETHOD:REPLY\r\n"), Some("REPLY".into()));
    }

    #[test]
    fn not_a_calendar_ending_inside_a_character() {
        // Found by the imip_lmtp fuzz target: the text was sliced at byte
        // 15 to compare it with BEGIN:VCALENDAR, inside the 'É'.
        let message = "From: a@example.org\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAÉ\r\n";
        assert_eq!(extract_calendar(message.as_bytes()), Err(ParseError::NotICalendar));
    }
}
