//! Concurrent writers against a running server, then a check that what the
//! server acknowledged is what it stores, and that its sync tokens report
//! every change after them exactly once.
//!
//! ```text
//! cargo run --release --example stress -- URL USER PASSWORD [SECONDS] [WRITERS]
//! ```
//!
//! (`scripts/stress.sh` builds it, and can start a throwaway server.) URL is
//! the server's base URL (`http://HOST:PORT[/PREFIX]`). The run creates a
//! fresh calendar and address book (`stress-RUN`, the *main* collections)
//! and one more of each (`stress-RUN-copies`), then runs WRITERS (default
//! 6) writers per kind for SECONDS (default 20).
//!
//! # Workload
//!
//! Each main collection has a few *shared* names (`s0.ics` …) that every
//! writer of its kind PUTs (some with `If-Match`), MOVEs away, COPYs and
//! DELETEs; and each writer *owns* destination names — `wN-dJ` in the main
//! collection, `wN-cJ` in the copies collection — that only it writes: it
//! MOVEs shared names onto them, COPYs shared names into the copies
//! collection, PUTs and DELETEs them, and MOVEs them back onto shared names.
//! Every PUT carries a new UID naming its write (`stress-RUN-ID`), so the
//! bytes anywhere say which PUT produced them.
//!
//! # Checks (sound under concurrency)
//!
//! - An owned name is only written by its owner, one request at a time, so
//!   the owner knows its exact state: each answer must be the one that state
//!   implies (201 or 204 for a PUT, MOVE or COPY onto it, 404 for a DELETE
//!   of nothing), a MOVE or COPY acknowledged onto it must be found there
//!   right after (GET), and at the end it must hold what its owner last put
//!   there. (A MOVE that waited behind another and moved the resource again
//!   from the other's destination fails these.)
//! - A shared name must end in the state left by one of its acknowledged
//!   writes that no other acknowledged write of it followed in real time
//!   (sent after it was answered): a linearizable store can end nowhere else.
//! - Bytes found anywhere must come from a PUT that was acknowledged, with
//!   the ETag that PUT returned.
//! - Sync tokens are taken during the run with an initial `sync-collection`
//!   (token and members, a state at or after the token). Afterwards, a
//!   `sync-collection` from each token must list no href twice, list every
//!   name whose ETag (or existence) differs between that state and the end,
//!   report what it lists as the end has it (200 with the final ETag, or
//!   404), and return the final token.
//!
//! Any violation is printed and the exit status is 1. Requests that got no
//! answer (transport error) or a 5xx make the names they touch unchecked;
//! their number is printed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use almanach::xml::{self, Element, NS_DAV};

const SHARED: usize = 4;
const OWNED_MAIN: usize = 3;
const OWNED_COPIES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Space {
    Calendar,
    Book,
}

impl Space {
    fn ext(self) -> &'static str {
        match self {
            Space::Calendar => "ics",
            Space::Book => "vcf",
        }
    }
}

/// What a name holds: nothing, or the bytes of one PUT (its write id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Absent,
    Holds(u64),
    /// A request on it got no usable answer: not checked.
    Unknown,
}

/// One write request and its answer; times since the start of the run.
#[derive(Debug, Clone)]
struct Op {
    space: Space,
    kind: Kind,
    sent: Duration,
    answered: Duration,
    /// None: no answer (transport error).
    status: Option<u16>,
    /// The ETag a PUT returned.
    etag: Option<String>,
}

#[derive(Debug, Clone)]
enum Kind {
    Put { name: String, id: u64 },
    Move { from: String, to: String, carried: Option<u64> },
    Copy { from: String, to: String },
    Delete { name: String },
}

