use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::directory::department_from_row;
use super::{CALLBACKS_CHANNEL, JOBS_CHANNEL, PgStore, at, corrupt, from_jsonb, group_commit};
use crate::domain::PhoneNumber;
use crate::domain::directory::Department;
use crate::domain::message::{Direction, Message, MessageError, MessageStatus, Protocol, Purpose};
use crate::store::{
    AcceptOutcome, AttemptRecord, CALLBACK_COLUMNS, CallbackRecord, CallbackResult,
    ClaimedCallback, ClaimedJob, Doubt, IdempotencyClaim, IdempotencyRecord, JobNext, Lease,
    MessageStore, MessageUpdate, NewCallback, NewJob, OutboxEntry, Reservation, SendReservation,
    StoreResult, StoredResponse, ThreadCursor, ThreadOwner,
};

/// How long an idempotency key holds (SPEC 4.1).
const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

const FINAL_STATUSES: &str = "('DELIVERED', 'UNDELIVERED', 'FAILED', 'EXPIRED', 'CANCELLED')";

pub(super) const MESSAGE_COLUMNS: &str = "uuid, dealer_uuid, department_uuid, customer_uuid, user_uuid, credential, direction, protocol, purpose, is_manual, body, subject, recipient, cc, bcc, options, override_optout, callback_url, callback_metadata, request_uuid, status, error_code, error_description, warnings, provider_message_id, composed_body, sender, created_at, updated_at";

pub(super) fn message_from_row(r: &PgRow) -> StoreResult<Message> {
    let direction: String = r.try_get("direction")?;
    let protocol: String = r.try_get("protocol")?;
    let purpose: String = r.try_get("purpose")?;
    let status: String = r.try_get("status")?;
    let error_code: Option<String> = r.try_get("error_code")?;
    let error_description: Option<String> = r.try_get("error_description")?;
    Ok(Message {
        uuid: r.try_get("uuid")?,
        dealer_uuid: r.try_get("dealer_uuid")?,
        department_uuid: r.try_get("department_uuid")?,
        customer_uuid: r.try_get("customer_uuid")?,
        user_uuid: r.try_get("user_uuid")?,
        credential: r.try_get("credential")?,
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        protocol: Protocol::parse(&protocol).ok_or_else(|| corrupt("protocol", &protocol))?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("purpose", &purpose))?,
        is_manual: r.try_get("is_manual")?,
        body: r.try_get("body")?,
        subject: r.try_get("subject")?,
        recipient: r.try_get("recipient")?,
        cc: from_jsonb(r, "cc")?,
        bcc: from_jsonb(r, "bcc")?,
        options: from_jsonb(r, "options")?,
        override_optout: r.try_get("override_optout")?,
        callback_url: r.try_get("callback_url")?,
        callback_metadata: from_jsonb(r, "callback_metadata")?,
        request_uuid: r.try_get("request_uuid")?,
        status: MessageStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        error: error_code.map(|code| MessageError {
            code,
            description: error_description.unwrap_or_default(),
        }),
        warnings: from_jsonb(r, "warnings")?,
        provider_message_id: r.try_get("provider_message_id")?,
        composed_body: r.try_get("composed_body")?,
        sender: r.try_get("sender")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn insert_message(conn: &mut PgConnection, m: &Message) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.uuid)
        .bind(m.dealer_uuid)
        .bind(m.department_uuid)
        .bind(m.customer_uuid)
        .bind(m.user_uuid)
        .bind(&m.credential)
        .bind(m.direction.as_str())
        .bind(m.protocol.as_str())
        .bind(m.purpose.as_str())
        .bind(m.is_manual)
        .bind(&m.body)
        .bind(&m.subject)
        .bind(&m.recipient)
        .bind(Json(&m.cc))
        .bind(Json(&m.bcc))
        .bind(Json(&m.options))
        .bind(m.override_optout)
        .bind(&m.callback_url)
        .bind(Json(&m.callback_metadata))
        .bind(m.request_uuid)
        .bind(m.status.as_str())
        .bind(m.error.as_ref().map(|e| e.code.as_str()))
        .bind(m.error.as_ref().map(|e| e.description.as_str()))
        .bind(Json(&m.warnings))
        .bind(&m.provider_message_id)
        .bind(&m.composed_body)
        .bind(&m.sender)
        .bind(at(m.created_at))
        .bind(at(m.updated_at))
        .execute(conn)
        .await?;
    Ok(())
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

fn to_u32(value: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| corrupt(what, &value.to_string()))
}

