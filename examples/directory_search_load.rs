//! Directory search latency under load, through the search the server runs
//! for an `addressbook-query` on the national directory
//! (`carddav::directory::search`: the index narrows, every candidate card
//! is checked against the whole filter, `more` becomes the 507), without
//! HTTP and XML.
//!
//! ```text
//! cargo run --release --example directory_search_load -- DATABASE_URL ACCOUNTS.csv [TASKS] [SECONDS] [LIMIT] [KINDS]
//! ```
//!
//! Needles come from the accounts file (the CSV `directory import` read,
//! see scripts/gen_directory.py), from randomly chosen rows; each kind is a
//! shape of needle a client sends (KINDS: a comma-separated list of the
//! names below, default all):
//!
//! - `prefix`: FN starts-with the first 3–6 characters of the given name,
//!   or N starts-with those of the family name;
//! - `substring`: FN contains 3–5 characters from inside a name;
//! - `short`: FN contains the first 1–2 characters of a name;
//! - `email`: EMAIL starts-with the first 4–9 characters of an address;
//! - `typed`: FN contains 1–3 characters from anywhere in a name;
//! - `separator`: EMAIL contains 3–5 characters across a `.` or the `@` of
//!   an address (`n.b`, `e.be`, `d@ac`);
//! - `middle`: EMAIL contains 8–16 characters of an address starting inside
//!   the local part and running on past the `@` (`ine.besnard@ac-`);
//! - `full`: EMAIL contains a whole address;
//! - `endswith`: EMAIL ends-with `.family@domain` (`.besnard@ac-lyon.fr`);
//! - `accented`: FN contains a name that has accents, as written (`Hélène`);
//! - `unaccented`: FN contains it without its accents (`Helene`; under
//!   `i;unicode-casemap` accents count, so it rarely matches);
//! - `nequals`: N equals `Family;Given;;;`;
//! - `autocomplete`: anyof FN contains / EMAIL contains the first 1–4
//!   characters of a name;
//! - `principal`: a `principal-property-search` as calendar clients send
//!   it for an attendee field (the same text on `DAV:displayname` and
//!   `calendar-user-address-set`, anyof), the first 1–4 characters of a
//!   name, in the account's académie, at most 100 principals (the server's
//!   `MAX_RESULTS`), through the store's `search_principals`;
//! - `principal-address`: the same with 3–12 characters of an address
//!   from inside its local part (`ine.besn`, `n.b`, `rd@ac-ly`).
//!
//! TASKS tasks (default 32) run searches back to back for SECONDS (default
//! 10) per kind; the p50, p99 and max latency of each kind are printed,
//! with the mean number of cards and the share of answers with a 507.
//!
//! `DIRECTORY_LOAD_CHECK=N` first checks N needles of each kind against the
//! whole file (every row is an account): an answer must hold exactly the
//! matching accounts when there are at most LIMIT, otherwise LIMIT of them
//! (fewer only if the search stopped at its bound) and a 507.
//! `DIRECTORY_LOAD_CASES='N/equals/Leclerc;Timothée;;;|FN/contains/eu'`
//! checks those filters the same way (one text-match each, `|`-separated)
//! and prints their time. `DIRECTORY_LOAD_SLOW_MS=N` prints the needles of
//! searches slower than N ms.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use almanach::carddav::directory::search;
use almanach::collation::{fold, Collation, MatchType, PreparedNeedle, TextMatch};
use almanach::store::directory::{display_name, full_name, structured_name};
use almanach::store::{PrincipalSearch, SharedStore};
use almanach::vcard::filter::{CardFilter, CardPropFilter, FilterTest};

const KINDS: [&str; 15] = [
    "prefix",
    "substring",
    "short",
    "email",
    "typed",
    "separator",
    "middle",
    "full",
    "endswith",
    "accented",
    "unaccented",
    "nequals",
    "autocomplete",
    "principal",
    "principal-address",
];

/// Most principals a `principal-property-search` answers
/// (`dav::principal_search::MAX_RESULTS`).
const PRINCIPAL_LIMIT: usize = 100;

