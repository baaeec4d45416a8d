//! Bulk import of accounts into the national directory: upsert by
//! username, a batch per transaction, a verdict per record.
//!
//! A batch costs a constant number of statements whatever its size (up to
//! [`ROWS_PER_STATEMENT`](super::directory_index::ROWS_PER_STATEMENT) rows
//! each): read the académies, the batch's existing principals, their
//! addresses and the holders of the batch's addresses; decide every record
//! in Rust; then multi-row inserts for new principals, their addresses and
//! their index rows. Only changed principals cost a statement each.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name.

use crate::store::AccountRecord;

/// A record with its text trimmed, empty values dropped and addresses
/// deduplicated (case-insensitively, first kept).
pub fn normalized(r: &AccountRecord) -> AccountRecord {
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut emails: Vec<String> = Vec::new();
    for address in r.emails.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
        if !emails.iter().any(|e| e.to_lowercase() == address.to_lowercase()) {
            emails.push(address.to_string());
        }
    }
    AccountRecord {
        username: r.username.trim().to_string(),
        given_name: clean(&r.given_name),
        family_name: clean(&r.family_name),
        display_name: clean(&r.display_name),
        emails,
        academie: clean(&r.academie),
        title: clean(&r.title),
        phone: clean(&r.phone),
    }
}

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use std::collections::{HashMap, HashSet};

        use super::*;
        use super::directory_index::{delete_terms, insert_terms};
        use $crate::store::sql::directory_index::{placeholders, terms_of, TermSource, ROWS_PER_STATEMENT};
        use $crate::store::sql::import::normalized;

        /// An existing principal as the import compares it.
        #[derive(sqlx::FromRow)]
        struct Existing {
            id: i64,
            username: String,
            kind: String,
            disabled: bool,
            display_name: Option<String>,
            given_name: Option<String>,
            family_name: Option<String>,
            title: Option<String>,
            phone: Option<String>,
            academie_id: Option<i64>,
        }

        /// What the import does with an accepted record.
        enum Plan {
            Create,
            /// The principal's id, whether its addresses change, whether it
            /// is indexed (active).
            Update { id: i64, emails_changed: bool, active: bool },
            Unchanged,
        }

        /// A principal's addresses before the batch: current ones (the
        /// primary first, then in order), then former ones.
        #[derive(Default)]
        struct Held {
            current: Vec<String>,
            former: Vec<String>,
        }

        /// The verdicts on a batch: per record, its outcome and, when
        /// accepted, its plan and académie.
        type Verdicts = (Vec<ImportOutcome>, Vec<Option<(Plan, Option<i64>)>>);

        pub(super) async fn import_accounts(store: &Backend, batch: &[AccountRecord]) -> StoreResult<Vec<ImportOutcome>> {
            let records: Vec<AccountRecord> = batch.iter().map(normalized).collect();
            let mut tx = store.begin_write().await?;
            let academies: HashMap<String, i64> =
                sqlx::query_as::<_, (String, i64)>("SELECT slug, id FROM academies").fetch_all(&mut *tx).await?.into_iter().collect();
            let usernames: Vec<String> = records.iter().map(|r| r.username.clone()).collect();
            let existing = existing_principals(&mut tx, &usernames).await?;
            let ids: Vec<i64> = existing.values().map(|e| e.id).collect();
            let old_emails = addresses_of(&mut tx, &ids).await?;
            let lowered: Vec<String> = records.iter().flat_map(|r| r.emails.iter().map(|e| e.to_lowercase())).collect();
            let holders = address_holders(&mut tx, &lowered).await?;

            // A current address of a principal whose record in the batch
            // drops it may go to another record of the batch (an address
            // moving from one account to another in one import) — provided
            // that record is accepted. Decide with every such release, then
            // without those whose record was rejected, until none is.
            let mut releasable: HashMap<String, i64> = HashMap::new();
            for r in &records {
                let Some(e) = existing.get(&r.username) else { continue };
                let listed: HashSet<String> = r.emails.iter().map(|a| a.to_lowercase()).collect();
                for a in old_emails.get(&e.id).map(|h| h.current.as_slice()).unwrap_or(&[]) {
                    if !listed.contains(&a.to_lowercase()) {
                        releasable.insert(a.to_lowercase(), e.id);
                    }
                }
            }
            let (outcomes, plans) = loop {
                let (outcomes, plans) = decide_all(&records, &academies, &existing, &old_emails, &holders, &releasable);
                // The accepted updates, with the addresses they keep.
                let kept: HashMap<i64, HashSet<String>> = records
                    .iter()
                    .zip(&plans)
                    .filter_map(|(r, p)| match p {
                        Some((Plan::Update { id, .. }, _)) => Some((*id, r.emails.iter().map(|a| a.to_lowercase()).collect())),
                        _ => None,
                    })
                    .collect();
                let void: HashSet<String> = releasable
                    .iter()
                    .filter(|(a, holder)| kept.get(holder).is_none_or(|k| k.contains(*a)))
                    .map(|(a, _)| a.clone())
                    .collect();
                let used_void = records.iter().zip(&plans).any(|(r, p)| {
                    p.is_some() && r.emails.iter().any(|a| void.contains(&a.to_lowercase()))
                });
                if !used_void {
                    break (outcomes, plans);
                }
                for a in void {
                    releasable.remove(&a);
                }
            };

            let now = now_millis();
            let created: Vec<(&AccountRecord, Option<i64>)> = records
                .iter()
                .zip(&plans)
                .filter_map(|(r, p)| match p {
                    Some((Plan::Create, academie)) => Some((r, *academie)),
                    _ => None,
                })
                .collect();
            let new_ids = insert_principals(&mut tx, &created, now).await?;

            // Every address given to an accepted record, and those of them
            // another principal held (as former, or released by its record):
            // they leave it.
            let mut claimed: HashSet<String> = HashSet::new();
            let mut taken_over: Vec<String> = Vec::new();
            for (r, plan) in records.iter().zip(&plans) {
                let claimer = match plan {
                    Some((Plan::Create, _)) => None,
                    Some((Plan::Update { id, .. }, _)) => Some(*id),
                    Some((Plan::Unchanged, _)) => existing.get(&r.username).map(|e| e.id),
                    None => continue,
                };
                for a in &r.emails {
                    let lower = a.to_lowercase();
                    if holders.get(&lower).is_some_and(|(holder, _)| Some(*holder) != claimer) {
                        taken_over.push(lower.clone());
                    }
                    claimed.insert(lower);
                }
            }

            // (principal, record) of every principal whose addresses and
            // index rows are (re)written.
            let mut written: Vec<(i64, &AccountRecord, bool)> = Vec::new();
            let mut emails_replaced: Vec<i64> = Vec::new();
            for (r, plan) in records.iter().zip(&plans) {
                match plan {
                    Some((Plan::Create, _)) => {
                        let id = *new_ids.get(&r.username).ok_or(StoreError::NotFound)?;
                        written.push((id, r, true));
                    }
                    Some((Plan::Update { id, emails_changed, .. }, academie_id)) => {
                        update_principal(&mut tx, *id, r, *academie_id, now).await?;
                        written.push((*id, r, *emails_changed));
                        if *emails_changed {
                            emails_replaced.push(*id);
                        }
                    }
                    _ => {}
                }
            }
            delete_addresses(&mut tx, &emails_replaced).await?;
            delete_taken_over(&mut tx, &taken_over).await?;
            // The record's addresses, current; then, for a principal that
            // had others, those it held before and no account of the batch
            // takes (RFC 6638 §2.4.1: they still identify it), former.
            let mut addresses: Vec<(i64, &str, usize, bool)> = Vec::new();
            for (id, r, write) in &written {
                if !*write {
                    continue;
                }
                addresses.extend(r.emails.iter().enumerate().map(|(i, e)| (*id, e.as_str(), i, false)));
                let Some(held) = old_emails.get(id) else { continue };
                let mut former: Vec<&str> = Vec::new();
                for a in held.former.iter().chain(&held.current) {
                    let lower = a.to_lowercase();
                    if !claimed.contains(&lower) && !former.iter().any(|f| f.to_lowercase() == lower) {
                        former.push(a);
                    }
                }
                let n = r.emails.len();
                addresses.extend(former.into_iter().enumerate().map(|(i, e)| (*id, e, n + i, true)));
            }
            insert_addresses(&mut tx, &addresses).await?;

            let updated: Vec<i64> = records
                .iter()
                .zip(&plans)
                .filter_map(|(_, p)| match p {
                    Some((Plan::Update { id, .. }, _)) => Some(*id),
                    _ => None,
                })
                .collect();
            delete_terms(&mut tx, &updated).await?;
            let mut terms = Vec::new();
            for (r, plan) in records.iter().zip(&plans) {
                let (id, academie) = match plan {
                    Some((Plan::Create, academie)) => (new_ids[&r.username], *academie),
                    Some((Plan::Update { id, active: true, .. }, academie)) => (*id, *academie),
                    _ => continue,
                };
                let source = TermSource {
                    username: &r.username,
                    display_name: r.display_name.as_deref(),
                    given_name: r.given_name.as_deref(),
                    family_name: r.family_name.as_deref(),
                    emails: &r.emails,
                };
                terms.extend(terms_of(&source).into_iter().map(|(field, term)| (id, academie, field, term)));
            }
            insert_terms(&mut tx, &terms).await?;
            tx.commit().await?;
            Ok(outcomes)
        }

        /// The verdict on every record, in order, each against the state
        /// before the batch, the records accepted before it and the current
        /// addresses `releasable` by their holder's record.
        fn decide_all(
            records: &[AccountRecord],
            academies: &HashMap<String, i64>,
            existing: &HashMap<String, Existing>,
            old_emails: &HashMap<i64, Held>,
            holders: &HashMap<String, (i64, bool)>,
            releasable: &HashMap<String, i64>,
        ) -> Verdicts {
            let mut outcomes = Vec::with_capacity(records.len());
            let mut plans: Vec<Option<(Plan, Option<i64>)>> = Vec::with_capacity(records.len());
            let mut seen: HashSet<&str> = HashSet::new();
            let mut claimed: HashSet<String> = HashSet::new();
            for r in records {
                let taken = Taken { holders, releasable, claimed: &claimed };
                let decided = decide(r, academies, existing.get(&r.username), old_emails, &taken, &seen);
                match decided {
                    Ok((plan, academie_id)) => {
                        seen.insert(&r.username);
                        claimed.extend(r.emails.iter().map(|e| e.to_lowercase()));
                        outcomes.push(match plan {
                            Plan::Create => ImportOutcome::Created,
                            Plan::Update { .. } => ImportOutcome::Updated,
                            Plan::Unchanged => ImportOutcome::Unchanged,
                        });
                        plans.push(Some((plan, academie_id)));
                    }
                    Err(reason) => {
                        outcomes.push(ImportOutcome::Rejected(reason));
                        plans.push(None);
                    }
                }
            }
            (outcomes, plans)
        }

        /// Who holds the addresses a record asks for.
        struct Taken<'a> {
            /// Before the batch: the holder of each address, and whether it
            /// is a former address of it.
            holders: &'a HashMap<String, (i64, bool)>,
            /// Current addresses the holder's record drops (the holder).
            releasable: &'a HashMap<String, i64>,
            /// Given to records of the batch accepted before.
            claimed: &'a HashSet<String>,
        }

        /// The verdict on one record, against the state before the batch and
        /// the records of the batch accepted before it.
        fn decide(
            r: &AccountRecord,
            academies: &HashMap<String, i64>,
            existing: Option<&Existing>,
            old_emails: &HashMap<i64, Held>,
            taken: &Taken<'_>,
            seen: &HashSet<&str>,
        ) -> Result<(Plan, Option<i64>), String> {
            if r.username.is_empty() || r.username.contains('/') {
                return Err(format!("invalid username {:?}", r.username));
            }
            if seen.contains(r.username.as_str()) {
                return Err(format!("username {:?} already appears earlier in the batch", r.username));
            }
            let academie_id = match &r.academie {
                Some(slug) => Some(*academies.get(slug).ok_or_else(|| format!("unknown académie {slug:?}"))?),
                None => None,
            };
            if let Some(e) = existing.filter(|e| e.kind != "user") {
                return Err(format!("{:?} is a {} principal, not a user account", e.username, e.kind));
            }
            for address in &r.emails {
                let lower = address.to_lowercase();
                if address.chars().any(char::is_whitespace) {
                    return Err(format!("invalid email address {address:?}"));
                }
                // Another principal's current address, unless its record
                // releases it; a former one goes to whoever claims it.
                if let Some(&(holder, former)) = taken.holders.get(&lower) {
                    let own = Some(holder) == existing.map(|e| e.id);
                    if !own && !former && taken.releasable.get(&lower) != Some(&holder) {
                        return Err(format!("email address {address:?} already belongs to another account"));
                    }
                }
                if taken.claimed.contains(&lower) {
                    return Err(format!("email address {address:?} is already given to an earlier account of the batch"));
                }
            }
            let Some(e) = existing else {
                return Ok((Plan::Create, academie_id));
            };
            let emails_changed = old_emails.get(&e.id).map(|h| h.current.as_slice()).unwrap_or(&[]) != r.emails.as_slice();
            let same = !emails_changed
                && e.display_name == r.display_name
                && e.given_name == r.given_name
                && e.family_name == r.family_name
                && e.title == r.title
                && e.phone == r.phone
                && e.academie_id == academie_id;
            if same {
                Ok((Plan::Unchanged, academie_id))
            } else {
                Ok((Plan::Update { id: e.id, emails_changed, active: !e.disabled }, academie_id))
            }
        }

        async fn existing_principals(conn: &mut Conn, usernames: &[String]) -> StoreResult<HashMap<String, Existing>> {
            let mut out = HashMap::new();
            for chunk in usernames.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT id, username, kind, disabled, display_name, given_name, family_name, title, phone, academie_id \
                     FROM principals WHERE username IN ({})",
                    placeholders(1, chunk.len())
                );
                let mut query = sqlx::query_as::<_, Existing>(&sql);
                for u in chunk {
                    query = query.bind(u);
                }
                for e in query.fetch_all(&mut *conn).await? {
                    out.insert(e.username.clone(), e);
                }
            }
            Ok(out)
        }

        /// Addresses of each principal: current ones (primary first, then
        /// in order), then former ones.
        async fn addresses_of(conn: &mut Conn, ids: &[i64]) -> StoreResult<HashMap<i64, Held>> {
            let mut out: HashMap<i64, Held> = HashMap::new();
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT principal_id, address, former FROM principal_emails WHERE principal_id IN ({}) \
                     ORDER BY former, is_primary DESC, position, id",
                    placeholders(1, chunk.len())
                );
                let mut query = sqlx::query_as::<_, (i64, String, bool)>(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                for (id, address, former) in query.fetch_all(&mut *conn).await? {
                    let held = out.entry(id).or_default();
                    if former { held.former.push(address) } else { held.current.push(address) }
                }
            }
            Ok(out)
        }

        /// The principal holding each of these lower-cased addresses, and
        /// whether it is a former address of it.
        async fn address_holders(conn: &mut Conn, lowered: &[String]) -> StoreResult<HashMap<String, (i64, bool)>> {
            let mut out = HashMap::new();
            for chunk in lowered.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT address_lower, principal_id, former FROM principal_emails WHERE address_lower IN ({})",
                    placeholders(1, chunk.len())
                );
                let mut query = sqlx::query_as::<_, (String, i64, bool)>(&sql);
                for a in chunk {
                    query = query.bind(a);
                }
                out.extend(query.fetch_all(&mut *conn).await?.into_iter().map(|(a, id, former)| (a, (id, former))));
            }
            Ok(out)
        }

        /// Insert new user principals (no password); their ids by username.
        async fn insert_principals(
            conn: &mut Conn,
            records: &[(&AccountRecord, Option<i64>)],
            now: Millis,
        ) -> StoreResult<HashMap<String, i64>> {
            let mut ids = HashMap::new();
            for chunk in records.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let n = 2 + 7 * i;
                        format!(
                            "(${}, 'user', ${}, ${}, ${}, ${}, ${}, ${}, NULL, FALSE, FALSE, NULL, $1, $1)",
                            n, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO principals (username, kind, display_name, given_name, family_name, title, phone, \
                     academie_id, password_hash, disabled, is_admin, quota_bytes, created_at, modified_at) \
                     VALUES {} RETURNING id, username",
                    values.join(", ")
                );
                let mut query = sqlx::query_as::<_, (i64, String)>(&sql).bind(now);
                for (r, academie_id) in chunk {
                    query = query
                        .bind(&r.username)
                        .bind(&r.display_name)
                        .bind(&r.given_name)
                        .bind(&r.family_name)
                        .bind(&r.title)
                        .bind(&r.phone)
                        .bind(academie_id);
                }
                for (id, username) in query.fetch_all(&mut *conn).await.map_err(map_unique)? {
                    ids.insert(username, id);
                }
            }
            Ok(ids)
        }

        /// Write an existing principal's directory fields (never its
        /// password, kind or flags).
        async fn update_principal(conn: &mut Conn, id: i64, r: &AccountRecord, academie_id: Option<i64>, now: Millis) -> StoreResult<()> {
            sqlx::query(
                "UPDATE principals SET display_name = $2, given_name = $3, family_name = $4, title = $5, phone = $6, \
                 academie_id = $7, modified_at = $8 WHERE id = $1",
            )
            .bind(id)
            .bind(&r.display_name)
            .bind(&r.given_name)
            .bind(&r.family_name)
            .bind(&r.title)
            .bind(&r.phone)
            .bind(academie_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        async fn delete_addresses(conn: &mut Conn, ids: &[i64]) -> StoreResult<()> {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let sql = format!("DELETE FROM principal_emails WHERE principal_id IN ({})", placeholders(1, chunk.len()));
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Delete the rows of these lower-cased addresses, whoever holds them
        /// (the accounts of the batch that take them over insert them again).
        async fn delete_taken_over(conn: &mut Conn, lowered: &[String]) -> StoreResult<()> {
            for chunk in lowered.chunks(ROWS_PER_STATEMENT) {
                let sql = format!("DELETE FROM principal_emails WHERE address_lower IN ({})", placeholders(1, chunk.len()));
                let mut query = sqlx::query(&sql);
                for a in chunk {
                    query = query.bind(a);
                }
                query.execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Insert `(principal, address, position, former)`; position 0 of a
        /// current address is the primary one.
        async fn insert_addresses(conn: &mut Conn, rows: &[(i64, &str, usize, bool)]) -> StoreResult<()> {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let n = 1 + 6 * i;
                        format!("(${}, ${}, ${}, ${}, ${}, ${})", n, n + 1, n + 2, n + 3, n + 4, n + 5)
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO principal_emails (principal_id, address, address_lower, is_primary, position, former) VALUES {}",
                    values.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for (id, address, position, former) in chunk {
                    query = query
                        .bind(id)
                        .bind(*address)
                        .bind(address.to_lowercase())
                        .bind(*position == 0 && !*former)
                        .bind(*position as i64)
                        .bind(*former);
                }
                query.execute(&mut *conn).await.map_err(map_unique)?;
            }
            Ok(())
        }
    };
}
pub(crate) use body;
