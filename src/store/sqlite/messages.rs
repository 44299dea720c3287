//! SQLite's own part of messages: accepting and finishing inside the writer's group commits,
//! claiming with one `UPDATE ... RETURNING`, numbering callbacks in the insert itself (the
//! single writer leaves no race), and reading a set of messages through `json_each`.

use std::time::Duration;

use sqlx::{Row as _, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqliteStore, parse_uuid};
use crate::domain::attachment::Attachment;
use crate::domain::message::Message;
use crate::store::attachments::insert_attachments;
use crate::store::backend::{Backend, Query, Row};
use crate::store::batcher::Batcher;
use crate::store::message_rows::{
    insert_attempts, insert_job, insert_message, message_from_row, move_job, update_message,
    upsert_thread,
};
use crate::store::message_store::MessageBackend;
use crate::store::queued::{Finish, Reserve};
use crate::store::{
    AcceptOutcome, AttemptRecord, CallbackResult, ClaimedCallback, ClaimedJob, Doubt,
    IdempotencyClaim, IdempotencyRecord, JobNext, Lease, MessageUpdate, NewCallback, NewJob,
    Reservation, StoreError, StoreResult, StoredResponse, ThreadCursor, ThreadOwner,
};

pub(super) use crate::store::message_rows::MESSAGE_COLUMNS;

/// How long an idempotency key holds (SPEC 4.1).
const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;

pub(super) fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

impl MessageBackend for SqliteStore {
    const PROVIDER_ID_PICK: &'static str = "";

    async fn accept_message(
        &self,
        message: &Message,
        attachments: &[Attachment],
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        self.accepts
            .submit(super::group_commit::Accept {
                message: message.clone(),
                job,
                claim: idempotency.cloned(),
                thread,
                attachments: attachments.to_vec(),
            })
            .await
    }

    async fn messages(&self, uuids: &[Uuid]) -> StoreResult<Vec<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE uuid IN (SELECT value FROM json_each($1))"
        );
        let uuids: Vec<String> = uuids.iter().map(Uuid::to_string).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(json(&uuids)?)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn thread(
        &self,
        department: Uuid,
        customer: Uuid,
        before: Option<ThreadCursor>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE department_uuid = $1 AND customer_uuid = $2
               AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND uuid < $4))
             ORDER BY created_at DESC, uuid DESC LIMIT $5"
        );
        let mut conn = self.read().await?;
        let rows = Self::query(sqlx::AssertSqlSafe(sql))
            .uuid(department)
            .uuid(customer)
            .opt_time(before.map(|c| c.created_at))
            .opt_uuid(before.map(|c| c.uuid))
            .bind(i64::from(limit))
            .fetch_all(&mut conn)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let lease = Lease {
            id: Uuid::new_v4(),
            expires_at: now + lease_for,
        };
        // A leased job is also due again when its lease expires: leased rows leave the front of
        // the due order, so a claim does not step over every job in flight to find free ones.
        // A job still leased when claimed was retaken from a claim that recorded no result:
        // in doubt since that claim began (SET reads the row as it was before the update).
        let mut tx = self.write_statement().await?;
        let rows = Self::query(
            "UPDATE delivery_jobs SET lease_id = $1, lease_expires_at = $2, due_at = $2,
                 retaken = (lease_id IS NOT NULL),
                 in_doubt_since = CASE WHEN lease_id IS NOT NULL THEN COALESCE(in_doubt_since, claimed_at)
                                       ELSE in_doubt_since END,
                 claimed_at = $3
             WHERE message_uuid IN (
                 SELECT message_uuid FROM delivery_jobs
                 WHERE due_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
                 ORDER BY due_at, message_uuid LIMIT $4)
             RETURNING message_uuid, attempts, retaken, in_doubt_since",
        )
        .uuid(lease.id)
        .time(lease.expires_at)
        .time(now)
        .bind(i64::from(limit))
        .fetch_all(&mut tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                let retaken: bool = r.field("retaken")?;
                let since = r.opt_time("in_doubt_since")?;
                Ok(ClaimedJob {
                    message_uuid: r.uuid("message_uuid")?,
                    lease,
                    attempts: r.count("attempts")?,
                    doubt: (retaken || since.is_some()).then_some(Doubt { since, retaken }),
                })
            })
            .collect()
    }

    fn finishes(&self) -> &Batcher<Finish, bool> {
        &self.finishes
    }

    async fn claim_callbacks(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCallback>> {
        let lease = Lease {
            id: Uuid::new_v4(),
            expires_at: now + lease_for,
        };
        // Due again when the lease expires (see `claim_jobs`).
        let mut tx = self.write_statement().await?;
        let rows = Self::query(
            "UPDATE callbacks SET lease_id = $1, lease_expires_at = $2, due_at = $2
             WHERE webhook_id IN (
                 SELECT c.webhook_id FROM callbacks c
                 WHERE c.state = 'PENDING' AND c.due_at <= $3
                   AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= $3)
                   AND NOT EXISTS (SELECT 1 FROM callbacks p
                                   WHERE p.message_uuid = c.message_uuid AND p.seq < c.seq AND p.state = 'PENDING')
                 ORDER BY c.due_at LIMIT $4)
             RETURNING webhook_id, message_uuid, url, credential, payload, attempts, created_at",
        )
        .uuid(lease.id)
        .time(lease.expires_at)
        .time(now)
        .bind(i64::from(limit))
        .fetch_all(&mut tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedCallback {
                    webhook_id: r.field("webhook_id")?,
                    message_uuid: r.uuid("message_uuid")?,
                    url: r.field("url")?,
                    credential: r.field("credential")?,
                    payload: r.field("payload")?,
                    attempts: r.count("attempts")?,
                    created_at: r.time("created_at")?,
                    lease,
                })
            })
            .collect()
    }

    async fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
    ) -> StoreResult<bool> {
        self.callback_results
            .submit(super::callback_commit::CallbackDone {
                webhook_id: callback.webhook_id.clone(),
                lease_id: callback.lease.id.to_string(),
                result,
            })
            .await
    }

    fn reservations(&self) -> &Batcher<Reserve, Reservation> {
        &self.reservations
    }

    async fn insert_callbacks(
        tx: &mut SqliteConnection,
        message: Uuid,
        callbacks: &[NewCallback],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        insert_callbacks(tx, message, callbacks, now).await
    }

    /// The dispatchers poll; there is no other process to wake.
    async fn callbacks_queued(_tx: &mut SqliteConnection) -> StoreResult<()> {
        Ok(())
    }
}

