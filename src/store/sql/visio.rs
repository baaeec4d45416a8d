//! Visio rooms and policies (`store::visio`): one row per (owner, uid) in
//! `visio_rooms`, found by either token through its unique index; policies
//! in `visio_account_policies` and `visio_academie_policies`.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        const ROOM_COLUMNS: &str = "id, owner_id, uid, meeting_id, attendee_token, moderator_token, attendee_pw, moderator_pw, \
                                    title, starts_at, time_zone, organizer, closed";

        type RoomRow = (i64, i64, String, String, Vec<u8>, Vec<u8>, String, String, String, Option<i64>, Option<String>, String, bool);

        fn token(bytes: Vec<u8>) -> StoreResult<[u8; 16]> {
            bytes.try_into().map_err(|_| StoreError::Invalid("a stored visio token is not 16 bytes".into()))
        }

        fn room(r: RoomRow) -> StoreResult<Room> {
            Ok(Room {
                id: r.0,
                owner: r.1,
                uid: r.2,
                meeting_id: r.3,
                attendee_token: token(r.4)?,
                moderator_token: token(r.5)?,
                attendee_pw: r.6,
                moderator_pw: r.7,
                details: RoomDetails { title: r.8, starts_at: r.9, time_zone: r.10, organizer: r.11 },
                closed: r.12,
            })
        }

        fn policy(text: &str) -> StoreResult<VisioPolicy> {
            text.parse().map_err(StoreError::Invalid)
        }

        pub(super) async fn room_for_event(store: &Backend, fresh: NewRoom, details: &RoomDetails) -> StoreResult<Room> {
            // One statement: insert, or keep the stored room (its tokens,
            // meeting ID, passwords) and refresh its details; either way
            // the stored row is returned.
            let row: RoomRow = sqlx::query_as(&format!(
                "INSERT INTO visio_rooms (owner_id, uid, meeting_id, attendee_token, moderator_token, attendee_pw, moderator_pw, \
                 title, starts_at, time_zone, organizer, closed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, FALSE) \
                 ON CONFLICT (owner_id, uid) DO UPDATE SET title = excluded.title, starts_at = excluded.starts_at, \
                 time_zone = excluded.time_zone, organizer = excluded.organizer, closed = FALSE \
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

        pub(super) async fn room_by_token(store: &Backend, t: [u8; 16]) -> StoreResult<Option<(Room, RoomRole)>> {
            let row: Option<RoomRow> = sqlx::query_as(&format!(
                "SELECT {ROOM_COLUMNS} FROM visio_rooms WHERE attendee_token = $1 OR moderator_token = $1"
            ))
            .bind(t.as_slice())
            .fetch_optional(store.reader())
            .await?;
            let Some(r) = row.map(room).transpose()? else { return Ok(None) };
            let role = if r.moderator_token == t { RoomRole::Moderator } else { RoomRole::Attendee };
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

        pub(super) async fn set_visio_policy(store: &Backend, scope: &PolicyScope, p: Option<VisioPolicy>) -> StoreResult<()> {
            match (scope, p) {
                (PolicyScope::Account(id), Some(p)) => {
                    sqlx::query(
                        "INSERT INTO visio_account_policies (principal_id, policy) VALUES ($1, $2) \
                         ON CONFLICT (principal_id) DO UPDATE SET policy = excluded.policy",
                    )
                    .bind(id)
                    .bind(p.as_str())
                    .execute(store.writer())
                    .await?;
                }
                (PolicyScope::Account(id), None) => {
                    sqlx::query("DELETE FROM visio_account_policies WHERE principal_id = $1").bind(id).execute(store.writer()).await?;
                }
                (PolicyScope::Academie(slug), p) => {
                    let id: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM academies WHERE slug = $1").bind(slug).fetch_optional(store.reader()).await?;
                    let Some((id,)) = id else { return Err(StoreError::NotFound) };
                    match p {
                        Some(p) => {
                            sqlx::query(
                                "INSERT INTO visio_academie_policies (academie_id, policy) VALUES ($1, $2) \
                                 ON CONFLICT (academie_id) DO UPDATE SET policy = excluded.policy",
                            )
                            .bind(id)
                            .bind(p.as_str())
                            .execute(store.writer())
                            .await?;
                        }
                        None => {
                            sqlx::query("DELETE FROM visio_academie_policies WHERE academie_id = $1").bind(id).execute(store.writer()).await?;
                        }
                    }
                }
            }
            Ok(())
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
