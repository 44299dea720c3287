//! Callbacks and the queue pass straight through: neither is cached.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::CachedStore;
use crate::store::StoreResult;
use crate::store::admin_actions::ActionOutcome;
use crate::store::admin_ops::{AdminOpsStore, CallbackEntry, CallbackState, QueueFigures};
use crate::store::admin_reads::Cursor;

#[async_trait]
impl AdminOpsStore for CachedStore {
    async fn callbacks_page(
        &self,
        state: CallbackState,
        before: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CallbackEntry>> {
        self.inner.callbacks_page(state, before, limit).await
    }

    async fn callback(&self, webhook_id: &str) -> StoreResult<Option<CallbackEntry>> {
        self.inner.callback(webhook_id).await
    }

    async fn redeliver_callback(
        &self,
        webhook_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        self.inner.redeliver_callback(webhook_id, now).await
    }

    async fn queue_figures(&self, now: OffsetDateTime) -> StoreResult<QueueFigures> {
        self.inner.queue_figures(now).await
    }
}
