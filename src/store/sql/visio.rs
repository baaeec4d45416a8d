//! Visio rooms and policies (`store::visio`): one row per (owner, uid) in
//! `visio_rooms`, found by either token through its unique index, voice
//! bridges unique through theirs; policies in `visio_account_policies`
//! and `visio_academie_policies`.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        const ROOM_COLUMNS: &str = "id, owner_id, uid, meeting_id, attendee_token, moderator_token, attendee_pw, moderator_pw, \
                                    title, starts_at, time_zone, organizer, ends_at, record, voice_bridge, closed";

        type RoomRow = (
            i64,
            i64,
            String,
            String,
            Vec<u8>,
            Vec<u8>,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            String,
            Option<i64>,
            bool,
            Option<i32>,
            bool,
        );

        fn token(bytes: Vec<u8>) -> StoreResult<[u8; 16]> {
            bytes.try_into().map_err(|_| StoreError::Invalid("a stored visio token is not 16 bytes".into()))
        }

        fn room(r: RoomRow) -> StoreResult<Room> {
            Ok(Room {
                id: r.0,
                fixed: NewRoom {
                    owner: r.1,
                    uid: r.2,
                    meeting_id: r.3,
                    attendee_token: token(r.4)?,
                    moderator_token: token(r.5)?,
                    attendee_pw: r.6,
                    moderator_pw: r.7,
                },
                details: RoomDetails { title: r.8, starts_at: r.9, time_zone: r.10, organizer: r.11, ends_at: r.12, record: r.13 },
                voice_bridge: r.14.and_then(|v| u32::try_from(v).ok()),
                closed: r.15,
            })
        }

        fn policy(text: &str) -> StoreResult<VisioPolicy> {
            text.parse().map_err(StoreError::Invalid)
        }

        pub(super) async fn room_for_event(store: &Backend, fresh: NewRoom, details: &RoomDetails) -> StoreResult<Room> {
            // One statement: insert, or keep the stored room (its tokens,
            // meeting ID, passwords, voice bridge) and refresh its details;
            // either way the stored row is returned.
            let row: RoomRow = sqlx::query_as(&format!(
                "INSERT INTO visio_rooms (owner_id, uid, meeting_id, attendee_token, moderator_token, attendee_pw, moderator_pw, \
                 title, starts_at, time_zone, organizer, ends_at, record, closed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, FALSE) \
                 ON CONFLICT (owner_id, uid) DO UPDATE SET title = excluded.title, starts_at = excluded.starts_at, \
                 time_zone = excluded.time_zone, organizer = excluded.organizer, ends_at = excluded.ends_at, \
                 record = excluded.record, closed = FALSE \
                 RETURNING {ROOM_COLUMNS}"
            ))
            .bind(fresh.owner)
            .bind(&fresh.uid)
            .bind(&fresh.meeting_id)
            .bind(fresh.attendee_token.as_slice())
            .bind(fresh.moderator_token.as_slice())
            .bind(&fresh.attendee_pw)
            .bind(&fresh.moderator_pw)
            .bind(&details.title)
            .bind(details.starts_at)
            .bind(&details.time_zone)
            .bind(&details.organizer)
            .bind(details.ends_at)
            .bind(details.record)
            .fetch_one(store.writer())
            .await?;
            room(row)
        }

        pub(super) async fn room_of_event(store: &Backend, owner: PrincipalId, uid: &str) -> StoreResult<Option<Room>> {
            let row: Option<RoomRow> = sqlx::query_as(&format!("SELECT {ROOM_COLUMNS} FROM visio_rooms WHERE owner_id = $1 AND uid = $2"))
                .bind(owner)
                .bind(uid)
                .fetch_optional(store.reader())
                .await?;
            row.map(room).transpose()
        }

        /// Found through the unique index of either token column (the
        /// token is 128 random bits; see `crate::visio::page` on timing).
        pub(super) async fn room_by_token(store: &Backend, t: [u8; 16]) -> StoreResult<Option<(Room, RoomRole)>> {
            let row: Option<RoomRow> = sqlx::query_as(&format!(
                "SELECT {ROOM_COLUMNS} FROM visio_rooms WHERE attendee_token = $1 OR moderator_token = $1"
            ))
            .bind(t.as_slice())
            .fetch_optional(store.reader())
            .await?;
            let Some(r) = row.map(room).transpose()? else { return Ok(None) };
            let role = if r.fixed.moderator_token == t { RoomRole::Moderator } else { RoomRole::Attendee };
            Ok(Some((r, role)))
        }

        pub(super) async fn close_room(store: &Backend, owner: PrincipalId, uid: &str) -> StoreResult<Option<Room>> {
            let row: Option<RoomRow> = sqlx::query_as(&format!(
                "UPDATE visio_rooms SET closed = TRUE WHERE owner_id = $1 AND uid = $2 RETURNING {ROOM_COLUMNS}"
            ))
            .bind(owner)
            .bind(uid)
            .fetch_optional(store.writer())
            .await?;
            row.map(room).transpose()
        }

        pub(super) async fn assign_voice_bridge(store: &Backend, id: i64, candidates: &[u32], ended_before: Millis) -> StoreResult<Option<u32>> {
            let current: Option<(Option<i32>,)> =
                sqlx::query_as("SELECT voice_bridge FROM visio_rooms WHERE id = $1").bind(id).fetch_optional(store.writer()).await?;
            match current {
                None => return Ok(None),
                Some((Some(v),)) => return Ok(u32::try_from(v).ok()),
                Some((None,)) => {}
            }
            for &code in candidates {
                let Ok(code) = i32::try_from(code) else { continue };
                // A closed room, or one whose event is over, gives the code
                // back; a live holder keeps it (the unique index refuses
                // the update below).
                sqlx::query(
                    "UPDATE visio_rooms SET voice_bridge = NULL WHERE voice_bridge = $1 AND id <> $2 \
                     AND (closed OR (ends_at IS NOT NULL AND ends_at < $3))",
                )
                .bind(code)
                .bind(id)
                .bind(ended_before)
                .execute(store.writer())
                .await?;
                let set = sqlx::query_as::<_, (Option<i32>,)>(
                    "UPDATE visio_rooms SET voice_bridge = COALESCE(voice_bridge, $1) WHERE id = $2 RETURNING voice_bridge",
                )
                .bind(code)
                .bind(id)
                .fetch_optional(store.writer())
                .await;
                match set {
                    Ok(Some((Some(v),))) => return Ok(u32::try_from(v).ok()),
                    Ok(_) => return Ok(None),
                    Err(e) => match map_unique(e) {
                        StoreError::AlreadyExists => continue,
                        other => return Err(other),
                    },
                }
            }
            Ok(None)
        }

        /// Set (`Some`) or remove (`None`) the policy of `key` in `table`
        /// (`visio_account_policies` by `principal_id`,
        /// `visio_academie_policies` by `academie_id`).
        async fn upsert_policy(store: &Backend, table: &str, key: &str, id: i64, p: Option<VisioPolicy>) -> StoreResult<()> {
            let query = match p {
                Some(_) => format!(
                    "INSERT INTO {table} ({key}, policy) VALUES ($1, $2) ON CONFLICT ({key}) DO UPDATE SET policy = excluded.policy"
                ),
                None => format!("DELETE FROM {table} WHERE {key} = $1"),
            };
            let mut q = sqlx::query(&query).bind(id);
            if let Some(p) = p {
                q = q.bind(p.as_str());
            }
            q.execute(store.writer()).await?;
            Ok(())
        }

        pub(super) async fn set_visio_policy(store: &Backend, scope: &PolicyScope, p: Option<VisioPolicy>) -> StoreResult<()> {
            match scope {
                PolicyScope::Account(id) => upsert_policy(store, "visio_account_policies", "principal_id", *id, p).await,
                PolicyScope::Academie(slug) => {
                    let id: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM academies WHERE slug = $1").bind(slug).fetch_optional(store.reader()).await?;
                    let Some((id,)) = id else { return Err(StoreError::NotFound) };
                    upsert_policy(store, "visio_academie_policies", "academie_id", id, p).await
                }
            }
        }

        pub(super) async fn visio_policies(store: &Backend, account: PrincipalId) -> StoreResult<VisioPolicies> {
            let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT ap.policy, cp.policy FROM principals p \
                 LEFT JOIN visio_account_policies ap ON ap.principal_id = p.id \
                 LEFT JOIN visio_academie_policies cp ON cp.academie_id = p.academie_id \
                 WHERE p.id = $1",
            )
            .bind(account)
            .fetch_optional(store.reader())
            .await?;
            let Some((account, academie)) = row else { return Ok(VisioPolicies::default()) };
            Ok(VisioPolicies {
                account: account.as_deref().map(policy).transpose()?,
                academie: academie.as_deref().map(policy).transpose()?,
            })
        }

        pub(super) async fn academie_visio_policies(store: &Backend) -> StoreResult<Vec<(String, VisioPolicy)>> {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT a.slug, cp.policy FROM visio_academie_policies cp JOIN academies a ON a.id = cp.academie_id ORDER BY a.slug",
            )
            .fetch_all(store.reader())
            .await?;
            rows.into_iter().map(|(slug, p)| Ok((slug, policy(&p)?))).collect()
        }
    };
}
pub(crate) use body;
