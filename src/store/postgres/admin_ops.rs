//! Failed callbacks and the queue's figures on PostgreSQL. A redelivery wakes the callback
//! dispatchers of every node (`NOTIFY`), as a newly queued callback does.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::{Duration, OffsetDateTime};

use super::messages::{CALLBACK_COLUMNS, callback_from_row, notify};
use super::{CALLBACKS_CHANNEL, PgStore, at};
use crate::store::StoreResult;
use crate::store::admin_actions::ActionOutcome;
use crate::store::admin_ops::{AdminOpsStore, CallbackEntry, CallbackState, QueueFigures};
use crate::store::admin_reads::Cursor;

fn entry(r: &PgRow) -> StoreResult<CallbackEntry> {
    Ok(CallbackEntry {
        message_uuid: r.try_get("message_uuid")?,
        callback: callback_from_row(r)?,
    })
}

fn count(r: &PgRow, column: &str) -> StoreResult<u64> {
    let n: Option<i64> = r.try_get(column)?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

#[async_trait]
impl AdminOpsStore for PgStore {
    async fn callbacks_page(
        &self,
        state: CallbackState,
        before: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CallbackEntry>> {
        // The state is written into the SQL, not bound, so the planner sees it match the
        // partial index of its state.
        let after = if before.is_some() {
            " AND (created_at, webhook_id) < ($1, $2)"
        } else {
            ""
        };
        let sql = format!(
            "SELECT message_uuid, {CALLBACK_COLUMNS} FROM callbacks
             WHERE state = '{}'{after}
             ORDER BY created_at DESC, webhook_id DESC LIMIT {limit}",
            state.as_str()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(c) = before {
            query = query.bind(at(c.at)).bind(c.key.clone());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(entry).collect()
    }

    async fn callback(&self, webhook_id: &str) -> StoreResult<Option<CallbackEntry>> {
        let sql =
            format!("SELECT message_uuid, {CALLBACK_COLUMNS} FROM callbacks WHERE webhook_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(webhook_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry).transpose()
    }

    async fn redeliver_callback(
        &self,
        webhook_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        // A FAILED callback has no lease (only its lease holder wrote FAILED, clearing it),
        // so no dispatcher can be holding the row this update changes.
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE callbacks SET state = 'PENDING', attempts = 0, due_at = $2,
                 lease_id = NULL, lease_expires_at = NULL
             WHERE webhook_id = $1 AND state = 'FAILED'",
        )
        .bind(webhook_id)
        .bind(at(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let outcome = if moved {
            notify(&mut tx, CALLBACKS_CHANNEL).await?;
            ActionOutcome::Done
        } else {
            let found = sqlx::query("SELECT 1 FROM callbacks WHERE webhook_id = $1")
                .bind(webhook_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if found {
                ActionOutcome::Refused
            } else {
                ActionOutcome::Missing
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn queue_figures(&self, now: OffsetDateTime) -> StoreResult<QueueFigures> {
        // Jobs exist only for messages with work left, so this walks the live queue, never
        // the message log. Each job is in exactly one of in flight, due, scheduled, waiting
        // for opt-in or retrying; in doubt is counted across them.
        let row = sqlx::query(
            "WITH j AS (
                 SELECT j.due_at, j.in_doubt_since, m.status,
                        (j.lease_id IS NOT NULL AND j.lease_expires_at > $1) AS held
                 FROM delivery_jobs j JOIN messages m ON m.uuid = j.message_uuid)
             SELECT COUNT(*) FILTER (WHERE held) AS in_flight,
                    COUNT(*) FILTER (WHERE NOT held AND due_at <= $1) AS due,
                    COUNT(*) FILTER (WHERE NOT held AND due_at > $1 AND status = 'SCHEDULED') AS scheduled,
                    COUNT(*) FILTER (WHERE NOT held AND due_at > $1 AND status = 'WAITING_FOR_OPTIN') AS waiting,
                    COUNT(*) FILTER (WHERE NOT held AND due_at > $1
                                     AND status NOT IN ('SCHEDULED', 'WAITING_FOR_OPTIN')) AS retrying,
                    COUNT(*) FILTER (WHERE in_doubt_since IS NOT NULL) AS in_doubt,
                    MIN(due_at) FILTER (WHERE NOT held AND due_at <= $1) AS oldest_due,
                    (SELECT COUNT(*) FROM messages
                     WHERE status = 'FAILED' AND updated_at >= $2) AS failed_last_hour,
                    (SELECT COUNT(*) FROM callbacks WHERE state = 'PENDING') AS callbacks_pending,
                    (SELECT COUNT(*) FROM callbacks
                     WHERE state = 'PENDING' AND attempts > 0) AS callbacks_retrying,
                    (SELECT COUNT(*) FROM callbacks WHERE state = 'FAILED') AS callbacks_failed
             FROM j",
        )
        .bind(at(now))
        .bind(at(now - Duration::HOUR))
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueFigures {
            due: count(&row, "due")?,
            retrying: count(&row, "retrying")?,
            scheduled: count(&row, "scheduled")?,
            waiting_for_optin: count(&row, "waiting")?,
            in_flight: count(&row, "in_flight")?,
            in_doubt: count(&row, "in_doubt")?,
            oldest_due_at: row.try_get("oldest_due")?,
            failed_last_hour: count(&row, "failed_last_hour")?,
            callbacks_pending: count(&row, "callbacks_pending")?,
            callbacks_retrying: count(&row, "callbacks_retrying")?,
            callbacks_failed: count(&row, "callbacks_failed")?,
        })
    }
}