impl Op {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
    fn uncertain(&self) -> bool {
        self.status.is_none_or(|s| s >= 500)
    }
    /// Whether it names `name` (as source or target).
    fn names(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Put { name: n, .. } | Kind::Delete { name: n } => n == name,
            Kind::Move { from, to, .. } | Kind::Copy { from, to } => from == name || to == name,
        }
    }

    /// The names it writes, with their state after it when it succeeded.
    fn effects(&self) -> Vec<(&str, State)> {
        match &self.kind {
            Kind::Put { name, id } => vec![(name, State::Holds(*id))],
            Kind::Move { from, to, carried } => vec![(from, State::Absent), (to, carried.map_or(State::Unknown, State::Holds))],
            Kind::Copy { to, .. } => vec![(to, State::Unknown)],
            Kind::Delete { name } => vec![(name, State::Absent)],
        }
    }
}

/// Content seen at a name (id of the PUT that wrote it, its ETag).
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    id: u64,
    etag: Option<String>,
}

// ------------------------------------------------------------------ HTTP

struct Client {
    http: reqwest::Client,
    /// Scheme and authority, e.g. `http://127.0.0.1:8008`.
    origin: String,
    /// The base URL's path prefix ("" or `/dav`), which prefixes hrefs.
    prefix: String,
    user: String,
    password: String,
}

struct Resp {
    status: u16,
    etag: Option<String>,
    body: String,
}

impl Client {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Result<Resp, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self.http.request(method, format!("{}{}{path}", self.origin, self.prefix));
        rb = rb.basic_auth(&self.user, Some(&self.password));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().await.map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = r.text().await.map_err(|e| e.to_string())?;
        Ok(Resp { status, etag, body })
    }

    fn destination(&self, path: &str) -> String {
        format!("{}{}{path}", self.origin, self.prefix)
    }
}

// ------------------------------------------------------------------ the run

struct Ctx {
    client: Client,
    run: String,
    start: Instant,
    deadline: Instant,
    next_id: AtomicU64,
    /// Main and copies collection paths of each space.
    collections: HashMap<Space, (String, String)>,
}

