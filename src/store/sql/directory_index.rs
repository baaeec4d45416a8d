//! The national directory: the search index over the names and email
//! addresses of active user principals, and the searches on it.
//!
//! `directory_terms` holds one row per distinct searchable value of a
//! principal, folded with `i;unicode-casemap` ([`crate::collation::fold`],
//! RFC 5051 §2) here in Rust, so that the index agrees byte for byte with
//! the collation the CardDAV filter applies. Only active user principals
//! have rows: every write path that changes a principal's names, emails,
//! kind or disabled flag rewrites its rows ([`body!`]'s `refresh_terms`).
//!
//! A term is answered from an index and matched exactly:
//! - equals and starts-with: a byte-wise range on `(field, term)`;
//! - contains and ends-with, 3 characters or more: the trigram index
//!   (PostgreSQL: pg_trgm GIN with `LIKE`; SQLite: an FTS5 `trigram`
//!   table with `GLOB`), spelled by the backend's `term_pattern*`
//!   functions;
//! - contains and ends-with shorter than 3 characters: as starts-with (a
//!   trigram index cannot answer them; see docs/decisions.md).
//!
//! A search reads at most a few times `limit` index rows: it stops as soon
//! as `limit` distinct principals are found, whatever the number of matches.

use crate::collation::{fold, Collation};
use crate::store::{DirectoryField, DirectoryMatch, DirectoryTerm};

/// How many index entries a contains or ends-with search reads (values of
/// the first principals) before it turns to the trigram index (see
/// `term_candidates`).
pub const PROBE_ROWS: usize = 20_000;

/// Shortest needle the trigram index answers (one trigram).
pub const TRIGRAM_MIN_CHARS: usize = 3;

/// Rows per multi-row statement (well under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters for every statement here).
pub const ROWS_PER_STATEMENT: usize = 1000;

/// The `field` column value of a search field.
pub fn field_code(field: DirectoryField) -> &'static str {
    match field {
        DirectoryField::Name => "n",
        DirectoryField::Email => "e",
    }
}

/// The searchable values of one principal.
pub struct TermSource<'a> {
    pub username: &'a str,
    pub display_name: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub emails: &'a [String],
}

/// The `(field, folded value)` rows of a principal, without duplicates or
/// empty values: names are the display name, the given name, the family
/// name, "given family" and the username; then every address.
pub fn terms_of(src: &TermSource<'_>) -> Vec<(&'static str, String)> {
    let given_family = match (src.given_name, src.family_name) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        _ => None,
    };
    let names = [src.display_name, src.given_name, src.family_name, given_family.as_deref(), Some(src.username)];
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut push = |field: &'static str, value: &str| {
        let folded = fold(Collation::UnicodeCasemap, value.trim()).into_owned();
        if !folded.is_empty() && !out.iter().any(|(f, v)| *f == field && *v == folded) {
            out.push((field, folded));
        }
    };
    for name in names.into_iter().flatten() {
        push("n", name);
    }
    for address in src.emails {
        push("e", address);
    }
    out
}

/// How the store answers a term: the kind actually used on the index.
pub fn effective_kind(term: &DirectoryTerm) -> DirectoryMatch {
    match term.kind {
        DirectoryMatch::Substring | DirectoryMatch::Suffix if term.needle.chars().count() < TRIGRAM_MIN_CHARS => {
            DirectoryMatch::Prefix
        }
        kind => kind,
    }
}

/// The term that drives an `allof` search (the others filter its rows):
/// the most selective by kind, then the longest needle.
pub fn driving_term(terms: &[DirectoryTerm]) -> usize {
    let rank = |t: &DirectoryTerm| {
        let kind = match effective_kind(t) {
            DirectoryMatch::Equals => 0,
            DirectoryMatch::Prefix => 1,
            DirectoryMatch::Substring | DirectoryMatch::Suffix => 2,
        };
        (kind, std::cmp::Reverse(t.needle.chars().count()))
    };
    (0..terms.len()).min_by_key(|&i| rank(&terms[i])).unwrap_or(0)
}