#[async_trait]
impl MessageStore for PgStore {
    async fn accept_message(
        &self,
        message: &Message,
        job: Option<NewJob>,
        idempotency: Option<&IdempotencyClaim>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        // A key is claimed in a transaction of its own: claiming it may wait for another
        // node's transaction holding the same key, and a whole batch must not wait with it.
        if idempotency.is_some() {
            return accept_alone(&self.pool, message, job, idempotency, thread).await;
        }
        self.accepts
            .submit(group_commit::Accept {
                message: message.clone(),
                job,
                thread,
            })
            .await
    }

    async fn complete_idempotency(
        &self,
        credential: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE credential = $1 AND key = $2",
        )
        .bind(credential)
        .bind(key)
        .bind(i32::from(response.status))
        .bind(&response.body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn message(&self, uuid: Uuid) -> StoreResult<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE uuid = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
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

    async fn thread_owner(&self, department: Uuid, customer: Uuid) -> StoreResult<Option<Uuid>> {
        let row = sqlx::query(
            "SELECT owner_user_uuid FROM threads WHERE department_uuid = $1 AND customer_uuid = $2",
        )
        .bind(department)
        .bind(customer)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("owner_user_uuid")).transpose()?)
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let lease = Lease {
            id: Uuid::new_v4(),
            expires_at: at(now + lease_for),
        };
        // A leased job is also due again when its lease expires: leased rows leave the front of
        // the due order, so a claim does not step over every job in flight to find free ones.
        // Claimers on every node run this at once: SKIP LOCKED makes each pass over the rows
        // another has just locked, and a row whose lease another claimer committed meanwhile
        // is re-checked against its new lease and dropped. The candidates are picked in a
        // materialized CTE so the LIMIT applies once, however the UPDATE is planned.
        // A durable commit, unlike the other leases: a claim the database lost in a crash
        // would hide that its hand-over may have happened, and the job would be sent again
        // as if new instead of being reconciled (SPEC 6).
        let mut tx = self.pool.begin().await?;
        let mut rows = sqlx::query(
            "WITH due AS MATERIALIZED (
                 SELECT message_uuid, due_at FROM delivery_jobs
                 WHERE due_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
                 ORDER BY due_at, message_uuid LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE delivery_jobs j SET lease_id = $1, lease_expires_at = $2, due_at = $2,
                 retaken = (j.lease_id IS NOT NULL),
                 in_doubt_since = CASE WHEN j.lease_id IS NOT NULL THEN COALESCE(j.in_doubt_since, j.claimed_at)
                                       ELSE j.in_doubt_since END,
                 claimed_at = $3
             FROM due WHERE j.message_uuid = due.message_uuid
             RETURNING j.message_uuid, j.attempts, due.due_at, j.retaken, j.in_doubt_since",
        )
        .bind(lease.id)
        .bind(lease.expires_at)
        .bind(at(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        // RETURNING keeps no order: put the batch back in the order it was picked, which is
        // the order accepted for jobs due at the same moment (released opt-in waits).
        rows.sort_by_key(|r| {
            (
                r.try_get::<OffsetDateTime, _>("due_at").ok(),
                r.try_get::<Uuid, _>("message_uuid").ok(),
            )
        });
        rows.iter()
            .map(|r| {
                let retaken: bool = r.try_get("retaken")?;
                let since: Option<OffsetDateTime> = r.try_get("in_doubt_since")?;
                Ok(ClaimedJob {
                    message_uuid: r.try_get("message_uuid")?,
                    lease,
                    attempts: to_u32(r.try_get("attempts")?, "attempts")?,
                    doubt: (retaken || since.is_some()).then_some(Doubt { since, retaken }),
                })
            })
            .collect()
    }

    async fn finish_job(
        &self,
        job: &ClaimedJob,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
        next: JobNext,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.finishes
            .submit(crate::store::queued::Finish {
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
        let now = at(now);
        let mut tx = self.pool.begin().await?;
        // Receipts for one message racing on two nodes queue on the row lock; the second
        // re-checks the status the first left, so a final status is never moved.
        let sql = format!(
            "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code),
                 error_description = COALESCE($4, error_description), updated_at = $5
             WHERE uuid = $1 AND status NOT IN {FINAL_STATUSES}"
        );
        let moved = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(message)
            .bind(status.as_str())
            .bind(error.as_ref().map(|e| e.code.as_str()))
            .bind(error.as_ref().map(|e| e.description.as_str()))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if moved && let Some(callback) = callback {
            insert_callbacks(&mut tx, message, std::slice::from_ref(&callback), now).await?;
            notify(&mut tx, CALLBACKS_CHANNEL).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    async fn message_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider_message_id = $1
             ORDER BY created_at, uuid LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provider_message_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn attempts(&self, message: Uuid) -> StoreResult<Vec<AttemptRecord>> {
        let rows = sqlx::query(
            "SELECT attempt, at, outcome, error_code, detail FROM delivery_attempts WHERE message_uuid = $1 ORDER BY id",
        )
        .bind(message)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    attempt: to_u32(r.try_get("attempt")?, "attempt")?,
                    at: r.try_get("at")?,
                    outcome: r.try_get("outcome")?,
                    error_code: r.try_get("error_code")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM delivery_jobs")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        u64::try_from(n).map_err(|_| corrupt("queue depth", &n.to_string()))
    }

    async fn claim_callbacks(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCallback>> {
        let lease = Lease {
            id: Uuid::new_v4(),
            expires_at: at(now + lease_for),
        };
        // One callback of a message at a time, across every node, without a lock per message:
        // the only candidate of a message is its earliest PENDING callback (the NOT EXISTS),
        // and SKIP LOCKED hands that row to one claimer. A later callback becomes a candidate
        // only once the earlier one has left PENDING, which it does for good (DELIVERED or
        // FAILED, written by its lease holder); callbacks are numbered under the message's
        // row lock, so a new one never slips in before a pending one. A claimer reading an
        // older snapshot can therefore only see fewer candidates, never a second one, and a
        // row another claimer leased meanwhile is re-checked against its new lease. A leased
        // callback is due again when its lease expires (see `claim_jobs`).
        let mut tx = self.soft_tx().await?;
        let mut rows = sqlx::query(
            "WITH due AS MATERIALIZED (
                 SELECT c.webhook_id, c.due_at FROM callbacks c
                 WHERE c.state = 'PENDING' AND c.due_at <= $3
                   AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= $3)
                   AND NOT EXISTS (SELECT 1 FROM callbacks p
                                   WHERE p.message_uuid = c.message_uuid AND p.state = 'PENDING' AND p.seq < c.seq)
                 ORDER BY c.due_at LIMIT $4
                 FOR UPDATE OF c SKIP LOCKED)
             UPDATE callbacks cb SET lease_id = $1, lease_expires_at = $2, due_at = $2
             FROM due WHERE cb.webhook_id = due.webhook_id
             RETURNING cb.webhook_id, cb.message_uuid, cb.url, cb.credential, cb.payload, cb.attempts,
                       cb.created_at, due.due_at",
        )
        .bind(lease.id)
        .bind(lease.expires_at)
        .bind(at(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        // RETURNING keeps no order: put the batch back in the order it was picked, which is
        // the order accepted for jobs due at the same moment (released opt-in waits).
        rows.sort_by_key(|r| {
            (
                r.try_get::<OffsetDateTime, _>("due_at").ok(),
                r.try_get::<Uuid, _>("message_uuid").ok(),
            )
        });
        rows.iter()
            .map(|r| {
                Ok(ClaimedCallback {
                    webhook_id: r.try_get("webhook_id")?,
                    message_uuid: r.try_get("message_uuid")?,
                    url: r.try_get("url")?,
                    credential: r.try_get("credential")?,
                    payload: r.try_get("payload")?,
                    attempts: to_u32(r.try_get("attempts")?, "attempts")?,
                    created_at: r.try_get("created_at")?,
                    lease,
                })
            })
            .collect()
    }

    async fn finish_callback(
        &self,
        callback: &ClaimedCallback,
        result: CallbackResult,
        _now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.callback_results
            .submit(super::callback_commit::CallbackDone {
                webhook_id: callback.webhook_id.clone(),
                lease_id: callback.lease.id,
                result,
            })
            .await
    }

    async fn callbacks(&self, message: Uuid) -> StoreResult<Vec<CallbackRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE message_uuid = $1 ORDER BY seq"
        )))
        .bind(message)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(callback_from_row).collect()
    }

    async fn reserve_send(&self, r: &SendReservation<'_>) -> StoreResult<Reservation> {
        self.reservations
            .submit(crate::store::queued::Reserve::of(r))
            .await
    }

    async fn record_outbox(&self, e: &OutboxEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO outbox (message_uuid, protocol, sender, recipient, cc, bcc, subject, body, media_urls, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (message_uuid) DO NOTHING",
        )
        .bind(e.message_uuid)
        .bind(&e.protocol)
        .bind(&e.from)
        .bind(&e.to)
        .bind(Json(&e.cc))
        .bind(Json(&e.bcc))
        .bind(&e.subject)
        .bind(&e.body)
        .bind(Json(&e.media_urls))
        .bind(at(e.sent_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn outbox_sent(&self, message: Uuid) -> StoreResult<bool> {
        let found = sqlx::query("SELECT 1 FROM outbox WHERE message_uuid = $1")
            .bind(message)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, message_uuid, protocol, sender, recipient, cc, bcc, subject, body, media_urls, sent_at
                            FROM outbox ORDER BY id DESC LIMIT $1) AS newest ORDER BY id",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEntry {
                    message_uuid: r.try_get("message_uuid")?,
                    protocol: r.try_get("protocol")?,
                    from: r.try_get("sender")?,
                    to: r.try_get("recipient")?,
                    cc: from_jsonb(r, "cc")?,
                    bcc: from_jsonb(r, "bcc")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    media_urls: from_jsonb(r, "media_urls")?,
                    sent_at: r.try_get("sent_at")?,
                })
            })
            .collect()
    }

