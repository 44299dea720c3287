//! Messages pass straight through to the backend.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::CachedStore;
use crate::domain::PhoneNumber;
use crate::domain::attachment::Attachment;
use crate::domain::directory::Department;
use crate::domain::message::{Message, MessageError, MessageStatus};
use crate::store::*;

#[async_trait]
impl MessageStore for CachedStore {
    async fn accept_message(
        &self,
        message: &Message,
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        self.inner
            .accept_message(message, job, idempotency, thread)
            .await
    }

    async fn accept_with_attachments(
        &self,
        message: &Message,
        attachments: &[Attachment],
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        self.inner
            .accept_with_attachments(message, attachments, job, idempotency, thread)
            .await
    }

    async fn complete_idempotency(
        &self,
        credential: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        self.inner
            .complete_idempotency(credential, key, response)
            .await
    }

    async fn message(&self, uuid: Uuid) -> StoreResult<Option<Message>> {
        self.inner.message(uuid).await
    }

    async fn messages(&self, uuids: &[Uuid]) -> StoreResult<Vec<Message>> {
        self.inner.messages(uuids).await
    }

    async fn thread(
        &self,
        department: Uuid,
        customer: Uuid,
        before: Option<ThreadCursor>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.inner.thread(department, customer, before, limit).await
    }

    async fn thread_owner(&self, department: Uuid, customer: Uuid) -> StoreResult<Option<Uuid>> {
        self.inner.thread_owner(department, customer).await
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        self.inner.claim_jobs(now, lease_for, limit).await
    }

    async fn finish_job(
        &self,
        job: &ClaimedJob,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
        next: JobNext,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.inner
            .finish_job(job, update, attempts, next, now)
            .await
    }

    async fn apply_receipt(
        &self,
        message: Uuid,
        status: MessageStatus,
        error: Option<MessageError>,
        callback: Option<NewCallback>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.inner
            .apply_receipt(message, status, error, callback, now)
            .await
    }

    async fn message_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>> {
        self.inner.message_by_provider_id(provider_message_id).await
    }

    async fn attempts(&self, message: Uuid) -> StoreResult<Vec<AttemptRecord>> {
        self.inner.attempts(message).await
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        self.inner.queue_depth().await
    }

    async fn claim_callbacks(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCallback>> {
        self.inner.claim_callbacks(now, lease_for, limit).await
    }

    async fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.inner.finish_callback(callback, result, now).await
    }

    async fn callbacks(&self, message: Uuid) -> StoreResult<Vec<CallbackRecord>> {
        self.inner.callbacks(message).await
    }

    async fn reserve_send(&self, reservation: &SendReservation<'_>) -> StoreResult<Reservation> {
        self.inner.reserve_send(reservation).await
    }

    async fn record_outbox(&self, entry: &OutboxEntry) -> StoreResult<()> {
        self.inner.record_outbox(entry).await
    }

    async fn outbox_sent(&self, message: Uuid) -> StoreResult<bool> {
        self.inner.outbox_sent(message).await
    }

    async fn outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        self.inner.outbox(limit).await
    }

    async fn departments_by_sender(&self, number: &PhoneNumber) -> StoreResult<Vec<Department>> {
        self.inner.departments_by_sender(number).await
    }

    async fn departments_by_email_sender(
        &self,
        address: &crate::domain::EmailAddress,
    ) -> StoreResult<Vec<Department>> {
        self.inner.departments_by_email_sender(address).await
    }

    async fn last_to_text(
        &self,
        sender: &PhoneNumber,
        dealer: Uuid,
        customer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Option<Uuid>> {
        self.inner
            .last_to_text(sender, dealer, customer, phone)
            .await
    }
}
