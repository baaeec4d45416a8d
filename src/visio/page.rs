//! The join page, `BASE_URL/visio/TOKEN`: anyone holding a room's link
//! (the token is the capability; no account needed).
//!
//! - `GET`: a small page in French — the meeting's title, date and time in
//!   the event's zone, its organizer — with a name field and a join button.
//! - `POST` (the form): refused unless it comes from this page (a
//!   cross-site post: `Sec-Fetch-Site`, `Origin`, and a token that must
//!   match a `SameSite=Strict` cookie set by the GET); then an idempotent
//!   BBB `create` (the room's fixed meetingID and passwords, its voice
//!   bridge and the dial-in number, `record=true` only when the organizer
//!   asked) and a 303 to a freshly signed `join` URL on the configured BBB
//!   server (nothing of the request chooses where: no open redirect),
//!   `role=MODERATOR` for the moderator link, `VIEWER` for the attendee
//!   link, with the name typed. An attendee
//!   who comes before a moderator has started the meeting gets a waiting
//!   page, whose only script polls `GET /visio/TOKEN/status` (BBB's
//!   `isMeetingRunning`) and joins by itself.
//! - A closed room (cancelled or deleted event) answers 410 "cette réunion
//!   a été annulée"; a BBB server that cannot be reached, 503 "le service
//!   de visio est indisponible".
//!
//! Every text from the event is HTML-escaped; every page carries a strict
//! Content-Security-Policy (no script but the nonce'd waiting poll), no
//! referrer to other sites (the token is in the URL), and is never cached.
//!
//! The token (128 random bits) is looked up through the unique index of
//! the token columns: the comparisons inside the index are not constant
//! time, but what their timing could tell is where a guess falls among
//! other uniformly random tokens, which brings a guesser no nearer to one
//! (the reply addresses of emails are found the same way). The request
//! log shows `/visio/…` without it (`http::service`).
//!
//! Whoever is logged in to the account page is offered their directory
//! name ([`handle`]'s `directory_name`), still editable; the account page
//! passes it once it has sessions.

use chrono::{Datelike, TimeZone, Timelike};
use http::{header, Method, Request, StatusCode};
use hyper::body::Incoming;

use super::bbb::{BbbClient, CreateMeeting, JoinRole};
use crate::app::AppState;
use crate::dav::response::{set_header, with_body, Response};
use crate::store::{Room, RoomRole, StoreError};
use crate::web::form::{self, Form};
use crate::web::html::{escape, Page};
use crate::web::security::{cookie_header, double_submit_ok, origin_of, random_hex};

/// The cookie that carries the form's anti-forgery token.
const CSRF_COOKIE: &str = "almanach_visio";
/// The longest name accepted (characters).
const MAX_NAME: usize = 100;
/// The largest form body read.
const MAX_FORM_BYTES: usize = 8 * 1024;
/// How often the waiting page polls (ms).
const POLL_MS: u32 = 5000;

/// Why a join page cannot be shown or joined; each is one status and one
/// page, mapped in [`Failure::into_response`].
#[derive(Debug)]
enum Failure {
    NotFound,
    Cancelled,
    Unavailable,
    Forbidden,
    MethodNotAllowed,
    BadRequest,
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl Failure {
    fn into_response(self, state: &AppState) -> Response {
        let (status, title, text) = match self {
            Failure::NotFound => (StatusCode::NOT_FOUND, "Lien inconnu", "Ce lien de visio n'existe pas. Vérifiez l'adresse reçue dans l'invitation."),
            Failure::Cancelled => (StatusCode::GONE, "Réunion annulée", "Cette réunion a été annulée."),
            Failure::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service indisponible",
                "Le service de visio est indisponible pour le moment. Réessayez dans quelques minutes.",
            ),
            Failure::Forbidden => (
                StatusCode::FORBIDDEN,
                "Formulaire refusé",
                "Ce formulaire n'a pas été envoyé depuis la page de la réunion. Rouvrez le lien de l'invitation.",
            ),
            Failure::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Méthode refusée", "Cette page s'ouvre dans un navigateur."),
            Failure::BadRequest => (StatusCode::BAD_REQUEST, "Demande illisible", "Le formulaire envoyé est illisible."),
            Failure::Store(e) => {
                tracing::error!(error = %e, "store failure on a visio page");
                (StatusCode::SERVICE_UNAVAILABLE, "Service indisponible", "Le service est indisponible pour le moment. Réessayez dans quelques minutes.")
            }
        };
        let mut r = page(state, status, title, &format!("<p>{}</p>", escape(text)), None);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            set_header(&mut r, header::ALLOW, "GET, HEAD, POST");
        }
        r
    }
}