impl Ctx {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn body(&self, space: Space, id: u64) -> String {
        let uid = format!("stress-{}-{id}", self.run);
        match space {
            Space::Calendar => format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//almanach//stress//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
                 DTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nDURATION:PT1H\r\nSUMMARY:write {id}\r\n\
                 END:VEVENT\r\nEND:VCALENDAR\r\n"
            ),
            Space::Book => format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Write {id}\r\nN:{id};Write;;;\r\nEND:VCARD\r\n"),
        }
    }

    /// The write id in bytes this run wrote.
    fn write_id(&self, body: &str) -> Option<u64> {
        let marker = format!("UID:stress-{}-", self.run);
        let from = body.find(&marker)? + marker.len();
        body[from..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    }
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// One writer: its owned names' states, what it did and saw, and what was wrong.
struct Writer {
    ctx: Arc<Ctx>,
    space: Space,
    index: usize,
    rng: Rng,
    owned: BTreeMap<String, State>,
    etags: HashMap<String, String>,
    ops: Vec<Op>,
    seen: Vec<Seen>,
    violations: Vec<String>,
}

impl Writer {
    fn new(ctx: Arc<Ctx>, space: Space, index: usize) -> Writer {
        let (main, copies) = ctx.collections[&space].clone();
        let ext = space.ext();
        let mut owned = BTreeMap::new();
        for j in 0..OWNED_MAIN {
            owned.insert(format!("{main}w{index}-d{j}.{ext}"), State::Absent);
        }
        for j in 0..OWNED_COPIES {
            owned.insert(format!("{copies}w{index}-c{j}.{ext}"), State::Absent);
        }
        let seed = 0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) * 7919) ^ ((space as u64 + 1) << 40);
        Writer { ctx, space, index, rng: Rng(seed), owned, etags: HashMap::new(), ops: Vec::new(), seen: Vec::new(), violations: Vec::new() }
    }

    fn shared(&mut self) -> String {
        format!("{}s{}.{}", self.ctx.collections[&self.space].0, self.rng.below(SHARED), self.space.ext())
    }

    /// One of its owned names in the main (`copies` false) or copies collection.
    fn own(&mut self, copies: bool) -> String {
        let (main, copies_path) = &self.ctx.collections[&self.space];
        let (dir, n, letter) = if copies { (copies_path, OWNED_COPIES, 'c') } else { (main, OWNED_MAIN, 'd') };
        format!("{dir}w{}-{letter}{}.{}", self.index, self.rng.below(n), self.space.ext())
    }

    async fn run(mut self) -> Writer {
        while Instant::now() < self.ctx.deadline {
            match self.rng.below(20) {
                0..=4 => self.put_shared().await,
                5..=7 => self.move_to_own().await,
                8..=9 => self.copy_to_own().await,
                10..=11 => self.delete(false).await,
                12..=14 => self.put_own().await,
                15..=16 => self.move_own_to_shared().await,
                17 => self.delete(true).await,
                _ => self.learn_etag().await,
            }
        }
        self
    }

    /// Send a write and log it; the answer, or None without one.
    async fn write(&mut self, kind: Kind, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Option<Resp> {
        let sent = self.ctx.now();
        let r = self.ctx.client.send(method, path, headers, body).await;
        let answered = self.ctx.now();
        let (status, etag) = match &r {
            Ok(resp) => (Some(resp.status), resp.etag.clone()),
            Err(_) => (None, None),
        };
        self.ops.push(Op { space: self.space, kind, sent, answered, status, etag });
        r.ok()
    }

    /// The status if it is one of `expected`. Otherwise None, and the
    /// owned names among `unknown` become unchecked: an unexpected answer
    /// below 500 is also a violation (a 5xx or no answer is counted apart).
    fn expect(&mut self, what: &str, resp: &Option<Resp>, expected: &[u16], unknown: &[&str]) -> Option<u16> {
        if let Some(r) = resp.as_ref().filter(|r| expected.contains(&r.status)) {
            return Some(r.status);
        }
        if let Some(r) = resp.as_ref().filter(|r| r.status < 500) {
            let snippet: String = r.body.chars().take(200).collect();
            self.violations.push(format!("{what}: {} where {expected:?} was expected: {snippet}", r.status));
        }
        for name in unknown {
            if let Some(s) = self.owned.get_mut(*name) {
                *s = State::Unknown;
            }
        }
        None
    }

    /// A PUT on a shared name, a quarter of them with `If-Match`.
    async fn put_shared(&mut self) {
        let name = self.shared();
        let id = self.ctx.next_id.fetch_add(1, Ordering::Relaxed);
        let known = self.etags.get(&name).cloned().filter(|_| self.rng.below(4) == 0);
        let mut headers = vec![("content-type", self.content_type())];
        if let Some(etag) = &known {
            headers.push(("if-match", etag.as_str()));
        }
        let body = self.ctx.body(self.space, id);
        let resp = self.write(Kind::Put { name: name.clone(), id }, "PUT", &name, &headers, Some(body)).await;
        let expected: &[u16] = if known.is_some() { &[204, 412] } else { &[201, 204] };
        if self.expect(&format!("PUT {name}"), &resp, expected, &[]).is_some_and(|s| s < 300) {
            if let Some(etag) = resp.and_then(|r| r.etag) {
                self.etags.insert(name, etag);
            }
        }
    }

    fn content_type(&self) -> &'static str {
        if self.space == Space::Calendar { "text/calendar" } else { "text/vcard" }
    }

    async fn put_own(&mut self) {
        let in_copies = self.rng.below(3) == 0;
        let name = self.own(in_copies);
        let before = self.owned[&name];
        let id = self.ctx.next_id.fetch_add(1, Ordering::Relaxed);
        let headers = [("content-type", self.content_type())];
        let body = self.ctx.body(self.space, id);
        let resp = self.write(Kind::Put { name: name.clone(), id }, "PUT", &name, &headers, Some(body)).await;
        if self.expect(&format!("PUT {name} ({before:?})"), &resp, created(before), &[name.as_str()]).is_some() {
            self.owned.insert(name.clone(), State::Holds(id));
            self.seen.push(Seen { name, id, etag: resp.and_then(|r| r.etag) });
        }
    }

    /// MOVE (or COPY) of a shared name onto an owned one (Overwrite: T).
    async fn transfer_to_own(&mut self, method: &str, copies: bool) {
        let (from, to) = (self.shared(), self.own(copies));
        let before = self.owned[&to];
        let kind = if method == "MOVE" {
            Kind::Move { from: from.clone(), to: to.clone(), carried: None }
        } else {
            Kind::Copy { from: from.clone(), to: to.clone() }
        };
        let dest = self.ctx.client.destination(&to);
        let resp = self.write(kind, method, &from, &[("destination", &dest), ("overwrite", "T")], None).await;
        // 404: the shared name was empty. A COPY into the copies collection
        // meets the UID of an earlier copy of the same bytes under another
        // name (RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1): 403.
        let mut expected = vec![404];
        expected.extend_from_slice(created(before));
        if method == "COPY" {
            expected.push(403);
        }
        let what = format!("{method} {from} -> {to} ({before:?})");
        if self.expect(&what, &resp, &expected, &[to.as_str()]).is_some_and(|s| s < 300) {
            self.observe(&what, &to).await;
        }
    }

    async fn move_to_own(&mut self) {
        self.transfer_to_own("MOVE", false).await
    }

    async fn copy_to_own(&mut self) {
        self.transfer_to_own("COPY", true).await
    }

    /// What an owned name holds right after a write acknowledged onto it.
    async fn observe(&mut self, what: &str, name: &str) {
        match self.ctx.client.send("GET", name, &[], None).await {
            Ok(r) if r.status == 200 => match self.ctx.write_id(&r.body) {
                Some(id) => {
                    self.owned.insert(name.to_string(), State::Holds(id));
                    self.seen.push(Seen { name: name.to_string(), id, etag: r.etag });
                }
                None => {
                    self.violations.push(format!("{what}: {name} holds bytes no PUT of this run wrote"));
                    self.owned.insert(name.to_string(), State::Unknown);
                }
            },
            Ok(r) if r.status == 404 => {
                self.violations.push(format!("{what} was acknowledged, but {name} is missing right after"));
                self.owned.insert(name.to_string(), State::Absent);
            }
            _ => {
                self.owned.insert(name.to_string(), State::Unknown);
            }
        }
    }

    /// MOVE of an owned name holding something onto a shared name.
    async fn move_own_to_shared(&mut self) {
        let from = self.own(false);
        let State::Holds(id) = self.owned[&from] else { return };
        let to = self.shared();
        let dest = self.ctx.client.destination(&to);
        let kind = Kind::Move { from: from.clone(), to: to.clone(), carried: Some(id) };
        let resp = self.write(kind, "MOVE", &from, &[("destination", &dest), ("overwrite", "T")], None).await;
        if self.expect(&format!("MOVE {from} -> {to}"), &resp, &[201, 204], &[from.as_str()]).is_some() {
            self.owned.insert(from, State::Absent);
        }
    }

    async fn delete(&mut self, own: bool) {
        let in_copies = self.rng.below(3) == 0;
        let name = if own { self.own(in_copies) } else { self.shared() };
        let before = self.owned.get(&name).copied();
        let resp = self.write(Kind::Delete { name: name.clone() }, "DELETE", &name, &[], None).await;
        let expected: &[u16] = match before {
            Some(State::Absent) => &[404],
            Some(State::Holds(_)) => &[204],
            _ => &[204, 404],
        };
        if self.expect(&format!("DELETE {name} ({before:?})"), &resp, expected, &[name.as_str()]).is_some() && own {
            self.owned.insert(name, State::Absent);
        }
    }

    /// GET a shared name for the ETag of a later `If-Match`.
    async fn learn_etag(&mut self) {
        let name = self.shared();
        if let Ok(r) = self.ctx.client.send("GET", &name, &[], None).await {
            match (r.status, r.etag) {
                (200, Some(etag)) => {
                    self.etags.insert(name, etag);
                }
                _ => {
                    self.etags.remove(&name);
                }
            }
        }
    }
}

