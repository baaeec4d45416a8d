//! Académies, regions, principals and their email addresses: the
//! [`PrincipalStore`] concern of the store.

use async_trait::async_trait;

use super::{Millis, PrincipalId, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// A regional académie: the tenant boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Academie {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// Slug of the region the académie belongs to, if any.
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
    Room,
    Resource,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
            PrincipalKind::Room => "room",
            PrincipalKind::Resource => "resource",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => PrincipalKind::User,
            "group" => PrincipalKind::Group,
            "room" => PrincipalKind::Room,
            "resource" => PrincipalKind::Resource,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: PrincipalId,
    pub username: String,
    pub kind: PrincipalKind,
    pub display_name: Option<String>,
    /// Slug of the académie the principal belongs to (None: national, e.g. the
    /// first administrator).
    pub academie: Option<String>,
    /// PHC string of an argon2id hash; None for principals that cannot log in.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub is_admin: bool,
    /// Per-principal quota in bytes; None means the server default.
    pub quota_bytes: Option<i64>,
    pub created_at: Millis,
}

/// A principal search (RFC 3744 §9.4): substrings of names (the
/// `DAV:displayname` — the display name, or the username without one — and
/// the username) and of email addresses, compared with `i;unicode-casemap`
/// (RFC 4790 §4.2.3, RFC 5051), as the directory index folds them. An empty
/// term matches every principal.
#[derive(Debug, Clone, Default)]
pub struct PrincipalSearch {
    /// Principals of this académie are searched...
    pub academie: Option<String>,
    /// ...and this one (the searching user) in any case.
    pub always: Option<PrincipalId>,
    pub name_terms: Vec<String>,
    pub email_terms: Vec<String>,
    /// All terms must match (RFC 3744 `test="allof"`), or any (`anyof`).
    pub match_all: bool,
    pub limit: i64,
}

/// What a principal search found: at most `limit` principals, ordered by
/// username, and whether there may be more.
#[derive(Debug, Clone, Default)]
pub struct PrincipalAnswer {
    pub principals: Vec<Principal>,
    /// True when another match exists beyond `limit`, or when the search
    /// stopped at its bound on index rows before it had read every
    /// candidate: never false while a match is left out.
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEmail {
    pub address: String,
    /// The one address mail goes to; never a former one.
    pub primary: bool,
    /// An address the principal held before an address change (a directory
    /// import dropped it): it still identifies the principal for scheduling
    /// (RFC 6638 §2.4.1, `calendar-user-address-set`: replies to old
    /// invitations), but the directory and the principal searches neither
    /// show nor match it. An account that is given it takes it over.
    pub former: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NewPrincipal {
    pub username: String,
    pub kind: Option<PrincipalKind>,
    pub display_name: Option<String>,
    /// Académie slug; must exist.
    pub academie: Option<String>,
    pub password_hash: Option<String>,
    /// Email addresses; the first is the primary one.
    pub emails: Vec<String>,
    pub is_admin: bool,
    /// vCard `N` (given and family names), `TITLE` and `TEL` for the
    /// national directory.
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
}

/// Académies, regions, principals and their email addresses.
#[async_trait]
pub trait PrincipalStore: Send + Sync {
    /// Changes to the directory (principals, académies, emails) committed
    /// through this store object so far: a value read before reading a
    /// principal differs from the current one once such a change committed
    /// since. Per process; no database read.
    fn directory_generation(&self) -> u64;

    // -- académies and regions
    /// Create an académie, creating its region (slug used as name) when missing.
    async fn create_academie(&self, slug: &str, name: &str, region: Option<&str>) -> StoreResult<Academie>;
    async fn academie(&self, slug: &str) -> StoreResult<Option<Academie>>;
    async fn list_academies(&self) -> StoreResult<Vec<Academie>>;
    async fn list_regions(&self) -> StoreResult<Vec<Region>>;

    // -- principals
    async fn create_principal(&self, new: NewPrincipal) -> StoreResult<Principal>;
    async fn principal_by_username(&self, username: &str) -> StoreResult<Option<Principal>>;
    /// The principal holding `address` (compared case-insensitively, as
    /// stored), whether as a current or as a former address (see
    /// [`PrincipalEmail::former`]); an address belongs to one principal at
    /// most. Disabled principals are returned too (`Principal::disabled`).
    /// One read on the unique index of lower-cased addresses.
    async fn principal_by_email(&self, address: &str) -> StoreResult<Option<Principal>>;
    async fn principal(&self, id: PrincipalId) -> StoreResult<Option<Principal>>;
    /// The principals with these ids that exist, in no particular order;
    /// one read (per few hundred ids).
    async fn principals(&self, ids: &[PrincipalId]) -> StoreResult<Vec<Principal>>;
    /// [`Self::principal_by_email`] for several addresses at once: each
    /// address that is held, lower-cased as stored, with its holder
    /// (disabled ones included); one read (per few hundred addresses).
    async fn principals_by_emails(&self, addresses: &[&str]) -> StoreResult<Vec<(String, Principal)>>;
    async fn list_principals(&self) -> StoreResult<Vec<Principal>>;
    /// Active principals matching a search (RFC 3744 §9.4), among those of
    /// `search.academie` and `search.always`, ordered by username, at most
    /// `search.limit`. User principals are found through the directory index
    /// (bounded like [`crate::store::DirectoryStore::directory_search`]),
    /// rooms and resources by reading those of the académie.
    async fn search_principals(&self, search: &PrincipalSearch) -> StoreResult<PrincipalAnswer>;
    async fn count_principals(&self) -> StoreResult<i64>;
    async fn set_password_hash(&self, id: PrincipalId, hash: &str) -> StoreResult<()>;
    async fn set_disabled(&self, id: PrincipalId, disabled: bool) -> StoreResult<()>;
    /// Delete a principal with everything it owns (collections, objects,
    /// properties, change logs, locks), in one transaction.
    async fn delete_principal(&self, id: PrincipalId) -> StoreResult<()>;
    /// The current addresses, the primary first then in insertion order,
    /// then the former ones (see [`PrincipalEmail::former`]); exactly one
    /// is primary when any current address exists.
    async fn principal_emails(&self, id: PrincipalId) -> StoreResult<Vec<PrincipalEmail>>;
    /// Give `id` the current address `address` (the primary one with
    /// `primary`, or when it has no other). An address it held as former
    /// becomes current again; one another principal held as former is taken
    /// over; `AlreadyExists` when a principal (this one included) holds it
    /// as current.
    async fn add_principal_email(&self, id: PrincipalId, address: &str, primary: bool) -> StoreResult<()>;
}
