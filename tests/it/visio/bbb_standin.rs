//! A BigBlueButton stand-in on 127.0.0.1 for the tests, speaking the real
//! API over real HTTP (`/bigbluebutton/api/{call}`): `create`, `join`,
//! `isMeetingRunning`, `getMeetingInfo`, `end`.
//!
//! It checks every checksum as BBB's `GetChecksumValidator` does: over the
//! raw query string received, without `&checksum=…`, the algorithm chosen
//! by the checksum's length (40, 64, 96, 128 hex digits), compared
//! exactly. `create` is idempotent for the same passwords
//! (`duplicateWarning`) and fails with `idNotUnique` for others; it checks
//! its parameters as BBB does (`record`, `allowStartStopRecording`,
//! `autoStartRecording` are `true` or `false`; `voiceBridge` is a number,
//! drawn when absent, `nonUniqueVoiceBridge` when another meeting has it)
//! and keeps them for the tests to look at; a meeting
//! nobody joined is removed after `empty_timeout`, and one ends as soon as
//! its last participant leaves ([`BbbStandIn::leave_all`]). `join` answers
//! a small HTML page naming the role (where the browser lands).
//!
//! Written from BBB's API documentation, independently of the client under
//! test (it shares only the published checksum definition).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use sha2::Digest;
use tokio::net::TcpListener;

pub const SECRET: &str = "stand-in-shared-secret-0123456789";

#[derive(Debug, Clone)]
pub struct Participant {
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct Meeting {
    pub name: String,
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub record: String,
    pub allow_start_stop_recording: String,
    pub voice_bridge: String,
    pub dial_number: String,
    pub participants: Vec<Participant>,
    created: Instant,
}

#[derive(Default)]
struct State {
    meetings: HashMap<String, Meeting>,
    /// Every call received: (call, raw query, the answer's returncode or
    /// messageKey).
    calls: Vec<(String, String, String)>,
    empty_timeout: Option<Duration>,
}

pub struct BbbStandIn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BbbStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BbbStandIn {
    pub async fn start() -> BbbStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { empty_timeout: Some(Duration::from_secs(300)), ..State::default() }));
        let s = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let s = s.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&s, req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                });
            }
        });
        BbbStandIn { addr, state, task }
    }

    /// The `bbb_url` to configure.
    pub fn url(&self) -> String {
        format!("http://{}/bigbluebutton/", self.addr)
    }

    /// Where `join` URLs point.
    pub fn join_prefix(&self) -> String {
        format!("http://{}/bigbluebutton/api/join?", self.addr)
    }

    pub fn meetings(&self) -> HashMap<String, Meeting> {
        self.state.lock().unwrap().meetings.clone()
    }

    pub fn calls(&self) -> Vec<(String, String, String)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// A meeting that is not Almanach's, holding `voice_bridge` (another
    /// application on the same BBB server).
    pub fn occupy_voice_bridge(&self, voice_bridge: &str) {
        let mut s = self.state.lock().unwrap();
        let m = Meeting {
            name: "someone else's".into(),
            attendee_pw: "x".into(),
            moderator_pw: "y".into(),
            record: "false".into(),
            allow_start_stop_recording: "false".into(),
            voice_bridge: voice_bridge.into(),
            dial_number: String::new(),
            participants: vec![Participant { name: "Other".into(), role: "MODERATOR".into() }],
            created: Instant::now(),
        };
        s.meetings.insert(format!("other-{voice_bridge}"), m);
    }

    /// Every participant leaves: the meeting ends.
    pub fn leave_all(&self, meeting_id: &str) {
        let mut s = self.state.lock().unwrap();
        if let Some(m) = s.meetings.get_mut(meeting_id) {
            m.participants.clear();
        }
        s.meetings.remove(meeting_id);
    }
}

/// `hex(H(call + query + secret))` with H named by `algorithm`.
pub fn checksum(algorithm: &str, call: &str, query: &str) -> String {
    let input = format!("{call}{query}{SECRET}");
    match algorithm {
        "sha1" => hex::encode(sha1::Sha1::digest(input.as_bytes())),
        "sha256" => hex::encode(sha2::Sha256::digest(input.as_bytes())),
        "sha384" => hex::encode(sha2::Sha384::digest(input.as_bytes())),
        "sha512" => hex::encode(sha2::Sha512::digest(input.as_bytes())),
        other => panic!("no algorithm {other}"),
    }
}

