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
//! - contains and ends-with, 3 characters or more: a byte-wise range on
//!   `directory_suffixes` (every suffix of every word of the values) on the
//!   needle's longest word piece, checked on the values with the backend's
//!   `term_pattern*` (`LIKE` / `GLOB`) when the piece is not the needle;
//! - contains and ends-with shorter than 3 characters: as starts-with (see
//!   docs/decisions.md).
//!
//! A search reads at most a few times `limit` index rows: it stops as soon
//! as `limit` distinct principals are found, whatever the number of matches.

use crate::collation::{fold, Collation};
use crate::store::{DirectoryField, DirectoryMatch, DirectoryTerm};

/// Shortest needle the suffix index answers as a contains or ends-with
/// (shorter ones are answered as starts-with: see docs/decisions.md).
pub const SUFFIX_MIN_CHARS: usize = 3;

/// Suffixes in `directory_suffixes` are cut to this many characters; a
/// longer needle piece is looked up by its first `SUFFIX_CHARS` characters
/// and checked on the values.
pub const SUFFIX_CHARS: usize = 12;

/// The characters that separate the words of a value for the suffix index:
/// those of usernames and addresses. Spaces, hyphens and apostrophes are
/// part of words, so a needle taken across the words of a name ("e la" in
/// "Marie de la Fontaine", "n-pi") is a plain range too.
pub fn is_word_separator(c: char) -> bool {
    matches!(c, '.' | '@' | '_')
}

/// The bit of a field in `directory_suffixes.fields`.
pub fn field_bit(field: &str) -> i64 {
    if field == "e" {
        2
    } else {
        1
    }
}

/// The `directory_suffixes` rows of one principal from its `(field, folded
/// value)` rows: every suffix of every word (cut to [`SUFFIX_CHARS`]) that
/// is a whole word or has at least [`SUFFIX_MIN_CHARS`] characters, with the
/// bits of the fields it occurs in, leaving out a suffix that is a prefix
/// of another one with at least its fields (a range scan on the longer one
/// finds the principal already). Sorted by suffix.
pub fn suffixes_of<'a>(terms: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, i64)> {
    let mut all: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (field, value) in terms {
        let bit = field_bit(field);
        for word in value.split(is_word_separator) {
            for (start, _) in word.char_indices() {
                let rest = &word[start..];
                let mut ends = rest.char_indices().map(|(i, _)| i).chain([rest.len()]);
                if start > 0 && ends.clone().nth(SUFFIX_MIN_CHARS).is_none() {
                    continue;
                }
                let cut = ends.nth(SUFFIX_CHARS).unwrap_or(rest.len());
                *all.entry(rest[..cut].to_string()).or_insert(0) |= bit;
            }
        }
    }
    let all: Vec<(String, i64)> = all.into_iter().collect();
    let mut out = Vec::with_capacity(all.len());
    for (i, (suffix, bits)) in all.iter().enumerate() {
        // The suffixes that start with this one follow it in sorted order.
        let covered = all[i + 1..]
            .iter()
            .take_while(|(other, _)| other.starts_with(suffix.as_str()))
            .any(|(_, other_bits)| other_bits & bits == *bits);
        if !covered {
            out.push((suffix.clone(), *bits));
        }
    }
    out
}

