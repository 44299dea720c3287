//! What the operator watches and mends outside one message (SPEC 8): the callbacks a client
//! never received and their redelivery, and the queue's figures.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;
use super::admin_actions::ActionOutcome;
use super::admin_reads::Cursor;
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
