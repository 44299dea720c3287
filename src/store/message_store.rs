//! [`MessageStore`], written once over both backends. What a backend does its own way —
//! accepting and finishing in group commits, claiming jobs and callbacks (PostgreSQL with
//! `SKIP LOCKED`), numbering callbacks, reading a set of messages or a thread page, waking
//! other nodes — is its [`MessageBackend`].

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Query, Row, corrupt};
use super::batcher::Batcher;
use super::directory_rows::department_from_row;
use super::message_rows::{
    FINAL_STATUSES, MESSAGE_COLUMNS, attempt_from_row, callback_from_row, message_from_row,
    outbox_from_row,
};
use super::queued::{Finish, Reserve};
use super::{
    AcceptOutcome, AttemptRecord, CALLBACK_COLUMNS, CallbackRecord, CallbackResult,
    ClaimedCallback, ClaimedJob, IdempotencyClaim, JobNext, MessageStore, MessageUpdate,
    NewCallback, NewJob, OutboxEntry, Reservation, SendReservation, StoreResult, StoredResponse,
    ThreadCursor, ThreadOwner,
};
use crate::domain::PhoneNumber;
use crate::domain::attachment::Attachment;
use crate::domain::directory::Department;
use crate::domain::message::{Message, MessageError, MessageStatus};

/// What each backend does its own way for [`MessageStore`]; each method is the trait's
/// method of the same name (see there).
pub(crate) trait MessageBackend: Backend {
    /// What follows the `WHERE` of the read of the message a provider's id names (which
    /// of several, if a provider ever reused an id).
    const PROVIDER_ID_PICK: &'static str;

    fn accept_message(
        &self,
        message: &Message,
        attachments: &[Attachment],
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> impl Future<Output = StoreResult<AcceptOutcome>> + Send;
    fn messages(&self, uuids: &[Uuid]) -> impl Future<Output = StoreResult<Vec<Message>>> + Send;
    fn thread(
        &self,
        department: Uuid,
        customer: Uuid,
        before: Option<ThreadCursor>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Message>>> + Send;
    fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ClaimedJob>>> + Send;
    /// The group commit finished steps are recorded through.
    fn finishes(&self) -> &Batcher<Finish, bool>;
    fn claim_callbacks(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ClaimedCallback>>> + Send;
    fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The batches rate-window reservations are decided in.
    fn reservations(&self) -> &Batcher<Reserve, Reservation>;
    /// Appends callbacks to the message's sequence, inside the caller's transaction.
    fn insert_callbacks(
        tx: &mut Self::Conn,
        message: Uuid,
        callbacks: &[NewCallback],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Callbacks were queued in `tx`: wakes the dispatchers of other processes once it
    /// commits, where there are any.
    fn callbacks_queued(tx: &mut Self::Conn) -> impl Future<Output = StoreResult<()>> + Send;
}

#[async_trait]
impl<S: MessageBackend> MessageStore for S {
    async fn accept_message(
        &self,
        message: &Message,
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        MessageBackend::accept_message(self, message, &[], job, idempotency, thread).await
    }

    async fn accept_with_attachments(
        &self,
        message: &Message,
        attachments: &[Attachment],
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        MessageBackend::accept_message(self, message, attachments, job, idempotency, thread).await
    }

    async fn complete_idempotency(
        &self,
        credential: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let mut one = self.begin_one().await?;
        S::query(
            "UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE credential = $1 AND key = $2",
        )
        .bind(credential)
        .bind(key)
        .bind(i32::from(response.status))
        .bind(&response.body)
        .execute(&mut one)
        .await?;
        S::commit_one(one).await
    }

    async fn message(&self, uuid: Uuid) -> StoreResult<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE uuid = $1");
        let mut conn = self.read().await?;
        let row = S::query(sqlx::AssertSqlSafe(sql))
            .uuid(uuid)
            .fetch_optional(&mut conn)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn messages(&self, uuids: &[Uuid]) -> StoreResult<Vec<Message>> {
        MessageBackend::messages(self, uuids).await
    }

    async fn thread(
        &self,
        department: Uuid,
        customer: Uuid,
        before: Option<ThreadCursor>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        MessageBackend::thread(self, department, customer, before, limit).await
    }

    async fn thread_owner(&self, department: Uuid, customer: Uuid) -> StoreResult<Option<Uuid>> {
        let mut conn = self.read().await?;
        let row = S::query(
            "SELECT owner_user_uuid FROM threads WHERE department_uuid = $1 AND customer_uuid = $2",
        )
        .uuid(department)
        .uuid(customer)
        .fetch_optional(&mut conn)
        .await?;
        row.map(|r| r.uuid("owner_user_uuid")).transpose()
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        MessageBackend::claim_jobs(self, now, lease_for, limit).await
    }

    async fn finish_job(
        &self,
        job: &ClaimedJob,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
        next: JobNext,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.finishes()
            .submit(Finish {
                job: job.clone(),
                update,
                attempts,
                next,
                now,
            })
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
        let now = S::at(now);
        let mut tx = self.begin().await?;
        // On PostgreSQL, receipts for one message racing on two nodes queue on the row lock;
        // the second re-checks the status the first left, so a final status is never moved.
        let sql = format!(
            "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code),
                 error_description = COALESCE($4, error_description), updated_at = $5
             WHERE uuid = $1 AND status NOT IN {FINAL_STATUSES}"
        );
        let moved = S::query(sqlx::AssertSqlSafe(sql))
            .uuid(message)
            .bind(status.as_str())
            .bind(error.as_ref().map(|e| e.code.as_str()))
            .bind(error.as_ref().map(|e| e.description.as_str()))
            .time(now)
            .execute(&mut tx)
            .await?
            > 0;
        if moved && let Some(callback) = callback {
            S::insert_callbacks(&mut tx, message, std::slice::from_ref(&callback), now).await?;
            S::callbacks_queued(&mut tx).await?;
        }
        S::commit(tx).await?;
        Ok(moved)
    }

    async fn message_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider_message_id = $1{}",
            S::PROVIDER_ID_PICK
        );
        let mut conn = self.read().await?;
        let row = S::query(sqlx::AssertSqlSafe(sql))
            .bind(provider_message_id)
            .fetch_optional(&mut conn)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn attempts(&self, message: Uuid) -> StoreResult<Vec<AttemptRecord>> {
        let mut conn = self.read().await?;
        let rows = S::query(
            "SELECT attempt, at, outcome, error_code, detail FROM delivery_attempts WHERE message_uuid = $1 ORDER BY id",
        )
        .uuid(message)
        .fetch_all(&mut conn)
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let mut conn = self.read().await?;
        let n: i64 = S::query("SELECT COUNT(*) AS n FROM delivery_jobs")
            .fetch_one(&mut conn)
            .await?
            .field("n")?;
        u64::try_from(n).map_err(|_| corrupt("queue depth", &n.to_string()))
    }

    async fn claim_callbacks(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCallback>> {
        MessageBackend::claim_callbacks(self, now, lease_for, limit).await
    }

    async fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
        _now: OffsetDateTime,
    ) -> StoreResult<bool> {
        MessageBackend::finish_callback(self, callback, result).await
    }

    async fn callbacks(&self, message: Uuid) -> StoreResult<Vec<CallbackRecord>> {
        let mut conn = self.read().await?;
        let rows = S::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE message_uuid = $1 ORDER BY seq"
        )))
        .uuid(message)
        .fetch_all(&mut conn)
        .await?;
        rows.iter().map(callback_from_row).collect()
    }

