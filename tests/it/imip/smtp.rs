//! `SmtpTransport` (lettre) against the test SMTP server, over real TCP.

use std::time::{Duration, Instant};

use almanach::imip::compose::{compose, Invitation, Mailbox};
use almanach::imip::transport::{MailTransport, SendError, SmtpTransport};
use chrono::{TimeZone, Utc};

use super::smtp_server::{Behaviour, SmtpServer};

pub const CALENDAR: &str = "BEGIN:VCALENDAR\r\nPRODID:-//Almanach//FR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n\
BEGIN:VEVENT\r\nUID:abc-123@agenda.example.fr\r\nDTSTAMP:20250102T100000Z\r\nDTSTART:20250110T090000Z\r\n\
DTEND:20250110T100000Z\r\nSUMMARY:Conseil de classe — 3e B\r\n\
ORGANIZER;CN=Jean Dupont:mailto:reply+mzxw6ytboiaaaaaaaaaaaaaaaa@agenda.example.fr\r\n\
ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:parent@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

pub fn invitation() -> Vec<u8> {
    let inv = Invitation {
        method: "REQUEST".into(),
        from: "Almanach <agenda@agenda.example.fr>".parse().unwrap(),
        sender_name: Some("Jean Dupont".into()),
        organizer_email: Some("jean.dupont@ac-lyon.fr".into()),
        reply_to: Some("reply+mzxw6ytboiaaaaaaaaaaaaaaaa@agenda.example.fr".into()),
        to: vec![Mailbox::new(Some("Parent"), "parent@example.org").unwrap()],
        subject: "Invitation : Conseil de classe".into(),
        // Lines that SMTP must dot-stuff: the text part is quoted-printable,
        // which leaves "." alone.
        text: "Bonjour,\n.\n..deux points\n.fin".into(),
        calendar: CALENDAR.into(),
        message_id_domain: "agenda.example.fr".into(),
    };
    compose(&inv, Utc.with_ymd_and_hms(2025, 1, 2, 10, 0, 0).unwrap()).unwrap()
}

fn transport(server: &SmtpServer) -> SmtpTransport {
    SmtpTransport::from_url(&server.url()).unwrap().with_timeouts(Duration::from_secs(2), Duration::from_secs(2))
}

fn rcpt(a: &str) -> Vec<String> {
    vec![a.to_string()]
}

#[tokio::test]
async fn delivered_bytes_are_the_composed_bytes() {
    let server = SmtpServer::start().await;
    let message = invitation();
    assert!(message.windows(3).any(|w| w == b"\n.\r"), "the message has a lone '.' line to stuff");
    transport(&server).send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &message).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "agenda@agenda.example.fr");
    assert_eq!(received[0].rcpt_to, ["parent@example.org"]);
    assert_eq!(received[0].data, message, "byte for byte");
    assert!(!received[0].helo.is_empty());
    // The dialogue: EHLO, MAIL, RCPT, DATA, then QUIT.
    let commands = server.commands();
    let verbs: Vec<&str> = commands.iter().filter(|c| c.len() >= 4 && c.is_ascii()).map(|c| &c[..4]).collect();
    assert!(verbs.starts_with(&["EHLO", "MAIL", "RCPT", "DATA"]), "{verbs:?}");
    assert_eq!(verbs.last(), Some(&"QUIT"));
    // The data lines were stuffed on the wire.
    let wire = String::from_utf8(received[0].wire.clone()).unwrap();
    assert!(wire.contains("\r\n..\r\n...deux points\r\n..fin"), "{wire}");
}

#[tokio::test]
async fn several_recipients_and_the_null_sender() {
    let server = SmtpServer::start().await;
    let recipients = vec!["a@example.org".to_string(), "b@example.net".to_string()];
    // A message without a final CRLF gets one: the data ends with a line.
    transport(&server).send("", &recipients, b"Subject: x\r\n\r\nbody").await.unwrap();
    let r = &server.received()[0];
    assert_eq!((r.mail_from.as_str(), r.rcpt_to.clone()), ("", recipients));
    assert_eq!(r.data, b"Subject: x\r\n\r\nbody\r\n");
}

