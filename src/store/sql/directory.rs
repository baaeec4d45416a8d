//! The directory: académies, the regions they belong to, principals and their
//! email addresses.
//!
//! Deleting a principal deletes everything it owns; each topmost owned
//! collection is removed like a `DELETE` (parent revision bumped, deletion
//! logged) so sync clients of the parent see it go.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::changes::{bump, log_change};
        use super::collections::delete_subtree;
        use super::directory_index::refresh_terms;

        // ------------------------------------------------------ Store methods

        pub(super) async fn create_academie(store: &Backend, slug: &str, name: &str, region: Option<&str>) -> StoreResult<Academie> {
            if slug.is_empty() {
                return Err(StoreError::Invalid("empty académie slug".into()));
            }
            let mut tx = store.begin_write().await?;
            let region_id = match region {
                Some(r) => {
                    sqlx::query("INSERT INTO regions (slug, name) VALUES ($1, $1) ON CONFLICT (slug) DO NOTHING")
                        .bind(r)
                        .execute(&mut *tx)
                        .await?;
                    let (id,): (i64,) = sqlx::query_as("SELECT id FROM regions WHERE slug = $1")
                        .bind(r)
                        .fetch_one(&mut *tx)
                        .await?;
                    Some(id)
                }
                None => None,
            };
            let (id,): (i64,) =
                sqlx::query_as("INSERT INTO academies (slug, name, region_id) VALUES ($1, $2, $3) RETURNING id")
                    .bind(slug)
                    .bind(name)
                    .bind(region_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_unique)?;
            tx.commit().await?;
            Ok(Academie { id, slug: slug.into(), name: name.into(), region: region.map(Into::into) })
        }

        pub(super) async fn academie(store: &Backend, slug: &str) -> StoreResult<Option<Academie>> {
            let row: Option<AcademieRow> = sqlx::query_as(concat!(academie_select!(), "WHERE a.slug = $1"))
                .bind(slug)
                .fetch_optional(store.reader())
                .await?;
            Ok(row.map(Into::into))
        }

        pub(super) async fn list_academies(store: &Backend) -> StoreResult<Vec<Academie>> {
            let rows: Vec<AcademieRow> = sqlx::query_as(concat!(academie_select!(), "ORDER BY a.slug"))
                .fetch_all(store.reader())
                .await?;
            Ok(rows.into_iter().map(Into::into).collect())
        }

        pub(super) async fn list_regions(store: &Backend) -> StoreResult<Vec<Region>> {
            let rows: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, slug, name FROM regions ORDER BY slug").fetch_all(store.reader()).await?;
            Ok(rows.into_iter().map(|(id, slug, name)| Region { id, slug, name }).collect())
        }

        pub(super) async fn create_principal(store: &Backend, new: NewPrincipal) -> StoreResult<Principal> {
            if new.username.is_empty() || new.username.contains('/') {
                return Err(StoreError::Invalid(format!("invalid username {:?}", new.username)));
            }
            let mut tx = store.begin_write().await?;
            let academie_id = match &new.academie {
                Some(slug) => {
                    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM academies WHERE slug = $1")
                        .bind(slug)
                        .fetch_optional(&mut *tx)
                        .await?;
                    Some(row.ok_or_else(|| StoreError::Invalid(format!("unknown académie {slug:?}")))?.0)
                }
                None => None,
            };
            let kind = new.kind.unwrap_or(PrincipalKind::User);
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO principals (username, kind, display_name, academie_id, password_hash, \
                 disabled, is_admin, quota_bytes, created_at, given_name, family_name, title, phone, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $8) RETURNING id",
            )
            .bind(&new.username)
            .bind(kind.as_str())
            .bind(&new.display_name)
            .bind(academie_id)
            .bind(&new.password_hash)
            .bind(false)
            .bind(new.is_admin)
            .bind(now_millis())
            .bind(&new.given_name)
            .bind(&new.family_name)
            .bind(&new.title)
            .bind(&new.phone)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_unique)?;
            for (i, address) in new.emails.iter().enumerate() {
                insert_email(&mut tx, id, address, i == 0, i as i64).await?;
            }
            refresh_terms(&mut tx, &[id]).await?;
            let principal = fetch_principal(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            Ok(principal)
        }

        pub(super) async fn principal_by_username(store: &Backend, username: &str) -> StoreResult<Option<Principal>> {
            let mut conn = store.read_conn().await?;
            let row: Result<Option<PrincipalRow>, _> = sqlx::query_as(concat!(principal_select!(), "WHERE p.username = $1"))
                .bind(username)
                .fetch_optional(&mut *conn)
                .await;
            let row = conn.done(row)?;
            row.map(PrincipalRow::into_principal).transpose()
        }

        pub(super) async fn principal_by_email(store: &Backend, address: &str) -> StoreResult<Option<Principal>> {
            // `address_lower` is unique: one holder at most, current or former.
            let mut conn = store.read_conn().await?;
            let row: Result<Option<PrincipalRow>, _> = sqlx::query_as(concat!(
                principal_select!(),
                "JOIN principal_emails e ON e.principal_id = p.id WHERE e.address_lower = $1"
            ))
            .bind(address.trim().to_lowercase())
            .fetch_optional(&mut *conn)
            .await;
            let row = conn.done(row)?;
            row.map(PrincipalRow::into_principal).transpose()
        }

        pub(super) async fn principal(store: &Backend, id: PrincipalId) -> StoreResult<Option<Principal>> {
            fetch_principal(&mut *store.reader().acquire().await?, id).await
        }

        pub(super) async fn principals(store: &Backend, ids: &[PrincipalId]) -> StoreResult<Vec<Principal>> {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            let mut conn = store.reader().acquire().await?;
            let mut out = Vec::with_capacity(ids.len());
            for chunk in list_chunks(&ids).iter() {
                out.extend(fetch_principals(&mut conn, chunk).await?);
            }
            Ok(out)
        }

        pub(super) async fn principals_by_emails(store: &Backend, addresses: &[&str]) -> StoreResult<Vec<(String, Principal)>> {
            #[derive(sqlx::FromRow)]
            struct Row {
                matched_address: String,
                #[sqlx(flatten)]
                principal: PrincipalRow,
            }
            let mut lowered: Vec<String> = addresses.iter().map(|a| a.trim().to_lowercase()).collect();
            lowered.sort_unstable();
            lowered.dedup();
            let mut conn = store.reader().acquire().await?;
            let mut out = Vec::with_capacity(lowered.len());
            for chunk in list_chunks(&lowered).iter() {
                let select = principal_select!().replacen("SELECT ", "SELECT e.address_lower AS matched_address, ", 1);
                let mut q = sqlx::QueryBuilder::<Db>::new(select);
                q.push("JOIN principal_emails e ON e.principal_id = p.id WHERE e.address_lower IN (");
                let mut list = q.separated(", ");
                for address in chunk {
                    list.push_bind(address.as_str());
                }
                q.push(")");
                let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
                for row in rows {
                    out.push((row.matched_address, row.principal.into_principal()?));
                }
            }
            Ok(out)
        }

        pub(super) async fn list_principals(store: &Backend) -> StoreResult<Vec<Principal>> {
            let rows: Vec<PrincipalRow> = sqlx::query_as(concat!(principal_select!(), "ORDER BY p.username"))
                .fetch_all(store.reader())
                .await?;
            rows.into_iter().map(PrincipalRow::into_principal).collect()
        }

        /// RFC 3744 §9.4. User principals through the directory index (its
        /// walk, scoped to the académie); rooms and resources of the
        /// académie, and the searching user, read and matched here on the
        /// same folded values.
        pub(super) async fn search_principals(store: &Backend, search: &PrincipalSearch) -> StoreResult<PrincipalAnswer> {
            use $crate::collation::{fold, Collation};
            let limit = usize::try_from(search.limit).unwrap_or(0);
            if limit == 0 {
                return Ok(PrincipalAnswer::default());
            }
            let folded = |t: &str| fold(Collation::UnicodeCasemap, t).into_owned();
            let term = |field, needle: &str| DirectoryTerm { field, kind: DirectoryMatch::Substring, needle: needle.to_string() };
            // One alternative list per search term; an empty term matches everyone.
            let mut alternatives: Vec<Vec<DirectoryTerm>> = Vec::new();
            let mut empty = false;
            for name in search.name_terms.iter().map(|t| folded(t)) {
                empty |= name.is_empty();
                if !name.is_empty() {
                    alternatives.push(vec![term(DirectoryField::DisplayName, &name), term(DirectoryField::Username, &name)]);
                }
            }
            for address in search.email_terms.iter().map(|t| folded(t)) {
                empty |= address.is_empty();
                if !address.is_empty() {
                    alternatives.push(vec![term(DirectoryField::Email, &address)]);
                }
            }
            let clauses: Vec<Vec<DirectoryTerm>> = if search.match_all {
                alternatives
            } else if empty || alternatives.is_empty() {
                Vec::new()
            } else {
                vec![alternatives.concat()]
            };

            let mut conn = store.reader().acquire().await?;
            let academie: Option<(i64,)> = match &search.academie {
                Some(slug) => sqlx::query_as("SELECT id FROM academies WHERE slug = $1").bind(slug).fetch_optional(&mut *conn).await?,
                None => None,
            };
            let mut found: Vec<Principal> = Vec::new();
            let mut more = false;
            if let Some((academie,)) = academie {
                if clauses.is_empty() {
                    // Everyone in scope, by username.
                    let rows: Vec<PrincipalRow> = sqlx::query_as(concat!(
                        principal_select!(),
                        "WHERE p.academie_id = $1 AND NOT p.disabled ORDER BY p.username LIMIT $2"
                    ))
                    .bind(academie)
                    .bind(limit as i64 + 1)
                    .fetch_all(&mut *conn)
                    .await?;
                    for row in rows {
                        found.push(row.into_principal()?);
                    }
                } else {
                    let walked = super::directory_index::walk(&mut conn, &clauses, Some(academie), limit, None).await?;
                    more |= walked.more;
                    found.extend(fetch_principals(&mut conn, &walked.ids).await?);
                    // Rooms and resources are not in the directory index.
                    let rows: Vec<PrincipalRow> = sqlx::query_as(concat!(
                        principal_select!(),
                        "WHERE p.academie_id = $1 AND p.kind <> 'user' AND NOT p.disabled"
                    ))
                    .bind(academie)
                    .fetch_all(&mut *conn)
                    .await?;
                    let rooms = rows.into_iter().map(PrincipalRow::into_principal).collect::<StoreResult<Vec<_>>>()?;
                    let emails = emails_of(&mut conn, &rooms.iter().map(|p| p.id).collect::<Vec<_>>()).await?;
                    for room in rooms {
                        if principal_matches(&room, emails.get(&room.id).map_or(&[][..], |e| &e[..]), &clauses) {
                            found.push(room);
                        }
                    }
                }
            }
            if let Some(id) = search.always.filter(|id| !found.iter().any(|p| p.id == *id)) {
                if let Some(me) = fetch_principal(&mut conn, id).await?.filter(|p| !p.disabled) {
                    let emails = emails_of(&mut conn, &[id]).await?;
                    if principal_matches(&me, emails.get(&id).map_or(&[][..], |e| &e[..]), &clauses) {
                        found.push(me);
                    }
                }
            }
            found.sort_by(|a, b| a.username.cmp(&b.username));
            found.dedup_by_key(|p| p.id);
            more |= found.len() > limit;
            found.truncate(limit);
            Ok(PrincipalAnswer { principals: found, more })
        }

        /// The principals of `ids`.
        async fn fetch_principals(conn: &mut Conn, ids: &[i64]) -> StoreResult<Vec<Principal>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!("{} WHERE p.id IN ({})", principal_select!(), $crate::store::sql::directory_index::placeholders(1, ids.len()));
            let mut query = sqlx::query_as::<_, PrincipalRow>(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(&mut *conn).await?.into_iter().map(PrincipalRow::into_principal).collect()
        }

        /// The folded addresses of `ids`.
        async fn emails_of(conn: &mut Conn, ids: &[i64]) -> StoreResult<std::collections::HashMap<i64, Vec<String>>> {
            let mut out: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
            if ids.is_empty() {
                return Ok(out);
            }
            let sql = format!(
                "SELECT principal_id, address FROM principal_emails WHERE principal_id IN ({}) AND former = FALSE",
                $crate::store::sql::directory_index::placeholders(1, ids.len())
            );
            let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
            for id in ids {
                query = query.bind(id);
            }
            for (id, address) in query.fetch_all(&mut *conn).await? {
                out.entry(id).or_default().push($crate::collation::fold($crate::collation::Collation::UnicodeCasemap, &address).into_owned());
            }
            Ok(out)
        }

        /// Whether a principal read here meets every clause, on the values
        /// the directory index would hold for it (folded).
        fn principal_matches(p: &Principal, emails: &[String], clauses: &[Vec<DirectoryTerm>]) -> bool {
            use $crate::collation::{fold, Collation};
            let display = $crate::store::directory::display_name(p.display_name.as_deref())
                .map(|d| fold(Collation::UnicodeCasemap, &d).into_owned());
            let username = fold(Collation::UnicodeCasemap, &p.username).into_owned();
            clauses.iter().all(|clause| {
                clause.iter().any(|t| {
                    let values: Vec<&str> = match t.field {
                        DirectoryField::DisplayName => display.as_deref().into_iter().collect(),
                        DirectoryField::Username => vec![username.as_str()],
                        DirectoryField::Email => emails.iter().map(String::as_str).collect(),
                        DirectoryField::FullName | DirectoryField::StructuredName => Vec::new(),
                    };
                    values.into_iter().any(|v| $crate::store::sql::directory_index::value_matches(t, v))
                })
            })
        }

        pub(super) async fn count_principals(store: &Backend) -> StoreResult<i64> {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM principals").fetch_one(store.reader()).await?;
            Ok(n)
        }

        pub(super) async fn set_password_hash(store: &Backend, id: PrincipalId, hash: &str) -> StoreResult<()> {
            let done = sqlx::query("UPDATE principals SET password_hash = $2, modified_at = $3 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .bind(now_millis())
                .execute(store.writer())
                .await?;
            if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        }

        /// Disabling takes the principal out of the directory index;
        /// enabling puts it back.
        pub(super) async fn set_disabled(store: &Backend, id: PrincipalId, disabled: bool) -> StoreResult<()> {
            let mut tx = store.begin_write().await?;
            let done = sqlx::query("UPDATE principals SET disabled = $2, modified_at = $3 WHERE id = $1")
                .bind(id)
                .bind(disabled)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            refresh_terms(&mut tx, &[id]).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn delete_principal(store: &Backend, id: PrincipalId) -> StoreResult<()> {
            let mut tx = store.begin_write().await?;
            if !principal_exists(&mut tx, id).await? {
                return Err(StoreError::NotFound);
            }
            let owned: Vec<(i64, Option<i64>, String)> =
                sqlx::query_as("SELECT id, parent_id, path FROM collections WHERE owner_id = $1 ORDER BY path")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
            // Topmost owned collections; ordered by path, ancestors come first.
            let mut tops: Vec<(Option<i64>, String)> = Vec::new();
            for (_, parent, path) in owned {
                if !tops.iter().any(|(_, top)| path.starts_with(top.as_str())) {
                    tops.push((parent, path));
                }
            }
            let now = now_millis();
            for (parent, path) in &tops {
                let logged = match parent {
                    Some(p) => bump(&mut tx, *p, now).await?.map(|r| (*p, r.0)),
                    None => None,
                };
                delete_subtree(&mut tx, path).await?;
                if let Some((p, rev)) = logged {
                    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                    log_change(&mut tx, p, name, rev, true).await?;
                }
            }
            // Emails, locks and anything left cascade.
            sqlx::query("DELETE FROM principals WHERE id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn principal_emails(store: &Backend, id: PrincipalId) -> StoreResult<Vec<PrincipalEmail>> {
            let rows: Vec<(String, bool, bool)> = sqlx::query_as(
                "SELECT address, is_primary, former FROM principal_emails WHERE principal_id = $1 \
                 ORDER BY former, is_primary DESC, position, id",
            )
            .bind(id)
            .fetch_all(store.reader())
            .await?;
            Ok(rows.into_iter().map(|(address, primary, former)| PrincipalEmail { address, primary, former }).collect())
        }

        pub(super) async fn add_principal_email(store: &Backend, id: PrincipalId, address: &str, primary: bool) -> StoreResult<()> {
            let mut tx = store.begin_write().await?;
            if !principal_exists(&mut tx, id).await? {
                return Err(StoreError::NotFound);
            }
            let (current, next): (i64, i64) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(CASE WHEN former THEN 0 ELSE 1 END), 0) AS BIGINT), \
                 CAST(COALESCE(MAX(position), -1) + 1 AS BIGINT) \
                 FROM principal_emails WHERE principal_id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let primary = primary || current == 0;
            if primary {
                sqlx::query("UPDATE principal_emails SET is_primary = $2 WHERE principal_id = $1")
                    .bind(id)
                    .bind(false)
                    .execute(&mut *tx)
                    .await?;
            }
            // An address it held before comes back as current (after the
            // current ones, spelt as given now); otherwise a new row.
            let revived = sqlx::query(
                "UPDATE principal_emails SET former = $3, is_primary = $4, position = $5, address = $6 \
                 WHERE principal_id = $1 AND address_lower = $2 AND former = TRUE",
            )
            .bind(id)
            .bind(address.trim().to_lowercase())
            .bind(false)
            .bind(primary)
            .bind(next)
            .bind(address.trim())
            .execute(&mut *tx)
            .await?;
            if revived.rows_affected() == 0 {
                insert_email(&mut tx, id, address, primary, next).await?;
            }
            sqlx::query("UPDATE principals SET modified_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            refresh_terms(&mut tx, &[id]).await?;
            tx.commit().await?;
            Ok(())
        }

        // ------------------------------------------------------------ helpers

        async fn fetch_principal(conn: &mut Conn, id: i64) -> StoreResult<Option<Principal>> {
            let row: Option<PrincipalRow> = sqlx::query_as(concat!(principal_select!(), "WHERE p.id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            row.map(PrincipalRow::into_principal).transpose()
        }

        pub(super) async fn principal_exists(conn: &mut Conn, id: i64) -> StoreResult<bool> {
            let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM principals WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            Ok(row.is_some())
        }

        /// Give `principal` the current address `address`, taking it over
        /// from a principal that held it as former; `AlreadyExists` when a
        /// principal holds it as current.
        async fn insert_email(conn: &mut Conn, principal: i64, address: &str, primary: bool, position: i64) -> StoreResult<()> {
            let address = address.trim();
            if address.is_empty() || address.chars().any(char::is_whitespace) {
                return Err(StoreError::Invalid(format!("invalid email address {address:?}")));
            }
            sqlx::query("DELETE FROM principal_emails WHERE address_lower = $1 AND former = TRUE")
                .bind(address.to_lowercase())
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO principal_emails (principal_id, address, address_lower, is_primary, position) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(principal)
            .bind(address)
            .bind(address.to_lowercase())
            .bind(primary)
            .bind(position)
            .execute(&mut *conn)
            .await
            .map_err(map_unique)?;
            Ok(())
        }
    };
}
pub(crate) use body;
