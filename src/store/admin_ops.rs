//! What the operator watches and mends outside one message (SPEC 8): the callbacks a client
//! never received and their redelivery, and the queue's figures.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::StoreResult;
use super::admin_actions::ActionOutcome;
use super::admin_reads::Cursor;
use super::backend::{Query, Row};
use super::message_rows::callback_from_row;
use super::message_store::MessageBackend;
use super::messages::CallbackRecord;

/// The callback states the operator can list: `FAILED` (given up) and `PENDING` (still
/// being tried). Delivered callbacks are read through their message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackState {
    Pending,
    Failed,
}

impl CallbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Pending => "PENDING",
            CallbackState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(CallbackState::Pending),
            "FAILED" => Some(CallbackState::Failed),
            _ => None,
        }
    }
}

/// A callback with the message it reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackEntry {
    pub message_uuid: Uuid,
    pub callback: CallbackRecord,
}

/// The queue as the operator reads it (`GET /admin/v1/queue`), counted at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Jobs due now that no worker holds.
    pub due: u64,
    /// Jobs of `ACCEPTED` messages due later: waiting out a retry's backoff.
    pub retrying: u64,
    /// Messages held by `delay` (`SCHEDULED`).
    pub scheduled: u64,
    /// Messages held until their number opts in.
    pub waiting_for_optin: u64,
    /// Jobs a worker holds right now.
    pub in_flight: u64,
    /// Jobs whose last hand-over may have reached the provider (SPEC 6), being reconciled.
    pub in_doubt: u64,
    /// The due time of the longest-waiting due job.
    pub oldest_due_at: Option<OffsetDateTime>,
    /// Messages that ended `FAILED` in the hour before the count.
    pub failed_last_hour: u64,
    /// Callbacks still to be delivered, and those of them already refused at least once.
    pub callbacks_pending: u64,
    pub callbacks_retrying: u64,
    /// Callbacks given up on, waiting for the operator.
    pub callbacks_failed: u64,
}