/// A search of one kind: an `addressbook-query` filter on the directory,
/// or a principal search.
enum Query {
    Card(CardFilter),
    Principal(PrincipalSearch),
}

impl Query {
    /// The most results it answers.
    fn limit(&self, limit: usize) -> usize {
        match self {
            Query::Card(_) => limit,
            Query::Principal(_) => PRINCIPAL_LIMIT,
        }
    }

    /// The usernames found, and whether there may be more.
    async fn run(&self, store: &SharedStore, limit: usize) -> anyhow::Result<(Vec<String>, bool)> {
        Ok(match self {
            Query::Card(f) => {
                let answer = search(store, f, limit, 256).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
                (answer.entries.into_iter().map(|e| e.username).collect(), answer.more)
            }
            Query::Principal(p) => {
                let answer = store.search_principals(p).await?;
                (answer.principals.into_iter().map(|p| p.username).collect(), answer.more)
            }
        })
    }

    fn describe(&self) -> String {
        match self {
            Query::Card(f) => describe(f),
            Query::Principal(p) => format!("principal {:?} in {}", p.name_terms[0], p.academie.as_deref().unwrap_or("-")),
        }
    }

    /// The accounts of the file it matches.
    fn truth(&self, rows: &[Row]) -> HashSet<String> {
        match self {
            Query::Card(f) => truth(rows, f),
            Query::Principal(p) => {
                let needle = fold(Collation::UnicodeCasemap, &p.name_terms[0]).into_owned();
                rows.iter()
                    .filter(|r| Some(&r.academie) == p.academie.as_ref())
                    .filter(|r| {
                        r.display_folded.as_deref().is_some_and(|d| d.contains(&needle))
                            || r.username_folded.contains(&needle)
                            || r.emails_folded.iter().any(|e| e.contains(&needle))
                    })
                    .map(|r| r.username.clone())
                    .collect()
            }
        }
    }
}

/// One account of the file: what its card shows, and folded for checking.
struct Row {
    username: String,
    given: String,
    family: String,
    email: String,
    academie: String,
    /// FN, N and the addresses, folded with i;unicode-casemap; the display
    /// name and the username too (principal searches).
    fn_folded: String,
    n_folded: String,
    emails_folded: Vec<String>,
    display_folded: Option<String>,
    username_folded: String,
}

/// A tiny deterministic generator (xorshift), so that runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn chars(s: &str, from: usize, len: usize) -> String {
    s.chars().skip(from).take(len).collect()
}

/// The text without its accents (what someone typing without them sends).
fn unaccented(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkd().filter(|c| c.is_ascii()).collect()
}

fn text_match(prop: &str, match_type: MatchType, value: &str) -> CardPropFilter {
    let mut pf = CardPropFilter::new(prop);
    pf.text_matches.push(TextMatch { value: value.to_string(), collation: Collation::UnicodeCasemap, match_type, negate: false });
    pf
}

fn one(pf: CardPropFilter) -> CardFilter {
    CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf] }
}

/// A search of `kind` from `row` (None when the row has no such needle).
fn query(kind: &str, row: &Row, rng: &mut Rng) -> Option<Query> {
    let principal = |needle: String| {
        Query::Principal(PrincipalSearch {
            academie: Some(row.academie.clone()),
            always: None,
            name_terms: vec![needle.clone()],
            email_terms: vec![needle],
            match_all: false,
            limit: PRINCIPAL_LIMIT as i64,
        })
    };
    match kind {
        "principal" => {
            let name = if rng.below(2) == 0 { &row.family } else { &row.given };
            Some(principal(chars(name, 0, 1 + rng.below(4))))
        }
        "principal-address" => {
            let at = row.email.find('@')?;
            let local_chars = row.email[..at].chars().count();
            let from = 1 + rng.below(local_chars.saturating_sub(1).max(1));
            Some(principal(chars(&row.email, from, 3 + rng.below(10))))
        }
        _ => filter(kind, row, rng).map(Query::Card),
    }
}

