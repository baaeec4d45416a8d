//! What an invitation costs: organizer PUTs of events with internal
//! attendees, end to end, beside plain PUTs; and busy-time requests over
//! full calendars.
//!
//! ```text
//! cargo run --release --example scheduling_load -- URL PASSWORD ORGANIZERS ATTENDEES SECONDS
//! ```
//!
//! (`scripts/bench_scheduling.sh` creates the accounts, starts a throwaway
//! server on either store and runs it.) The accounts are `org1` …
//! `orgORGANIZERS` and `att1` … `attATTENDEES`, all with PASSWORD, with
//! addresses `orgN@ac-lyon.fr` and `attN@ac-creteil.fr`.
//!
//! Scenarios, each at 1 and 32 clients for SECONDS (client `i` is
//! organizer `org(i mod ORGANIZERS)`):
//! - `put_plain`: PUT of a new event without attendees (If-None-Match: *).
//! - `put_invite10`: PUT of a new event with 10 attendees drawn from the
//!   `att` accounts: the answer comes once every attendee's copy and inbox
//!   message are written. A sample of invitations is checked afterwards
//!   (each attendee's copy there, SCHEDULE-STATUS 1.2 on the organizer's).
//! - `freebusy10`: after loading 5,000 events (a fifth weekly, a tenth
//!   all-day, Europe/Paris) into the calendars of `att1`…`att10`, a POST of
//!   a VFREEBUSY REQUEST for those 10 over one week to the outbox.
//!
//! Prints one line per scenario and concurrency: requests, rate, median and
//! 99th percentile latency. Exits 1 when a request fails or a check does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Client {
    http: reqwest::Client,
    base: String,
    password: String,
}

impl Client {
    async fn send(&self, user: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Result<(u16, String), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self.http.request(method, format!("{}{path}", self.base)).basic_auth(user, Some(&self.password));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().await.map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| e.to_string())?;
        Ok((status, text))
    }
}

/// A small deterministic generator (xorshift), so that runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn event(uid: &str, organizer: &str, attendees: &[String], day: u32) -> String {
    let mut lines = String::new();
    if !attendees.is_empty() {
        lines.push_str(&format!("ORGANIZER;CN={organizer}:mailto:{organizer}@ac-lyon.fr\r\n"));
        lines.push_str(&format!("ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}@ac-lyon.fr\r\n"));
        for a in attendees {
            lines.push_str(&format!("ATTENDEE;CN={a};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{a}@ac-creteil.fr\r\n"));
        }
    }
    let month = 1 + (day / 28) % 12;
    let dom = 1 + day % 28;
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//almanach//scheduling_load//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
DTSTAMP:20270101T000000Z\r\nDTSTART:2027{month:02}{dom:02}T090000Z\r\nDTEND:2027{month:02}{dom:02}T100000Z\r\n\
SUMMARY:Réunion {uid}\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

const PARIS: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
TZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n\
TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\nEND:VTIMEZONE\r\n";