#[tokio::test]
async fn temporary_failures() {
    let server = SmtpServer::start().await;
    let t = transport(&server);
    let message = invitation();
    for behaviour in [
        Behaviour { rcpt: Some((451, "4.3.0 Try later")), ..Default::default() },
        Behaviour { rcpt: Some((421, "4.3.2 Closing")), ..Default::default() },
        Behaviour { rcpt: Some((452, "4.2.2 Mailbox full")), ..Default::default() },
        Behaviour { data: Some((451, "4.3.0 Local error")), ..Default::default() },
        Behaviour { data: Some((421, "4.3.2 Shutting down")), ..Default::default() },
    ] {
        server.set(behaviour.clone());
        let result = t.send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &message).await;
        assert!(matches!(result, Err(SendError::Temporary(_))), "{behaviour:?}: {result:?}");
    }
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn permanent_failures() {
    let server = SmtpServer::start().await;
    let t = transport(&server);
    let message = invitation();
    for behaviour in [
        Behaviour { rcpt: Some((550, "5.1.1 No such user")), ..Default::default() },
        Behaviour { rcpt: Some((553, "5.1.3 Bad address")), ..Default::default() },
        Behaviour { data: Some((554, "5.7.1 Rejected as spam")), ..Default::default() },
        Behaviour { data: Some((552, "5.3.4 Too big")), ..Default::default() },
    ] {
        server.set(behaviour.clone());
        let result = t.send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &message).await;
        match result {
            Err(SendError::Permanent(text)) => assert!(text.contains(behaviour.rcpt.or(behaviour.data).unwrap().1.split(' ').nth(1).unwrap()), "{text}"),
            other => panic!("{behaviour:?}: {other:?}"),
        }
    }
    assert!(server.received().is_empty());
    // An address no relay can take fails before connecting.
    server.set(Behaviour::default());
    let before = server.commands().len();
    let result = t.send("agenda@agenda.example.fr", &rcpt("not an address"), &message).await;
    assert!(matches!(result, Err(SendError::Permanent(_))), "{result:?}");
    assert_eq!(server.commands().len(), before);
}

#[tokio::test]
async fn a_server_that_is_down_then_back() {
    let server = SmtpServer::start().await;
    let t = transport(&server);
    let message = invitation();
    server.stop().await;
    let started = Instant::now();
    let result = t.send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &message).await;
    assert!(matches!(result, Err(SendError::Temporary(ref e)) if e.contains("connect")), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "a refused connection fails at once");
    server.restart().await;
    t.send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &message).await.unwrap();
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_server_that_says_nothing_times_out() {
    let server = SmtpServer::start().await;
    server.set(Behaviour { silent: true, ..Default::default() });
    let t = SmtpTransport::from_url(&server.url()).unwrap().with_timeouts(Duration::from_secs(2), Duration::from_millis(300));
    let started = Instant::now();
    let result = t.send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &invitation()).await;
    assert!(matches!(result, Err(SendError::Temporary(_))), "{result:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn starttls_required_is_not_sent_in_clear() {
    let server = SmtpServer::start().await;
    // The test server does not offer STARTTLS: nothing may be sent.
    let url = format!("smtp+starttls://agenda:hunter2@127.0.0.1:{}", server.addr().port());
    let t = SmtpTransport::from_url(&url).unwrap().with_timeouts(Duration::from_secs(2), Duration::from_secs(2));
    assert!(!format!("{t:?}").contains("hunter2"));
    let result = t.send("agenda@agenda.example.fr", &rcpt("parent@example.org"), &invitation()).await;
    match result {
        Err(SendError::Temporary(text)) => {
            assert!(text.contains("STARTTLS"), "{text}");
            assert!(!text.contains("hunter2"));
        }
        other => panic!("{other:?}"),
    }
    let commands = server.commands();
    assert!(commands.iter().all(|c| !c.starts_with("MAIL") && !c.starts_with("AUTH")), "{commands:?}");
    assert!(server.received().is_empty());
}
