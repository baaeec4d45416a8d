//! The national directory: the search index over the searchable values of
//! active user principals (their card's FN, N and EMAIL, their display name
//! and username), and the searches on it.
//!
//! `directory_terms` holds one row per distinct searchable value of a
//! principal, folded with `i;unicode-casemap` ([`crate::collation::fold`],
//! RFC 5051 §2) here in Rust, so that the index agrees byte for byte with
//! the collation the CardDAV filter applies; each field is the text a
//! filter compares ([`DirectoryField`]). Only active user principals have
//! rows: every write path that changes a principal's names, emails, kind or
//! disabled flag rewrites its rows ([`body!`]'s `refresh_terms`).
//!
//! A term is narrowed with an index and matched exactly on the values
//! (docs/decisions.md, "The directory index"):
//! - equals and starts-with: a byte-wise range on `(field, term)`;
//! - contains and ends-with: a byte-wise range on `directory_suffixes`
//!   (the text from every position of the names, and apart from them of
//!   the usernames and the local part of addresses, cut to
//!   [`SUFFIX_CHARS`] characters) on a window of
//!   the needle, and for addresses the principals of the mail domains that
//!   hold the needle (`directory_domains`, `h` rows); each candidate is
//!   checked on its values with the backend's `term_pattern*`
//!   (`LIKE` / `GLOB`).
//!
//! A search reads the index in key order, in chunks, and stops at `limit + 1`
//! accepted principals, when the candidates run out, or at [`ROW_BUDGET`]
//! rows (then it says the answer may be short): its cost is bounded
//! whatever the needle.

use crate::collation::{fold, Collation};
use crate::store::directory::{display_name, full_name, structured_name};
use crate::store::sql::rows::prefix_upper;
use crate::store::{DirectoryField, DirectoryMatch, DirectoryTerm};

/// Rows of `directory_suffixes` hold the text from one position of a value,
/// cut to this many characters. A needle longer than this is looked up by a
/// window of this many of its characters and checked on the values.
pub const SUFFIX_CHARS: usize = 12;

/// Most index rows one search reads (over every range it walks); beyond, it
/// stops and answers what it has with `more` set. Bounds the cost of a
/// needle whose candidates rarely match (an allof whose other clause is
/// rare, an ends-with whose window is common elsewhere in the values).
pub const ROW_BUDGET: usize = 4000;

/// Counting a range to choose where to start stops at this many rows.
pub const COUNT_CAP: usize = 400;

/// Most windows of one needle considered.
const MAX_WINDOWS: usize = 8;

/// The `directory_suffixes.kind` of a row: the text it comes from. The
/// first column of the key, so that a range holds the rows of one kind only
/// (a name needle never reads the many address rows that hold it, as
/// "elodie" in "elodie.martin@…" for the name "Élodie Martin"), and a
/// contains of up to [`SUFFIX_CHARS`] characters on FN or EMAIL is a range
/// whose every row matches (no check on the values).
///
/// The card's FN (and the display name, which is the FN when there is one).
pub const FN_KIND: i64 = 1;
/// The email addresses (their local part and `@`, running on into the
/// domain).
pub const EMAIL_KIND: i64 = 2;
/// The other names: the components of N, and a display name that differs
/// from the FN; a row that a [`FN_KIND`] row starts with is left out (a
/// name needle reads both kinds).
pub const NAME_KIND: i64 = 3;
/// The username; a row that an [`EMAIL_KIND`] row starts with is left out
/// (a username needle reads both kinds).
pub const USERNAME_KIND: i64 = 4;

/// The `field` of the `directory_terms` rows holding the mail domains of a
/// principal's addresses (walked to find the principals of a domain).
pub const DOMAIN_FIELD: &str = "h";

/// The `field` column value of a search field.
pub fn field_code(field: DirectoryField) -> &'static str {
    match field {
        DirectoryField::FullName => "f",
        DirectoryField::StructuredName => "n",
        DirectoryField::Email => "e",
        DirectoryField::DisplayName => "d",
        DirectoryField::Username => "u",
    }
}

/// The mail domain of a folded address: what follows its last `@` (the
/// whole address when it has none, so that every address has one).
pub fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(_, domain)| domain)
}

/// The `directory_suffixes` rows of one principal from its `(field, folded
/// value)` rows: for every position of its names (FN, display name, each
/// `;`-separated component of N), of its username and of the local part of
/// its addresses (up to and with the `@`), the text from there, cut to
/// [`SUFFIX_CHARS`] characters (so an address's rows run on into its
/// domain), with its kind ([`FN_KIND`], [`EMAIL_KIND`], [`NAME_KIND`],
/// [`USERNAME_KIND`]); a row that is a prefix of another one of its kind
/// is left out (a range scan on the longer one finds the principal
/// already), and so is a [`NAME_KIND`] row that a [`FN_KIND`] row starts
/// with, a [`USERNAME_KIND`] row that an [`EMAIL_KIND`] row starts with.
/// Sorted by kind, then suffix.
///
/// So a needle of up to [`SUFFIX_CHARS`] characters that occurs in a name,
/// a username or an address's local part (or starts there and runs on into
/// the domain) starts one of the principal's rows, and any window of a
/// longer one does.
pub fn suffixes_of<'a>(terms: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, i64)> {
    use std::collections::BTreeSet;
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let mut by_kind: [BTreeSet<String>; 4] = Default::default();
    let mut positions = |value: &str, end: usize, kind: i64| {
        for (start, _) in value.char_indices().take_while(|(i, _)| *i < end) {
            let rest = &value[start..];
            let cut = rest.char_indices().nth(SUFFIX_CHARS).map_or(rest.len(), |(i, _)| i);
            by_kind[kind as usize - 1].insert(rest[..cut].to_string());
        }
    };
    for (field, value) in terms {
        match field {
            "f" => positions(value, value.len(), FN_KIND),
            "d" => positions(value, value.len(), NAME_KIND),
            "n" => value.split(';').for_each(|component| positions(component, component.len(), NAME_KIND)),
            "u" => positions(value, value.len(), USERNAME_KIND),
            "e" => positions(value, value.rfind('@').map_or(value.len(), |at| at + 1), EMAIL_KIND),
            _ => {}
        }
    }
    // Whether a row of `set` starts with `row` (other than `row` itself,
    // unless `equal`): the rows starting with it follow it in order.
    let covered = |set: &BTreeSet<String>, row: &str, equal: bool| {
        let from = if equal { Included(row) } else { Excluded(row) };
        set.range::<str, _>((from, Unbounded)).next().is_some_and(|other| other.starts_with(row))
    };
    let mut out = Vec::new();
    for kind in [FN_KIND, EMAIL_KIND, NAME_KIND, USERNAME_KIND] {
        let own = &by_kind[kind as usize - 1];
        let wider = match kind {
            NAME_KIND => Some(&by_kind[FN_KIND as usize - 1]),
            USERNAME_KIND => Some(&by_kind[EMAIL_KIND as usize - 1]),
            _ => None,
        };
        for row in own {
            if !covered(own, row, false) && !wider.is_some_and(|w| covered(w, row, true)) {
                out.push((row.clone(), kind));
            }
        }
    }
    out
}