/// BBB's check: the algorithm by length, over the raw query without the
/// checksum parameter.
pub fn verify(call: &str, raw_query: &str) -> bool {
    let (query, sum) = match raw_query.rsplit_once("&checksum=") {
        Some((q, s)) => (q, s),
        None => match raw_query.strip_prefix("checksum=") {
            Some(s) => ("", s),
            None => return false,
        },
    };
    let algorithm = match sum.len() {
        40 => "sha1",
        64 => "sha256",
        96 => "sha384",
        128 => "sha512",
        _ => return false,
    };
    checksum(algorithm, call, query) == sum
}

fn xml(body: &str) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(format!("<?xml version=\"1.0\"?>\n<response>{body}</response>"))));
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/xml;charset=utf-8"));
    r
}

fn failed(key: &str, message: &str) -> (String, hyper::Response<Full<Bytes>>) {
    (key.to_string(), xml(&format!("<returncode>FAILED</returncode><messageKey>{key}</messageKey><message>{message}</message>")))
}

fn answer(state: &Mutex<State>, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let raw = req.uri().query().unwrap_or("").to_string();
    let Some(call) = path.strip_prefix("/bigbluebutton/api/").map(str::to_string) else {
        let mut r = hyper::Response::new(Full::new(Bytes::from_static(b"not found")));
        *r.status_mut() = http::StatusCode::NOT_FOUND;
        return r;
    };
    let mut s = state.lock().unwrap();
    // Meetings nobody joined go away after a while, as on BBB.
    if let Some(t) = s.empty_timeout {
        s.meetings.retain(|_, m| !m.participants.is_empty() || m.created.elapsed() < t);
    }
    let params: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let p = |k: &str| params.get(k).cloned().unwrap_or_default();
    let (outcome, response) = if !verify(&call, &raw) {
        failed("checksumError", "Checksums do not match")
    } else {
        match call.as_str() {
            "create" => create(&mut s, &params),
            "join" => join(&mut s, &p("meetingID"), &p("fullName"), &p("role")),
            "isMeetingRunning" => {
                let running = s.meetings.get(&p("meetingID")).is_some_and(|m| !m.participants.is_empty());
                ("SUCCESS".into(), xml(&format!("<returncode>SUCCESS</returncode><running>{running}</running>")))
            }
            "getMeetingInfo" => match s.meetings.get(&p("meetingID")) {
                Some(m) => {
                    let moderators = m.participants.iter().filter(|x| x.role == "MODERATOR").count();
                    let running = !m.participants.is_empty();
                    let attendees: String = m
                        .participants
                        .iter()
                        .map(|x| format!("<attendee><fullName>{}</fullName><role>{}</role></attendee>", x.name.replace('<', "&lt;"), x.role))
                        .collect();
                    (
                        "SUCCESS".into(),
                        xml(&format!(
                            "<returncode>SUCCESS</returncode><meetingName>{}</meetingName><meetingID>{}</meetingID><running>{running}</running>\
                             <participantCount>{}</participantCount><moderatorCount>{moderators}</moderatorCount><attendees>{attendees}</attendees>",
                            m.name.replace('<', "&lt;"),
                            p("meetingID"),
                            m.participants.len()
                        )),
                    )
                }
                None => failed("notFound", "We could not find a meeting with that meeting ID"),
            },
            "end" => match s.meetings.remove(&p("meetingID")) {
                Some(_) => (
                    "SUCCESS".into(),
                    xml("<returncode>SUCCESS</returncode><messageKey>sentEndMeetingRequest</messageKey><message>A request to end the meeting was sent.</message>"),
                ),
                None => failed("notFound", "We could not find a meeting with that meeting ID"),
            },
            _ => failed("unsupportedRequest", "This request is not supported."),
        }
    };
    s.calls.push((call, raw, outcome));
    response
}

