//! `almanach directory import FILE.csv`: create or update accounts of the
//! national directory from a CSV file (RFC 4180), in batches.
//!
//! The format (docs/operations.md, "National directory"): UTF-8, comma
//! separated, a header row naming the columns in any order —
//! `username` (required), `given_name`, `family_name`, `display_name`
//! (default "given family"), `emails` (several separated by `;`, `,` or
//! spaces; the first is the primary one), `academie` (slug of an existing
//! académie), `title`, `phone`. Unknown column names refuse the whole file.
//!
//! Each row is checked here (username, addresses, field count, a username
//! repeated in the file) and by the store (académie, addresses held by
//! another account); a bad row is reported as `line N: reason` and skipped,
//! the others are imported. Re-running a file updates what changed and
//! creates nothing twice.

use std::collections::{HashSet, VecDeque};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::store::{AccountRecord, ImportCounts, ImportOutcome, SharedStore, StoreError, StoreResult};

use super::{valid_email, valid_username};

/// The columns a file may have.
const COLUMNS: &[&str] = &["username", "given_name", "family_name", "display_name", "emails", "academie", "title", "phone"];

/// Without a terminal, a progress line every this many rows.
const PROGRESS_EVERY: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: bad header: {reason}")]
    Header { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where each known column is in the file.
#[derive(Debug)]
struct Layout {
    index: [Option<usize>; COLUMNS.len()],
    width: usize,
}

impl Layout {
    fn parse(header: &csv::StringRecord) -> Result<Layout, String> {
        let mut index = [None; COLUMNS.len()];
        for (i, name) in header.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
            let Some(known) = COLUMNS.iter().position(|c| *c == name) else {
                return Err(format!("unknown column {name:?} (known: {})", COLUMNS.join(", ")));
            };
            if index[known].replace(i).is_some() {
                return Err(format!("column {name:?} appears twice"));
            }
        }
        if index[0].is_none() {
            return Err("no username column".into());
        }
        Ok(Layout { index, width: header.len() })
    }

    fn get<'r>(&self, row: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        let i = COLUMNS.iter().position(|c| *c == column)?;
        self.index[i].and_then(|i| row.get(i)).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The record of one row, or why it is bad.
    fn record(&self, row: &csv::StringRecord) -> Result<AccountRecord, String> {
        if row.len() != self.width {
            return Err(format!("{} fields, the header has {}", row.len(), self.width));
        }
        let username = self.get(row, "username").unwrap_or("");
        if !valid_username(username) {
            return Err(format!(
                "invalid username {username:?}: use 1-64 characters among a-z, 0-9, '.', '_', '-', '@'"
            ));
        }
        let emails: Vec<String> = self
            .get(row, "emails")
            .unwrap_or("")
            .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = emails.iter().find(|e| !valid_email(e)) {
            return Err(format!("invalid email address {bad:?}"));
        }
        let owned = |column| self.get(row, column).map(str::to_string);
        let (given_name, family_name) = (owned("given_name"), owned("family_name"));
        let display_name = owned("display_name").or_else(|| default_display_name(&given_name, &family_name));
        Ok(AccountRecord {
            username: username.to_string(),
            given_name,
            family_name,
            display_name,
            emails,
            academie: owned("academie"),
            title: owned("title"),
            phone: owned("phone"),
        })
    }
}

/// "Given Family", or whichever of the two exists.
fn default_display_name(given: &Option<String>, family: &Option<String>) -> Option<String> {
    match (given, family) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (g, f) => g.clone().or_else(|| f.clone()),
    }
}