/// What a write onto an owned name answers, given what the name held.
fn created(before: State) -> &'static [u16] {
    match before {
        State::Absent => &[201],
        State::Holds(_) => &[204],
        State::Unknown => &[201, 204],
    }
}

// ------------------------------------------------------------------ sync

/// A collection's state as one `sync-collection` reported it.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    token: String,
    /// Member path → ETag (a 404 entry: None).
    members: BTreeMap<String, Option<String>>,
    /// Hrefs reported more than once.
    repeated: Vec<String>,
}

async fn sync_collection(client: &Client, collection: &str, token: &str) -> Result<Snapshot, String> {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#
    );
    let headers = [("depth", "0"), ("content-type", "application/xml")];
    let r = client.send("REPORT", collection, &headers, Some(body)).await?;
    if r.status != 207 {
        return Err(format!("sync-collection of {collection} from {token:?}: {} {}", r.status, r.body));
    }
    parse_multistatus(client, &r.body)
}

fn parse_multistatus(client: &Client, body: &str) -> Result<Snapshot, String> {
    let root = xml::parse(body.as_bytes(), xml::XmlLimits::default()).map_err(|e| e.to_string())?;
    let mut snap = Snapshot { token: root.child(NS_DAV, "sync-token").map(Element::text).unwrap_or_default(), ..Default::default() };
    for response in root.elements().filter(|e| e.is(NS_DAV, "response")) {
        let href = response.child(NS_DAV, "href").map(Element::text).unwrap_or_default();
        let path = href.strip_prefix(&client.prefix).unwrap_or(&href).to_string();
        let etag = response
            .child(NS_DAV, "propstat")
            .filter(|p| p.child(NS_DAV, "status").is_some_and(|s| s.text().contains(" 200 ")))
            .and_then(|p| p.child(NS_DAV, "prop"))
            .and_then(|p| p.child(NS_DAV, "getetag"))
            .map(Element::text);
        if snap.members.insert(path.clone(), etag).is_some() {
            snap.repeated.push(path);
        }
    }
    Ok(snap)
}

