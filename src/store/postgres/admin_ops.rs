//! Failed callbacks and the queue's figures on PostgreSQL. A redelivery wakes the callback
//! dispatchers of every node (`NOTIFY`), as a newly queued callback does.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::{Duration, OffsetDateTime};

use super::messages::notify;
use super::{CALLBACKS_CHANNEL, PgStore, at};
use crate::store::StoreResult;
use crate::store::admin_actions::ActionOutcome;
use crate::store::admin_ops::{
    AdminOpsStore, CallbackEntry, CallbackState, QueueFigures, figures, sql,
};
use crate::store::admin_reads::Cursor;
use crate::store::message_rows::callback_from_row;

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
        let sql = sql::callbacks_page(state, before.is_some(), limit);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(c) = before {
            query = query.bind(at(c.at)).bind(c.key.clone());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(entry).collect()
    }

    async fn callback(&self, webhook_id: &str) -> StoreResult<Option<CallbackEntry>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql::callback()))
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
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(sql::REDELIVER)
            .bind(webhook_id)
            .bind(at(now))
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let found = moved
            || sqlx::query(sql::CALLBACK_EXISTS)
                .bind(webhook_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if moved {
            notify(&mut tx, CALLBACKS_CHANNEL).await?;
        }
        tx.commit().await?;
        Ok(ActionOutcome::of(moved, found))
    }

    async fn queue_figures(&self, now: OffsetDateTime) -> StoreResult<QueueFigures> {
        let row = sqlx::query(sql::QUEUE_FIGURES)
            .bind(at(now))
            .bind(at(now - Duration::HOUR))
            .fetch_one(&self.pool)
            .await?;
        Ok(QueueFigures {
            oldest_due_at: row.try_get("oldest_due")?,
            ..figures(|c| count(&row, c))?
        })
    }
}