/// Import `path` in batches of `batch` rows; bad rows are reported on
/// standard error as `line N: reason`.
pub async fn import_file(store: &SharedStore, path: &Path, batch: usize) -> Result<ImportCounts, ImportError> {
    let read_error = |source| ImportError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    let crlf_shift = crlf_line_shift(path).map_err(read_error)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(std::io::BufReader::new(file));
    let header = reader.headers().map_err(|e| ImportError::Header { path: path.to_path_buf(), reason: e.to_string() })?.clone();
    let layout = Layout::parse(&header).map_err(|reason| ImportError::Header { path: path.to_path_buf(), reason })?;

    let mut progress = Progress::new(size);
    let mut counts = ImportCounts::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut pending: Vec<(u64, AccountRecord)> = Vec::with_capacity(batch);
    let mut in_flight: InFlight = VecDeque::new();
    let mut row = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1 + crlf_shift;
        let more = match reader.read_record(&mut row) {
            Ok(more) => more,
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(read_error(std::io::Error::other(e.to_string())));
                }
                // A malformed row (e.g. not UTF-8): report it and go on.
                let line = e.position().map(|p| p.line() + crlf_shift).unwrap_or(line);
                progress.reject(line, &csv_reason(&e));
                counts.rejected += 1;
                continue;
            }
        };
        if !more {
            break;
        }
        let line = row.position().map(|p| p.line() + crlf_shift).unwrap_or(line);
        match layout.record(&row) {
            Ok(record) if !seen.insert(record.username.clone()) => {
                progress.reject(line, &format!("username {:?} already appears earlier in the file", record.username));
                counts.rejected += 1;
            }
            Ok(record) => pending.push((line, record)),
            Err(reason) => {
                progress.reject(line, &reason);
                counts.rejected += 1;
            }
        }
        if pending.len() >= batch {
            send(store, std::mem::take(&mut pending), &mut in_flight);
            if in_flight.len() >= BATCHES_IN_FLIGHT {
                settle_oldest(store, &mut in_flight, &mut counts, &mut progress).await?;
            }
            progress.update(reader.position().byte(), counts.total());
        }
    }
    send(store, pending, &mut in_flight);
    while !in_flight.is_empty() {
        settle_oldest(store, &mut in_flight, &mut counts, &mut progress).await?;
    }
    progress.finish(counts.total());
    Ok(counts)
}

/// Batches written at once: the database's work on a batch (index inserts)
/// runs on one core, so two batches in flight use both cores of a small
/// server while the file is read.
const BATCHES_IN_FLIGHT: usize = 2;

/// Batches sent to the store, oldest first, with their CSV line numbers.
type InFlight = VecDeque<(Vec<(u64, AccountRecord)>, tokio::task::JoinHandle<StoreResult<Vec<ImportOutcome>>>)>;

/// Start writing one batch.
fn send(store: &SharedStore, batch: Vec<(u64, AccountRecord)>, in_flight: &mut InFlight) {
    if batch.is_empty() {
        return;
    }
    let records: Vec<AccountRecord> = batch.iter().map(|(_, r)| r.clone()).collect();
    let store = store.clone();
    let task = tokio::spawn(async move { store.import_accounts(&records).await });
    in_flight.push_back((batch, task));
}

/// The csv crate positions a record that follows a CRLF terminator on the
/// terminator's line (at its `\n`): with CRLF line ends, its line numbers
/// are one short. Decided on the header line.
fn crlf_line_shift(path: &Path) -> std::io::Result<u64> {
    use std::io::BufRead;
    let mut first = Vec::new();
    std::io::BufReader::new(std::fs::File::open(path)?).read_until(b'\n', &mut first)?;
    Ok(u64::from(first.ends_with(b"\r\n")))
}

/// Wait for the oldest batch and account for its rows. A batch that failed
/// while others were being written (two rows of different batches claiming
/// one address: the database refuses the later transaction) is written
/// again once the batches in flight have settled, alone, where the store
/// rejects the row instead; a second failure stops the import.
async fn settle_oldest(
    store: &SharedStore,
    in_flight: &mut InFlight,
    counts: &mut ImportCounts,
    progress: &mut Progress,
) -> Result<(), ImportError> {
    let Some((batch, task)) = in_flight.pop_front() else { return Ok(()) };
    if let Ok(Ok(outcomes)) = task.await {
        account(&batch, &outcomes, counts, progress);
        return Ok(());
    }
    let mut failed = vec![batch];
    while let Some((other, task)) = in_flight.pop_front() {
        match task.await {
            Ok(Ok(outcomes)) => account(&other, &outcomes, counts, progress),
            _ => failed.push(other),
        }
    }
    for batch in failed {
        let records: Vec<AccountRecord> = batch.iter().map(|(_, r)| r.clone()).collect();
        let outcomes = store.import_accounts(&records).await?;
        account(&batch, &outcomes, counts, progress);
    }
    Ok(())
}