/// Initial synchronizations of `collection` until the deadline, spread
/// over the run.
async fn take_tokens(ctx: Arc<Ctx>, collection: String, every: Duration) -> (String, Vec<Snapshot>, Vec<String>) {
    let (mut snapshots, mut errors) = (Vec::new(), Vec::new());
    while Instant::now() + every / 2 < ctx.deadline {
        tokio::time::sleep(every).await;
        match sync_collection(&ctx.client, &collection, "").await {
            Ok(s) => snapshots.push(s),
            Err(e) => errors.push(e),
        }
    }
    (collection, snapshots, errors)
}

/// Against the final state: everything that differs is reported once, as
/// it is at the end, and the token is the final one.
async fn check_token(client: &Client, collection: &str, at: &Snapshot, end: &Snapshot) -> Result<usize, Vec<String>> {
    let report = sync_collection(client, collection, &at.token).await.map_err(|e| vec![e])?;
    let mut wrong: Vec<String> = report.repeated.iter().map(|h| format!("{h} reported twice")).collect();
    let names: HashSet<&String> = at.members.keys().chain(end.members.keys()).collect();
    for name in names {
        if at.members.get(name) != end.members.get(name) && !report.members.contains_key(name) {
            wrong.push(format!("{name} changed ({:?} -> {:?}) but is not reported", at.members.get(name), end.members.get(name)));
        }
    }
    for (name, etag) in &report.members {
        let now = end.members.get(name).cloned().flatten();
        if *etag != now {
            wrong.push(format!("{name} reported as {etag:?}, is {now:?}"));
        }
    }
    if report.token != end.token {
        wrong.push(format!("token {} after {}, final {}", report.token, at.token, end.token));
    }
    let label = |w: String| format!("sync of {collection} from {}: {w}", at.token);
    if wrong.is_empty() { Ok(report.members.len()) } else { Err(wrong.into_iter().map(label).collect()) }
}