/// A whole page with its security headers; `script` (with its nonce)
/// only on the waiting page.
fn page(state: &AppState, status: StatusCode, title: &str, body: &str, script: Option<&str>) -> Response {
    // The form posts here, and the answer redirects to the BBB server:
    // form-action allows both (browsers check it on the redirect too).
    let bbb = state.config.bbb_url.as_deref().and_then(origin_of);
    Page {
        status,
        title,
        title_suffix: " — Visio",
        style: STYLE,
        body,
        script,
        form_action_extra: bbb.as_deref(),
        // The token is in the URL: no other site gets it as a referrer
        // (and the form's own post keeps its Origin, which no-referrer
        // would make "null").
        referrer_policy: "same-origin",
        data_images: false,
    }
    .render()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f5f5fe;color:#161616}\
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-top:4px solid #000091}\
h1{font-size:1.5rem;margin-top:0}dl{margin:0 0 1.5rem}dt{font-weight:bold;margin-top:.5rem}dd{margin:0}\
label{display:block;font-weight:bold;margin-bottom:.25rem}input[type=text]{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}\
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;background:#000091;color:#fff;border:0;cursor:pointer}\
.error{color:#ce0500}";

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const MONTHS: [&str; 12] =
    ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];

/// "vendredi 15 janvier 2027 à 11 h 00 (Europe/Paris)", in the event's
/// zone (UTC when it has none).
pub fn french_date(starts_at: i64, zone: Option<&str>) -> Option<String> {
    let utc = chrono::Utc.timestamp_millis_opt(starts_at).single()?;
    let z = zone.and_then(crate::ical::tz::Zone::from_name);
    let (local, name) = match &z {
        Some(z) => (z.utc_to_local(utc), zone.unwrap_or("UTC")),
        None => (utc.naive_utc(), "UTC"),
    };
    Some(format!(
        "{} {} {} {} à {} h {:02} ({})",
        WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        local.day(),
        MONTHS[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute(),
        name
    ))
}

/// The meeting's description list.
fn about(state: &AppState, room: &Room, role: RoomRole) -> String {
    let d = &room.details;
    let mut s = String::from("<dl>");
    let title = if d.title.trim().is_empty() { "Réunion" } else { d.title.as_str() };
    s.push_str(&format!("<dt>Réunion</dt><dd id=\"title\">{}</dd>", escape(title)));
    if let Some(when) = d.starts_at.and_then(|t| french_date(t, d.time_zone.as_deref())) {
        s.push_str(&format!("<dt>Date</dt><dd>{}</dd>", escape(&when)));
    }
    if !d.organizer.is_empty() {
        s.push_str(&format!("<dt>Organisée par</dt><dd>{}</dd>", escape(&d.organizer)));
    }
    if let (Some(number), Some(code)) = (state.config.bbb_dial_number.as_deref(), room.voice_bridge) {
        s.push_str(&format!("<dt>Par téléphone</dt><dd>{}, code {code}</dd>", escape(number)));
    }
    if room.details.record {
        s.push_str("<dt>Enregistrement</dt><dd id=\"record\">l'animateur peut enregistrer cette réunion</dd>");
    }
    if role == RoomRole::Moderator {
        s.push_str("<dt>Votre rôle</dt><dd>animateur (lien de l'organisateur)</dd>");
    }
    s.push_str("</dl>");
    s
}

/// The form: name and join button, with the anti-forgery token.
fn form(token_path: &str, csrf: &str, name: &str, error: Option<&str>, button: &str) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    format!(
        "{error}<form method=\"post\" action=\"{}\" id=\"join\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"name\">Votre nom</label><input type=\"text\" id=\"name\" name=\"name\" required maxlength=\"{MAX_NAME}\" \
         autocomplete=\"name\" value=\"{}\"><button type=\"submit\">{}</button></form>",
        escape(token_path),
        escape(csrf),
        escape(name),
        escape(button)
    )
}

/// Where the page is ("/visio/TOKEN" under the base path).
fn token_path(state: &AppState, token: &str) -> String {
    format!("{}{}{token}", state.config.base_path(), super::PATH)
}

fn set_csrf_cookie(state: &AppState, r: &mut Response, value: &str) {
    let path = format!("{}{}", state.config.base_path(), super::PATH);
    set_header(r, header::SET_COOKIE, &cookie_header(&state.config.base_url, CSRF_COOKIE, value, &path, None));
}

/// Answer a request below `/visio/` (`rest`: what follows it).
/// `directory_name`: the name of the agent logged in to the account page,
/// if any (None until the account page has sessions), which prefills the
/// form's name field (still editable: the name joined with is the one
/// posted).
pub async fn handle(state: &AppState, req: Request<Incoming>, rest: &str, directory_name: Option<&str>) -> Response {
    match serve(state, req, rest, directory_name).await {
        Ok(r) => r,
        Err(f) => f.into_response(state),
    }
}

async fn serve(state: &AppState, req: Request<Incoming>, rest: &str, directory_name: Option<&str>) -> Result<Response, Failure> {
    let (token_text, status) = match rest.strip_suffix("/status") {
        Some(t) => (t, true),
        None => (rest, false),
    };
    let token = super::parse_token(token_text).ok_or(Failure::NotFound)?;
    let (room, role) = state.store.room_by_token(token).await?.ok_or(Failure::NotFound)?;
    if room.closed {
        return Err(Failure::Cancelled);
    }
    let bbb = state.visio.as_ref().ok_or(Failure::Unavailable)?;
    let method = req.method().clone();
    match (method, status) {
        (Method::GET | Method::HEAD, true) => running(bbb, &room).await,
        (Method::GET | Method::HEAD, false) => Ok(show(state, &room, role, token_text, directory_name)),
        (Method::POST, false) => join(state, bbb, req, &room, role, token_text).await,
        _ => Err(Failure::MethodNotAllowed),
    }
}

/// GET: the page with its form (the name prefilled with the directory's
/// when known), and a fresh anti-forgery cookie.
fn show(state: &AppState, room: &Room, role: RoomRole, token: &str, directory_name: Option<&str>) -> Response {
    let csrf = random_hex();
    let name = directory_name.and_then(clean_name).unwrap_or_default();
    let body = format!("{}{}", about(state, room, role), form(&token_path(state, token), &csrf, &name, None, "Rejoindre la réunion"));
    let mut r = page(state, StatusCode::OK, "Rejoindre la visio", &body, None);
    set_csrf_cookie(state, &mut r, &csrf);
    r
}

/// The waiting page's poll: `{"running":true|false}`.
async fn running(bbb: &BbbClient, room: &Room) -> Result<Response, Failure> {
    let running = bbb.is_meeting_running(&room.fixed.meeting_id).await.map_err(|e| {
        tracing::warn!(error = %e, "visio server unavailable (isMeetingRunning)");
        Failure::Unavailable
    })?;
    let mut r = with_body(StatusCode::OK, "application/json", format!("{{\"running\":{running}}}"));
    set_header(&mut r, header::CACHE_CONTROL, "no-store");
    Ok(r)
}

/// A post from this page: `Sec-Fetch-Site` same-origin (or none: typed by
/// the user), `Origin` this server's when sent, and the form's token equal
/// to the cookie's (a cross-site page can neither read nor set it).
fn from_this_page(state: &AppState, headers: &http::HeaderMap, form_csrf: Option<&str>) -> bool {
    double_submit_ok(&state.config.base_url, headers, CSRF_COOKIE, form_csrf)
}

async fn read_form(state: &AppState, body: Incoming) -> Result<Form, Failure> {
    form::read_form(body, MAX_FORM_BYTES, state.config.header_timeout).await.map_err(|_| Failure::BadRequest)
}

/// The bidirectional controls (Unicode's Cf characters that reorder
/// text): a name with them could show as another's in the meeting.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name to show in the meeting: trimmed, without control characters
/// or bidirectional controls, at most [`MAX_NAME`] characters.
fn clean_name(name: &str) -> Option<String> {
    let n: String = name.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect::<String>().trim().to_string();
    (!n.is_empty() && n.chars().count() <= MAX_NAME).then_some(n)
}

/// The idempotent `create` of `room`'s meeting. A voice bridge another
/// running meeting of the BBB server holds (one that is not ours) makes
/// BBB refuse it (`nonUniqueVoiceBridge`): then the meeting is created
/// without (BBB draws one; the invitation's code does not reach it this
/// time), rather than not at all.
async fn create_meeting(state: &AppState, bbb: &BbbClient, room: &Room) -> Result<(), super::bbb::BbbError> {
    let title = if room.details.title.trim().is_empty() { "Réunion" } else { room.details.title.as_str() };
    let dial_number = state.config.bbb_dial_number.as_deref().filter(|_| room.voice_bridge.is_some());
    let mut create = CreateMeeting {
        meeting_id: &room.fixed.meeting_id,
        name: title,
        attendee_pw: &room.fixed.attendee_pw,
        moderator_pw: &room.fixed.moderator_pw,
        record: room.details.record,
        voice_bridge: room.voice_bridge.filter(|_| dial_number.is_some()),
        dial_number,
        welcome: None,
        logout_url: None,
    };
    let created = match bbb.create(&create).await {
        Err(super::bbb::BbbError::Failed { key: super::bbb::MessageKey::NonUniqueVoiceBridge, .. }) => {
            tracing::warn!(room = room.id, "the room's voice bridge is held by another meeting of the BBB server: created without it");
            create.voice_bridge = None;
            bbb.create(&create).await?
        }
        other => other?,
    };
    if let (Some(ours), Some(theirs)) = (create.voice_bridge, created.voice_bridge.as_deref()) {
        if theirs.trim() != ours.to_string() {
            tracing::warn!(room = room.id, "the BBB server replaced the room's voice bridge (Scalelite: set USE_EXTERNAL_VOICE_BRIDGE=true and VOICE_BRIDGE_LEN=5)");
        }
    }
    Ok(())
}

/// POST: create the meeting if needed, then join or wait.
async fn join(state: &AppState, bbb: &BbbClient, req: Request<Incoming>, room: &Room, role: RoomRole, token: &str) -> Result<Response, Failure> {
    let (parts, body) = req.into_parts();
    let fields = read_form(state, body).await?;
    let field = |n: &str| fields.get(n);
    if !from_this_page(state, &parts.headers, field("csrf")) {
        return Err(Failure::Forbidden);
    }
    let csrf = field("csrf").unwrap_or_default();
    let Some(name) = field("name").and_then(clean_name) else {
        let body = format!(
            "{}{}",
            about(state, room, role),
            form(&token_path(state, token), csrf, field("name").unwrap_or(""), Some("Indiquez votre nom (100 caractères au plus)."), "Rejoindre la réunion")
        );
        return Ok(page(state, StatusCode::BAD_REQUEST, "Rejoindre la visio", &body, None));
    };
    let unavailable = |call: &str, e: super::bbb::BbbError| {
        tracing::warn!(error = %e, call, "visio server unavailable");
        Failure::Unavailable
    };
    create_meeting(state, bbb, room).await.map_err(|e| unavailable("create", e))?;
    let (bbb_role, password) = match role {
        RoomRole::Moderator => (JoinRole::Moderator, &room.fixed.moderator_pw),
        RoomRole::Attendee => (JoinRole::Viewer, &room.fixed.attendee_pw),
    };
    if bbb_role == JoinRole::Viewer && !bbb.is_meeting_running(&room.fixed.meeting_id).await.map_err(|e| unavailable("isMeetingRunning", e))? {
        return Ok(waiting(state, room, role, token, csrf, &name));
    }
    let mut r = with_body(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    set_header(&mut r, header::LOCATION, &bbb.join_url(&room.fixed.meeting_id, &name, bbb_role, password));
    set_header(&mut r, header::CACHE_CONTROL, "no-store");
    set_header(&mut r, header::REFERRER_POLICY, "no-referrer");
    Ok(r)
}

/// The waiting page: the form again (to retry by hand) and a poll that
/// submits it once the meeting runs.
fn waiting(state: &AppState, room: &Room, role: RoomRole, token: &str, csrf: &str, name: &str) -> Response {
    let body = format!(
        "{}<p id=\"waiting\" role=\"status\">La réunion n'a pas encore commencé : cette page vous fera entrer dès que l'organisateur l'aura ouverte.</p>{}",
        about(state, room, role),
        form(&token_path(state, token), csrf, name, None, "Réessayer")
    );
    let status = serde_json::to_string(&format!("{}/status", token_path(state, token))).unwrap_or_default();
    let script = format!(
        "(function(){{var f=document.getElementById('join');function poll(){{fetch({status},{{cache:'no-store',credentials:'same-origin'}})\
         .then(function(r){{return r.json();}}).then(function(j){{if(j.running){{f.submit();}}else{{setTimeout(poll,{POLL_MS});}}}})\
         .catch(function(){{setTimeout(poll,{POLL_MS});}});}}setTimeout(poll,{POLL_MS});}})();"
    );
    page(state, StatusCode::OK, "En attente de l'organisateur", &body, Some(&script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_dates() {
        // 2027-01-15 10:00 UTC is 11:00 in Paris, a Friday.
        let t = chrono::Utc.with_ymd_and_hms(2027, 1, 15, 10, 0, 0).unwrap().timestamp_millis();
        assert_eq!(french_date(t, Some("Europe/Paris")).unwrap(), "vendredi 15 janvier 2027 à 11 h 00 (Europe/Paris)");
        assert_eq!(french_date(t, None).unwrap(), "vendredi 15 janvier 2027 à 10 h 00 (UTC)");
        assert_eq!(clean_name("  Élise\u{7}  "), Some("Élise".into()));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name(&"x".repeat(101)), None);
        assert_eq!(clean_name(&"é".repeat(100)).map(|n| n.chars().count()), Some(100), "characters, not bytes");
        assert_eq!(clean_name("Alice\u{202E}nimda\u{2066}"), Some("Alicenimda".into()), "no bidirectional controls");
        assert_eq!(origin_of("https://visio.example.fr/bigbluebutton/").as_deref(), Some("https://visio.example.fr"));
    }
}