/// Count a written batch and report its rejected rows with their lines.
fn account(batch: &[(u64, AccountRecord)], outcomes: &[ImportOutcome], counts: &mut ImportCounts, progress: &mut Progress) {
    for ((line, _), outcome) in batch.iter().zip(outcomes) {
        if let ImportOutcome::Rejected(reason) = outcome {
            progress.reject(*line, reason);
        }
        counts.add(outcome);
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        other => format!("unreadable row: {other:?}"),
    }
}

/// Progress on standard error: a bar redrawn in place on a terminal,
/// otherwise a line every [`PROGRESS_EVERY`] rows.
struct Progress {
    size: u64,
    terminal: bool,
    started: Instant,
    drawn: Instant,
    next_line: u64,
}

impl Progress {
    fn new(size: u64) -> Progress {
        let now = Instant::now();
        Progress { size, terminal: std::io::stderr().is_terminal(), started: now, drawn: now, next_line: PROGRESS_EVERY }
    }

    fn rate(&self, rows: u64) -> u64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 { (rows as f64 / secs) as u64 } else { 0 }
    }

    fn update(&mut self, byte: u64, rows: u64) {
        if self.terminal {
            if self.drawn.elapsed() < Duration::from_millis(100) {
                return;
            }
            self.drawn = Instant::now();
            let fraction = if self.size == 0 { 1.0 } else { (byte as f64 / self.size as f64).min(1.0) };
            let filled = (fraction * 30.0) as usize;
            eprint!(
                "\r[{}{}] {:3.0}% {rows} rows, {}/s ",
                "#".repeat(filled),
                ".".repeat(30 - filled),
                fraction * 100.0,
                self.rate(rows)
            );
            let _ = std::io::stderr().flush();
        } else if rows >= self.next_line {
            self.next_line = (rows / PROGRESS_EVERY + 1) * PROGRESS_EVERY;
            eprintln!("progress: {rows} rows, {} s, {}/s", self.started.elapsed().as_secs(), self.rate(rows));
        }
    }

    fn reject(&mut self, line: u64, reason: &str) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
        eprintln!("line {line}: {reason}");
    }

    fn finish(&mut self, rows: u64) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
        eprintln!("done: {rows} rows in {:.1} s", self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(header: &[&str]) -> Result<Layout, String> {
        Layout::parse(&csv::StringRecord::from(header.to_vec()))
    }

    #[test]
    fn header_in_any_order() {
        let l = layout(&["emails", "username", "family_name", "given_name"]).unwrap();
        let r = l.record(&csv::StringRecord::from(vec!["a@x.fr; b@x.fr", "jdupont", "Dupont", "Jean"])).unwrap();
        assert_eq!(r.username, "jdupont");
        assert_eq!(r.emails, ["a@x.fr", "b@x.fr"]);
        assert_eq!(r.display_name.as_deref(), Some("Jean Dupont"));
        assert!(layout(&["username", "nickname"]).unwrap_err().contains("nickname"));
        assert!(layout(&["emails"]).unwrap_err().contains("username"));
        assert!(layout(&["username", "USERNAME"]).is_err());
    }

    #[test]
    fn bad_rows() {
        let l = layout(&["username", "emails"]).unwrap();
        let bad = |fields: Vec<&str>| l.record(&csv::StringRecord::from(fields)).unwrap_err();
        assert!(bad(vec!["Jean", ""]).contains("invalid username"));
        assert!(bad(vec!["jean", "nope"]).contains("invalid email"));
        assert!(bad(vec!["jean", "", "extra"]).contains("3 fields"));
    }
}
