//! A small SMTP server (RFC 5321 subset) on 127.0.0.1 for the tests: the
//! greeting, EHLO/HELO (8BITMIME advertised), MAIL FROM, RCPT TO, DATA with
//! dot-unstuffing and the terminating ".", RSET, NOOP, QUIT. It records
//! every message it accepts (envelope and bytes), can be told to answer
//! RCPT or DATA with a failure (421 closes the connection, as §3.8 says),
//! to say nothing at all (a hung server), and can stop listening and start
//! again on the same port (a relay that is down, then back).
//!
//! It is written independently of the LMTP listener under test, and the
//! clients are real ones (`lettre` through `SmtpTransport`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent, after dot-unstuffing, without the final ".".
    pub data: Vec<u8>,
    /// The data as it crossed the wire, still dot-stuffed.
    pub wire: Vec<u8>,
}

/// How the server answers.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Reply to every RCPT TO instead of 250, e.g. `(550, "5.1.1 No such user")`.
    pub rcpt: Option<(u16, &'static str)>,
    /// Reply to the end of the data instead of 250.
    pub data: Option<(u16, &'static str)>,
    /// Accept connections and never say anything.
    pub silent: bool,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    behaviour: Mutex<Behaviour>,
    /// Every command line received, in order, for protocol assertions.
    commands: Mutex<Vec<String>>,
}

pub struct SmtpServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        SmtpServer { addr, state, task: Mutex::new(Some(task)) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn commands(&self) -> Vec<String> {
        self.state.commands.lock().unwrap().clone()
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }

    /// Stop listening and drop every open session: connections are refused.
    pub async fn stop(&self) {
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listen again on the same port.
    pub async fn restart(&self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr).await.unwrap();
        *self.task.lock().unwrap() = Some(tokio::spawn(accept_loop(listener, self.state.clone())));
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// Sessions live in a `JoinSet` owned by this task: aborting it ends them.
async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                sessions.spawn(session(stream, state.clone()));
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

async fn session(stream: TcpStream, state: Arc<State>) {
    let behaviour = state.behaviour.lock().unwrap().clone();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    if behaviour.silent {
        // Hold the connection open without a word.
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut r, &mut sink).await;
        return;
    }
    macro_rules! say {
        ($($t:tt)*) => {
            if w.write_all(format!($($t)*).as_bytes()).await.is_err() { return; }
        };
    }
    say!("220 test.smtp.local ESMTP ready\r\n");
    let mut helo: Option<String> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
        state.commands.lock().unwrap().push(text.clone());
        let upper = text.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or("").to_string();
        match verb.as_str() {
            "EHLO" => {
                helo = Some(text[4..].trim().to_string());
                say!("250-test.smtp.local greets you\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n");
            }
            "HELO" => {
                helo = Some(text[4..].trim().to_string());
                say!("250 test.smtp.local\r\n");
            }
            "MAIL" if upper.starts_with("MAIL FROM:") => {
                if helo.is_none() {
                    say!("503 5.5.1 EHLO first\r\n");
                    continue;
                }
                mail_from = Some(path(&text["MAIL FROM:".len()..]));
                rcpt_to.clear();
                say!("250 2.1.0 OK\r\n");
            }
            "RCPT" if upper.starts_with("RCPT TO:") => {
                if mail_from.is_none() {
                    say!("503 5.5.1 MAIL first\r\n");
                    continue;
                }
                match behaviour.rcpt {
                    Some((code, text)) => {
                        say!("{code} {text}\r\n");
                        if code == 421 {
                            return;
                        }
                    }
                    None => {
                        rcpt_to.push(path(&text["RCPT TO:".len()..]));
                        say!("250 2.1.5 OK\r\n");
                    }
                }
            }
            "DATA" => {
                if rcpt_to.is_empty() {
                    say!("503 5.5.1 RCPT first\r\n");
                    continue;
                }
                say!("354 End data with <CR><LF>.<CR><LF>\r\n");
                let mut data = Vec::new();
                let mut wire = Vec::new();
                loop {
                    line.clear();
                    match r.read_until(b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == b".\r\n" {
                        break;
                    }
                    wire.extend_from_slice(&line);
                    // RFC 5321 §4.5.2: a leading dot was doubled by the client.
                    data.extend_from_slice(if line.starts_with(b".") { &line[1..] } else { &line[..] });
                }
                match behaviour.data {
                    Some((code, text)) => {
                        say!("{code} {text}\r\n");
                        if code == 421 {
                            return;
                        }
                    }
                    None => {
                        state.received.lock().unwrap().push(Received {
                            helo: helo.clone().unwrap_or_default(),
                            mail_from: mail_from.clone().unwrap_or_default(),
                            rcpt_to: rcpt_to.clone(),
                            data,
                            wire,
                        });
                        say!("250 2.0.0 Queued\r\n");
                    }
                }
                mail_from = None;
                rcpt_to.clear();
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                say!("250 2.0.0 OK\r\n");
            }
            "NOOP" => say!("250 2.0.0 OK\r\n"),
            "QUIT" => {
                say!("221 2.0.0 Bye\r\n");
                return;
            }
            _ => say!("500 5.5.1 Command unrecognized\r\n"),
        }
    }
}

/// The address inside `<…>`, parameters dropped.
fn path(args: &str) -> String {
    let args = args.trim();
    let inner = args.strip_prefix('<').unwrap_or(args);
    inner.split('>').next().unwrap_or("").to_string()
}
