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

/// What a directory search term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryField {
    /// The display name, the given name, the family name, "given family"
    /// and the username: a term matches when it matches any of them.
    Name,
    /// Every current email address: a term matches when it matches any of
    /// them.
    Email,
}

/// How a term compares with a whole folded value (RFC 4790 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryMatch {
    Equals,
    Prefix,
    /// Needles of 3 characters or more are looked up in the word-suffix index;
    /// shorter ones are answered as [`DirectoryMatch::Prefix`] (see
    /// docs/decisions.md, "The directory index").
    Substring,
    /// As [`DirectoryMatch::Substring`]: shorter than 3 characters, only
    /// values that also start with the needle are found.
    Suffix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryTerm {
    pub field: DirectoryField,
    pub kind: DirectoryMatch,
    /// Already folded with `i;unicode-casemap` (`collation::fold`).
    pub needle: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySearch {
    /// No term: every active account (up to `limit`).
    pub terms: Vec<DirectoryTerm>,
    /// All terms must match (`allof`), or any (`anyof`).
    pub match_all: bool,
    pub limit: i64,
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
    /// Active (not disabled) user principals matching the search, ordered
    /// by username, at most `limit`. Every term is answered from an index
    /// and matched exactly (no false candidates). When more than `limit`
    /// match, which ones are returned is unspecified (the first found in
    /// index order), so the cost stays bounded by the limit.
    async fn directory_search(&self, search: &DirectorySearch) -> StoreResult<Vec<DirectoryEntry>>;
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
