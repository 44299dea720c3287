//! Admin actions on PostgreSQL. A cancel locks the message's job row before deciding: a claim
//! committed first is seen with its lease (refused); a claim after it skips the locked row and
//! finds it gone once the cancel commits. So a message is never both cancelled and sent.

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::{insert_callbacks, notify};
use super::{CALLBACKS_CHANNEL, JOBS_CHANNEL, PgStore, at};
use crate::domain::message::SendOptions;
use crate::store::admin_actions::{ActionOutcome, AdminActionStore, CANCELLABLE, RETRYABLE};
use crate::store::{NewCallback, StoreResult};

#[async_trait]
impl AdminActionStore for PgStore {
    async fn cancel_message(
        &self,
        message: Uuid,
        callback: Option<NewCallback>,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        let now = at(now);
        let mut tx = self.pool.begin().await?;
        // A leased job may be with a provider right now; one in doubt may have reached it.
        let held: bool = sqlx::query(
            "SELECT lease_id IS NOT NULL OR in_doubt_since IS NOT NULL AS held
             FROM delivery_jobs WHERE message_uuid = $1 FOR UPDATE",
        )
        .bind(message)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("held"))
        .transpose()?
        .unwrap_or(false);
        if held {
            let outcome = exists(&mut tx, message).await?;
            tx.commit().await?;
            return Ok(outcome);
        }
        let sql = format!(
            "UPDATE messages SET status = 'CANCELLED', updated_at = $2
             WHERE uuid = $1 AND status IN {CANCELLABLE}"
        );
        let moved = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let outcome = if moved {
            sqlx::query("DELETE FROM delivery_jobs WHERE message_uuid = $1")
                .bind(message)
                .execute(&mut *tx)
                .await?;
            if let Some(callback) = callback {
                insert_callbacks(&mut tx, message, std::slice::from_ref(&callback), now).await?;
                notify(&mut tx, CALLBACKS_CHANNEL).await?;
            }
            ActionOutcome::Done
        } else {
            exists(&mut tx, message).await?
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn requeue_message(
        &self,
        message: Uuid,
        options: &SendOptions,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        let now = at(now);
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE messages SET status = 'ACCEPTED', error_code = NULL, error_description = NULL,
                 options = $2, updated_at = $3
             WHERE uuid = $1 AND status IN {RETRYABLE}"
        );
        let moved = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(message)
            .bind(Json(options))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let outcome = if moved {
            sqlx::query(
                "INSERT INTO delivery_jobs (message_uuid, due_at, attempts) VALUES ($1, $2, 0)
                 ON CONFLICT (message_uuid) DO UPDATE SET due_at = excluded.due_at, attempts = 0,
                     lease_id = NULL, lease_expires_at = NULL, in_doubt_since = NULL,
                     retaken = false, claimed_at = NULL",
            )
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            notify(&mut tx, JOBS_CHANNEL).await?;
            ActionOutcome::Done
        } else {
            exists(&mut tx, message).await?
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The outcome of an action that changed nothing: refused, or no such message.
async fn exists(conn: &mut PgConnection, message: Uuid) -> StoreResult<ActionOutcome> {
    let found = sqlx::query("SELECT 1 FROM messages WHERE uuid = $1")
        .bind(message)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    Ok(ActionOutcome::of(false, found))
}