/// Rows per multi-row statement (well under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters for every statement here).
pub const ROWS_PER_STATEMENT: usize = 1000;

/// A `directory_terms` row: the principal, its académie (both index
/// tables carry it, so a search scoped to an académie filters inside the
/// index), the field and the folded value.
pub type TermRow = (i64, Option<i64>, &'static str, String);

/// The searchable values of one principal.
pub struct TermSource<'a> {
    pub username: &'a str,
    pub display_name: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub emails: &'a [String],
}

/// The `(field, folded value)` rows of a principal, without duplicates or
/// empty values: its full name (`f`), structured name (`n`), username
/// (`u`), display name when it has one (`d`), every address (`e`) and the
/// mail domain of each ([`DOMAIN_FIELD`]).
pub fn terms_of(src: &TermSource<'_>) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut push = |field: &'static str, value: &str| {
        let folded = fold(Collation::UnicodeCasemap, value).into_owned();
        if !folded.is_empty() && !out.iter().any(|(f, v)| *f == field && *v == folded) {
            out.push((field, folded));
        }
    };
    push("f", &full_name(src.username, src.display_name, src.given_name, src.family_name));
    push("n", &structured_name(src.given_name, src.family_name));
    push("u", src.username);
    if let Some(display) = display_name(src.display_name) {
        push("d", &display);
    }
    for address in src.emails {
        let address = address.trim();
        push("e", address);
        let folded = fold(Collation::UnicodeCasemap, address);
        push(DOMAIN_FIELD, domain_of(&folded));
    }
    out
}

/// Whether a folded value matches a term (RFC 4790 §4.2 on the folded
/// text, which is `i;unicode-casemap`).
pub fn value_matches(term: &DirectoryTerm, value: &str) -> bool {
    let needle = term.needle.as_str();
    match term.kind {
        DirectoryMatch::Equals => value == needle,
        DirectoryMatch::Prefix => value.starts_with(needle),
        DirectoryMatch::Substring => value.contains(needle),
        DirectoryMatch::Suffix => value.ends_with(needle),
    }
}

// ------------------------------------------------------------ planning

/// Where the candidates of a term are read from, in key order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// `directory_terms` rows of `field` whose term is in `range`.
    Terms { field: &'static str, range: Range },
    /// `directory_suffixes` rows of `kind` whose suffix starts with
    /// `prefix`.
    Suffixes { kind: i64, prefix: String },
    /// Every active user principal, by username (a term no index can
    /// narrow, such as N contains ";").
    Everyone,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Range {
    Equal(String),
    Prefix(String),
}

/// One part of the candidates of a term: any of `options` reads them all
/// (an option: the ranges of one window of the needle, in each kind of
/// text it can lie in), the one with the fewest rows is walked. With
/// `exact`, every row of its ranges matches the term (no check on the
/// values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub options: Vec<Vec<Source>>,
    pub exact: bool,
}

/// How the candidates of `term` are found: the union of the parts (none:
/// nothing can match). `domains` are the mail domains of the directory
/// (folded), read when the term is a contains or ends-with on addresses
/// without `@`.
pub fn term_parts(term: &DirectoryTerm, domains: &[String]) -> Vec<Part> {
    let x = term.needle.as_str();
    let code = field_code(term.field);
    let terms = |range| Part { options: vec![vec![Source::Terms { field: code, range }]], exact: true };
    let contains = term.kind == DirectoryMatch::Substring;
    // A contains that fits in a row: every row starting with it holds it.
    let whole = contains && x.chars().count() <= SUFFIX_CHARS;
    match (term.kind, term.field) {
        (DirectoryMatch::Equals, _) => vec![terms(Range::Equal(x.to_string()))],
        (DirectoryMatch::Prefix, _) => vec![terms(Range::Prefix(x.to_string()))],
        (_, DirectoryField::FullName) => vec![Part { options: windows(x, &[FN_KIND]), exact: whole }],
        (_, DirectoryField::DisplayName) => vec![Part { options: windows(x, &[FN_KIND, NAME_KIND]), exact: false }],
        (_, DirectoryField::Username) => vec![Part { options: windows(x, &[USERNAME_KIND, EMAIL_KIND]), exact: false }],
        // A piece of the needle between `;` lies inside one component.
        (_, DirectoryField::StructuredName) => {
            let options: Vec<Vec<Source>> =
                x.split(';').filter(|p| !p.is_empty()).flat_map(|p| windows(p, &[FN_KIND, NAME_KIND])).collect();
            if options.is_empty() {
                vec![Part { options: vec![vec![Source::Everyone]], exact: false }]
            } else {
                vec![Part { options, exact: false }]
            }
        }
        (_, DirectoryField::Email) => match x.find('@') {
            // The needle's `@` is the address's: it starts in the local
            // part or at the `@`, where the rows run on into the domain.
            Some(at) => vec![Part { options: address_windows(x, at), exact: whole }],
            // Inside the local part, or inside the domain; an ends-with
            // without `@` ends the domain.
            None => {
                let mut parts = Vec::new();
                if contains {
                    parts.push(Part { options: windows(x, &[EMAIL_KIND]), exact: whole });
                }
                for domain in domains {
                    let found = if contains { domain.contains(x) } else { domain.ends_with(x) };
                    if found {
                        parts.push(Part {
                            options: vec![vec![Source::Terms { field: DOMAIN_FIELD, range: Range::Equal(domain.clone()) }]],
                            exact: true,
                        });
                    }
                }
                parts
            }
        },
    }
}