/// The `n`-th of the 5,000 events of a full calendar: spread over 2027,
/// a fifth weekly, a tenth all-day, local Paris times.
fn calendar_event(owner: &str, n: u32) -> String {
    let day = n % 365;
    let date = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + chrono::Duration::days(day as i64);
    let d = date.format("%Y%m%d");
    let hour = 8 + n % 10;
    let body = if n % 10 == 0 {
        let next = (date + chrono::Duration::days(1)).format("%Y%m%d");
        format!("DTSTART;VALUE=DATE:{d}\r\nDTEND;VALUE=DATE:{next}\r\n")
    } else {
        let rrule = if n % 5 == 1 { "RRULE:FREQ=WEEKLY;COUNT=20\r\n" } else { "" };
        format!("DTSTART;TZID=Europe/Paris:{d}T{hour:02}0000\r\nDTEND;TZID=Europe/Paris:{d}T{hour:02}4500\r\n{rrule}")
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//almanach//scheduling_load//EN\r\n{PARIS}BEGIN:VEVENT\r\nUID:fb-{owner}-{n}\r\n\
DTSTAMP:20270101T000000Z\r\n{body}SUMMARY:Occupé {n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn freebusy_request(organizer: &str, attendees: &[String]) -> String {
    let mut lines = String::new();
    for a in attendees {
        lines.push_str(&format!("ATTENDEE:mailto:{a}@ac-creteil.fr\r\n"));
    }
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//almanach//scheduling_load//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\n\
UID:fb-{organizer}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270301T000000Z\r\nDTEND:20270308T000000Z\r\n\
ORGANIZER:mailto:{organizer}@ac-lyon.fr\r\n{lines}END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    PutPlain,
    PutInvite,
    FreeBusy,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::PutPlain => "put_plain",
            Scenario::PutInvite => "put_invite10",
            Scenario::FreeBusy => "freebusy10",
        }
    }
}

struct Run {
    client: Client,
    organizers: usize,
    attendees: usize,
    next: AtomicU64,
    run: String,
}

/// One request of `scenario` by client `i`; the invitation's (organizer,
/// path, uid, attendees) for the checks.
async fn one(run: &Run, scenario: Scenario, i: usize, rng: &mut Rng) -> Result<Option<(String, String, String, Vec<String>)>, String> {
    let organizer = format!("org{}", 1 + i % run.organizers);
    let n = run.next.fetch_add(1, Ordering::Relaxed);
    match scenario {
        Scenario::PutPlain | Scenario::PutInvite => {
            let uid = format!("{}-{}-{n}", run.run, scenario.name());
            let attendees: Vec<String> = if scenario == Scenario::PutInvite {
                let mut chosen: Vec<String> = Vec::new();
                while chosen.len() < 10.min(run.attendees) {
                    let a = format!("att{}", 1 + rng.next() as usize % run.attendees);
                    if !chosen.contains(&a) {
                        chosen.push(a);
                    }
                }
                chosen
            } else {
                Vec::new()
            };
            let path = format!("/calendars/{organizer}/default/{uid}.ics");
            let body = event(&uid, &organizer, &attendees, n as u32);
            let (status, text) = run
                .client
                .send(&organizer, "PUT", &path, &[("content-type", "text/calendar; charset=utf-8"), ("if-none-match", "*")], Some(body))
                .await?;
            if status != 201 {
                return Err(format!("PUT {path}: {status} {text}"));
            }
            Ok((scenario == Scenario::PutInvite).then_some((organizer, path, uid, attendees)))
        }
        Scenario::FreeBusy => {
            let attendees: Vec<String> = (1..=10.min(run.attendees)).map(|k| format!("att{k}")).collect();
            let (status, text) = run
                .client
                .send(
                    &organizer,
                    "POST",
                    &format!("/calendars/{organizer}/outbox/"),
                    &[("content-type", "text/calendar; charset=utf-8")],
                    Some(freebusy_request(&organizer, &attendees)),
                )
                .await?;
            if status != 200 || text.matches("2.0;Success").count() != attendees.len() || !text.contains("FREEBUSY") {
                return Err(format!("POST outbox: {status} {}", &text[..text.len().min(500)]));
            }
            Ok(None)
        }
    }
}

struct Measured {
    latencies: Vec<Duration>,
    elapsed: Duration,
    invitations: Vec<(String, String, String, Vec<String>)>,
}

async fn measure(run: Arc<Run>, scenario: Scenario, clients: usize, seconds: u64) -> Result<Measured, String> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
            let mut latencies = Vec::new();
            let mut invitations = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                if let Some(inv) = one(&run, scenario, i, &mut rng).await? {
                    if invitations.len() < 4 {
                        invitations.push(inv);
                    }
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, String>((latencies, invitations))
        }));
    }
    let mut all = Measured { latencies: Vec::new(), elapsed: Duration::ZERO, invitations: Vec::new() };
    for t in tasks {
        let (l, inv) = t.await.map_err(|e| e.to_string())??;
        all.latencies.extend(l);
        all.invitations.extend(inv);
    }
    all.elapsed = start.elapsed();
    Ok(all)
}