// ------------------------------------------------------------------ checks

/// Final members of a collection and what each holds (by GET).
async fn final_contents(ctx: &Ctx, snapshot: &Snapshot) -> (HashMap<String, State>, Vec<Seen>, Vec<String>) {
    let (mut states, mut seen, mut wrong) = (HashMap::new(), Vec::new(), Vec::new());
    for (name, etag) in &snapshot.members {
        match ctx.client.send("GET", name, &[], None).await {
            Ok(r) if r.status == 200 => {
                if r.etag != *etag {
                    wrong.push(format!("{name}: GET ETag {:?}, sync-collection {etag:?}", r.etag));
                }
                match ctx.write_id(&r.body) {
                    Some(id) => {
                        states.insert(name.clone(), State::Holds(id));
                        seen.push(Seen { name: name.clone(), id, etag: r.etag });
                    }
                    None => wrong.push(format!("{name} holds bytes no PUT of this run wrote")),
                }
            }
            other => wrong.push(format!("{name} listed but GET gave {:?}", other.map(|r| r.status))),
        }
    }
    (states, seen, wrong)
}

/// The states a shared name may end in: those of its acknowledged writes
/// that no acknowledged write sent after their answer followed. None when
/// a write of it got no usable answer.
fn candidates(name: &str, ops: &[&Op]) -> Option<HashSet<State>> {
    let mut touching: Vec<(&Op, State)> = Vec::new();
    for op in ops {
        for (n, state) in op.effects() {
            if n == name {
                touching.push((*op, state));
            }
        }
    }
    if touching.iter().any(|t| t.0.uncertain()) {
        return None;
    }
    let done: Vec<(&Op, State)> = touching.into_iter().filter(|t| t.0.ok()).collect();
    let followed = |op: &Op| done.iter().any(|other| other.0.sent > op.answered);
    let mut states: HashSet<State> = done.iter().filter(|t| !followed(t.0)).map(|t| t.1).collect();
    if done.is_empty() {
        states.insert(State::Absent);
    }
    Some(states)
}

struct Report {
    violations: Vec<String>,
    unchecked: usize,
    owned: usize,
    shared: usize,
}

fn check_owned(writers: &[Writer], finals: &HashMap<String, State>, report: &mut Report) {
    for w in writers {
        for (name, want) in &w.owned {
            let now = finals.get(name).copied().unwrap_or(State::Absent);
            match want {
                State::Unknown => report.unchecked += 1,
                _ if now == *want => report.owned += 1,
                _ => report.violations.push(format!("{name}: its only writer left it {want:?}, it is {now:?}")),
            }
        }
    }
}

fn check_shared(ctx: &Ctx, ops: &[&Op], finals: &HashMap<String, State>, report: &mut Report) {
    for (space, (main, _)) in &ctx.collections {
        let space_ops: Vec<&Op> = ops.iter().copied().filter(|op| op.space == *space).collect();
        for k in 0..SHARED {
            let name = format!("{main}s{k}.{}", space.ext());
            let now = finals.get(&name).copied().unwrap_or(State::Absent);
            match candidates(&name, &space_ops) {
                None => report.unchecked += 1,
                Some(c) if c.contains(&now) => report.shared += 1,
                Some(c) => {
                    let mut last: Vec<&&Op> = space_ops.iter().filter(|op| op.names(&name)).collect();
                    last.sort_by_key(|op| op.sent);
                    let tail: Vec<String> = last.iter().rev().take(6).map(|op| format!("{op:?}")).collect();
                    report.violations.push(format!("{name} is {now:?}, not one of the last acknowledged states {c:?}; last requests naming it: {}", tail.join("; ")))
                }
            }
        }
    }
}

