//! What the store keeps for messages: the message, its delivery job (the outbox pattern: both
//! written in one transaction), attempts, callbacks, idempotency keys and threads.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::PhoneNumber;
use crate::domain::directory::Department;
use crate::domain::message::{Message, MessageError, MessageStatus};

/// The delivery job written with a message.
#[derive(Debug, Clone, Copy)]
pub struct NewJob {
    pub due_at: OffsetDateTime,
    /// Set when the accepting request sends inline (synchronous): it holds the job's lease so
    /// no worker takes it meanwhile; if that request dies, the lease expires and a worker does.
    pub lease: Option<Lease>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub id: Uuid,
    pub expires_at: OffsetDateTime,
}

/// A job a worker holds until its lease expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub message_uuid: Uuid,
    pub lease: Lease,
    /// Provider attempts already made.
    pub attempts: u32,
    /// Set when an earlier hand-over of this message may have reached the provider without
    /// Herald recording what became of it: the provider is asked before anything is sent.
    pub doubt: Option<Doubt>,
}

/// Why a claimed job is in doubt (SPEC 6, "In-doubt hand-overs").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doubt {
    /// When the in-doubt hand-over may have begun; `None`: when the message was accepted (the
    /// lease an inline send took with it expired).
    pub since: Option<OffsetDateTime>,
    /// The job was retaken after a lease expired with no result recorded (a worker died, or
    /// could not store its result): its in-doubt attempt has no row in the history yet.
    /// `false`: a step recorded an `IN_DOUBT` attempt (a call that timed out).
    pub retaken: bool,
}

/// An idempotency key claimed with a new message (SPEC 4.1).
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub credential: String,
    pub key: String,
    pub request_hash: String,
    /// Known at once for asynchronous sends; synchronous ones complete it after sending.
    pub response: Option<StoredResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub message_uuid: Uuid,
    /// `None` while the first request is still sending.
    pub response: Option<StoredResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    Accepted,
    /// The idempotency key was used before: nothing was written.
    Existing(IdempotencyRecord),
}

/// Who owns the (department, customer) thread after this message (SPEC 1).
#[derive(Debug, Clone, Copy)]
pub struct ThreadOwner {
    pub department_uuid: Uuid,
    pub customer_uuid: Uuid,
    pub user_uuid: Uuid,
    /// `true`: the thread moves to this user. `false` (the default associate): the owner is
    /// kept, and only a new thread gets this user.
    pub delegate: bool,
}

/// A callback to enqueue with a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallback {
    /// The `webhook-id`, stable across retries.
    pub webhook_id: String,
    pub url: String,
    pub credential: String,
    pub payload: String,
}

/// The changes one delivery step makes to its message.
#[derive(Debug, Clone, Default)]
pub struct MessageUpdate {
    pub status: Option<MessageStatus>,
    pub error: Option<MessageError>,
    pub provider_message_id: Option<String>,
    pub composed_body: Option<String>,
    pub sender: Option<String>,
    /// Held until then (quiet hours, a holiday): the message's `scheduledFor`.
    pub held_until: Option<OffsetDateTime>,
    pub callbacks: Vec<NewCallback>,
}

/// One hand-over to a provider, kept for the operator and the status endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: u32,
    pub at: OffsetDateTime,
    /// `SUCCESS`, `TRANSIENT` or `PERMANENT`; for a hand-over whose outcome was not known
    /// (SPEC 6) `IN_DOUBT`, then `RECONCILED_SENT` or `RECONCILED_NOT_FOUND`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub detail: Option<String>,
}

/// What happens to a job after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobNext {
    Done,
    /// Try again at `due_at`, one attempt more. `in_doubt_since`: the attempt may have
    /// reached the provider (it began then), so the next step asks the provider first.
    Retry {
        due_at: OffsetDateTime,
        in_doubt_since: Option<OffsetDateTime>,
    },
    /// Set aside until `until` (a message waiting for opt-in), or until an opt-in wakes it.
    Park {
        until: OffsetDateTime,
    },
}

/// A message about to be handed to a provider, asking for room in its rate-limit windows.
#[derive(Debug, Clone, Copy)]
pub struct SendReservation<'a> {
    pub message: Uuid,
    pub department: Uuid,
    pub recipient: &'a str,
    pub manual: bool,
    /// `(window, limit)` pairs: at most `limit` sends in any `window`.
    pub windows: &'a [(Duration, u32)],
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Granted,
    /// A window is full; room opens after `retry_after`.
    Refused {
        retry_after: Duration,
    },
}