/// Every attendee of the sampled invitations has its copy, and the
/// organizer's copy says it was delivered.
async fn check_invitations(run: &Run, invitations: &[(String, String, String, Vec<String>)]) -> Result<(), String> {
    for (organizer, path, uid, attendees) in invitations {
        for a in attendees {
            let (status, _) = run.client.send(a, "GET", &format!("/calendars/{a}/default/{uid}.ics"), &[], None).await?;
            if status != 200 {
                return Err(format!("{a} has no copy of {uid}: {status}"));
            }
        }
        let (_, text) = run.client.send(organizer, "GET", path, &[], None).await?;
        let delivered = text.matches("SCHEDULE-STATUS=1.2").count();
        if delivered != attendees.len() {
            return Err(format!("{path}: {delivered} of {} attendees marked delivered", attendees.len()));
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k].as_secs_f64() * 1000.0
}

async fn load_calendars(run: &Run, owners: usize, events: u32) -> Result<(), String> {
    let run_ref = &run;
    let mut jobs = Vec::new();
    for k in 1..=owners {
        for n in 0..events {
            jobs.push((format!("att{k}"), n));
        }
    }
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let jobs = jobs.clone();
        workers.push(async move {
            loop {
                let Some((owner, n)) = jobs.lock().unwrap().pop() else { return Ok::<(), String>(()) };
                let path = format!("/calendars/{owner}/default/fb-{n}.ics");
                let (status, text) = run_ref
                    .client
                    .send(&owner, "PUT", &path, &[("content-type", "text/calendar; charset=utf-8")], Some(calendar_event(&owner, n)))
                    .await?;
                if status != 201 && status != 204 {
                    return Err(format!("PUT {path}: {status} {text}"));
                }
            }
        });
    }
    for r in futures::future::join_all(workers).await {
        r?;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: scheduling_load URL PASSWORD ORGANIZERS ATTENDEES SECONDS");
        std::process::exit(2);
    }
    let run = Arc::new(Run {
        client: Client {
            http: reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("an HTTP client"),
            base: args[1].trim_end_matches('/').to_string(),
            password: args[2].clone(),
        },
        organizers: args[3].parse().expect("ORGANIZERS"),
        attendees: args[4].parse().expect("ATTENDEES"),
        next: AtomicU64::new(0),
        run: format!("r{}", std::process::id()),
    });
    let seconds: u64 = args[5].parse().expect("SECONDS");
    let mut failed = false;
    println!("{:<14} {:>7} {:>9} {:>9} {:>9} {:>9}", "scenario", "clients", "requests", "req/s", "p50 ms", "p99 ms");
    let report = |scenario: Scenario, clients: usize, m: &Measured| {
        let mut l = m.latencies.clone();
        l.sort();
        println!(
            "{:<14} {:>7} {:>9} {:>9.1} {:>9.2} {:>9.2}",
            scenario.name(),
            clients,
            l.len(),
            l.len() as f64 / m.elapsed.as_secs_f64(),
            percentile(&l, 0.5),
            percentile(&l, 0.99)
        );
    };
    // SCHEDULING_LOAD_ONLY=put_invite10 (or put_plain, freebusy10, or a
    // list: put_plain,put_invite10): those scenarios, at 1 client (to
    // profile one), or at the clients of
    // SCHEDULING_LOAD_CLIENTS (e.g. 32, or 1,32).
    let only = std::env::var("SCHEDULING_LOAD_ONLY").ok();
    let wanted = |s: Scenario| only.as_deref().is_none_or(|o| o.split(',').any(|n| n == s.name()));
    let chosen: Option<Vec<usize>> = std::env::var("SCHEDULING_LOAD_CLIENTS")
        .ok()
        .map(|v| v.split(',').map(|c| c.trim().parse().expect("SCHEDULING_LOAD_CLIENTS: numbers")).collect());
    let concurrencies: &[usize] = match (&chosen, &only) {
        (Some(c), _) => c,
        (None, Some(_)) => &[1],
        (None, None) => &[1, 32],
    };
    for scenario in [Scenario::PutPlain, Scenario::PutInvite].into_iter().filter(|s| wanted(*s)) {
        for &clients in concurrencies {
            match measure(run.clone(), scenario, clients, seconds).await {
                Ok(m) => {
                    report(scenario, clients, &m);
                    if let Err(e) = check_invitations(&run, &m.invitations).await {
                        eprintln!("check failed: {e}");
                        failed = true;
                    }
                }
                Err(e) => {
                    eprintln!("{}: {e}", scenario.name());
                    failed = true;
                }
            }
        }
    }
    if !wanted(Scenario::FreeBusy) {
        std::process::exit(i32::from(failed));
    }
    let t = Instant::now();
    if let Err(e) = load_calendars(&run, 10.min(run.attendees), 5_000).await {
        eprintln!("loading the calendars: {e}");
        std::process::exit(1);
    }
    eprintln!("loaded 10 × 5,000 events in {:.1} s", t.elapsed().as_secs_f64());
    for &clients in concurrencies {
        match measure(run.clone(), Scenario::FreeBusy, clients, seconds).await {
            Ok(m) => report(Scenario::FreeBusy, clients, &m),
            Err(e) => {
                eprintln!("freebusy10: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