/// A filter of `kind` from `row` (None when the row has no such needle).
fn filter(kind: &str, row: &Row, rng: &mut Rng) -> Option<CardFilter> {
    let name = if rng.below(2) == 0 { &row.family } else { &row.given };
    let n = name.chars().count();
    let email = &row.email;
    let at = email.find('@')?;
    let local_chars = email[..at].chars().count();
    Some(match kind {
        "prefix" if rng.below(2) == 0 => one(text_match("FN", MatchType::StartsWith, &chars(&row.given, 0, 3 + rng.below(4)))),
        "prefix" => one(text_match("N", MatchType::StartsWith, &chars(&row.family, 0, 3 + rng.below(4)))),
        "substring" => {
            let len = 3 + rng.below(3);
            let from = if n > len { 1 + rng.below(n - len) } else { 0 };
            one(text_match("FN", MatchType::Contains, &chars(name, from.min(n.saturating_sub(len)), len)))
        }
        "short" => one(text_match("FN", MatchType::Contains, &chars(name, 0, 1 + rng.below(2)))),
        "email" => one(text_match("EMAIL", MatchType::StartsWith, &chars(email, 0, 4 + rng.below(6)))),
        "typed" => {
            let len = 1 + rng.below(3);
            one(text_match("FN", MatchType::Contains, &chars(name, rng.below(n.saturating_sub(len) + 1), len)))
        }
        "separator" => {
            let seps: Vec<usize> = email.char_indices().filter(|(_, c)| *c == '.' || *c == '@').map(|(i, _)| email[..i].chars().count()).collect();
            let sep = seps[rng.below(seps.len())];
            let before = 1 + rng.below(2);
            let len = before + 1 + 1 + rng.below(2);
            one(text_match("EMAIL", MatchType::Contains, &chars(email, sep.saturating_sub(before), len)))
        }
        "middle" => {
            let from = 1 + rng.below(local_chars.saturating_sub(1).max(1));
            let len = (local_chars - from + 1 + rng.below(8)).clamp(8, 16);
            one(text_match("EMAIL", MatchType::Contains, &chars(email, from, len)))
        }
        "full" => one(text_match("EMAIL", MatchType::Contains, email)),
        "endswith" => {
            let dot = email[..at].rfind('.')?;
            one(text_match("EMAIL", MatchType::EndsWith, &email[dot..]))
        }
        "accented" => {
            let accented = [&row.given, &row.family].into_iter().find(|s| !s.is_ascii())?;
            one(text_match("FN", MatchType::Contains, accented))
        }
        "unaccented" => {
            let accented = [&row.given, &row.family].into_iter().find(|s| !s.is_ascii())?;
            one(text_match("FN", MatchType::Contains, &unaccented(accented)))
        }
        "nequals" => one(text_match("N", MatchType::Equals, &format!("{};{};;;", row.family, row.given))),
        "autocomplete" => {
            let typed = chars(name, 0, 1 + rng.below(4));
            CardFilter {
                test: FilterTest::AnyOf,
                prop_filters: vec![text_match("FN", MatchType::Contains, &typed), text_match("EMAIL", MatchType::Contains, &typed)],
            }
        }
        _ => return None,
    })
}