/// The windows of `text` a suffix range can look up, each in `kinds`: the
/// text itself when it fits in [`SUFFIX_CHARS`], otherwise up to
/// [`MAX_WINDOWS`] of its runs of that many characters, spread over it
/// (first and last included).
pub fn windows(text: &str, kinds: &[i64]) -> Vec<Vec<Source>> {
    let in_kinds = |prefix: &str| kinds.iter().map(|&kind| Source::Suffixes { kind, prefix: prefix.to_string() }).collect();
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let count = starts.len();
    if count <= SUFFIX_CHARS {
        return vec![in_kinds(text)];
    }
    let last = count - SUFFIX_CHARS;
    spread(last + 1)
        .into_iter()
        .map(|k| {
            let end = starts.get(k + SUFFIX_CHARS).copied().unwrap_or(text.len());
            in_kinds(&text[starts[k]..end])
        })
        .collect()
}

/// The windows of an address needle whose first `@` is at byte `at`: those
/// starting at or before the `@` (an address has rows only there), of
/// [`SUFFIX_CHARS`] characters when the needle has them (a shorter window
/// at the end finds all that a longer one before it does, and more).
fn address_windows(text: &str, at: usize) -> Vec<Vec<Source>> {
    let all: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let last = all.len().saturating_sub(SUFFIX_CHARS);
    let starts: Vec<usize> = all.iter().copied().take_while(|i| *i <= at).take(last + 1).collect();
    spread(starts.len())
        .into_iter()
        .map(|k| {
            let end = all.get(k + SUFFIX_CHARS).copied().unwrap_or(text.len());
            vec![Source::Suffixes { kind: EMAIL_KIND, prefix: text[starts[k]..end].to_string() }]
        })
        .collect()
}

/// Up to [`MAX_WINDOWS`] of `0..n`, spread evenly, first and last included.
fn spread(n: usize) -> Vec<usize> {
    if n <= MAX_WINDOWS {
        return (0..n).collect();
    }
    let mut out: Vec<usize> = (0..MAX_WINDOWS).map(|i| i * (n - 1) / (MAX_WINDOWS - 1)).collect();
    out.dedup();
    out
}