#[async_trait]
pub trait AdminOpsStore: Send + Sync + 'static {
    /// Up to `limit` callbacks in `state` before `before`, newest first.
    async fn callbacks_page(
        &self,
        state: CallbackState,
        before: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CallbackEntry>>;
    /// One callback by its `webhook-id`.
    async fn callback(&self, webhook_id: &str) -> StoreResult<Option<CallbackEntry>>;
    /// Puts a `FAILED` callback back to `PENDING`, due `now` with a fresh retry schedule and
    /// its `webhook-id` and payload unchanged; refused for any other state.
    async fn redeliver_callback(
        &self,
        webhook_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome>;
    /// The queue's figures at `now`.
    async fn queue_figures(&self, now: OffsetDateTime) -> StoreResult<QueueFigures>;
}

/// Written once for both backends; a redelivery wakes the callback dispatchers of other
/// processes as a newly queued callback does ([`MessageBackend::callbacks_queued`]).
#[async_trait]
impl<S: MessageBackend> AdminOpsStore for S {
    async fn callbacks_page(
        &self,
        state: CallbackState,
        before: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CallbackEntry>> {
        let sql = sql::callbacks_page(state, before.is_some(), limit);
        let mut query = S::query(sqlx::AssertSqlSafe(sql));
        if let Some(c) = before {
            query = query.time(c.at).bind(c.key.as_str());
        }
        let mut conn = self.read().await?;
        let rows = query.fetch_all(&mut conn).await?;
        rows.iter().map(entry).collect()
    }

    async fn callback(&self, webhook_id: &str) -> StoreResult<Option<CallbackEntry>> {
        let mut conn = self.read().await?;
        let row = S::query(sqlx::AssertSqlSafe(sql::callback()))
            .bind(webhook_id)
            .fetch_optional(&mut conn)
            .await?;
        row.as_ref().map(entry).transpose()
    }

    async fn redeliver_callback(
        &self,
        webhook_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        let mut tx = self.begin().await?;
        let moved = S::query(sql::REDELIVER)
            .bind(webhook_id)
            .time(now)
            .execute(&mut tx)
            .await?
            > 0;
        let found = moved
            || S::query(sql::CALLBACK_EXISTS)
                .bind(webhook_id)
                .fetch_optional(&mut tx)
                .await?
                .is_some();
        if moved {
            S::callbacks_queued(&mut tx).await?;
        }
        S::commit(tx).await?;
        Ok(ActionOutcome::of(moved, found))
    }

    async fn queue_figures(&self, now: OffsetDateTime) -> StoreResult<QueueFigures> {
        let mut conn = self.read().await?;
        let row = S::query(sql::QUEUE_FIGURES)
            .time(now)
            .time(now - Duration::HOUR)
            .fetch_one(&mut conn)
            .await?;
        let count = |column: &str| -> StoreResult<u64> {
            let n: Option<i64> = row.field(column)?;
            Ok(n.unwrap_or(0).max(0) as u64)
        };
        Ok(QueueFigures {
            due: count("due")?,
            retrying: count("retrying")?,
            scheduled: count("scheduled")?,
            waiting_for_optin: count("waiting")?,
            in_flight: count("in_flight")?,
            in_doubt: count("in_doubt")?,
            oldest_due_at: row.opt_time("oldest_due")?,
            failed_last_hour: count("failed_last_hour")?,
            callbacks_pending: count("callbacks_pending")?,
            callbacks_retrying: count("callbacks_retrying")?,
            callbacks_failed: count("callbacks_failed")?,
        })
    }
}

fn entry(r: &impl Row) -> StoreResult<CallbackEntry> {
    Ok(CallbackEntry {
        message_uuid: r.uuid("message_uuid")?,
        callback: callback_from_row(r)?,
    })
}

/// The SQL of these calls, the same text on both backends (`$n` placeholders; each binds its
/// own time type and decodes its own rows).
pub(crate) mod sql {
    use super::CallbackState;
    use crate::store::messages::CALLBACK_COLUMNS;

    /// Up to `limit` callbacks in `state`, newest first, after `($1, $2)` when `after`. The
    /// state is written into the SQL, not bound, so the planner sees it match the partial
    /// index of its state.
    pub fn callbacks_page(state: CallbackState, after: bool, limit: u32) -> String {
        let after = if after {
            " AND (created_at, webhook_id) < ($1, $2)"
        } else {
            ""
        };
        format!(
            "SELECT message_uuid, {CALLBACK_COLUMNS} FROM callbacks
             WHERE state = '{}'{after}
             ORDER BY created_at DESC, webhook_id DESC LIMIT {limit}",
            state.as_str()
        )
    }

    /// One callback by `webhook_id` ($1).
    pub fn callback() -> String {
        format!("SELECT message_uuid, {CALLBACK_COLUMNS} FROM callbacks WHERE webhook_id = $1")
    }

    /// A `FAILED` callback ($1) back to `PENDING`, due $2, with a fresh attempt count. A
    /// FAILED callback has no lease (only its lease holder wrote FAILED, clearing it), so no
    /// dispatcher can be holding the row this changes.
    pub const REDELIVER: &str = "UPDATE callbacks SET state = 'PENDING', attempts = 0, due_at = $2,
             lease_id = NULL, lease_expires_at = NULL
         WHERE webhook_id = $1 AND state = 'FAILED'";

    pub const CALLBACK_EXISTS: &str = "SELECT 1 FROM callbacks WHERE webhook_id = $1";

    /// The queue's figures at $1, failures counted since $2. Jobs exist only for messages
    /// with work left, so this walks the live queue, never the message log. Each job is in
    /// exactly one of in flight, due, scheduled, waiting for opt-in or retrying; in doubt is
    /// counted across them.
    pub const QUEUE_FIGURES: &str = "WITH j AS (
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
         FROM j";
}