/// Every name of the collections is one of the run's names; every content
/// seen comes from an acknowledged PUT, with its ETag.
fn check_contents(ops: &[&Op], seen: &[Seen], finals: &HashMap<String, State>, writers: &[Writer], report: &mut Report) {
    let puts: HashMap<u64, &Op> = ops.iter().filter_map(|op| match op.kind {
        Kind::Put { id, .. } => Some((id, *op)),
        _ => None,
    }).collect();
    for s in seen {
        match puts.get(&s.id) {
            None => report.violations.push(format!("{}: write {} was never sent", s.name, s.id)),
            Some(op) if op.uncertain() => {}
            Some(op) if !op.ok() => {
                report.violations.push(format!("{} holds write {}, whose PUT was refused ({:?})", s.name, s.id, op.status))
            }
            Some(op) if op.etag != s.etag => {
                report.violations.push(format!("{} holds write {} with ETag {:?}; its PUT returned {:?}", s.name, s.id, s.etag, op.etag))
            }
            Some(_) => {}
        }
    }
    let known: HashSet<&String> = writers.iter().flat_map(|w| w.owned.keys()).collect();
    for name in finals.keys() {
        let shared = name.rsplit('/').next().is_some_and(|n| n.starts_with('s'));
        if !shared && !known.contains(name) {
            report.violations.push(format!("{name} exists but no request named it"));
        }
    }
}

// ------------------------------------------------------------------ main

struct Args {
    url: String,
    user: String,
    password: String,
    seconds: u64,
    writers: usize,
}

fn args() -> anyhow::Result<Args> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        anyhow::bail!("usage: stress URL USER PASSWORD [SECONDS] [WRITERS]");
    }
    Ok(Args {
        url: a[1].trim_end_matches('/').to_string(),
        user: a[2].clone(),
        password: a[3].clone(),
        seconds: a.get(4).map(|s| s.parse()).transpose()?.unwrap_or(20),
        writers: a.get(5).map(|s| s.parse()).transpose()?.unwrap_or(6),
    })
}

fn client(args: &Args) -> anyhow::Result<Client> {
    let (scheme, rest) = args.url.split_once("://").ok_or_else(|| anyhow::anyhow!("URL must be http://HOST[:PORT][/PREFIX]"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, String::new()),
    };
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    Ok(Client { http, origin: format!("{scheme}://{authority}"), prefix, user: args.user.clone(), password: args.password.clone() })
}

/// Create the four collections of the run; their paths by space.
async fn setup(client: &Client, user: &str, run: &str) -> anyhow::Result<HashMap<Space, (String, String)>> {
    let book = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    let mut collections = HashMap::new();
    for space in [Space::Calendar, Space::Book] {
        let home = match space {
            Space::Calendar => format!("/calendars/{user}/"),
            Space::Book => format!("/addressbooks/{user}/"),
        };
        let pair = (format!("{home}stress-{run}/"), format!("{home}stress-{run}-copies/"));
        for path in [&pair.0, &pair.1] {
            let r = match space {
                Space::Calendar => client.send("MKCALENDAR", path, &[], None).await,
                Space::Book => client.send("MKCOL", path, &[("content-type", "application/xml")], Some(book.into())).await,
            }
            .map_err(|e| anyhow::anyhow!(e))?;
            anyhow::ensure!(r.status == 201, "creating {path}: {} {}", r.status, r.body);
        }
        collections.insert(space, pair);
    }
    Ok(collections)
}

