//! PostgreSQL's own part of messages: a key claimed by its unique index, callbacks numbered
//! under the message's row lock, other nodes woken with `NOTIFY`, sets of messages read with
//! `ANY`, thread pages walked with a row comparison. Claims are in [`super::claims`].

use std::time::Duration;

use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CALLBACKS_CHANNEL, JOBS_CHANNEL, PgStore, at, claims, corrupt, group_commit};
use crate::domain::attachment::Attachment;
use crate::domain::message::Message;
use crate::store::attachments::insert_attachments;
use crate::store::batcher::Batcher;
use crate::store::message_rows::{
    insert_attempts, insert_job, insert_message, message_from_row, move_job, update_message,
    upsert_thread,
};
use crate::store::message_store::MessageBackend;
use crate::store::queued::{Finish, Reserve};
use crate::store::{
    AcceptOutcome, CallbackResult, ClaimedCallback, ClaimedJob, IdempotencyClaim,
    IdempotencyRecord, JobNext, NewCallback, NewJob, Reservation, StoreResult, StoredResponse,
    ThreadCursor, ThreadOwner,
};

pub(super) use crate::store::message_rows::MESSAGE_COLUMNS;

/// How long an idempotency key holds (SPEC 4.1).
const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

impl MessageBackend for PgStore {
    const PROVIDER_ID_PICK: &'static str = "\n             ORDER BY created_at, uuid LIMIT 1";

    async fn accept_message(
        &self,
        message: &Message,
        attachments: &[Attachment],
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        // A key is claimed in a transaction of its own: claiming it may wait for another
        // node's transaction holding the same key, and a whole batch must not wait with it.
        // Attachments, megabytes each, go in a transaction of their own too.
        if idempotency.is_some() || !attachments.is_empty() {
            return accept_alone(&self.pool, message, attachments, job, idempotency, thread).await;
        }
        self.accepts
            .submit(group_commit::Accept {
                message: message.clone(),
                job,
                thread,
            })
            .await
    }

    async fn messages(&self, uuids: &[Uuid]) -> StoreResult<Vec<Message>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE uuid = ANY($1)");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuids)
            .fetch_all(&self.pool)
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
        // A row comparison walks the thread index (created_at DESC, uuid DESC) directly.
        let rows = match before {
            None => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE department_uuid = $1 AND customer_uuid = $2
                     ORDER BY created_at DESC, uuid DESC LIMIT $3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(department)
                    .bind(customer)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(cursor) => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE department_uuid = $1 AND customer_uuid = $2 AND (created_at, uuid) < ($3, $4)
                     ORDER BY created_at DESC, uuid DESC LIMIT $5"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(department)
                    .bind(customer)
                    .bind(at(cursor.created_at))
                    .bind(cursor.uuid)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(message_from_row).collect()
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        claims::claim_jobs(self, now, lease_for, limit).await
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
        claims::claim_callbacks(self, now, lease_for, limit).await
    }

    async fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
    ) -> StoreResult<bool> {
        self.callback_results
            .submit(super::callback_commit::CallbackDone {
                webhook_id: callback.webhook_id.clone(),
                lease_id: callback.lease.id,
                result,
            })
            .await
    }

    fn reservations(&self) -> &Batcher<Reserve, Reservation> {
        &self.reservations
    }

    async fn insert_callbacks(
        tx: &mut PgConnection,
        message: Uuid,
        callbacks: &[NewCallback],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        insert_callbacks(tx, message, callbacks, now).await
    }

    async fn callbacks_queued(tx: &mut PgConnection) -> StoreResult<()> {
        notify(tx, CALLBACKS_CHANNEL).await
    }
}