/// The needle of a filter, to print.
fn describe(f: &CardFilter) -> String {
    f.prop_filters
        .iter()
        .map(|pf| {
            let tm = &pf.text_matches[0];
            format!("{} {} {:?}", pf.name, tm.match_type.as_str(), tm.value)
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The accounts of the file `f` matches (anyof of FN, N, EMAIL text-matches
/// in i;unicode-casemap, the only filters generated here).
fn truth(rows: &[Row], f: &CardFilter) -> HashSet<String> {
    let needles: Vec<(String, PreparedNeedle)> = f
        .prop_filters
        .iter()
        .map(|pf| {
            let tm = &pf.text_matches[0];
            (pf.name.clone(), PreparedNeedle::new(tm.collation, tm.match_type, &tm.value))
        })
        .collect();
    rows.iter()
        .filter(|r| {
            needles.iter().any(|(prop, needle)| match prop.as_str() {
                "FN" => needle.matches_folded(&r.fn_folded),
                "N" => needle.matches_folded(&r.n_folded),
                _ => r.emails_folded.iter().any(|e| needle.matches_folded(e)),
            })
        })
        .map(|r| r.username.clone())
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Whether an answer is right for the `expected` matches: all of them when
/// there are at most `limit` (no 507); otherwise `limit` of them and a 507,
/// or fewer and a 507 when the search stopped at its bound. Returns the
/// outcome's name, or None when wrong.
fn verdict(expected: &HashSet<String>, got: &HashSet<String>, more: bool, limit: usize) -> Option<&'static str> {
    if expected.len() <= limit && !more {
        (got == expected).then_some("complete")
    } else if more && got.len() == limit {
        (got.is_subset(expected) && expected.len() > limit).then_some("capped")
    } else if more {
        got.is_subset(expected).then_some("stopped at the bound")
    } else {
        None
    }
}

/// Checks the filters of `DIRECTORY_LOAD_CASES` against the file.
async fn check_cases(store: &SharedStore, rows: &[Row], cases: &str, limit: usize) -> anyhow::Result<()> {
    for case in cases.split('|') {
        let mut parts = case.splitn(3, '/');
        let (Some(prop), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("bad case {case:?}: PROP/match-type/value");
        };
        let kind = MatchType::parse(kind).ok_or_else(|| anyhow::anyhow!("bad match type in {case:?}"))?;
        let f = one(text_match(prop, kind, value));
        let expected = truth(rows, &f);
        let start = Instant::now();
        let answer = search(store, &f, limit, 256).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let took = start.elapsed();
        let again = Instant::now();
        search(store, &f, limit, 256).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let took_again = again.elapsed();
        let got: HashSet<String> = answer.entries.iter().map(|e| e.username.clone()).collect();
        let outcome = verdict(&expected, &got, answer.more, limit).unwrap_or("WRONG");
        println!(
            "case {}: {} accounts match; answered {} cards{} — {outcome}; {:.1} ms, then {:.1} ms",
            describe(&f),
            expected.len(),
            got.len(),
            if answer.more { " and a 507" } else { "" },
            took.as_secs_f64() * 1000.0,
            took_again.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// Checks `count` needles of `kind` against the file; prints the outcome.
async fn check(store: &SharedStore, rows: &[Row], kind: &str, count: usize, limit: usize) -> anyhow::Result<()> {
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    let (mut checked, mut complete, mut capped, mut short, mut wrong) = (0, 0, 0, 0, 0);
    let mut tries = 0;
    while checked < count && tries < count * 50 {
        tries += 1;
        let Some(q) = query(kind, &rows[rng.below(rows.len().min(50_000))], &mut rng) else { continue };
        checked += 1;
        let expected = q.truth(rows);
        let (found, more) = q.run(store, limit).await?;
        let got: HashSet<String> = found.into_iter().collect();
        let outcome = verdict(&expected, &got, more, q.limit(limit));
        match outcome {
            Some("complete") => complete += 1,
            Some("capped") => capped += 1,
            Some(_) => short += 1,
            None => {}
        }
        if outcome.is_none() {
            wrong += 1;
            println!(
                "WRONG {kind} {}: expected {} (first: {:?}), got {} more={more} (not expected: {:?})",
                q.describe(),
                expected.len(),
                expected.iter().take(3).collect::<Vec<_>>(),
                got.len(),
                got.difference(&expected).take(3).collect::<Vec<_>>(),
            );
        }
    }
    println!("check {kind}: {checked} needles, {complete} complete, {capped} capped (507), {short} stopped at the bound (507), {wrong} wrong");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        anyhow::bail!("usage: directory_search_load DATABASE_URL ACCOUNTS.csv [TASKS] [SECONDS] [LIMIT] [KINDS]");
    }
    let tasks: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(32);
    let seconds: u64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let limit: usize = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(50);
    let kinds: Vec<String> = match args.get(6) {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => KINDS.iter().map(|k| k.to_string()).collect(),
    };

    let mut reader = csv::Reader::from_path(&args[2])?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| anyhow::anyhow!("no {name} column"));
    let (u, g, f, d, e) = (col("username")?, col("given_name")?, col("family_name")?, col("display_name")?, col("emails")?);
    let a = col("academie")?;
    let mut rows = Vec::new();
    let folded = |s: &str| fold(Collation::UnicodeCasemap, s).into_owned();
    let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
    for record in reader.records() {
        let r = record?;
        let emails: Vec<String> = r[e].split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        let (given, family, display) = (some(&r[g]), some(&r[f]), some(&r[d]));
        rows.push(Row {
            username: r[u].to_string(),
            fn_folded: folded(&full_name(&r[u], display.as_deref(), given.as_deref(), family.as_deref())),
            n_folded: folded(&structured_name(given.as_deref(), family.as_deref())),
            emails_folded: emails.iter().map(|a| folded(a)).collect(),
            // `directory import` gives an account without one "Given Family".
            display_folded: display_name(display.as_deref())
                .or_else(|| match (&given, &family) {
                    (Some(g), Some(f)) => Some(format!("{g} {f}")),
                    (g, f) => g.clone().or_else(|| f.clone()),
                })
                .map(|d| folded(&d)),
            username_folded: folded(&r[u]),
            academie: r[a].to_string(),
            given: given.unwrap_or_default(),
            family: family.unwrap_or_default(),
            email: emails.first().cloned().unwrap_or_default(),
        });
    }
    let store = almanach::store::open(&args[1]).await?;
    if let Ok(cases) = std::env::var("DIRECTORY_LOAD_CASES") {
        check_cases(&store, &rows, &cases, limit).await?;
    }
    if let Some(count) = std::env::var("DIRECTORY_LOAD_CHECK").ok().and_then(|v| v.parse().ok()) {
        for kind in &kinds {
            check(&store, &rows, kind, count, limit).await?;
        }
    }
    let rows = std::sync::Arc::new(rows);
    let slow: Option<u64> = std::env::var("DIRECTORY_LOAD_SLOW_MS").ok().and_then(|v| v.parse().ok());

    println!("{tasks} tasks, {seconds} s per kind, limit {limit}, needles from {} rows", rows.len().min(50_000));
    println!("kind\tsearches\tsearch/s\tp50 ms\tp99 ms\tmax ms\tmean cards\t507 %");
    for kind in kinds {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut handles = Vec::new();
        for t in 0..tasks {
            let (store, rows, kind) = (store.clone(), rows.clone(), kind.clone());
            handles.push(tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 7919));
                let mut times = Vec::new();
                let (mut cards, mut capped) = (0usize, 0usize);
                while Instant::now() < deadline {
                    let Some(q) = query(&kind, &rows[rng.below(rows.len().min(50_000))], &mut rng) else { continue };
                    let start = Instant::now();
                    let (found, more) = q.run(&store, limit).await.expect("search");
                    let took = start.elapsed();
                    cards += found.len();
                    capped += usize::from(more);
                    if slow.is_some_and(|ms| took > Duration::from_millis(ms)) {
                        eprintln!("slow {kind} {}: {took:?}", q.describe());
                    }
                    times.push(took);
                }
                (times, cards, capped)
            }));
        }
        let (mut times, mut cards, mut capped) = (Vec::new(), 0, 0);
        for h in handles {
            let (t, c, m) = h.await?;
            times.extend(t);
            cards += c;
            capped += m;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let n = times.len().max(1) as f64;
        println!(
            "{kind}\t{}\t{:.0}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.0}",
            times.len(),
            times.len() as f64 / seconds as f64,
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            cards as f64 / n,
            100.0 * capped as f64 / n
        );
    }
    Ok(())
}
