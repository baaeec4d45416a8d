//! The LMTP listener over real TCP: a test client writes the protocol
//! (RFC 2033) byte for byte, the handler is a recording one that runs
//! `extract_calendar` on what it is given, as the scheduling code will.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use almanach::imip::lmtp::{self, extract_calendar, Envelope, IncomingCalendar, LmtpLimits, MailHandler, ParseError, Rejection};
use almanach::imip::token::{parse_reply_address, reply_address, ReplyToken};
use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const DOMAIN: &str = "agenda.example.fr";
const FIXTURE_TOKEN: &str = "mzxw6ytboiaaaaaaaaaaaaaaaa";
const OUTLOOK: &[u8] = include_bytes!("fixtures/outlook_reply.eml");
const OUTLOOK_ICS: &str = include_str!("fixtures/outlook_reply.ics");
const GMAIL: &[u8] = include_bytes!("fixtures/gmail_reply.eml");
const GMAIL_ICS: &str = include_str!("fixtures/gmail_reply.ics");

/// What the handler was given.
#[derive(Debug, Clone)]
struct Delivery {
    envelope: Envelope,
    rcpt: String,
    message: Vec<u8>,
    calendar: IncomingCalendar,
}

/// Accepts reply addresses of `DOMAIN`; fails temporarily for the tokens in
/// `busy`; refuses messages without a calendar, as the glue would.
#[derive(Default)]
struct Recorder {
    deliveries: Mutex<Vec<Delivery>>,
    busy: Mutex<Vec<ReplyToken>>,
    /// How long `deliver` takes (to hold a transaction open).
    delay: Mutex<Duration>,
}

#[async_trait]
impl MailHandler for Recorder {
    async fn accept_recipient(&self, rcpt: &str) -> Result<(), Rejection> {
        match parse_reply_address(rcpt, DOMAIN) {
            Some(_) => Ok(()),
            None => Err(Rejection::no_such_user()),
        }
    }

    async fn deliver(&self, envelope: &Envelope, rcpt: &str, message: &[u8]) -> Result<(), Rejection> {
        let delay = *self.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        let token = parse_reply_address(rcpt, DOMAIN).expect("only accepted recipients are delivered");
        if self.busy.lock().unwrap().contains(&token) {
            return Err(Rejection::temporary("Store unavailable"));
        }
        let calendar = extract_calendar(message).map_err(|e| Rejection::permanent(e.to_string()))?;
        self.deliveries.lock().unwrap().push(Delivery {
            envelope: envelope.clone(),
            rcpt: rcpt.to_string(),
            message: message.to_vec(),
            calendar,
        });
        Ok(())
    }
}

struct Server {
    addr: SocketAddr,
    handler: Arc<Recorder>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start(limits: LmtpLimits) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(Recorder::default());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(lmtp::serve(listener, handler.clone(), limits, async move {
        let _ = rx.await;
    }));
    Server { addr, handler, stop: Some(tx), task }
}

impl Server {
    fn deliveries(&self) -> Vec<Delivery> {
        self.handler.deliveries.lock().unwrap().clone()
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("serve returns").unwrap();
    }
}

/// A reply: its code and its lines' texts (after "NNN-" / "NNN ").
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> (Client, Reply) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (r, w) = stream.into_split();
        let mut c = Client { reader: BufReader::new(r), writer: w };
        let greeting = c.reply().await.expect("a greeting");
        (c, greeting)
    }

    /// Connect, read the greeting, LHLO.
    pub async fn ready(addr: SocketAddr) -> Client {
        let (mut c, greeting) = Client::connect(addr).await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        assert_eq!(c.cmd("LHLO mx.example.fr").await.code, 250);
        c
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// One reply, or `None` at the end of the connection.
    pub async fn reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line)).await.expect("a reply in time").unwrap();
            if n == 0 {
                assert!(lines.is_empty(), "connection closed inside a reply");
                return None;
            }
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            let code: u16 = line[..3].parse().unwrap_or_else(|_| panic!("bad reply line {line:?}"));
            lines.push(line[4..].trim_end().to_string());
            match line.as_bytes()[3] {
                b' ' => return Some(Reply { code, lines }),
                b'-' => continue,
                _ => panic!("bad reply line {line:?}"),
            }
        }
    }

    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await.expect("a reply")
    }

    /// The message, dot-stuffed, and the terminating ".".
    pub async fn data(&mut self, message: &[u8]) {
        self.send(&stuff(message)).await;
    }

    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(tokio::time::timeout(Duration::from_secs(10), self.reader.read_to_end(&mut rest)).await, Ok(Ok(_))) && rest.is_empty()
    }
}