/// Appends callbacks to a message's sequence, inside the caller's transaction.
///
/// The message row is locked first, so two nodes adding callbacks to one message (a delivery
/// step and a receipt) number them one after the other: each reads the highest `seq` only
/// after the other has committed, and a later callback never gets a lower number.
pub(super) async fn insert_callbacks(
    conn: &mut PgConnection,
    message: Uuid,
    callbacks: &[NewCallback],
    now: OffsetDateTime,
) -> StoreResult<()> {
    if callbacks.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT 1 FROM messages WHERE uuid = $1 FOR UPDATE")
        .bind(message)
        .execute(&mut *conn)
        .await?;
    let last: i64 =
        sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM callbacks WHERE message_uuid = $1")
            .bind(message)
            .fetch_one(&mut *conn)
            .await?
            .try_get("last")?;
    for (seq, cb) in (last + 1..).zip(callbacks) {
        sqlx::query(
            "INSERT INTO callbacks (webhook_id, message_uuid, seq, url, credential, payload, state, due_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $7)",
        )
        .bind(&cb.webhook_id)
        .bind(message)
        .bind(seq)
        .bind(&cb.url)
        .bind(&cb.credential)
        .bind(&cb.payload)
        .bind(at(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Wakes the workers of every process listening on `channel` once the transaction commits
/// (and never if it rolls back).
pub(super) async fn notify(conn: &mut PgConnection, channel: &'static str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes one accepted message, its job, key and thread in a transaction of its own.
pub(super) async fn accept_alone(
    pool: &PgPool,
    message: &Message,
    attachments: &[Attachment],
    job: Option<NewJob>,
    idempotency: Option<&IdempotencyClaim>,
    thread: Option<ThreadOwner>,
) -> StoreResult<AcceptOutcome> {
    let now = at(message.created_at);
    let mut tx = pool.begin().await?;
    if let Some(claim) = idempotency {
        // The key's unique index decides between racing requests on any node: the second
        // insert waits for the first transaction and then conflicts. A key past its window
        // is taken over in the same statement; a live one is left alone (but locked, so
        // the read below sees the record that won).
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (credential, key, request_hash, message_uuid, response_status, response_body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (credential, key) DO UPDATE SET request_hash = excluded.request_hash,
                 message_uuid = excluded.message_uuid, response_status = excluded.response_status,
                 response_body = excluded.response_body, created_at = excluded.created_at
             WHERE idempotency_keys.created_at <= $8
             RETURNING 1",
        )
        .bind(&claim.credential)
        .bind(&claim.key)
        .bind(&claim.request_hash)
        .bind(message.uuid)
        .bind(claim.response.as_ref().map(|r| i32::from(r.status)))
        .bind(claim.response.as_ref().map(|r| r.body.as_str()))
        .bind(now)
        .bind(now - IDEMPOTENCY_WINDOW)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_none() {
            let r = sqlx::query(
                "SELECT request_hash, message_uuid, response_status, response_body FROM idempotency_keys
                 WHERE credential = $1 AND key = $2",
            )
            .bind(&claim.credential)
            .bind(&claim.key)
            .fetch_one(&mut *tx)
            .await?;
            let status: Option<i32> = r.try_get("response_status")?;
            let body: Option<String> = r.try_get("response_body")?;
            let response = match status.zip(body) {
                Some((s, body)) => Some(StoredResponse {
                    status: u16::try_from(s)
                        .map_err(|_| corrupt("response status", &s.to_string()))?,
                    body,
                }),
                None => None,
            };
            return Ok(AcceptOutcome::Existing(IdempotencyRecord {
                request_hash: r.try_get("request_hash")?,
                message_uuid: r.try_get("message_uuid")?,
                response,
            }));
        }
    }
    insert_message::<PgStore>(&mut tx, message).await?;
    insert_attachments::<PgStore>(&mut tx, message.uuid, attachments).await?;
    if let Some(job) = job {
        insert_job::<PgStore>(&mut tx, message.uuid, &job).await?;
        // A leased job is being sent inline by this request: no worker could take it.
        if job.lease.is_none() {
            notify(&mut tx, JOBS_CHANNEL).await?;
        }
    }
    if let Some(t) = thread {
        upsert_thread::<PgStore>(&mut tx, &t, now).await?;
    }
    tx.commit().await?;
    Ok(AcceptOutcome::Accepted)
}

/// One delivery step's result in a transaction of its own; false (nothing written) when the
/// job's lease is no longer held.
pub(super) async fn finish_alone(
    pool: &PgPool,
    f: &crate::store::queued::Finish,
) -> StoreResult<bool> {
    let crate::store::queued::Finish {
        job,
        update,
        attempts,
        next,
        now,
    } = f;
    let now = at(*now);
    let uuid = job.message_uuid;
    let mut tx = pool.begin().await?;
    // Locking the job row keeps a claimer on another node from taking it over (its lease
    // expiring right now) until this step's result is written.
    let held = sqlx::query(
        "SELECT 1 FROM delivery_jobs WHERE message_uuid = $1 AND lease_id = $2 FOR UPDATE",
    )
    .bind(uuid)
    .bind(job.lease.id)
    .fetch_optional(&mut *tx)
    .await?;
    if held.is_none() {
        return Ok(false);
    }
    update_message::<PgStore>(&mut tx, uuid, update, now).await?;
    insert_attempts::<PgStore>(&mut tx, uuid, attempts).await?;
    insert_callbacks(&mut tx, uuid, &update.callbacks, now).await?;
    if !update.callbacks.is_empty() {
        notify(&mut tx, CALLBACKS_CHANNEL).await?;
    }
    move_job::<PgStore>(&mut tx, uuid, *next).await?;
    // A retry due later is found by polling; only one due now is worth a wake-up.
    if let JobNext::Retry { due_at, .. } = *next
        && at(due_at) <= now
    {
        notify(&mut tx, JOBS_CHANNEL).await?;
    }
    tx.commit().await?;
    Ok(true)
}
