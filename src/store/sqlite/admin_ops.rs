//! Failed callbacks and the queue's figures on SQLite: reads from the reader pool, the
//! redelivery one write transaction.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::{Duration, OffsetDateTime};

use super::{SqliteStore, from_ms, ms, parse_uuid};
use crate::store::StoreResult;
use crate::store::admin_actions::ActionOutcome;
use crate::store::admin_ops::{
    AdminOpsStore, CallbackEntry, CallbackState, QueueFigures, figures, sql,
};
use crate::store::admin_reads::Cursor;
use crate::store::message_rows::callback_from_row;

fn entry(r: &SqliteRow) -> StoreResult<CallbackEntry> {
    Ok(CallbackEntry {
        message_uuid: parse_uuid(r.try_get("message_uuid")?)?,
        callback: callback_from_row(r)?,
    })
}

fn count(r: &SqliteRow, column: &str) -> StoreResult<u64> {
    let n: Option<i64> = r.try_get(column)?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

#[async_trait]
impl AdminOpsStore for SqliteStore {
    async fn callbacks_page(
        &self,
        state: CallbackState,
        before: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CallbackEntry>> {
        let sql = sql::callbacks_page(state, before.is_some(), limit);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(c) = before {
            query = query.bind(ms(c.at)).bind(c.key.clone());
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(entry).collect()
    }

    async fn callback(&self, webhook_id: &str) -> StoreResult<Option<CallbackEntry>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql::callback()))
            .bind(webhook_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(entry).transpose()
    }

    async fn redeliver_callback(
        &self,
        webhook_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        let mut tx = self.write_tx().await?;
        let moved = sqlx::query(sql::REDELIVER)
            .bind(webhook_id)
            .bind(ms(now))
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
        tx.commit().await?;
        Ok(ActionOutcome::of(moved, found))
    }

    async fn queue_figures(&self, now: OffsetDateTime) -> StoreResult<QueueFigures> {
        let row = sqlx::query(sql::QUEUE_FIGURES)
            .bind(ms(now))
            .bind(ms(now - Duration::HOUR))
            .fetch_one(&self.reader)
            .await?;
        let oldest: Option<i64> = row.try_get("oldest_due")?;
        Ok(QueueFigures {
            oldest_due_at: oldest.map(from_ms).transpose()?,
            ..figures(|c| count(&row, c))?
        })
    }
}