    async fn departments_by_sender(&self, number: &PhoneNumber) -> StoreResult<Vec<Department>> {
        let rows = sqlx::query(
            "SELECT uuid, dealer_uuid, name, settings, default_user_uuid FROM departments
             WHERE text_sender_number = $1 ORDER BY created_at, uuid",
        )
        .bind(number.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    async fn last_to_text(
        &self,
        sender: &PhoneNumber,
        dealer: Uuid,
        customer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Option<Uuid>> {
        // The thread index (department, customer, time) finds each department's newest.
        Ok(sqlx::query_scalar(
            "SELECT department_uuid FROM messages
             WHERE customer_uuid = $3 AND recipient = $4 AND direction = 'OUTGOING' AND protocol = 'TEXT'
               AND department_uuid IN (SELECT uuid FROM departments
                                       WHERE text_sender_number = $1 AND dealer_uuid = $2)
             ORDER BY created_at DESC, uuid DESC LIMIT 1",
        )
        .bind(sender.as_str())
        .bind(dealer)
        .bind(customer)
        .bind(phone.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// Writes one accepted message, its job, key and thread in a transaction of its own.
pub(super) async fn accept_alone(
    pool: &PgPool,
    message: &Message,
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
    insert_message(&mut tx, message).await?;
    if let Some(job) = job {
        sqlx::query(
            "INSERT INTO delivery_jobs (message_uuid, due_at, attempts, lease_id, lease_expires_at) VALUES ($1, $2, 0, $3, $4)",
        )
        .bind(message.uuid)
        .bind(at(job.due_at))
        .bind(job.lease.map(|l| l.id))
        .bind(job.lease.map(|l| at(l.expires_at)))
        .execute(&mut *tx)
        .await?;
        // A leased job is being sent inline by this request: no worker could take it.
        if job.lease.is_none() {
            notify(&mut tx, JOBS_CHANNEL).await?;
        }
    }
    if let Some(t) = thread {
        let sql = if t.delegate {
            "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET owner_user_uuid = excluded.owner_user_uuid, updated_at = excluded.updated_at"
        } else {
            "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET updated_at = excluded.updated_at"
        };
        sqlx::query(sql)
            .bind(t.department_uuid)
            .bind(t.customer_uuid)
            .bind(t.user_uuid)
            .bind(now)
            .execute(&mut *tx)
            .await?;
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
    sqlx::query(
        "UPDATE messages SET status = COALESCE($2, status),
             error_code = CASE WHEN $3::text IS NULL THEN error_code ELSE $3 END,
             error_description = CASE WHEN $3::text IS NULL THEN error_description ELSE $4 END,
             provider_message_id = COALESCE($5, provider_message_id),
             composed_body = COALESCE($6, composed_body),
             sender = COALESCE($7, sender),
             updated_at = $8
         WHERE uuid = $1",
    )
    .bind(uuid)
    .bind(update.status.map(MessageStatus::as_str))
    .bind(update.error.as_ref().map(|e| e.code.as_str()))
    .bind(update.error.as_ref().map(|e| e.description.as_str()))
    .bind(&update.provider_message_id)
    .bind(&update.composed_body)
    .bind(&update.sender)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for a in attempts {
        sqlx::query(
            "INSERT INTO delivery_attempts (message_uuid, attempt, at, outcome, error_code, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid)
        .bind(i64::from(a.attempt))
        .bind(at(a.at))
        .bind(&a.outcome)
        .bind(&a.error_code)
        .bind(&a.detail)
        .execute(&mut *tx)
        .await?;
    }
    insert_callbacks(&mut tx, uuid, &update.callbacks, now).await?;
    if !update.callbacks.is_empty() {
        notify(&mut tx, CALLBACKS_CHANNEL).await?;
    }
    match *next {
        JobNext::Done => {
            sqlx::query("DELETE FROM delivery_jobs WHERE message_uuid = $1")
                .bind(uuid)
                .execute(&mut *tx)
                .await?;
        }
        JobNext::Park { until } => {
            sqlx::query(
                "UPDATE delivery_jobs SET due_at = $2, lease_id = NULL, lease_expires_at = NULL,
                     in_doubt_since = NULL
                 WHERE message_uuid = $1",
            )
            .bind(uuid)
            .bind(at(until))
            .execute(&mut *tx)
            .await?;
        }
        JobNext::Retry {
            due_at,
            in_doubt_since,
        } => {
            sqlx::query(
                "UPDATE delivery_jobs SET due_at = $2, attempts = attempts + 1, lease_id = NULL, lease_expires_at = NULL,
                     in_doubt_since = $3
                 WHERE message_uuid = $1",
            )
            .bind(uuid)
            .bind(at(due_at))
            .bind(in_doubt_since.map(at))
            .execute(&mut *tx)
            .await?;
            // A retry due later is found by polling; only one due now is worth a wake-up.
            if at(due_at) <= now {
                notify(&mut tx, JOBS_CHANNEL).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) fn callback_from_row(r: &sqlx::postgres::PgRow) -> StoreResult<CallbackRecord> {
    Ok(CallbackRecord {
        webhook_id: r.try_get("webhook_id")?,
        seq: to_u32(r.try_get("seq")?, "seq")?,
        url: r.try_get("url")?,
        state: r.try_get("state")?,
        attempts: to_u32(r.try_get("attempts")?, "attempts")?,
        last_result: r.try_get("last_result")?,
        payload: r.try_get("payload")?,
        created_at: r.try_get("created_at")?,
    })
}
