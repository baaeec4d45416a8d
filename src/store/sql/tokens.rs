//! Reply tokens of email invitations (`store::tokens`): one row per
//! (owner, uid, attendee), found by its token through the primary key.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        pub(super) async fn reply_token_for(
            store: &Backend,
            owner: PrincipalId,
            uid: &str,
            attendee: &str,
            fresh: [u8; 16],
            expires_at: Millis,
        ) -> StoreResult<[u8; 16]> {
            // One statement: insert, or keep the existing token and move its
            // expiry; either way the token stored is returned.
            let row: (Vec<u8>,) = sqlx::query_as(
                "INSERT INTO reply_tokens (token, owner_id, uid, attendee, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (owner_id, uid, attendee) DO UPDATE SET \
                 expires_at = CASE WHEN excluded.expires_at > reply_tokens.expires_at THEN excluded.expires_at ELSE reply_tokens.expires_at END \
                 RETURNING token",
            )
            .bind(fresh.as_slice())
            .bind(owner)
            .bind(uid)
            .bind(attendee)
            .bind(expires_at)
            .fetch_one(store.writer())
            .await?;
            row.0.try_into().map_err(|_| StoreError::Invalid("a stored reply token is not 16 bytes".into()))
        }

        pub(super) async fn reply_token(store: &Backend, token: [u8; 16], now: Millis) -> StoreResult<Option<ReplyTokenRecord>> {
            let row: Option<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT owner_id, uid, attendee, expires_at FROM reply_tokens WHERE token = $1 AND expires_at >= $2",
            )
            .bind(token.as_slice())
            .bind(now)
            .fetch_optional(store.reader())
            .await?;
            Ok(row.map(|(owner, uid, attendee, expires_at)| ReplyTokenRecord { owner, uid, attendee, expires_at }))
        }

        pub(super) async fn drop_reply_tokens(store: &Backend, owner: PrincipalId, uid: &str, now: Millis) -> StoreResult<()> {
            sqlx::query("DELETE FROM reply_tokens WHERE (owner_id = $1 AND uid = $2) OR expires_at < $3")
                .bind(owner)
                .bind(uid)
                .bind(now)
                .execute(store.writer())
                .await?;
            Ok(())
        }
    };
}
pub(crate) use body;