/// The piece of a contains or ends-with needle that drives the suffix
/// index, cut to [`SUFFIX_CHARS`] characters, and whether a match on it is
/// a match of the needle (no separator, not cut: no check on the values).
/// The pieces between separators lie inside one word of a matching value:
/// the first one ends a word (its suffix row exists if it has at least
/// [`SUFFIX_MIN_CHARS`] characters), the others start a word (whole words
/// always have a row). The longest usable piece is taken; `None` when
/// there is none (a needle like "ie." or "-"; see `term_candidates`).
pub fn suffix_probe(needle: &str) -> Option<(String, bool)> {
    let piece = needle
        .split(is_word_separator)
        .enumerate()
        .filter(|(i, p)| if *i == 0 { p.chars().count() >= SUFFIX_MIN_CHARS } else { !p.is_empty() })
        .map(|(_, p)| p)
        .max_by_key(|p| p.chars().count())?;
    let cut = piece.char_indices().nth(SUFFIX_CHARS).map_or(piece.len(), |(i, _)| i);
    Some((piece[..cut].to_string(), cut == needle.len()))
}

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
        DirectoryMatch::Substring | DirectoryMatch::Suffix if term.needle.chars().count() < SUFFIX_MIN_CHARS => {
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
            match effective_kind(driver) {
                // Walk the btree in order and stop at the limit.
                DirectoryMatch::Equals | DirectoryMatch::Prefix => {
                    let (sql, binds) = candidates_sql(driver, filters);
                    let sql = format!("{sql} ORDER BY t.field, t.term");
                    distinct_ids(&mut *store.reader().acquire().await?, &sql, &binds, limit, true).await
                }
                // A range scan of the suffix index on the needle's longest
                // word piece, in order, stopping at the limit; checked on
                // the values when the piece is not the whole needle (or for
                // ends-with).
                DirectoryMatch::Substring | DirectoryMatch::Suffix => {
                    let sql = suffix_candidates_sql(driver, filters);
                    distinct_ids(&mut *store.reader().acquire().await?, &sql.0, &sql.1, limit, true).await
                }
            }
        }

        /// The statement selecting the principal ids matching the contains
        /// or ends-with `driver` through `directory_suffixes`, and every
        /// term of `filters`, with its parameters, ordered by the index.
        fn suffix_candidates_sql(driver: &DirectoryTerm, filters: &[&DirectoryTerm]) -> (String, Vec<String>) {
            let Some((piece, whole)) = suffix_probe(&driver.needle) else {
                // No piece the suffix index can answer: the field's values
                // in index order, each checked (stops at the limit).
                let mut binds = Vec::new();
                let mut sql = format!(
                    "SELECT t.principal_id FROM directory_terms t WHERE {}",
                    term_condition("t", driver, &mut binds)
                );
                for term in filters {
                    let condition = term_condition("f", term, &mut binds);
                    sql.push_str(&format!(
                        " AND EXISTS (SELECT 1 FROM directory_terms f WHERE f.principal_id = t.principal_id AND {condition})"
                    ));
                }
                sql.push_str(" ORDER BY t.field, t.term");
                return (sql, binds);
            };
            let mut binds: Vec<String> = vec![piece.clone(), prefix_upper(&piece)];
            let mut sql = format!(
                "SELECT t.principal_id FROM directory_suffixes t WHERE t.suffix >= $1 AND t.suffix < $2 \
                 AND (t.fields & {}) <> 0",
                field_bit(field_code(driver.field))
            );
            if !whole || driver.kind == DirectoryMatch::Suffix {
                let condition = term_condition("v", driver, &mut binds);
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM directory_terms v WHERE v.principal_id = t.principal_id AND {condition})"
                ));
            }
            for term in filters {
                let condition = term_condition("f", term, &mut binds);
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM directory_terms f WHERE f.principal_id = t.principal_id AND {condition})"
                ));
            }
            sql.push_str(" ORDER BY t.suffix, t.principal_id");
            (sql, binds)
        }

        /// The statement selecting the principal ids of the rows `t` that
        /// match the equals or starts-with `driver` (a range of the
        /// `(field, term)` index) and whose principal matches every filter,
        /// with its parameters.
        fn candidates_sql(driver: &DirectoryTerm, filters: &[&DirectoryTerm]) -> (String, Vec<String>) {
            let mut binds: Vec<String> = Vec::new();
            let mut sql = format!(
                "SELECT t.principal_id FROM directory_terms t WHERE {}",
                term_condition("t", driver, &mut binds)
            );
            for term in filters {
                let condition = term_condition("f", term, &mut binds);
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
        /// pushing its parameters onto `binds`: a range for equals and
        /// starts-with (indexable), the exact pattern for contains and
        /// ends-with (on rows already narrowed to one principal).
        fn term_condition(alias: &str, term: &DirectoryTerm, binds: &mut Vec<String>) -> String {
            binds.push(field_code(term.field).to_string());
            let kind = effective_kind(term);
            let field = format!("{alias}.field = ${}", binds.len());
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
                    "SELECT id, username, display_name, given_name, family_name FROM principals \
                     WHERE id IN ({list}) AND kind = 'user' AND NOT disabled"
                );
                let mut query = sqlx::query_as::<_, (i64, String, Option<String>, Option<String>, Option<String>)>(&sql);
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

        /// Insert `(principal, field, folded value)` rows (all the rows of
        /// each principal, in one call), and their suffix rows.
        pub(super) async fn insert_terms(conn: &mut Conn, rows: &[(i64, &'static str, String)]) -> StoreResult<()> {
            let mut suffixes: Vec<(i64, String, i64)> = Vec::new();
            let mut start = 0;
            while start < rows.len() {
                let id = rows[start].0;
                let end = start + rows[start..].iter().take_while(|r| r.0 == id).count();
                let of_one = suffixes_of(rows[start..end].iter().map(|(_, field, term)| (*field, term.as_str())));
                suffixes.extend(of_one.into_iter().map(|(suffix, bits)| (id, suffix, bits)));
                start = end;
            }
            // In index order: consecutive inserts land on neighbouring pages.
            suffixes.sort_unstable_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
            for chunk in suffixes.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
                let sql =
                    format!("INSERT INTO directory_suffixes (principal_id, suffix, fields) VALUES {}", values.join(", "));
                let mut query = sqlx::query(&sql);
                for (id, suffix, bits) in chunk {
                    query = query.bind(id).bind(suffix).bind(*bits as i16);
                }
                query.execute(&mut *conn).await?;
            }
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
    fn suffixes_cover_every_word_position() {
        let rows = suffixes_of([("n", "jean.marc.martin"), ("n", "martin"), ("e", "jm.martin@ac_lyon.fr")]);
        let get = |s: &str| rows.iter().find(|(x, _)| x == s).map(|(_, b)| *b);
        // "martin" is in both fields; its own suffixes are prefixes of
        // nothing longer except in one field, so they stay.
        assert_eq!(get("martin"), Some(3));
        assert_eq!(get("artin"), Some(3));
        // "ar" of "marc" is a prefix of "arc" (name): left out.
        assert_eq!(get("ar"), None);
        assert_eq!(get("arc"), Some(1));
        assert_eq!(get("lyon"), Some(2));
        assert_eq!(get("jm"), Some(2));
        assert_eq!(get("ac"), Some(2));
        assert_eq!(get("on"), None);
        // Every piece of a word that starts it or has 3 characters starts
        // some row with its field.
        for (field, value) in [("n", "jean.marc.martin"), ("e", "jm.martin@ac_lyon.fr")] {
            for word in value.split(is_word_separator) {
                for (i, _) in word.char_indices() {
                    for (j, _) in word[i..].char_indices().skip(1).chain([(word.len() - i, ' ')]) {
                        let piece = &word[i..i + j];
                        if i > 0 && piece.chars().count() < SUFFIX_MIN_CHARS {
                            continue;
                        }
                        assert!(
                            rows.iter().any(|(s, b)| s.starts_with(piece) && b & field_bit(field) != 0),
                            "{piece} in {value}"
                        );
                    }
                }
            }
        }
        let long = suffixes_of([("n", "abcdefghijklmnopq")]);
        assert_eq!(long[0].0, "abcdefghijkl");
        let probe = suffix_probe;
        assert_eq!(probe("ie.mar"), Some(("mar".to_string(), false)));
        assert_eq!(probe("die@m"), Some(("die".to_string(), false)));
        assert_eq!(probe("ie_m"), Some(("m".to_string(), false)));
        assert_eq!(probe("ie mar"), Some(("ie mar".to_string(), true)));
        let rows = suffixes_of([("n", "marie de la fontaine")]);
        assert!(rows.iter().any(|(s, _)| s.starts_with("e la")));
        assert_eq!(probe("artin"), Some(("artin".to_string(), true)));
        assert_eq!(probe("abcdefghijklm"), Some(("abcdefghijkl".to_string(), false)));
        assert_eq!(probe("ie."), None);
        assert_eq!(probe("..."), None);
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
