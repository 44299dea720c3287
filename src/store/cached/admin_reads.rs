//! The operator's lists pass straight through: they are read rarely, and a list served from
//! a copy could miss a row just written.

use async_trait::async_trait;
use uuid::Uuid;

use super::CachedStore;
use crate::domain::directory::{Department, User};
use crate::domain::message::Message;
use crate::store::StoreResult;
use crate::store::admin_reads::{
    AdminReadStore, CredentialEntry, Cursor, DealerEntry, MessageFilter,
};

#[async_trait]
impl AdminReadStore for CachedStore {
    async fn dealers_page(
        &self,
        after: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<DealerEntry>> {
        self.inner.dealers_page(after, limit).await
    }

    async fn departments_of(&self, dealer: Uuid) -> StoreResult<Vec<Department>> {
        self.inner.departments_of(dealer).await
    }

    async fn users_of(&self, department: Uuid) -> StoreResult<Vec<User>> {
        self.inner.users_of(department).await
    }

    async fn credentials_page(
        &self,
        after: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CredentialEntry>> {
        self.inner.credentials_page(after, limit).await
    }

    async fn messages_page(
        &self,
        filter: &MessageFilter,
        before: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.inner.messages_page(filter, before, limit).await
    }
}
