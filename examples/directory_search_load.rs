//! Directory search latency under load, on the store API directly.
//!
//! ```text
//! cargo run --release --example directory_search_load -- DATABASE_URL ACCOUNTS.csv [TASKS] [SECONDS] [LIMIT]
//! ```
//!
//! Needles come from the accounts file (the CSV `directory import` read,
//! see scripts/gen_directory.py): for each kind, names and addresses of
//! randomly chosen rows — a prefix of 3 to 6 characters of a family or
//! given name ("prefix"), 3 to 5 characters from inside a name
//! ("substring"), a 1-2 character contains answered as a prefix
//! ("short"), and a prefix of an address ("email"). TASKS tasks (default
//! 32) run searches back to back for SECONDS (default 20); the p50 and p99
//! latency of each kind is printed.

use std::time::{Duration, Instant};

use almanach::collation::{fold, Collation};
use almanach::store::{DirectoryField, DirectoryMatch, DirectorySearch, DirectoryTerm};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Prefix,
    Substring,
    Short,
    Email,
}

const KINDS: [Kind; 4] = [Kind::Prefix, Kind::Substring, Kind::Short, Kind::Email];

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

fn search(kind: Kind, row: &(String, String, String), rng: &mut Rng, limit: i64) -> DirectorySearch {
    let (given, family, email) = row;
    let name = if rng.below(2) == 0 { family } else { given };
    let n = name.chars().count();
    let (field, matching, needle) = match kind {
        Kind::Prefix => (DirectoryField::Name, DirectoryMatch::Prefix, chars(name, 0, 3 + rng.below(4))),
        Kind::Substring => {
            let len = 3 + rng.below(3);
            let from = if n > len { 1 + rng.below(n - len) } else { 0 };
            (DirectoryField::Name, DirectoryMatch::Substring, chars(name, from.min(n.saturating_sub(len)), len))
        }
        Kind::Short => (DirectoryField::Name, DirectoryMatch::Substring, chars(name, 0, 1 + rng.below(2))),
        Kind::Email => (DirectoryField::Email, DirectoryMatch::Prefix, chars(email, 0, 4 + rng.below(6))),
    };
    DirectorySearch {
        terms: vec![DirectoryTerm { field, kind: matching, needle: fold(Collation::UnicodeCasemap, &needle).into_owned() }],
        match_all: true,
        limit,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        anyhow::bail!("usage: directory_search_load DATABASE_URL ACCOUNTS.csv [TASKS] [SECONDS] [LIMIT]");
    }
    let tasks: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(32);
    let seconds: u64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let limit: i64 = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(50);

    let mut reader = csv::Reader::from_path(&args[2])?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| anyhow::anyhow!("no {name} column"));
    let (g, f, e) = (col("given_name")?, col("family_name")?, col("emails")?);
    let mut rows = Vec::new();
    for record in reader.records().take(50_000) {
        let r = record?;
        let email = r[e].split(';').next().unwrap_or("").to_string();
        rows.push((r[g].to_string(), r[f].to_string(), email));
    }
    let store = almanach::store::open(&args[1]).await?;
    let rows = std::sync::Arc::new(rows);
    // DIRECTORY_LOAD_SLOW_MS=N prints the needles of searches slower than N ms.
    let slow: Option<u64> = std::env::var("DIRECTORY_LOAD_SLOW_MS").ok().and_then(|v| v.parse().ok());

    println!("{tasks} tasks, {seconds} s per kind, limit {limit}, needles from {} rows", rows.len());
    println!("kind\tsearches\tsearch/s\tp50 ms\tp99 ms\tmax ms\tmean results");
    for kind in KINDS {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut handles = Vec::new();
        for t in 0..tasks {
            let (store, rows) = (store.clone(), rows.clone());
            handles.push(tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 7919));
                let mut times = Vec::new();
                let mut results = 0usize;
                while Instant::now() < deadline {
                    let s = search(kind, &rows[rng.below(rows.len())], &mut rng, limit);
                    let start = Instant::now();
                    results += store.directory_search(&s).await.expect("search").len();
                    let took = start.elapsed();
                    if slow.is_some_and(|ms| took > Duration::from_millis(ms)) {
                        eprintln!("slow {kind:?} {:?}: {took:?}", s.terms[0].needle);
                    }
                    times.push(took);
                }
                (times, results)
            }));
        }
        let mut times = Vec::new();
        let mut results = 0;
        for h in handles {
            let (t, r) = h.await?;
            times.extend(t);
            results += r;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{kind:?}\t{}\t{:.0}\t{:.1}\t{:.1}\t{:.1}\t{:.1}",
            times.len(),
            times.len() as f64 / seconds as f64,
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            results as f64 / times.len().max(1) as f64
        );
    }
    Ok(())
}
