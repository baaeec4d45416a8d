//! The national directory (the CardDAV directory gateway, RFC 6352 §7.1.1):
//! the [`DirectoryStore`] concern of the store — searches on its folded
//! index and bulk imports of accounts.

use async_trait::async_trait;

use super::{Millis, PrincipalId, StoreResult};

/// One account as the national directory (the CardDAV directory gateway,
/// RFC 6352 §7.1.1) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub principal: PrincipalId,
    pub username: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    /// Its current addresses (never former ones, see
    /// [`PrincipalEmail::former`](super::PrincipalEmail::former)): primary
    /// first, then in insertion order.
    pub emails: Vec<String>,
    /// (slug, name) of the académie.
    pub academie: Option<(String, String)>,
    /// Last change of the principal (ms).
    pub modified_at: Millis,
}

/// A searchable value of a directory entry: what the entry's card holds
/// (FN, N, EMAIL) and what a principal search looks at. Each is indexed
/// as the text a filter compares (RFC 6352 §10.5.4: a structured value is
/// matched as a whole), folded with `i;unicode-casemap`, so that a term
/// on a field matches exactly when the same text-match on the card's
/// property does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryField {
    /// The card's FN: [`full_name`].
    FullName,
    /// The card's N as text, components joined with `;`:
    /// [`structured_name`] (`Leclerc;Timothée;;;`).
    StructuredName,
    /// Every email address (one EMAIL property each): a term matches when
    /// it matches one of them.
    Email,
    /// The display name of a principal that has one ([`display_name`]);
    /// without one, its `DAV:displayname` is its username.
    DisplayName,
    /// The username.
    Username,
}

/// How a term compares with a whole folded value (RFC 4790 §4.2:
/// equality, prefix, substring, suffix), for needles of any length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryMatch {
    Equals,
    Prefix,
    Substring,
    Suffix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryTerm {
    pub field: DirectoryField,
    pub kind: DirectoryMatch,
    /// Already folded with `i;unicode-casemap` (`collation::fold`).
    pub needle: String,
}

/// A search of the directory index: every clause must hold, and a clause
/// holds when one of its terms matches (a conjunction of disjunctions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySearch {
    /// No clause: every active account (up to `limit`).
    pub clauses: Vec<Vec<DirectoryTerm>>,
    pub limit: usize,
}

/// What a search found: at most `limit` entries, ordered by username, and
/// whether there may be more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryAnswer {
    pub entries: Vec<DirectoryEntry>,
    /// True when another accepted match exists beyond `limit`, or when the
    /// search stopped at its bound on index rows before it had read every
    /// candidate (then the answer may be short): never false while a match
    /// is left out.
    pub more: bool,
}

/// The caller's exact check of a candidate entry (the CardDAV layer matches
/// the card's filter): the store narrows with its index, the caller decides.
pub type EntryCheck<'a> = dyn Fn(&DirectoryEntry) -> bool + Send + Sync + 'a;

/// The full name an entry shows (its card's FN): the display name, else
/// "given family", else the username; trimmed, without carriage returns
/// (a vCard text value cannot carry them back, RFC 2426 §4).
pub fn full_name(username: &str, display: Option<&str>, given: Option<&str>, family: Option<&str>) -> String {
    if let Some(d) = display_name(display) {
        return d;
    }
    let parts: Vec<&str> =
        [given, family].into_iter().flatten().map(str::trim).filter(|p| !p.is_empty()).collect();
    let name = if parts.is_empty() { username.to_string() } else { parts.join(" ") };
    text(&name)
}

/// The structured name an entry shows (its card's `N:family;given;;;`) as
/// the text a filter compares: components joined with `;` (RFC 6352
/// §10.5.4 matches a structured value as a whole).
pub fn structured_name(given: Option<&str>, family: Option<&str>) -> String {
    let component = |c: Option<&str>| text(c.unwrap_or("").trim());
    format!("{};{};;;", component(family), component(given))
}

/// The display name of a principal that has one (not blank), trimmed.
pub fn display_name(display: Option<&str>) -> Option<String> {
    display.map(str::trim).filter(|d| !d.is_empty()).map(text)
}

/// A value as a vCard text property carries it: without carriage returns.
fn text(value: &str) -> String {
    value.replace('\r', "")
}

/// One account of a bulk import, upserted by username.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRecord {
    pub username: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The first is the primary one.
    pub emails: Vec<String>,
    /// Académie slug; must exist.
    pub academie: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
}

/// What an import did with one [`AccountRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// Nothing written for this record; the reason, for the operator.
    Rejected(String),
}

/// Totals of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl ImportCounts {
    pub fn add(&mut self, outcome: &ImportOutcome) {
        match outcome {
            ImportOutcome::Created => self.created += 1,
            ImportOutcome::Updated => self.updated += 1,
            ImportOutcome::Unchanged => self.unchanged += 1,
            ImportOutcome::Rejected(_) => self.rejected += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.rejected
    }
}

/// The national directory: searches and bulk imports.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    // -- national directory
    /// Active (not disabled) user principals that match the search and that
    /// `accept` accepts, ordered by username, at most `limit`. Every term is
    /// matched exactly on the folded values (the index narrows, the values
    /// decide); `accept` is the caller's own check of each candidate. The
    /// cost is bounded: the search reads index rows in order until it has
    /// `limit + 1` accepted entries, the candidates run out, or it has read
    /// its bound of rows (then `more` is set: the answer may be short).
    /// When more than `limit` match, which ones are returned is unspecified
    /// (the first found in index order).
    async fn directory_search(&self, search: &DirectorySearch, accept: &EntryCheck<'_>) -> StoreResult<DirectoryAnswer>;
    /// The directory entry of an active user principal; None for unknown,
    /// disabled or non-user principals.
    async fn directory_entry(&self, username: &str) -> StoreResult<Option<DirectoryEntry>>;
    /// Upsert accounts by username in one transaction; one outcome per
    /// record, in order. New accounts get no password; an existing
    /// account keeps its password, kind, admin and disabled flags. A record
    /// is rejected (and nothing of it written) when its académie is
    /// unknown, the username belongs to a non-user principal, it repeats an
    /// earlier username of the batch, or one of its addresses is given to an
    /// earlier record of the batch or is a current address of another
    /// principal — unless that principal's record, accepted in the same
    /// batch, drops it (the address then moves).
    ///
    /// Addresses a record drops stay with its principal as former addresses
    /// ([`PrincipalEmail::former`](super::PrincipalEmail::former), RFC 6638
    /// §2.4.1), unless a record of the batch takes them; a former address
    /// a record lists again becomes current again, and one a record of
    /// another account lists is taken over by that account as current.
    async fn import_accounts(&self, batch: &[AccountRecord]) -> StoreResult<Vec<ImportOutcome>>;
}