fn summary(ops: &[&Op]) {
    let mut counts: BTreeMap<(Space, &str), BTreeMap<String, usize>> = BTreeMap::new();
    for op in ops {
        let kind = match op.kind {
            Kind::Put { .. } => "PUT",
            Kind::Move { .. } => "MOVE",
            Kind::Copy { .. } => "COPY",
            Kind::Delete { .. } => "DELETE",
        };
        let status = op.status.map_or("no answer".to_string(), |s| s.to_string());
        *counts.entry((op.space, kind)).or_default().entry(status).or_default() += 1;
    }
    for ((space, kind), statuses) in counts {
        let total: usize = statuses.values().sum();
        let detail: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        println!("  {space:?} {kind:<6} {total:>6}  ({})", detail.join(", "));
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let client = client(&args)?;
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis());
    let collections = setup(&client, &args.user, &run).await?;
    println!("stress: {} as {}, {} s, {} writers per kind, run {run}", args.url, args.user, args.seconds, args.writers);
    let start = Instant::now();
    let ctx = Arc::new(Ctx {
        client,
        run,
        start,
        deadline: start + Duration::from_secs(args.seconds),
        next_id: AtomicU64::new(1),
        collections,
    });

    let mut writers = Vec::new();
    for space in [Space::Calendar, Space::Book] {
        for i in 0..args.writers {
            writers.push(tokio::spawn(Writer::new(ctx.clone(), space, i).run()));
        }
    }
    let every = Duration::from_secs(args.seconds).max(Duration::from_secs(1)) / 8;
    let mut takers = Vec::new();
    for (main, copies) in ctx.collections.values() {
        for c in [main, copies] {
            takers.push(tokio::spawn(take_tokens(ctx.clone(), c.clone(), every)));
        }
    }
    let mut done = Vec::new();
    for w in writers {
        done.push(w.await?);
    }
    let mut tokens = Vec::new();
    for t in takers {
        tokens.push(t.await?);
    }
    let ops: Vec<&Op> = done.iter().flat_map(|w| w.ops.iter()).collect();
    println!("{} writes in {:.1} s ({:.0}/s), {} acknowledged:", ops.len(), start.elapsed().as_secs_f64(),
        ops.len() as f64 / start.elapsed().as_secs_f64(), ops.iter().filter(|o| o.ok()).count());
    summary(&ops);

    let mut report = Report { violations: done.iter().flat_map(|w| w.violations.clone()).collect(), unchecked: 0, owned: 0, shared: 0 };
    let (mut finals, mut seen) = (HashMap::new(), done.iter().flat_map(|w| w.seen.clone()).collect::<Vec<_>>());
    let (mut checked_tokens, mut verified) = (0, 0);
    for (collection, snapshots, errors) in &tokens {
        report.violations.extend(errors.iter().cloned());
        let end = match sync_collection(&ctx.client, collection, "").await {
            Ok(s) => s,
            Err(e) => {
                report.violations.push(e);
                continue;
            }
        };
        let (states, final_seen, wrong) = final_contents(&ctx, &end).await;
        finals.extend(states);
        seen.extend(final_seen);
        report.violations.extend(wrong);
        for at in snapshots {
            checked_tokens += 1;
            match check_token(&ctx.client, collection, at, &end).await {
                Ok(n) => verified += n,
                Err(wrong) => report.violations.extend(wrong),
            }
        }
    }
    check_owned(&done, &finals, &mut report);
    check_shared(&ctx, &ops, &finals, &mut report);
    check_contents(&ops, &seen, &finals, &done, &mut report);

    println!("final state: {} owned names as their writer left them, {} shared names in a last acknowledged state, {} unchecked",
        report.owned, report.shared, report.unchecked);
    println!("sync tokens: {checked_tokens} checked on {} collections, {verified} reported changes verified", tokens.len());
    let no_answer = ops.iter().filter(|o| o.uncertain()).count();
    println!("writes without a usable answer (no answer or 5xx): {no_answer}");
    for v in report.violations.iter().take(30) {
        println!("VIOLATION {v}");
    }
    if report.violations.is_empty() {
        println!("OK: no violation");
        Ok(())
    } else {
        println!("FAILED: {} violations", report.violations.len());
        std::process::exit(1);
    }
}