/// The columns a [`CallbackRecord`] is read from, on both backends.
pub const CALLBACK_COLUMNS: &str =
    "webhook_id, seq, url, state, attempts, last_result, payload, created_at";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRecord {
    pub webhook_id: String,
    pub seq: u32,
    pub url: String,
    /// `PENDING`, `DELIVERED` or `FAILED`.
    pub state: String,
    pub attempts: u32,
    pub last_result: Option<String>,
    pub payload: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedCallback {
    pub webhook_id: String,
    pub message_uuid: Uuid,
    pub url: String,
    pub credential: String,
    pub payload: String,
    pub attempts: u32,
    pub created_at: OffsetDateTime,
    pub lease: Lease,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackResult {
    Delivered {
        detail: String,
    },
    Retry {
        due_at: OffsetDateTime,
        detail: String,
    },
    Failed {
        detail: String,
    },
}

/// What the `outbox` provider "sent" (SPEC 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub message_uuid: Uuid,
    pub protocol: String,
    pub from: String,
    pub to: String,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: Option<String>,
    pub body: String,
    pub media_urls: Vec<String>,
    /// An email's HTML part, as the provider would have received it.
    pub html_body: Option<String>,
    /// The files attached to an email (a text's are among `media_urls`).
    pub attachments: Vec<crate::domain::attachment::AttachmentInfo>,
    pub sent_at: OffsetDateTime,
}

/// A position in a thread, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadCursor {
    pub created_at: OffsetDateTime,
    pub uuid: Uuid,
}

#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Writes the message, its job, the idempotency key and the thread owner in one durable
    /// transaction — or nothing, when the key was used before.
    async fn accept_message(
        &self,
        message: &Message,
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome>;
    /// [`MessageStore::accept_message`] with the message's attachments (SPEC 4.5), written in
    /// the same transaction.
    async fn accept_with_attachments(
        &self,
        message: &Message,
        attachments: &[crate::domain::attachment::Attachment],
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome>;
    async fn complete_idempotency(
        &self,
        credential: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()>;
    async fn message(&self, uuid: Uuid) -> StoreResult<Option<Message>>;
    /// Those of `uuids` that exist, in any order: one read for a claimed batch.
    async fn messages(&self, uuids: &[Uuid]) -> StoreResult<Vec<Message>>;
    /// A page of the (department, customer) thread, newest first, after `before`.
    async fn thread(
        &self,
        department: Uuid,
        customer: Uuid,
        before: Option<ThreadCursor>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    async fn thread_owner(&self, department: Uuid, customer: Uuid) -> StoreResult<Option<Uuid>>;

    /// Leases up to `limit` due jobs whose lease is free or expired.
    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>>;
    /// Records a step's result if `job`'s lease is still held; returns false (and changes
    /// nothing) when it is not.
    async fn finish_job(
        &self,
        job: &ClaimedJob,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
        next: JobNext,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Moves a message to `status` unless it already has a final status (receipts arriving
    /// late or out of order never move it backwards); returns whether it moved.
    async fn apply_receipt(
        &self,
        message: Uuid,
        status: MessageStatus,
        error: Option<MessageError>,
        callback: Option<NewCallback>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn message_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>>;
    async fn attempts(&self, message: Uuid) -> StoreResult<Vec<AttemptRecord>>;
    /// Jobs not yet finished (the delivery queue's depth).
    async fn queue_depth(&self) -> StoreResult<u64>;

    /// Leases due callbacks, never one whose message has an earlier callback pending.
    async fn claim_callbacks(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCallback>>;
    async fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn callbacks(&self, message: Uuid) -> StoreResult<Vec<CallbackRecord>>;

    /// Counts the message in its department's windows for its recipient, atomically with the
    /// check, unless a window is full. A message already counted is granted again (retries).
    async fn reserve_send(&self, reservation: &SendReservation<'_>) -> StoreResult<Reservation>;

    /// Keeps what the outbox provider sent; a second entry for the same message is ignored.
    async fn record_outbox(&self, entry: &OutboxEntry) -> StoreResult<()>;
    /// Whether the outbox holds an entry for `message` (its hand-over happened).
    async fn outbox_sent(&self, message: Uuid) -> StoreResult<bool>;
    /// The newest `limit` outbox entries, oldest first.
    async fn outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>>;
    /// Departments texting from `number` (inbound routing), oldest first.
    async fn departments_by_sender(&self, number: &PhoneNumber) -> StoreResult<Vec<Department>>;
    /// Departments emailing from `address` (inbound email routing), oldest first.
    async fn departments_by_email_sender(
        &self,
        address: &crate::domain::EmailAddress,
    ) -> StoreResult<Vec<Department>>;
    /// Of `dealer`'s departments texting from `sender`, the one whose latest OUTGOING TEXT to
    /// `customer` at `phone` is the newest (inbound routing of a shared number).
    async fn last_to_text(
        &self,
        sender: &PhoneNumber,
        dealer: Uuid,
        customer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Option<Uuid>>;
}