    async fn reserve_send(&self, r: &SendReservation<'_>) -> StoreResult<Reservation> {
        self.reservations().submit(Reserve::of(r)).await
    }

    async fn record_outbox(&self, e: &OutboxEntry) -> StoreResult<()> {
        let mut one = self.begin_one().await?;
        S::query(
            "INSERT INTO outbox (message_uuid, protocol, sender, recipient, cc, bcc, subject, body, media_urls, sent_at, html_body, attachments)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (message_uuid) DO NOTHING",
        )
        .uuid(e.message_uuid)
        .bind(&e.protocol)
        .bind(&e.from)
        .bind(&e.to)
        .json(&e.cc)?
        .json(&e.bcc)?
        .bind(&e.subject)
        .bind(&e.body)
        .json(&e.media_urls)?
        .time(e.sent_at)
        .bind(&e.html_body)
        .json(&e.attachments)?
        .execute(&mut one)
        .await?;
        S::commit_one(one).await
    }

    async fn outbox_sent(&self, message: Uuid) -> StoreResult<bool> {
        let mut conn = self.read().await?;
        let found = S::query("SELECT 1 FROM outbox WHERE message_uuid = $1")
            .uuid(message)
            .fetch_optional(&mut conn)
            .await?;
        Ok(found.is_some())
    }

    async fn outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        let mut conn = self.read().await?;
        let rows = S::query(
            "SELECT * FROM (SELECT id, message_uuid, protocol, sender, recipient, cc, bcc, subject, body, media_urls, sent_at, html_body, attachments
                            FROM outbox ORDER BY id DESC LIMIT $1) AS newest ORDER BY id",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut conn)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    async fn departments_by_sender(&self, number: &PhoneNumber) -> StoreResult<Vec<Department>> {
        let mut conn = self.read().await?;
        let rows = S::query(
            "SELECT uuid, dealer_uuid, name, settings, default_user_uuid FROM departments
             WHERE text_sender_number = $1 ORDER BY created_at, uuid",
        )
        .bind(number.as_str())
        .fetch_all(&mut conn)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    async fn departments_by_email_sender(
        &self,
        address: &crate::domain::EmailAddress,
    ) -> StoreResult<Vec<Department>> {
        // The sender address lives in the settings document, which the two backends query
        // differently; inbound email is rare and a dealership group has hundreds of
        // departments, so they are read and matched here.
        let mut conn = self.read().await?;
        let rows = S::query(
            "SELECT uuid, dealer_uuid, name, settings, default_user_uuid FROM departments
             ORDER BY created_at, uuid",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut found = Vec::new();
        for row in &rows {
            let department = department_from_row(row)?;
            if department.settings.email_sender.as_ref() == Some(address) {
                found.push(department);
            }
        }
        Ok(found)
    }

    async fn last_to_text(
        &self,
        sender: &PhoneNumber,
        dealer: Uuid,
        customer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Option<Uuid>> {
        // The thread index (department, customer, time) finds each department's newest.
        let mut conn = self.read().await?;
        let row = S::query(
            "SELECT department_uuid FROM messages
             WHERE customer_uuid = $3 AND recipient = $4 AND direction = 'OUTGOING' AND protocol = 'TEXT'
               AND department_uuid IN (SELECT uuid FROM departments
                                       WHERE text_sender_number = $1 AND dealer_uuid = $2)
             ORDER BY created_at DESC, uuid DESC LIMIT 1",
        )
        .bind(sender.as_str())
        .uuid(dealer)
        .uuid(customer)
        .bind(phone.as_str())
        .fetch_optional(&mut conn)
        .await?;
        row.map(|r| r.uuid("department_uuid")).transpose()
    }
}