/// `$start, $start+1, …` (`count` numbered parameters).
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use $crate::store::sql::directory_index::*;

        // ------------------------------------------------------ Store methods

        pub(super) async fn directory_search(store: &Backend, search: &DirectorySearch) -> StoreResult<Vec<DirectoryEntry>> {
            if search.limit <= 0 {
                return Ok(Vec::new());
            }
            let limit = search.limit as usize;
            let ids = if search.terms.is_empty() {
                all_active(&mut *store.reader().acquire().await?, search.limit).await?
            } else if search.match_all {
                let driver = driving_term(&search.terms);
                let others: Vec<&DirectoryTerm> =
                    search.terms.iter().enumerate().filter(|(i, _)| *i != driver).map(|(_, t)| t).collect();
                term_candidates(store, &search.terms[driver], &others, limit).await?
            } else {
                let mut ids: Vec<i64> = Vec::new();
                for term in &search.terms {
                    for id in term_candidates(store, term, &[], limit).await? {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                }
                ids
            };
            let mut entries = fetch_entries(&mut *store.reader().acquire().await?, &ids).await?;
            entries.truncate(limit);
            Ok(entries)
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

        /// The first `limit` active user principals by username (a search
        /// without terms).
        async fn all_active(conn: &mut Conn, limit: i64) -> StoreResult<Vec<i64>> {
            let rows: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM principals WHERE kind = 'user' AND NOT disabled ORDER BY username LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows.into_iter().map(|(id,)| id).collect())
        }

        /// Up to `limit` distinct principals matching `driver` (on its index)
        /// and every term of `filters` (checked per principal). Reads a few
        /// times `limit` rows, more only while principals repeat.
        async fn term_candidates(
            store: &Backend,
            driver: &DirectoryTerm,
            filters: &[&DirectoryTerm],
            limit: usize,
        ) -> StoreResult<Vec<i64>> {
            let (sql, binds) = candidates_sql(driver, filters, true);
            match effective_kind(driver) {
                // Walk the btree in order and stop at the limit.
                DirectoryMatch::Equals | DirectoryMatch::Prefix => {
                    let sql = format!("{sql} ORDER BY t.field, t.term");
                    distinct_ids(&mut *store.reader().acquire().await?, &sql, &binds, limit, true).await
                }
                // A needle common enough is found among the values of the
                // first principals (a bounded walk of PROBE_ROWS entries of
                // the covering (principal_id, field, term) btree: principals
                // in creation order, a sample unbiased by alphabet), far
                // cheaper than the trigram index's long posting lists for
                // common trigrams; otherwise the trigram index answers.
                DirectoryMatch::Substring | DirectoryMatch::Suffix => {
                    let (exact, _) = candidates_sql(driver, filters, false);
                    let probe = exact.replacen(
                        "FROM directory_terms t",
                        &format!(
                            "FROM (SELECT p.principal_id, p.field, p.term FROM directory_terms p \
                             ORDER BY p.principal_id, p.field, p.term LIMIT {PROBE_ROWS}) t"
                        ),
                        1,
                    );
                    let ids = distinct_ids(&mut *store.reader().acquire().await?, &probe, &binds, limit * 2, false).await?;
                    let ids: Vec<i64> = ids.into_iter().take(limit).collect();
                    if ids.len() == limit {
                        return Ok(ids);
                    }
                    distinct_ids(&mut *store.trigram_reader().acquire().await?, &sql, &binds, limit, true).await
                }
            }
        }

        /// The statement selecting the principal ids of the rows `t` that
        /// match `driver` (through an index when `indexed`) and whose
        /// principal matches every filter, with its parameters; the
        /// driver's field is `$1`.
        fn candidates_sql(driver: &DirectoryTerm, filters: &[&DirectoryTerm], indexed: bool) -> (String, Vec<String>) {
            let mut binds: Vec<String> = Vec::new();
            let mut sql = format!(
                "SELECT t.principal_id FROM directory_terms t WHERE {}",
                term_condition("t", driver, indexed, &mut binds)
            );
            for term in filters {
                let condition = term_condition("f", term, false, &mut binds);
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM directory_terms f WHERE f.principal_id = t.principal_id AND {condition})"
                ));
            }
            (sql, binds)
        }

        /// Up to `limit` distinct principal ids from `sql` (which selects
        /// principal ids): fetches a few more rows than `limit`, and with
        /// `grow`, fetches again with a larger limit while principals repeat.
        async fn distinct_ids(
            conn: &mut Conn,
            sql: &str,
            binds: &[String],
            limit: usize,
            grow: bool,
        ) -> StoreResult<Vec<i64>> {
            let mut fetch = limit * 2 + 16;
            loop {
                let statement = format!("{sql} LIMIT {fetch}");
                let mut query = sqlx::query_as::<_, (i64,)>(&statement);
                for b in binds {
                    query = query.bind(b);
                }
                let rows = query.fetch_all(&mut *conn).await?;
                let mut ids: Vec<i64> = Vec::with_capacity(limit);
                for (id,) in &rows {
                    if ids.len() == limit {
                        break;
                    }
                    if !ids.contains(id) {
                        ids.push(*id);
                    }
                }
                if ids.len() == limit || rows.len() < fetch || !grow {
                    return Ok(ids);
                }
                fetch *= 4;
            }
        }

        /// The SQL condition of one term on the rows aliased `alias`,
        /// pushing its parameters onto `binds`. `indexed`: the condition
        /// must select rows through an index (the driving term); otherwise
        /// it filters rows already narrowed to one principal.
        fn term_condition(alias: &str, term: &DirectoryTerm, indexed: bool, binds: &mut Vec<String>) -> String {
            binds.push(field_code(term.field).to_string());
            let kind = effective_kind(term);
            let field = if indexed && matches!(kind, DirectoryMatch::Substring | DirectoryMatch::Suffix) {
                // Not indexable on purpose: SQLite would otherwise walk every
                // value of the field and test each against the trigram
                // index's row list, instead of fetching those rows by id.
                format!("({alias}.field || '') = ${}", binds.len())
            } else {
                format!("{alias}.field = ${}", binds.len())
            };
            let condition = match kind {
                DirectoryMatch::Equals => {
                    binds.push(term.needle.clone());
                    format!("{alias}.term = ${}", binds.len())
                }
                DirectoryMatch::Prefix => {
                    binds.push(term.needle.clone());
                    binds.push(prefix_upper(&term.needle));
                    let range = format!("{alias}.term >= ${} AND {alias}.term < ${}", binds.len() - 1, binds.len());
                    if term.kind == DirectoryMatch::Suffix {
                        // A short ends-with: the values that start and end
                        // with the needle (never a false candidate).
                        binds.push(Backend::term_pattern(true, &term.needle));
                        format!("{range} AND {}", Backend::term_pattern_exact(alias, binds.len()))
                    } else {
                        range
                    }
                }
                DirectoryMatch::Substring | DirectoryMatch::Suffix => {
                    binds.push(Backend::term_pattern(kind == DirectoryMatch::Suffix, &term.needle));
                    if indexed {
                        Backend::term_pattern_indexed(alias, binds.len())
                    } else {
                        Backend::term_pattern_exact(alias, binds.len())
                    }
                }
            };
            format!("{field} AND {condition}")
        }

        /// The directory entries of `ids` that are active user principals,
        /// ordered by username.
        pub(super) async fn fetch_entries(conn: &mut Conn, ids: &[i64]) -> StoreResult<Vec<DirectoryEntry>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list = placeholders(1, ids.len());
            let sql = format!(
                "SELECT p.id, p.username, p.display_name, p.given_name, p.family_name, p.title, p.phone, \
                 a.slug, a.name, p.modified_at FROM principals p LEFT JOIN academies a ON a.id = p.academie_id \
                 WHERE p.id IN ({list}) AND p.kind = 'user' AND NOT p.disabled ORDER BY p.username"
            );
            let mut query = sqlx::query_as::<_, DirectoryEntryRow>(&sql);
            for id in ids {
                query = query.bind(id);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            let sql = format!(
                "SELECT principal_id, address FROM principal_emails WHERE principal_id IN ({list}) \
                 ORDER BY principal_id, is_primary DESC, position, id"
            );
            let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
            for id in ids {
                query = query.bind(id);
            }
            let mut emails: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
            for (id, address) in query.fetch_all(&mut *conn).await? {
                emails.entry(id).or_default().push(address);
            }
            Ok(rows
                .into_iter()
                .map(|r| {
                    let addresses = emails.remove(&r.id).unwrap_or_default();
                    r.into_entry(addresses)
                })
                .collect())
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
                    "SELECT id, username, display_name, given_name, family_name FROM principals \
                     WHERE id IN ({list}) AND kind = 'user' AND NOT disabled"
                );
                let mut query = sqlx::query_as::<_, (i64, String, Option<String>, Option<String>, Option<String>)>(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                let principals = query.fetch_all(&mut *conn).await?;
                let sql = format!(
                    "SELECT principal_id, address FROM principal_emails WHERE principal_id IN ({list}) ORDER BY position, id"
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
                for (id, username, display, given, family) in &principals {
                    let addresses = emails.remove(id).unwrap_or_default();
                    let source = TermSource {
                        username,
                        display_name: display.as_deref(),
                        given_name: given.as_deref(),
                        family_name: family.as_deref(),
                        emails: &addresses,
                    };
                    rows.extend(terms_of(&source).into_iter().map(|(field, term)| (*id, field, term)));
                }
                insert_terms(conn, &rows).await?;
            }
            Ok(())
        }

        pub(super) async fn delete_terms(conn: &mut Conn, ids: &[i64]) -> StoreResult<()> {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let sql = format!("DELETE FROM directory_terms WHERE principal_id IN ({})", placeholders(1, chunk.len()));
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Insert `(principal, field, folded value)` rows.
        pub(super) async fn insert_terms(conn: &mut Conn, rows: &[(i64, &'static str, String)]) -> StoreResult<()> {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
                let sql = format!("INSERT INTO directory_terms (principal_id, field, term) VALUES {}", values.join(", "));
                let mut query = sqlx::query(&sql);
                for (id, field, term) in chunk {
                    query = query.bind(id).bind(*field).bind(term);
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
        let emails = vec!["Elodie.Martin@AC-Lyon.fr".to_string()];
        let terms = terms_of(&TermSource {
            username: "elodie.martin",
            display_name: Some("Élodie MARTIN"),
            given_name: Some("Élodie"),
            family_name: Some("Martin"),
            emails: &emails,
        });
        let e = fold(Collation::UnicodeCasemap, "é").into_owned();
        assert_eq!(
            terms,
            vec![
                ("n", format!("{e}lodie martin")),
                ("n", format!("{e}lodie")),
                ("n", "martin".to_string()),
                ("n", "elodie.martin".to_string()),
                ("e", "elodie.martin@ac-lyon.fr".to_string()),
            ]
        );
    }

    #[test]
    fn short_needles_become_prefixes() {
        let t = |kind, needle: &str| DirectoryTerm { field: DirectoryField::Name, kind, needle: needle.into() };
        assert_eq!(effective_kind(&t(DirectoryMatch::Substring, "ma")), DirectoryMatch::Prefix);
        assert_eq!(effective_kind(&t(DirectoryMatch::Suffix, "ma")), DirectoryMatch::Prefix);
        assert_eq!(effective_kind(&t(DirectoryMatch::Substring, "mar")), DirectoryMatch::Substring);
        assert_eq!(effective_kind(&t(DirectoryMatch::Equals, "m")), DirectoryMatch::Equals);
        let terms = [t(DirectoryMatch::Substring, "martin"), t(DirectoryMatch::Prefix, "ma"), t(DirectoryMatch::Prefix, "jean")];
        assert_eq!(driving_term(&terms), 2);
    }
}