/// Appends callbacks to a message's sequence, numbered in the insert itself.
pub(super) async fn insert_callbacks(
    tx: &mut SqliteConnection,
    message: Uuid,
    callbacks: &[NewCallback],
    now: OffsetDateTime,
) -> StoreResult<()> {
    for cb in callbacks {
        SqliteStore::query(
            "INSERT INTO callbacks (webhook_id, message_uuid, seq, url, credential, payload, state, due_at, created_at)
             VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM callbacks WHERE message_uuid = $2), $3, $4, $5, 'PENDING', $6, $6)",
        )
        .bind(&cb.webhook_id)
        .uuid(message)
        .bind(&cb.url)
        .bind(&cb.credential)
        .bind(&cb.payload)
        .time(now)
        .execute(tx)
        .await?;
    }
    Ok(())
}

/// One delivery step's result, inside the caller's transaction; false (nothing written) when
/// the job's lease is no longer held.
pub(super) async fn finish_job_in(
    tx: &mut SqliteConnection,
    job: &ClaimedJob,
    update: &MessageUpdate,
    attempts: &[AttemptRecord],
    next: JobNext,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let uuid = job.message_uuid;
    let held =
        SqliteStore::query("SELECT 1 FROM delivery_jobs WHERE message_uuid = $1 AND lease_id = $2")
            .uuid(uuid)
            .uuid(job.lease.id)
            .fetch_optional(tx)
            .await?;
    if held.is_none() {
        return Ok(false);
    }
    update_message::<SqliteStore>(tx, uuid, update, now).await?;
    insert_attempts::<SqliteStore>(tx, uuid, attempts).await?;
    insert_callbacks(tx, uuid, &update.callbacks, now).await?;
    move_job::<SqliteStore>(tx, uuid, next).await?;
    Ok(true)
}

/// Writes one accepted message with its job, idempotency key and thread owner inside the
/// caller's transaction (a savepoint of a group commit).
pub(super) async fn accept_in(
    conn: &mut SqliteConnection,
    message: &Message,
    attachments: &[Attachment],
    job: Option<NewJob>,
    idempotency: Option<&IdempotencyClaim>,
    thread: Option<ThreadOwner>,
) -> StoreResult<AcceptOutcome> {
    let now = super::ms(message.created_at);
    if let Some(claim) = idempotency {
        let existing = sqlx::query(
            "SELECT request_hash, message_uuid, response_status, response_body FROM idempotency_keys
             WHERE credential = $1 AND key = $2 AND created_at > $3",
        )
        .bind(&claim.credential)
        .bind(&claim.key)
        .bind(now - IDEMPOTENCY_WINDOW_MS)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = existing {
            let status: Option<i64> = r.get("response_status");
            let body: Option<String> = r.get("response_body");
            return Ok(AcceptOutcome::Existing(IdempotencyRecord {
                request_hash: r.get("request_hash"),
                message_uuid: parse_uuid(r.get("message_uuid"))?,
                response: status.zip(body).map(|(s, b)| StoredResponse {
                    status: s as u16,
                    body: b,
                }),
            }));
        }
        sqlx::query(
            "INSERT OR REPLACE INTO idempotency_keys (credential, key, request_hash, message_uuid, response_status, response_body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&claim.credential)
        .bind(&claim.key)
        .bind(&claim.request_hash)
        .bind(message.uuid.to_string())
        .bind(claim.response.as_ref().map(|r| i64::from(r.status)))
        .bind(claim.response.as_ref().map(|r| r.body.clone()))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    insert_message::<SqliteStore>(conn, message).await?;
    insert_attachments::<SqliteStore>(conn, message.uuid, attachments).await?;
    if let Some(job) = job {
        insert_job::<SqliteStore>(conn, message.uuid, &job).await?;
    }
    if let Some(t) = thread {
        upsert_thread::<SqliteStore>(conn, &t, message.created_at).await?;
    }
    Ok(AcceptOutcome::Accepted)
}