/// RFC 5321 §4.5.2: a leading "." doubled, then CRLF "." CRLF.
fn stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn addr_of(token: &ReplyToken) -> String {
    reply_address(token, DOMAIN)
}

fn fixture_rcpt() -> String {
    format!("reply+{FIXTURE_TOKEN}@{DOMAIN}")
}

/// An invitation as the platform composes it, sent back as if relayed.
fn composed() -> Vec<u8> {
    super::smtp::invitation()
}

#[tokio::test]
async fn a_delivery_from_greeting_to_quit() {
    let server = start(LmtpLimits::default()).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert_eq!(greeting.code, 220);
    assert!(greeting.text().contains("LMTP"), "{greeting:?}");
    let lhlo = c.cmd("LHLO mx.example.fr").await;
    assert_eq!(lhlo.code, 250);
    assert_eq!(&lhlo.lines[1..], ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE 10485760"]);
    let message = composed();
    let mail = c.cmd(&format!("MAIL FROM:<parent@example.org> SIZE={} BODY=8BITMIME", message.len())).await;
    assert_eq!((mail.code, mail.text()), (250, "2.1.0 Sender OK".into()));
    let rcpt = fixture_rcpt();
    let r = c.cmd(&format!("RCPT TO:<{rcpt}>")).await;
    assert_eq!((r.code, r.text()), (250, "2.1.5 Recipient OK".into()));
    assert_eq!(c.cmd("DATA").await.code, 354);
    c.data(&message).await;
    let done = c.reply().await.unwrap();
    assert_eq!(done.code, 250, "{done:?}");
    assert!(done.text().starts_with("2.0.0"));
    assert_eq!(c.cmd("QUIT").await.code, 221);
    assert!(c.closed().await);

    let d = server.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].message, message, "the message arrives byte for byte, unstuffed");
    assert_eq!(d[0].rcpt, rcpt);
    assert_eq!(d[0].envelope.mail_from, "parent@example.org");
    assert_eq!(d[0].envelope.recipients, [rcpt]);
    assert_eq!(d[0].envelope.client_name, "mx.example.fr");
    assert_eq!(d[0].calendar.method, "REQUEST");
    assert_eq!(d[0].calendar.calendar_text, super::smtp::CALENDAR);
    assert_eq!(d[0].calendar.from_address.as_deref(), Some("agenda@agenda.example.fr"));
    assert_eq!(d[0].calendar.reply_to.as_deref(), Some("reply+mzxw6ytboiaaaaaaaaaaaaaaaa@agenda.example.fr"));
    assert_eq!(d[0].calendar.subject.as_deref(), Some("Invitation : Conseil de classe"));
    assert!(d[0].calendar.message_id.as_deref().unwrap().ends_with("@agenda.example.fr"));
    server.shutdown().await;
}