/// `create` as BBB validates it (bbb-common-web's `ParamsProcessorUtil`
/// and `ApiController`): booleans are `true` or `false`, the voice bridge
/// a number that no other running meeting has.
fn create(s: &mut State, params: &HashMap<String, String>) -> (String, hyper::Response<Full<Bytes>>) {
    let p = |k: &str| params.get(k).cloned().unwrap_or_default();
    let id = p("meetingID");
    if id.is_empty() {
        return failed("missingParamMeetingID", "You must specify a meeting ID for the meeting.");
    }
    for flag in ["record", "allowStartStopRecording", "autoStartRecording"] {
        if params.get(flag).is_some_and(|v| v != "true" && v != "false") {
            return failed("validationError", &format!("{flag} must be a boolean value (true or false)"));
        }
    }
    let voice_bridge = match params.get("voiceBridge") {
        Some(v) if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) => {
            return failed("validationError", "Voice bridge must be an integer.")
        }
        Some(v) => v.clone(),
        None => format!("{}", 10_000 + s.meetings.len() as u32 * 7919 % 90_000),
    };
    let (apw, mpw) = (p("attendeePW"), p("moderatorPW"));
    let body = |key: &str, m: &Meeting| {
        format!(
            "<returncode>SUCCESS</returncode><meetingID>{id}</meetingID><attendeePW>{}</attendeePW><moderatorPW>{}</moderatorPW>\
             <voiceBridge>{}</voiceBridge><dialNumber>{}</dialNumber>\
             <hasBeenForciblyEnded>false</hasBeenForciblyEnded><messageKey>{key}</messageKey><message></message>",
            m.attendee_pw,
            m.moderator_pw,
            m.voice_bridge,
            m.dial_number.replace('<', "&lt;")
        )
    };
    match s.meetings.get(&id) {
        Some(m) if m.attendee_pw == apw && m.moderator_pw == mpw => ("duplicateWarning".into(), xml(&body("duplicateWarning", m))),
        Some(_) => failed("idNotUnique", "A meeting already exists with that meeting ID. Please use a different meeting ID."),
        None if s.meetings.values().any(|m| m.voice_bridge == voice_bridge) => {
            failed("nonUniqueVoiceBridge", "The selected voice bridge is already in use.")
        }
        None => {
            let m = Meeting {
                name: p("name"),
                attendee_pw: apw,
                moderator_pw: mpw,
                record: params.get("record").cloned().unwrap_or_else(|| "false".into()),
                allow_start_stop_recording: params.get("allowStartStopRecording").cloned().unwrap_or_else(|| "true".into()),
                voice_bridge,
                dial_number: p("dialNumber"),
                participants: Vec::new(),
                created: Instant::now(),
            };
            let answer = xml(&body("", &m));
            s.meetings.insert(id.clone(), m);
            ("SUCCESS".into(), answer)
        }
    }
}

fn join(s: &mut State, id: &str, name: &str, role: &str) -> (String, hyper::Response<Full<Bytes>>) {
    let Some(m) = s.meetings.get_mut(id) else { return failed("invalidMeetingIdentifier", "The meeting ID that you supplied did not match any existing meetings") };
    if !matches!(role, "MODERATOR" | "VIEWER") {
        return failed("invalidRole", "role must be MODERATOR or VIEWER");
    }
    m.participants.push(Participant { name: name.to_string(), role: role.to_string() });
    let escaped = name.replace('&', "&amp;").replace('<', "&lt;");
    let mut r = hyper::Response::new(Full::new(Bytes::from(format!(
        "<!DOCTYPE html><html><head><title>BBB stand-in</title></head><body><p id=\"joined\">{escaped} joined as {role}</p></body></html>"
    ))));
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
    ("SUCCESS".into(), r)
}

#[test]
fn the_stand_in_checks_checksums_like_bbb() {
    // BBB's published vector, through the stand-in's own check (with its
    // secret replaced by the vector's).
    let q = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444";
    let sum = hex::encode(sha1::Sha1::digest(format!("create{q}639259d4-9dd8-4b25-bf01-95f9567eaf4b").as_bytes()));
    assert_eq!(sum, "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17");
    for alg in ["sha1", "sha256", "sha384", "sha512"] {
        let sum = checksum(alg, "create", q);
        assert!(verify("create", &format!("{q}&checksum={sum}")), "{alg}");
        assert!(!verify("create", &format!("{q}&checksum={}", sum.to_uppercase())), "compared exactly");
        assert!(!verify("join", &format!("{q}&checksum={sum}")), "another call");
        // Re-ordered parameters break it, as on BBB.
        let reordered = "meetingID=abc123&name=Test+Meeting&attendeePW=111222&moderatorPW=333444";
        assert!(!verify("create", &format!("{reordered}&checksum={sum}")));
    }
    assert!(!verify("create", q), "no checksum");
}
