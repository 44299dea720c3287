//! Attachments pass straight through: files are read once, by a hand-over or a fetch.

use async_trait::async_trait;
use uuid::Uuid;

use super::CachedStore;
use crate::store::StoreResult;
use crate::store::attachments::{AttachmentStore, StoredAttachment};

#[async_trait]
impl AttachmentStore for CachedStore {
    async fn attachments_of(&self, message: Uuid) -> StoreResult<Vec<StoredAttachment>> {
        self.inner.attachments_of(message).await
    }

    async fn media_secrets_of(&self, message: Uuid) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        self.inner.media_secrets_of(message).await
    }

    async fn attachment(&self, uuid: Uuid) -> StoreResult<Option<StoredAttachment>> {
        self.inner.attachment(uuid).await
    }
}