#[tokio::test]
async fn pipelined_transaction_with_mixed_recipients() {
    let server = start(LmtpLimits::default()).await;
    let (ok1, ok2, busy) = (ReplyToken::generate(), ReplyToken::generate(), ReplyToken::generate());
    server.handler.busy.lock().unwrap().push(busy);
    let mut c = Client::ready(server.addr).await;
    // RFC 2920: the whole group in one write; replies come back in order.
    let group = format!(
        "MAIL FROM:<claire.martin@outlook.example>\r\nRCPT TO:<{}>\r\nRCPT TO:<someone@elsewhere.example>\r\nRCPT TO:<{}>\r\n\
         RCPT TO:<{}>\r\nRCPT TO:<{}>\r\nDATA\r\n",
        addr_of(&ok1),
        addr_of(&ok2),
        addr_of(&busy),
        addr_of(&ok1).to_uppercase()
    );
    c.send(group.as_bytes()).await;
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..7 {
            v.push(c.reply().await.unwrap().code);
        }
        v
    };
    assert_eq!(codes, [250, 250, 550, 250, 250, 250, 354]);
    // Data and the next transaction's commands in one write, too.
    let mut bytes = stuff(OUTLOOK);
    bytes.extend_from_slice(b"RSET\r\nNOOP\r\n");
    c.send(&bytes).await;
    // RFC 2033 §4.2: one reply per accepted RCPT, in RCPT order (four).
    let replies: Vec<Reply> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(c.reply().await.unwrap());
        }
        v
    };
    assert_eq!(replies.iter().map(|r| r.code).collect::<Vec<_>>(), [250, 250, 451, 250], "{replies:?}");
    assert!(replies[2].text().starts_with("4.3.0"), "{:?}", replies[2]);
    assert_eq!(c.reply().await.unwrap().code, 250); // RSET
    assert_eq!(c.reply().await.unwrap().code, 250); // NOOP
    let d = server.deliveries();
    // ok1 and its upper-case spelling are two RCPTs but two distinct strings: two deliveries.
    let rcpts: Vec<String> = d.iter().map(|d| d.rcpt.to_lowercase()).collect();
    assert_eq!(rcpts, [addr_of(&ok1), addr_of(&ok2), addr_of(&ok1)]);
    assert_eq!(d[0].envelope.recipients.len(), 4, "the envelope lists the accepted recipients");

    // The same recipient twice: one delivery, two replies.
    c.send(format!("MAIL FROM:<>\r\nRCPT TO:<{0}>\r\nRCPT TO:<{0}>\r\nDATA\r\n", addr_of(&ok2)).as_bytes()).await;
    for expected in [250, 250, 250, 354] {
        assert_eq!(c.reply().await.unwrap().code, expected);
    }
    c.data(GMAIL).await;
    assert_eq!(c.reply().await.unwrap().code, 250);
    assert_eq!(c.reply().await.unwrap().code, 250);
    let d = server.deliveries();
    assert_eq!(d.len(), 4);
    assert_eq!(d[3].envelope.mail_from, "", "the null reverse-path");
    server.shutdown().await;
}

