//! Admin actions pass straight through: messages are never cached.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::CachedStore;
use crate::domain::message::SendOptions;
use crate::store::admin_actions::{ActionOutcome, AdminActionStore};
use crate::store::{NewCallback, StoreResult};

#[async_trait]
impl AdminActionStore for CachedStore {
    async fn cancel_message(
        &self,
        message: Uuid,
        callback: Option<NewCallback>,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        self.inner.cancel_message(message, callback, now).await
    }

    async fn requeue_message(
        &self,
        message: Uuid,
        options: &SendOptions,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome> {
        self.inner.requeue_message(message, options, now).await
    }
}