/// `$start, $start+1, …` (`count` numbered parameters).
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// A statement parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// The SQL of the rows of `source` (aliased inside), in key order, after
/// `cursor`, at most `limit`, of principals of the académie `scope` when
/// given (filtered inside the index: both index tables carry the
/// principal's académie): selects `k` (the key) and `principal_id`.
pub fn source_sql(
    source: &Source,
    scope: Option<i64>,
    cursor: Option<&(String, i64)>,
    limit: usize,
    binds: &mut Vec<Bind>,
) -> String {
    let mut push = |b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    let (select, table, mut conditions, key) = match source {
        Source::Terms { field, range } => {
            let mut conditions = vec![format!("field = {}", push(Bind::Text(field.to_string())))];
            match range {
                Range::Equal(v) => conditions.push(format!("term = {}", push(Bind::Text(v.clone())))),
                Range::Prefix(v) => {
                    conditions.push(format!("term >= {}", push(Bind::Text(v.clone()))));
                    conditions.push(format!("term < {}", push(Bind::Text(prefix_upper(v)))));
                }
            }
            ("term AS k, principal_id", "directory_terms", conditions, "term")
        }
        Source::Suffixes { kind, prefix } => {
            let conditions = vec![
                format!("kind = {kind}"),
                format!("suffix >= {}", push(Bind::Text(prefix.clone()))),
                format!("suffix < {}", push(Bind::Text(prefix_upper(prefix)))),
            ];
            ("suffix AS k, principal_id", "directory_suffixes", conditions, "suffix")
        }
        Source::Everyone => (
            "username AS k, id AS principal_id",
            "principals",
            vec!["kind = 'user'".to_string(), "NOT disabled".to_string()],
            "username",
        ),
    };
    let id = if matches!(source, Source::Everyone) { "id" } else { "principal_id" };
    if let Some(academie) = scope {
        conditions.push(format!("academie_id = {}", push(Bind::Int(academie))));
    }
    if let Some((k, p)) = cursor {
        if matches!(source, Source::Everyone) {
            conditions.push(format!("username > {}", push(Bind::Text(k.clone()))));
        } else {
            let k = push(Bind::Text(k.clone()));
            let p = push(Bind::Int(*p));
            conditions.push(format!("({key}, {id}) > ({k}, {p})"));
        }
    }
    format!("SELECT {select} FROM {table} WHERE {} ORDER BY {key}, {id} LIMIT {limit}", conditions.join(" AND "))
}

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use std::collections::HashSet;

        use sqlx::Row;

        use super::*;
        use $crate::store::sql::directory_index::*;

        // ------------------------------------------------------ Store methods

        pub(super) async fn directory_search(
            store: &Backend,
            search: &DirectorySearch,
            accept: &EntryCheck<'_>,
        ) -> StoreResult<DirectoryAnswer> {
            if search.limit == 0 {
                return Ok(DirectoryAnswer::default());
            }
            let mut conn = store.reader().acquire().await?;
            let walked = walk(&mut conn, &search.clauses, None, search.limit, Some(accept)).await?;
            let mut entries = walked.entries;
            entries.sort_by(|a, b| a.username.cmp(&b.username));
            let more = walked.more || entries.len() > search.limit;
            entries.truncate(search.limit);
            Ok(DirectoryAnswer { entries, more })
        }

        pub(super) async fn directory_entry(store: &Backend, username: &str) -> StoreResult<Option<DirectoryEntry>> {
            let mut conn = store.reader().acquire().await?;
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM principals WHERE username = $1 AND kind = 'user' AND NOT disabled")
                    .bind(username)
                    .fetch_optional(&mut *conn)
                    .await?;
            match row {
                Some((id,)) => Ok(fetch_entries(&mut conn, &[id]).await?.pop()),
                None => Ok(None),
            }
        }

        // ------------------------------------------------------------ search

        /// What a walk found: the accepted principals (with their entries
        /// when a check needed them), and whether there may be more.
        pub(super) struct Walked {
            pub ids: Vec<i64>,
            pub entries: Vec<DirectoryEntry>,
            pub more: bool,
        }

        /// Up to `limit + 1` active user principals matching every clause
        /// (and in the académie `scope`), accepted by `accept` (on their
        /// entries; None: accepted as found). Walks the parts of the
        /// cheapest clause in key order, in chunks, checking each candidate
        /// on its values, and stops at `limit + 1`, when the parts run out or
        /// after [`ROW_BUDGET`] rows (`more` then).
        pub(super) async fn walk(
            conn: &mut Conn,
            clauses: &[Vec<DirectoryTerm>],
            scope: Option<i64>,
            limit: usize,
            accept: Option<&EntryCheck<'_>>,
        ) -> StoreResult<Walked> {
            let needs_domains = clauses.iter().flatten().any(|t| {
                t.field == DirectoryField::Email
                    && matches!(t.kind, DirectoryMatch::Substring | DirectoryMatch::Suffix)
                    && !t.needle.contains('@')
            });
            let domains: Vec<String> = if needs_domains {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT domain FROM directory_domains").fetch_all(&mut *conn).await?;
                rows.into_iter().map(|(d,)| d).collect()
            } else {
                Vec::new()
            };
            // Per clause, per term: its parts.
            let planned: Vec<Vec<Vec<Part>>> = clauses
                .iter()
                .map(|clause| clause.iter().map(|t| term_parts(t, &domains)).collect())
                .collect();
            let (driver, chosen) = choose(conn, &planned, scope).await?;
            let mut walked = Walked { ids: Vec::new(), entries: Vec::new(), more: false };
            let mut seen: HashSet<i64> = HashSet::new();
            let mut read = 0usize;
            for (source, exact) in chosen {
                // The candidate must match the walked clause (any of its
                // terms: unless every row of the range matches one) and
                // every other clause.
                let checked: Vec<&Vec<DirectoryTerm>> =
                    clauses.iter().enumerate().filter(|(i, _)| *i != driver || !exact).map(|(_, c)| c).collect();
                let mut cursor: Option<(String, i64)> = None;
                let mut chunk = 2 * (limit + 1) + 16;
                loop {
                    if walked.ids.len() > limit {
                        walked.more = true;
                        return Ok(walked);
                    }
                    if read >= ROW_BUDGET {
                        walked.more = true;
                        return Ok(walked);
                    }
                    let size = chunk.min(ROW_BUDGET - read);
                    let mut binds = Vec::new();
                    let inner = source_sql(&source, scope, cursor.as_ref(), size, &mut binds);
                    let ok = candidate_condition(&checked, &mut binds);
                    let sql = format!(
                        "SELECT c.k, c.principal_id, CASE WHEN {ok} THEN 1 ELSE 0 END FROM ({inner}) c ORDER BY c.k, c.principal_id"
                    );
                    let mut query = sqlx::query_as::<_, (String, i64, i32)>(&sql);
                    for b in binds {
                        query = match b {
                            Bind::Text(t) => query.bind(t),
                            Bind::Int(i) => query.bind(i),
                        };
                    }
                    let rows = query.fetch_all(&mut *conn).await?;
                    read += rows.len();
                    let found: Vec<i64> = rows
                        .iter()
                        .filter(|(_, id, ok)| *ok == 1 && seen.insert(*id))
                        .map(|(_, id, _)| *id)
                        .collect();
                    take(conn, &mut walked, found, limit, accept).await?;
                    if rows.len() < size {
                        break;
                    }
                    cursor = rows.last().map(|(k, id, _)| (k.clone(), *id));
                    chunk *= 4;
                }
            }
            walked.more = walked.ids.len() > limit;
            Ok(walked)
        }

        /// Accept `found` (in order) until `limit + 1` are accepted: as
        /// they are, or after `accept` on their entries.
        async fn take(
            conn: &mut Conn,
            walked: &mut Walked,
            found: Vec<i64>,
            limit: usize,
            accept: Option<&EntryCheck<'_>>,
        ) -> StoreResult<()> {
            let Some(accept) = accept else {
                let room = (limit + 1).saturating_sub(walked.ids.len());
                walked.ids.extend(found.into_iter().take(room));
                return Ok(());
            };
            let mut rest = &found[..];
            while !rest.is_empty() && walked.ids.len() <= limit {
                let room = (limit + 1 - walked.ids.len()).min(rest.len());
                let (batch, later) = rest.split_at(room);
                rest = later;
                for entry in fetch_entries(&mut *conn, batch).await? {
                    if walked.ids.len() <= limit && accept(&entry) {
                        walked.ids.push(entry.principal);
                        walked.entries.push(entry);
                    }
                }
            }
            Ok(())
        }

        /// The clause to walk (the one whose parts have the fewest rows,
        /// counting each range up to [`COUNT_CAP`] rows, in the académie
        /// `scope`), and the ranges to read for its parts, each once:
        /// `(source, exact)` — exact when every row of the range matches a
        /// term of the clause. Counts only when there is a choice. No
        /// clause: everyone, by username.
        async fn choose(
            conn: &mut Conn,
            planned: &[Vec<Vec<Part>>],
            scope: Option<i64>,
        ) -> StoreResult<(usize, Vec<(Source, bool)>)> {
            if planned.is_empty() {
                return Ok((0, vec![(Source::Everyone, true)]));
            }
            let mut sources: Vec<Source> = Vec::new();
            for part in planned.iter().flatten().flatten() {
                for source in part.options.iter().flatten() {
                    if !sources.contains(source) {
                        sources.push(source.clone());
                    }
                }
            }
            let choice = planned.len() > 1 || planned.iter().flatten().flatten().any(|p| p.options.len() > 1);
            let counts: Vec<usize> = if choice { count(conn, &sources, scope).await? } else { vec![0; sources.len()] };
            let one = |s: &Source| sources.iter().position(|x| x == s).map_or(COUNT_CAP, |i| counts[i]);
            let size = |option: &Vec<Source>| option.iter().map(one).sum::<usize>();
            let mut best: Option<(usize, usize)> = None;
            for (c, clause) in planned.iter().enumerate() {
                let cost: usize = clause
                    .iter()
                    .flatten()
                    .map(|p| p.options.iter().map(size).min().unwrap_or(0))
                    .sum();
                if best.is_none_or(|(_, b)| cost < b) {
                    best = Some((c, cost));
                }
            }
            let driver = best.map_or(0, |(c, _)| c);
            let mut chosen: Vec<(Source, bool)> = Vec::new();
            for parts in &planned[driver] {
                for part in parts {
                    // Fewest rows; among equals, the first (the longest window).
                    let Some(option) = part.options.iter().min_by_key(|o| size(o)) else { continue };
                    for source in option {
                        // A range two terms read (a username and an address
                        // needle both read the address rows) is read once.
                        match chosen.iter_mut().find(|(s, _)| s == source) {
                            Some((_, exact)) => *exact |= part.exact,
                            None => chosen.push((source.clone(), part.exact)),
                        }
                    }
                }
            }
            Ok((driver, chosen))
        }

        /// The rows of each source (in the académie `scope`), counted up to
        /// [`COUNT_CAP`] (one statement).
        async fn count(conn: &mut Conn, sources: &[Source], scope: Option<i64>) -> StoreResult<Vec<usize>> {
            let mut binds = Vec::new();
            let mut columns = Vec::new();
            for source in sources {
                if matches!(source, Source::Everyone) {
                    columns.push(format!("{COUNT_CAP}"));
                    continue;
                }
                let inner = source_sql(source, scope, None, COUNT_CAP, &mut binds);
                columns.push(format!("(SELECT COUNT(*) FROM ({inner}) x)"));
            }
            let sql = format!("SELECT {}", columns.join(", "));
            let mut query = sqlx::query(&sql);
            for b in binds {
                query = match b {
                    Bind::Text(t) => query.bind(t),
                    Bind::Int(i) => query.bind(i),
                };
            }
            let row = query.fetch_one(&mut *conn).await?;
            (0..sources.len()).map(|i| Ok(row.try_get::<i64, _>(i)?.max(0) as usize)).collect()
        }

        /// The SQL condition a candidate row `c` must meet: one term of
        /// each of `clauses`, on its values.
        fn candidate_condition(clauses: &[&Vec<DirectoryTerm>], binds: &mut Vec<Bind>) -> String {
            let mut all = Vec::new();
            for clause in clauses {
                let any: Vec<String> = clause.iter().map(|t| format!("({})", term_condition("v", t, binds))).collect();
                let any = if any.is_empty() { "1 = 0".to_string() } else { any.join(" OR ") };
                all.push(format!(
                    "EXISTS (SELECT 1 FROM directory_terms v WHERE v.principal_id = c.principal_id AND ({any}))"
                ));
            }
            if all.is_empty() {
                "1 = 1".to_string()
            } else {
                all.join(" AND ")
            }
        }

        /// The SQL condition of one term on the `directory_terms` row
        /// aliased `alias` (of the candidate principal), pushing its
        /// parameters: exact on the folded value.
        fn term_condition(alias: &str, term: &DirectoryTerm, binds: &mut Vec<Bind>) -> String {
            binds.push(Bind::Text(field_code(term.field).to_string()));
            let field = format!("{alias}.field = ${}", binds.len());
            let condition = match term.kind {
                DirectoryMatch::Equals => {
                    binds.push(Bind::Text(term.needle.clone()));
                    format!("{alias}.term = ${}", binds.len())
                }
                DirectoryMatch::Prefix => {
                    binds.push(Bind::Text(term.needle.clone()));
                    binds.push(Bind::Text(prefix_upper(&term.needle)));
                    format!("{alias}.term >= ${} AND {alias}.term < ${}", binds.len() - 1, binds.len())
                }
                DirectoryMatch::Substring | DirectoryMatch::Suffix => {
                    binds.push(Bind::Text(Backend::term_pattern(term.kind == DirectoryMatch::Suffix, &term.needle)));
                    Backend::term_pattern_exact(alias, binds.len())
                }
            };
            format!("{field} AND {condition}")
        }

        /// The directory entries of `ids` that are active user principals,
        /// ordered by username: one statement, a row per address (the
        /// primary first, then in the principal's order).
        pub(super) async fn fetch_entries(conn: &mut Conn, ids: &[i64]) -> StoreResult<Vec<DirectoryEntry>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT p.id, p.username, p.display_name, p.given_name, p.family_name, p.title, p.phone, \
                 a.slug, a.name, p.modified_at, e.address FROM principals p \
                 LEFT JOIN academies a ON a.id = p.academie_id \
                 LEFT JOIN principal_emails e ON e.principal_id = p.id AND e.former = FALSE \
                 WHERE p.id IN ({}) AND p.kind = 'user' AND NOT p.disabled \
                 ORDER BY p.username, e.is_primary DESC, e.position, e.id",
                placeholders(1, ids.len())
            );
            let mut query = sqlx::query_as::<_, DirectoryEntryRow>(&sql);
            for id in ids {
                query = query.bind(id);
            }
            let mut entries: Vec<DirectoryEntry> = Vec::with_capacity(ids.len());
            for mut row in query.fetch_all(&mut *conn).await? {
                let address = row.address.take();
                match entries.last_mut() {
                    Some(entry) if entry.principal == row.id => entry.emails.extend(address),
                    _ => entries.push(row.into_entry(address.into_iter().collect())),
                }
            }
            Ok(entries)
        }

        // ------------------------------------------------------------ writes

        /// Index the principals that existed before the directory migration
        /// (it leaves a row in `directory_backfill` when there were any).
        /// Once: the first process to delete the row does it, in the same
        /// transaction; later calls read one empty table.
        pub(super) async fn backfill(store: &Backend) -> StoreResult<()> {
            let pending: Option<(bool,)> =
                sqlx::query_as("SELECT pending FROM directory_backfill LIMIT 1").fetch_optional(store.reader()).await?;
            if pending.is_none() {
                return Ok(());
            }
            let mut tx = store.begin_write().await?;
            if sqlx::query("DELETE FROM directory_backfill").execute(&mut *tx).await?.rows_affected() == 0 {
                return Ok(());
            }
            let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM principals WHERE kind = 'user' AND NOT disabled ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
            let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
            refresh_terms(&mut tx, &ids).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Rewrite the index rows of `ids` from what the principals now hold
        /// (in the caller's transaction).
        pub(super) async fn refresh_terms(conn: &mut Conn, ids: &[i64]) -> StoreResult<()> {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                delete_terms(conn, chunk).await?;
                let list = placeholders(1, chunk.len());
                let sql = format!(
                    "SELECT id, username, display_name, given_name, family_name, academie_id FROM principals \
                     WHERE id IN ({list}) AND kind = 'user' AND NOT disabled"
                );
                type Names = (i64, String, Option<String>, Option<String>, Option<String>, Option<i64>);
                let mut query = sqlx::query_as::<_, Names>(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                let principals = query.fetch_all(&mut *conn).await?;
                let sql = format!(
                    "SELECT principal_id, address FROM principal_emails WHERE principal_id IN ({list}) AND former = FALSE \
                     ORDER BY position, id"
                );
                let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                let mut emails: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
                for (id, address) in query.fetch_all(&mut *conn).await? {
                    emails.entry(id).or_default().push(address);
                }
                let mut rows = Vec::new();
                for (id, username, display, given, family, academie) in &principals {
                    let addresses = emails.remove(id).unwrap_or_default();
                    let source = TermSource {
                        username,
                        display_name: display.as_deref(),
                        given_name: given.as_deref(),
                        family_name: family.as_deref(),
                        emails: &addresses,
                    };
                    rows.extend(terms_of(&source).into_iter().map(|(field, term)| (*id, *academie, field, term)));
                }
                insert_terms(conn, &rows).await?;
            }
            Ok(())
        }

        pub(super) async fn delete_terms(conn: &mut Conn, ids: &[i64]) -> StoreResult<()> {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                for table in ["directory_terms", "directory_suffixes"] {
                    let sql = format!("DELETE FROM {table} WHERE principal_id IN ({})", placeholders(1, chunk.len()));
                    let mut query = sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(&mut *conn).await?;
                }
            }
            Ok(())
        }

        /// Insert [`TermRow`]s (all the rows of each principal, in one
        /// call), and their suffix rows.
        pub(super) async fn insert_terms(conn: &mut Conn, rows: &[TermRow]) -> StoreResult<()> {
            let mut suffixes: Vec<(i64, Option<i64>, String, i64)> = Vec::new();
            let mut start = 0;
            while start < rows.len() {
                let (id, academie) = (rows[start].0, rows[start].1);
                let end = start + rows[start..].iter().take_while(|r| r.0 == id).count();
                let of_one = suffixes_of(rows[start..end].iter().map(|(_, _, field, term)| (*field, term.as_str())));
                suffixes.extend(of_one.into_iter().map(|(suffix, kind)| (id, academie, suffix, kind)));
                start = end;
            }
            // In index order: consecutive inserts land on neighbouring pages.
            suffixes.sort_unstable_by(|a, b| (a.3, &a.2, a.0).cmp(&(b.3, &b.2, b.0)));
            for chunk in suffixes.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
                    .collect();
                let sql = format!(
                    "INSERT INTO directory_suffixes (principal_id, academie_id, suffix, kind) VALUES {}",
                    values.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for (id, academie, suffix, kind) in chunk {
                    query = query.bind(id).bind(academie).bind(suffix).bind(*kind as i16);
                }
                query.execute(&mut *conn).await?;
            }
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
                    .collect();
                let sql = format!(
                    "INSERT INTO directory_terms (principal_id, academie_id, field, term) VALUES {}",
                    values.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for (id, academie, field, term) in chunk {
                    query = query.bind(id).bind(academie).bind(*field).bind(term);
                }
                query.execute(&mut *conn).await?;
            }
            // The mail domains the directory has ever held (a domain without
            // principals left only costs an empty walk).
            let mut domains: Vec<&str> = rows.iter().filter(|r| r.2 == DOMAIN_FIELD).map(|r| r.3.as_str()).collect();
            domains.sort_unstable();
            domains.dedup();
            for chunk in domains.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO directory_domains (domain) VALUES {} ON CONFLICT (domain) DO NOTHING",
                    (1..=chunk.len()).map(|n| format!("(${n})")).collect::<Vec<_>>().join(", ")
                );
                let mut query = sqlx::query(&sql);
                for domain in chunk {
                    query = query.bind(*domain);
                }
                query.execute(&mut *conn).await?;
            }
            Ok(())
        }
    };
}
pub(crate) use body;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_folded_and_distinct() {
        let emails = vec!["Elodie.Martin@AC-Lyon.fr".to_string(), "em@education.gouv.fr".to_string()];
        let terms = terms_of(&TermSource {
            username: "elodie.martin",
            display_name: Some(" Élodie MARTIN "),
            given_name: Some("Élodie"),
            family_name: Some("Martin"),
            emails: &emails,
        });
        let e = fold(Collation::UnicodeCasemap, "é").into_owned();
        assert_eq!(
            terms,
            vec![
                ("f", format!("{e}lodie martin")),
                ("n", format!("martin;{e}lodie;;;")),
                ("u", "elodie.martin".to_string()),
                ("d", format!("{e}lodie martin")),
                ("e", "elodie.martin@ac-lyon.fr".to_string()),
                ("h", "ac-lyon.fr".to_string()),
                ("e", "em@education.gouv.fr".to_string()),
                ("h", "education.gouv.fr".to_string()),
            ]
        );
        // Without a display name: "given family", else the username.
        let none = TermSource { username: "x.y", display_name: None, given_name: None, family_name: None, emails: &[] };
        assert_eq!(terms_of(&none), vec![("f", "x.y".to_string()), ("n", ";;;;".to_string()), ("u", "x.y".to_string())]);
    }

    /// Every substring of a searchable text that a needle can be, up to
    /// [`SUFFIX_CHARS`] characters, starts some row of the kinds its field
    /// is searched in.
    #[test]
    fn suffixes_cover_every_position() {
        let terms = [
            ("f", "jean-marc martin"),
            ("n", "martin;jean-marc;;;"),
            ("u", "jm.martin"),
            ("e", "jean-marc.martin@ac-lyon.fr"),
            ("h", "ac-lyon.fr"),
        ];
        let rows = suffixes_of(terms);
        let has = |piece: &str, kinds: &[i64]| rows.iter().any(|(s, k)| s.starts_with(piece) && kinds.contains(k));
        let covered = |text: &str, end: usize, kinds: &[i64]| {
            for (i, _) in text.char_indices().filter(|(i, _)| *i < end) {
                let rest = &text[i..];
                for (j, _) in rest.char_indices().skip(1).chain([(rest.len(), ' ')]) {
                    let piece = &rest[..j];
                    if piece.chars().count() <= SUFFIX_CHARS {
                        assert!(has(piece, kinds), "{piece:?} of {text:?}");
                    }
                }
            }
        };
        covered("jean-marc martin", usize::MAX, &[FN_KIND]);
        covered("martin", usize::MAX, &[FN_KIND, NAME_KIND]);
        covered("jean-marc", usize::MAX, &[FN_KIND, NAME_KIND]);
        covered("jm.martin", usize::MAX, &[USERNAME_KIND, EMAIL_KIND]);
        // An address: every position of the local part and the `@`, the
        // rows running on into the domain.
        covered("jean-marc.martin@ac-lyon.fr", "jean-marc.martin@".len(), &[EMAIL_KIND]);
        assert!(has("n@ac-lyon.fr", &[EMAIL_KIND]) && has("@ac-lyon.fr", &[EMAIL_KIND]));
        assert!(!has("ac-lyon", &[EMAIL_KIND]), "no rows inside the domain");
        assert!(!has(";", &[FN_KIND, NAME_KIND]), "N is split at ;");
        // A row that is a prefix of a longer one of its kind is left out;
        // so are the components of N that the FN holds, the username rows
        // that an address holds (here: the "jm." ones only).
        assert!(!rows.iter().any(|(s, _)| s == "jean"));
        assert!(rows.iter().any(|(s, k)| s == "martin" && *k == FN_KIND));
        assert!(rows.iter().any(|(s, k)| s == "martin@ac-ly" && *k == EMAIL_KIND));
        assert!(!rows.iter().any(|(_, k)| *k == NAME_KIND));
        assert_eq!(rows.iter().filter(|(_, k)| *k == USERNAME_KIND).map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["jm.martin", "m.martin"]);
        assert!(!has("jm", &[FN_KIND]) && !has("n martin", &[EMAIL_KIND]) && !has("martin;", &[FN_KIND, NAME_KIND]));
        assert!(rows.windows(2).all(|w| (w[0].1, &w[0].0) < (w[1].1, &w[1].0)), "sorted by kind, then suffix");
        let long = suffixes_of([("f", "abcdefghijklmnopq")]);
        assert_eq!(long[0].0, "abcdefghijkl");
        // Short ones stay: every position.
        assert!(has("n", &[FN_KIND]) && has("in", &[FN_KIND]));
        // A FN that is not "given family": the given name has its rows.
        let rows = suffixes_of([("f", "mme dupont"), ("d", "mme dupont"), ("n", "dupont;marie;;;")]);
        let of = |kind| rows.iter().filter(|(_, k)| *k == kind).map(|(s, _)| s.as_str()).collect::<Vec<_>>();
        assert_eq!(of(NAME_KIND), ["arie", "ie", "marie", "rie"], "\"e\" starts \"e dupont\"");
        assert_eq!(of(FN_KIND).len(), "mme dupont".len());
    }

    fn term(field: DirectoryField, kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
        DirectoryTerm { field, kind, needle: needle.into() }
    }

    /// Each part as its options, each option as `kind:prefix` of its ranges
    /// (`+` between them), `field:value` or `*`.
    fn prefixes(parts: &[Part]) -> Vec<Vec<String>> {
        parts
            .iter()
            .map(|p| {
                p.options
                    .iter()
                    .map(|option| {
                        option
                            .iter()
                            .map(|s| match s {
                                Source::Suffixes { kind, prefix } => format!("{kind}:{prefix}"),
                                Source::Terms { field, range: Range::Equal(v) | Range::Prefix(v) } => format!("{field}:{v}"),
                                Source::Everyone => "*".into(),
                            })
                            .collect::<Vec<_>>()
                            .join("+")
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn needles_become_ranges() {
        use DirectoryField::*;
        use DirectoryMatch::*;
        let domains = vec!["ac-lyon.fr".to_string(), "ac-nice.fr".to_string(), "education.gouv.fr".to_string()];
        let plan = |t: DirectoryTerm| prefixes(&term_parts(&t, &domains));
        let exact = |t: DirectoryTerm| term_parts(&t, &domains).iter().map(|p| p.exact).collect::<Vec<_>>();
        assert_eq!(plan(term(FullName, Equals, "jean")), [["f:jean"]]);
        assert_eq!(plan(term(StructuredName, Prefix, "dup")), [["n:dup"]]);
        assert_eq!(exact(term(StructuredName, Prefix, "dup")), [true]);
        // Short needles are ranges too (every position has a row); a
        // contains on FN that fits in a row matches every row of its range.
        assert_eq!(plan(term(FullName, Substring, "eu")), [["1:eu"]]);
        assert_eq!(exact(term(FullName, Substring, "eu")), [true]);
        assert_eq!(exact(term(FullName, Suffix, "eu")), [false], "the range holds it anywhere");
        assert_eq!(exact(term(FullName, Substring, "abcdefghijklm")), [false], "a window");
        // The display name: in the FN's rows and the other names'.
        assert_eq!(plan(term(DisplayName, Substring, "eu")), [["1:eu+3:eu"]]);
        assert_eq!(exact(term(DisplayName, Substring, "eu")), [false]);
        // N: a piece between `;` (each is inside a component), in both.
        assert_eq!(plan(term(StructuredName, Equals, "leclerc;timothée;;;")), [["n:leclerc;timothée;;;"]]);
        assert_eq!(plan(term(StructuredName, Substring, "pont;je")), [["1:pont+3:pont", "1:je+3:je"]]);
        assert_eq!(plan(term(StructuredName, Substring, ";;")), [["*"]]);
        // Long needles: windows, first and last included.
        let w = plan(term(FullName, Substring, "abcdefghijklmn"));
        assert_eq!(w, [["1:abcdefghijkl", "1:bcdefghijklm", "1:cdefghijklmn"]]);
        // Addresses: a needle with `@` starts at or before it.
        let w = plan(term(Email, Suffix, ".besnard@ac-lyon.fr"));
        assert_eq!(w[0].len(), 8);
        assert_eq!(w[0][0], "2:.besnard@ac-");
        assert_eq!(w[0][7], "2:d@ac-lyon.fr");
        assert_eq!(plan(term(Email, Substring, "e.besnard@ac")), [["2:e.besnard@ac"]]);
        assert_eq!(exact(term(Email, Substring, "e.besnard@ac")), [true]);
        assert_eq!(plan(term(Email, Substring, "@ac-lyon")), [["2:@ac-lyon"]]);
        let w = plan(term(Email, Substring, "catherine.besnard@ac-lyon.fr"));
        assert_eq!(
            w[0],
            [
                "2:catherine.be",
                "2:therine.besn",
                "2:erine.besnar",
                "2:ine.besnard@",
                "2:.besnard@ac-",
                "2:esnard@ac-ly",
                "2:nard@ac-lyon",
                "2:d@ac-lyon.fr"
            ]
        );
        assert_eq!(exact(term(Email, Substring, "catherine.besnard@ac-lyon.fr")), [false]);
        assert_eq!(plan(term(Email, Substring, "n.b")), [["2:n.b"]]);
        assert_eq!(exact(term(Email, Substring, "n.b")), [true]);
        // Without `@`: the local part, and the domains holding it.
        assert_eq!(plan(term(Email, Substring, "lyon")), [["2:lyon"], ["h:ac-lyon.fr"]]);
        assert_eq!(exact(term(Email, Substring, "lyon")), [true, true]);
        assert_eq!(plan(term(Email, Suffix, "gouv.fr")), [["h:education.gouv.fr"]]);
        assert_eq!(plan(term(Email, Suffix, ".fr")).len(), 3);
        assert!(plan(term(Email, Suffix, "zz")).is_empty(), "no domain ends with it: nothing matches");
        // The username: in its rows and the addresses'.
        assert_eq!(plan(term(Username, Substring, "n.m")), [["4:n.m+2:n.m"]]);
    }
}