#[tokio::test]
async fn too_large_messages() {
    let limits = LmtpLimits { max_message_bytes: 2000, ..LmtpLimits::default() };
    let server = start(limits).await;
    let mut c = Client::ready(server.addr).await;
    // RFC 1870: the declared size is refused at once.
    let r = c.cmd("MAIL FROM:<a@example.org> SIZE=5000").await;
    assert_eq!(r.code, 552);
    assert!(r.text().starts_with("5.3.4"));
    // Undeclared: read to the end, then refused for each recipient.
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").await.code, 250);
    assert_eq!(c.cmd(&format!("RCPT TO:<{}>", fixture_rcpt())).await.code, 250);
    assert_eq!(c.cmd(&format!("RCPT TO:<{}>", addr_of(&ReplyToken::generate()))).await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    let big = format!("Subject: big\r\n\r\n{}", "0123456789012345678901234567890123456789\r\n".repeat(100));
    c.data(big.as_bytes()).await;
    for _ in 0..2 {
        let r = c.reply().await.unwrap();
        assert_eq!(r.code, 552, "{r:?}");
        assert!(r.text().starts_with("5.3.4"));
    }
    assert_eq!(c.cmd("NOOP").await.code, 250, "the session goes on");
    assert!(server.deliveries().is_empty());

    // A client that does not stop is cut off past the bound (1 MiB over the limit here).
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").await.code, 250);
    assert_eq!(c.cmd(&format!("RCPT TO:<{}>", fixture_rcpt())).await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    let line = "x".repeat(998) + "\r\n";
    let mut sent = 0;
    while sent < 4 * 1024 * 1024 {
        if c.writer.write_all(line.as_bytes()).await.is_err() {
            break;
        }
        sent += line.len();
    }
    // The server answered 552 and closed; the client may see the reply or,
    // since it left data unread, a reset. It never hangs.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), c.reader.read_to_end(&mut rest)).await.expect("the server closes");
    let text = String::from_utf8_lossy(&rest);
    assert!(read.is_err() || text.starts_with("552 5.3.4"), "{read:?} {text}");
    assert!(sent < 4 * 1024 * 1024 || read.is_err() || !rest.is_empty());
    assert!(server.deliveries().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn messages_without_a_calendar_or_malformed() {
    let server = start(LmtpLimits::default()).await;
    let mut c = Client::ready(server.addr).await;
    let cases: [(&str, &[u8]); 4] = [
        ("no calendar", b"From: a@example.org\r\nSubject: Merci\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nJe viendrai.\r\n"),
        (
            "unterminated multipart",
            b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--X\r\n",
        ),
        (
            "not iCalendar",
            b"From: a@example.org\r\nContent-Type: text/calendar; method=REPLY\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%not base64 ~~~\r\n",
        ),
        ("no headers at all", b"\x00\x01\x02garbage\xff\xfe\r\n"),
    ];
    for (name, message) in cases {
        assert_eq!(c.cmd("MAIL FROM:<a@example.org>").await.code, 250, "{name}");
        assert_eq!(c.cmd(&format!("RCPT TO:<{}>", fixture_rcpt())).await.code, 250);
        assert_eq!(c.cmd("DATA").await.code, 354);
        c.data(message).await;
        let r = c.reply().await.unwrap();
        assert_eq!(r.code, 554, "{name}: {r:?}");
        assert!(r.text().starts_with("5.6.0"), "{name}: {r:?}");
    }
    assert!(server.deliveries().is_empty());
    // And the extraction errors themselves.
    assert_eq!(extract_calendar(cases[0].1), Err(ParseError::NoCalendar));
    assert_eq!(extract_calendar(cases[1].1), Err(ParseError::NoCalendar));
    assert_eq!(extract_calendar(cases[2].1), Err(ParseError::NotICalendar));
    assert!(extract_calendar(cases[3].1).is_err());
    assert!(extract_calendar(b"").is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn outlook_style_reply_quoted_printable() {
    let server = start(LmtpLimits::default()).await;
    let mut c = Client::ready(server.addr).await;
    c.send(format!("MAIL FROM:<claire.martin@outlook.example>\r\nRCPT TO:<{}>\r\nDATA\r\n", fixture_rcpt()).as_bytes()).await;
    for expected in [250, 250, 354] {
        assert_eq!(c.reply().await.unwrap().code, expected);
    }
    c.data(OUTLOOK).await;
    assert_eq!(c.reply().await.unwrap().code, 250);
    let d = server.deliveries();
    let cal = &d[0].calendar;
    assert_eq!(cal.method, "REPLY");
    assert_eq!(cal.calendar_text, OUTLOOK_ICS, "quoted-printable decoded, UTF-8 kept");
    assert!(cal.calendar_text.contains("CN=Claire Martin-Lefèvre:mailto:claire.martin@outlook.example"));
    assert_eq!(cal.from_address.as_deref(), Some("claire.martin@outlook.example"));
    assert_eq!(cal.subject.as_deref(), Some("Accepté : Conseil de classe — 3e B"));
    assert_eq!(cal.message_id.as_deref(), Some("PR3P192MB0714B8E2C1F0A9D7C3A4F1B2C3D4E5F6@PR3P192MB0714.EURP192.PROD.OUTLOOK.COM"));
    assert_eq!(cal.reply_to, None);
    server.shutdown().await;
}

#[tokio::test]
async fn gmail_style_reply_base64() {
    let server = start(LmtpLimits::default()).await;
    let mut c = Client::ready(server.addr).await;
    c.send(format!("MAIL FROM:<paul.durand@gmail.example>\r\nRCPT TO:<{}>\r\nDATA\r\n", fixture_rcpt()).as_bytes()).await;
    for expected in [250, 250, 354] {
        assert_eq!(c.reply().await.unwrap().code, expected);
    }
    c.data(GMAIL).await;
    assert_eq!(c.reply().await.unwrap().code, 250);
    let cal = server.deliveries()[0].calendar.clone();
    assert_eq!(cal.method, "REPLY");
    assert_eq!(cal.calendar_text, GMAIL_ICS, "the text/calendar alternative, base64 decoded");
    assert!(cal.calendar_text.contains("PARTSTAT=DECLINED"));
    assert_eq!(cal.from_address.as_deref(), Some("paul.durand@gmail.example"));
    assert_eq!(cal.reply_to.as_deref(), Some("paul.durand+reply@gmail.example"));
    assert_eq!(cal.subject.as_deref(), Some("Invitation refusée\u{a0}: Conseil de classe — 3e B"));
    server.shutdown().await;
}

#[test]
fn extraction_choices() {
    // An application/ics attachment alone: the method comes from METHOD.
    let ics = GMAIL_ICS.replace("METHOD:REPLY", "METHOD:COUNTER");
    let attached = format!(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nVoir la pièce jointe\r\n\
         --b\r\nContent-Type: application/ics; name=\"invite.ics\"\r\nContent-Disposition: attachment; filename=\"invite.ics\"\r\n\r\n{ics}\r\n--b--\r\n"
    );
    let cal = extract_calendar(attached.as_bytes()).unwrap();
    assert_eq!(cal.method, "COUNTER");
    assert!(cal.calendar_text.starts_with("BEGIN:VCALENDAR"));
    // A text/calendar with a method parameter is preferred to one without, wherever it is.
    let both = format!(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/calendar\r\n\r\n{ics}\r\n\
         --b\r\nContent-Type: multipart/alternative; boundary=\"c\"\r\n\r\n--c\r\nContent-Type: text/calendar; method=reply; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--c--\r\n--b--\r\n",
        GMAIL_ICS.replace('=', "=3D").replace('é', "=E9").replace('—', "-")
    );
    let cal = extract_calendar(both.as_bytes()).unwrap();
    assert_eq!(cal.method, "REPLY");
    assert!(cal.calendar_text.contains("DESCRIPTION:Désolé"), "latin-1 decoded: {}", cal.calendar_text);
    // The parameter and METHOD disagree: refused (RFC 6047 §2.4).
    let mismatch = format!("From: a@example.org\r\nContent-Type: text/calendar; method=CANCEL\r\n\r\n{GMAIL_ICS}");
    assert_eq!(
        extract_calendar(mismatch.as_bytes()),
        Err(ParseError::MethodMismatch { parameter: "CANCEL".into(), property: "REPLY".into() })
    );
    // No method anywhere.
    let none = format!("From: a@example.org\r\nContent-Type: application/ics\r\n\r\n{}", GMAIL_ICS.replace("METHOD:REPLY\r\n", ""));
    assert_eq!(extract_calendar(none.as_bytes()), Err(ParseError::NoMethod));
    // A calendar inside a forwarded message is not this sender's.
    let forwarded = format!(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nTransféré\r\n\
         --b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n{GMAIL_ICS}\r\n--b--\r\n"
    );
    assert_eq!(extract_calendar(forwarded.as_bytes()), Err(ParseError::NoCalendar));
    // A file name does not make a calendar (RFC 6047 §2.6).
    let named = format!(
        "From: a@example.org\r\nContent-Type: application/octet-stream; name=\"invite.ics\"\r\nContent-Disposition: attachment; filename=\"invite.ics\"\r\n\r\n{GMAIL_ICS}"
    );
    assert_eq!(extract_calendar(named.as_bytes()), Err(ParseError::NoCalendar));
}

#[tokio::test]
async fn command_sequences_and_errors() {
    let server = start(LmtpLimits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let expect = [
        ("MAIL FROM:<a@example.org>", 503, "5.5.1"),
        // RFC 2033 §4.1: HELO and EHLO are not LMTP.
        ("HELO mx.example.fr", 500, "5.5.1"),
        ("EHLO mx.example.fr", 500, "5.5.1"),
        ("LHLO", 501, "5.5.4"),
        ("LHLO mx.example.fr", 250, ""),
        ("RCPT TO:<x@agenda.example.fr>", 503, "5.5.1"),
        ("DATA", 503, "5.5.1"),
        ("MAIL FROM:a@example.org", 501, "5.1.7"),
        ("MAIL FROM:<a@example.org> FOO=BAR", 555, "5.5.4"),
        ("MAIL FROM:<a@example.org> SIZE=abc", 501, "5.5.4"),
        ("MAIL FROM:<a@example.org>", 250, "2.1.0"),
        ("MAIL FROM:<b@example.org>", 503, "5.5.1"),
        ("RCPT TO:<>", 501, "5.1.3"),
        ("RCPT TO:<a b@agenda.example.fr>", 501, "5.1.3"),
        ("RCPT TO:<someone@agenda.example.fr> NOTIFY=NEVER", 555, "5.5.4"),
        ("RCPT TO:<someone@agenda.example.fr>", 550, "5.1.1"),
        // RFC 2033 §4.2: no successful RCPT, DATA fails with 503.
        ("DATA", 503, "5.5.1"),
        ("DATA now", 501, "5.5.4"),
        ("VRFY postmaster", 252, "2.5.0"),
        ("VRFY", 501, "5.5.4"),
        ("EXPN staff", 502, "5.5.1"),
        ("STARTTLS", 502, "5.5.1"),
        ("HELP", 214, "2.0.0"),
        ("NOOP anything", 250, "2.0.0"),
        ("RSET now", 501, "5.5.4"),
        ("RSET", 250, "2.0.0"),
        ("RCPT TO:<someone@agenda.example.fr>", 503, "5.5.1"),
        ("FROB", 500, "5.5.1"),
        ("mail from:<lower@example.org>", 250, "2.1.0"),
        ("LHLO again.example.fr", 250, ""),
        ("RCPT TO:<someone@agenda.example.fr>", 503, "5.5.1"),
    ];
    for (command, code, enhanced) in expect {
        let r = c.cmd(command).await;
        assert_eq!(r.code, code, "{command}: {r:?}");
        assert!(r.text().starts_with(enhanced), "{command}: {r:?}");
    }
    // A line beyond the limit is refused, and the session goes on.
    let r = c.cmd(&format!("NOOP {}", "x".repeat(2000))).await;
    assert_eq!((r.code, r.lines[0].starts_with("5.5.2")), (500, true), "{r:?}");
    assert_eq!(c.cmd("NOOP").await.code, 250);
    assert_eq!(c.cmd("QUIT").await.code, 221);
    assert!(c.closed().await);
    server.shutdown().await;
}

#[tokio::test]
async fn data_transparency_and_smuggling() {
    let server = start(LmtpLimits::default()).await;
    let mut c = Client::ready(server.addr).await;
    // "\n.\r\n" after a bare LF does not end the data; the real end does.
    let calendar_part = super::smtp::CALENDAR;
    let message = format!(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         ..deux points\r\nbare lf\n.\r\nMAIL FROM:<evil@example.org>\r\n--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n{calendar_part}--b--\r\n"
    );
    c.send(format!("MAIL FROM:<a@example.org>\r\nRCPT TO:<{}>\r\nDATA\r\n", fixture_rcpt()).as_bytes()).await;
    for expected in [250, 250, 354] {
        assert_eq!(c.reply().await.unwrap().code, expected);
    }
    // Sent as is (no stuffing of the lone "." after the bare LF), then the end.
    let mut bytes = message.replace("..deux", "...deux").into_bytes();
    bytes.extend_from_slice(b".\r\n");
    c.send(&bytes).await;
    let r = c.reply().await.unwrap();
    assert_eq!(r.code, 250, "{r:?}");
    let d = server.deliveries();
    assert_eq!(d.len(), 1);
    let got = String::from_utf8(d[0].message.clone()).unwrap();
    assert!(got.contains("\r\n..deux points\r\n"), "one dot removed: {got}");
    assert!(got.contains("bare lf\n\r\nMAIL FROM:<evil@example.org>\r\n"), "the lone '.' was data: {got}");
    assert_eq!(c.cmd("NOOP").await.code, 250);
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_client_times_out() {
    let limits = LmtpLimits { command_timeout: Duration::from_millis(300), ..LmtpLimits::default() };
    let server = start(limits).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let r = c.reply().await.unwrap();
    assert_eq!(r.code, 421);
    assert!(r.text().starts_with("4.4.2"));
    assert!(c.closed().await);
    // In the middle of the data, too.
    let mut c = Client::ready(server.addr).await;
    c.send(format!("MAIL FROM:<a@example.org>\r\nRCPT TO:<{}>\r\nDATA\r\n", fixture_rcpt()).as_bytes()).await;
    for expected in [250, 250, 354] {
        assert_eq!(c.reply().await.unwrap().code, expected);
    }
    c.send(b"Subject: half a message\r\n").await;
    assert_eq!(c.reply().await.unwrap().code, 421);
    assert!(c.closed().await);
    assert!(server.deliveries().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn at_most_n_sessions() {
    let limits = LmtpLimits { max_sessions: 2, ..LmtpLimits::default() };
    let server = start(limits).await;
    let a = Client::ready(server.addr).await;
    let mut b = Client::ready(server.addr).await;
    let (mut third, greeting) = Client::connect(server.addr).await;
    assert_eq!(greeting.code, 421, "{greeting:?}");
    assert!(greeting.text().starts_with("4.3.2"));
    assert!(third.closed().await);
    assert_eq!(b.cmd("QUIT").await.code, 221);
    assert!(b.closed().await);
    // The freed slot is taken again (the session's end is noticed shortly after QUIT).
    let mut served = false;
    for _ in 0..50 {
        let (mut c, greeting) = Client::connect(server.addr).await;
        if greeting.code == 220 {
            assert_eq!(c.cmd("LHLO mx.example.fr").await.code, 250);
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served);
    drop(a);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_a_transaction_finish_and_closes_idle_sessions() {
    let server = start(LmtpLimits::default()).await;
    *server.handler.delay.lock().unwrap() = Duration::from_millis(200);
    let mut idle = Client::ready(server.addr).await;
    let mut busy = Client::ready(server.addr).await;
    busy.send(format!("MAIL FROM:<a@example.org>\r\nRCPT TO:<{}>\r\nDATA\r\n", fixture_rcpt()).as_bytes()).await;
    for expected in [250, 250, 354] {
        assert_eq!(busy.reply().await.unwrap().code, expected);
    }
    let addr = server.addr;
    let handler = server.handler.clone();
    let stopping = tokio::spawn(server.shutdown());
    // The idle session is told at once.
    let r = idle.reply().await.unwrap();
    assert_eq!((r.code, r.text().starts_with("4.3.2")), (421, true), "{r:?}");
    assert!(idle.closed().await);
    // The one inside DATA finishes its message, then is told.
    busy.data(GMAIL).await;
    assert_eq!(busy.reply().await.unwrap().code, 250);
    assert_eq!(busy.reply().await.unwrap().code, 421);
    assert!(busy.closed().await);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.unwrap().unwrap();
    assert_eq!(handler.deliveries.lock().unwrap().len(), 1);
    // No longer listening.
    assert!(TcpStream::connect(addr).await.is_err());
}
