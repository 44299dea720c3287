//! Admin actions on SQLite: one write transaction each (SQLite's single writer orders them
//! against every claim and step result).

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::{insert_callbacks, json};
use super::{SqliteStore, ms};
use crate::domain::message::SendOptions;
use crate::store::admin_actions::{ActionOutcome, AdminActionStore, CANCELLABLE, RETRYABLE};
use crate::store::{NewCallback, StoreResult};

#[async_trait]
impl AdminActionStore for SqliteStore {
    async fn cancel_message(
        &self,
        message: Uuid,
        callback: Option<NewCallback>,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        let uuid = message.to_string();
        let mut tx = self.write_tx().await?;
        // A leased job may be with a provider right now; one in doubt may have reached it.
        let sql = format!(
            "UPDATE messages SET status = 'CANCELLED', updated_at = $2
             WHERE uuid = $1 AND status IN {CANCELLABLE}
               AND NOT EXISTS (SELECT 1 FROM delivery_jobs WHERE message_uuid = $1
                               AND (lease_id IS NOT NULL OR in_doubt_since IS NOT NULL))"
        );
        let moved = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&uuid)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let outcome = if moved {
            sqlx::query("DELETE FROM delivery_jobs WHERE message_uuid = $1")
                .bind(&uuid)
                .execute(&mut *tx)
                .await?;
            insert_callbacks(&mut tx, message, callback.as_slice(), now).await?;
            ActionOutcome::Done
        } else {
            exists(&mut tx, &uuid).await?
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
        let uuid = message.to_string();
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "UPDATE messages SET status = 'ACCEPTED', error_code = NULL, error_description = NULL,
                 options = $2, updated_at = $3
             WHERE uuid = $1 AND status IN {RETRYABLE}"
        );
        let moved = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&uuid)
            .bind(json(options)?)
            .bind(ms(now))
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
            .bind(&uuid)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
            ActionOutcome::Done
        } else {
            exists(&mut tx, &uuid).await?
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The outcome of an action that changed nothing: refused, or no such message.
async fn exists(conn: &mut sqlx::SqliteConnection, uuid: &str) -> StoreResult<ActionOutcome> {
    let found = sqlx::query("SELECT 1 FROM messages WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    Ok(ActionOutcome::of(false, found))
}
