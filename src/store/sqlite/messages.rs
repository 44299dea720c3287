use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::directory::department_from_row;
use super::{SqliteStore, corrupt, from_ms, ms, parse_uuid};
use crate::domain::PhoneNumber;
use crate::domain::directory::Department;
use crate::domain::message::{Direction, Message, MessageError, MessageStatus, Protocol, Purpose};
use crate::store::{
    AcceptOutcome, AttemptRecord, CALLBACK_COLUMNS, CallbackRecord, CallbackResult,
    ClaimedCallback, ClaimedJob, Doubt, IdempotencyClaim, IdempotencyRecord, JobNext, Lease,
    MessageStore, MessageUpdate, NewCallback, NewJob, OutboxEntry, Reservation, SendReservation,
    StoreError, StoreResult, StoredResponse, ThreadCursor, ThreadOwner,
};

/// How long an idempotency key holds (SPEC 4.1).
const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;

const FINAL_STATUSES: &str = "('DELIVERED', 'UNDELIVERED', 'FAILED', 'EXPIRED', 'CANCELLED')";

pub(super) const MESSAGE_COLUMNS: &str = "uuid, dealer_uuid, department_uuid, customer_uuid, user_uuid, credential, direction, protocol, purpose, is_manual, body, subject, recipient, cc, bcc, options, override_optout, callback_url, callback_metadata, request_uuid, status, error_code, error_description, warnings, provider_message_id, composed_body, sender, created_at, updated_at";

pub(super) fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

fn opt_uuid(value: Option<String>) -> StoreResult<Option<Uuid>> {
    value.as_deref().map(parse_uuid).transpose()
}

pub(super) fn message_from_row(r: &SqliteRow) -> StoreResult<Message> {
    let direction: String = r.get("direction");
    let protocol: String = r.get("protocol");
    let purpose: String = r.get("purpose");
    let status: String = r.get("status");
    let error_code: Option<String> = r.get("error_code");
    Ok(Message {
        uuid: parse_uuid(r.get("uuid"))?,
        dealer_uuid: parse_uuid(r.get("dealer_uuid"))?,
        department_uuid: parse_uuid(r.get("department_uuid"))?,
        customer_uuid: opt_uuid(r.get("customer_uuid"))?,
        user_uuid: opt_uuid(r.get("user_uuid"))?,
        credential: r.get("credential"),
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        protocol: Protocol::parse(&protocol).ok_or_else(|| corrupt("protocol", &protocol))?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("purpose", &purpose))?,
        is_manual: r.get("is_manual"),
        body: r.get("body"),
        subject: r.get("subject"),
        recipient: r.get("recipient"),
        cc: from_json(r.get("cc"))?,
        bcc: from_json(r.get("bcc"))?,
        options: from_json(r.get("options"))?,
        override_optout: r.get("override_optout"),
        callback_url: r.get("callback_url"),
        callback_metadata: from_json(r.get("callback_metadata"))?,
        request_uuid: parse_uuid(r.get("request_uuid"))?,
        status: MessageStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        error: error_code.map(|code| MessageError {
            code,
            description: r
                .get::<Option<String>, _>("error_description")
                .unwrap_or_default(),
        }),
        warnings: from_json(r.get("warnings"))?,
        provider_message_id: r.get("provider_message_id"),
        composed_body: r.get("composed_body"),
        sender: r.get("sender"),
        created_at: from_ms(r.get("created_at"))?,
        updated_at: from_ms(r.get("updated_at"))?,
    })
}

async fn insert_message(tx: &mut SqliteConnection, m: &Message) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.uuid.to_string())
        .bind(m.dealer_uuid.to_string())
        .bind(m.department_uuid.to_string())
        .bind(m.customer_uuid.map(|u| u.to_string()))
        .bind(m.user_uuid.map(|u| u.to_string()))
        .bind(&m.credential)
        .bind(m.direction.as_str())
        .bind(m.protocol.as_str())
        .bind(m.purpose.as_str())
        .bind(m.is_manual)
        .bind(&m.body)
        .bind(&m.subject)
        .bind(&m.recipient)
        .bind(json(&m.cc)?)
        .bind(json(&m.bcc)?)
        .bind(json(&m.options)?)
        .bind(m.override_optout)
        .bind(&m.callback_url)
        .bind(json(&m.callback_metadata)?)
        .bind(m.request_uuid.to_string())
        .bind(m.status.as_str())
        .bind(m.error.as_ref().map(|e| e.code.clone()))
        .bind(m.error.as_ref().map(|e| e.description.clone()))
        .bind(json(&m.warnings)?)
        .bind(&m.provider_message_id)
        .bind(&m.composed_body)
        .bind(&m.sender)
        .bind(ms(m.created_at))
        .bind(ms(m.updated_at))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub(super) async fn insert_callbacks(
    tx: &mut SqliteConnection,
    message: Uuid,
    callbacks: &[NewCallback],
    now: OffsetDateTime,
) -> StoreResult<()> {
    for cb in callbacks {
        sqlx::query(
            "INSERT INTO callbacks (webhook_id, message_uuid, seq, url, credential, payload, state, due_at, created_at)
             VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM callbacks WHERE message_uuid = $2), $3, $4, $5, 'PENDING', $6, $6)",
        )
        .bind(&cb.webhook_id)
        .bind(message.to_string())
        .bind(&cb.url)
        .bind(&cb.credential)
        .bind(&cb.payload)
        .bind(ms(now))
        .execute(&mut *tx)
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
    let uuid = job.message_uuid.to_string();
    let held = sqlx::query("SELECT 1 FROM delivery_jobs WHERE message_uuid = $1 AND lease_id = $2")
        .bind(&uuid)
        .bind(job.lease.id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    if held.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE messages SET status = COALESCE($2, status),
             error_code = CASE WHEN $3 IS NULL THEN error_code ELSE $3 END,
             error_description = CASE WHEN $3 IS NULL THEN error_description ELSE $4 END,
             provider_message_id = COALESCE($5, provider_message_id),
             composed_body = COALESCE($6, composed_body),
             sender = COALESCE($7, sender),
             updated_at = $8
         WHERE uuid = $1",
    )
    .bind(&uuid)
    .bind(update.status.map(MessageStatus::as_str))
    .bind(update.error.as_ref().map(|e| e.code.clone()))
    .bind(update.error.as_ref().map(|e| e.description.clone()))
    .bind(&update.provider_message_id)
    .bind(&update.composed_body)
    .bind(&update.sender)
    .bind(ms(now))
    .execute(&mut *tx)
    .await?;
    for a in attempts {
        sqlx::query(
            "INSERT INTO delivery_attempts (message_uuid, attempt, at, outcome, error_code, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&uuid)
        .bind(i64::from(a.attempt))
        .bind(ms(a.at))
        .bind(&a.outcome)
        .bind(&a.error_code)
        .bind(&a.detail)
        .execute(&mut *tx)
        .await?;
    }
    insert_callbacks(tx, job.message_uuid, &update.callbacks, now).await?;
    match next {
        JobNext::Done => {
            sqlx::query("DELETE FROM delivery_jobs WHERE message_uuid = $1")
                .bind(&uuid)
                .execute(&mut *tx)
                .await?;
        }
        JobNext::Park { until } => {
            sqlx::query(
                "UPDATE delivery_jobs SET due_at = $2, lease_id = NULL, lease_expires_at = NULL,
                     in_doubt_since = NULL
                 WHERE message_uuid = $1",
            )
            .bind(&uuid)
            .bind(ms(until))
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
            .bind(&uuid)
            .bind(ms(due_at))
            .bind(in_doubt_since.map(ms))
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(true)
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn accept_message(
        &self,
        message: &Message,
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
            })
            .await
    }

    async fn complete_idempotency(
        &self,
        credential: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let mut tx = self.write_statement().await?;
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE credential = $1 AND key = $2",
        )
        .bind(credential)
        .bind(key)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn message(&self, uuid: Uuid) -> StoreResult<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE uuid = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(message_from_row).transpose()
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(department.to_string())
            .bind(customer.to_string())
            .bind(before.map(|c| ms(c.created_at)))
            .bind(before.map(|c| c.uuid.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn thread_owner(&self, department: Uuid, customer: Uuid) -> StoreResult<Option<Uuid>> {
        let row = sqlx::query(
            "SELECT owner_user_uuid FROM threads WHERE department_uuid = $1 AND customer_uuid = $2",
        )
        .bind(department.to_string())
        .bind(customer.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| parse_uuid(r.get("owner_user_uuid")))
            .transpose()
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
        let rows = sqlx::query(
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
        .bind(lease.id.to_string())
        .bind(ms(lease.expires_at))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                let retaken: bool = r.get("retaken");
                let since = r
                    .get::<Option<i64>, _>("in_doubt_since")
                    .map(from_ms)
                    .transpose()?;
                Ok(ClaimedJob {
                    message_uuid: parse_uuid(r.get("message_uuid"))?,
                    lease,
                    attempts: r.get::<i64, _>("attempts") as u32,
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
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code),
                 error_description = COALESCE($4, error_description), updated_at = $5
             WHERE uuid = $1 AND status NOT IN {FINAL_STATUSES}"
        );
        let moved = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(message.to_string())
            .bind(status.as_str())
            .bind(error.as_ref().map(|e| e.code.clone()))
            .bind(error.as_ref().map(|e| e.description.clone()))
            .bind(ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if moved {
            insert_callbacks(&mut tx, message, callback.as_slice(), now).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    async fn message_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider_message_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provider_message_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn attempts(&self, message: Uuid) -> StoreResult<Vec<AttemptRecord>> {
        let rows = sqlx::query(
            "SELECT attempt, at, outcome, error_code, detail FROM delivery_attempts WHERE message_uuid = $1 ORDER BY id",
        )
        .bind(message.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    attempt: r.get::<i64, _>("attempt") as u32,
                    at: from_ms(r.get("at"))?,
                    outcome: r.get("outcome"),
                    error_code: r.get("error_code"),
                    detail: r.get("detail"),
                })
            })
            .collect()
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM delivery_jobs")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.get::<i64, _>("n") as u64)
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
        let rows = sqlx::query(
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
        .bind(lease.id.to_string())
        .bind(ms(lease.expires_at))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedCallback {
                    webhook_id: r.get("webhook_id"),
                    message_uuid: parse_uuid(r.get("message_uuid"))?,
                    url: r.get("url"),
                    credential: r.get("credential"),
                    payload: r.get("payload"),
                    attempts: r.get::<i64, _>("attempts") as u32,
                    created_at: from_ms(r.get("created_at"))?,
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
                lease_id: callback.lease.id.to_string(),
                result,
            })
            .await
    }

    async fn callbacks(&self, message: Uuid) -> StoreResult<Vec<CallbackRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE message_uuid = $1 ORDER BY seq"
        )))
        .bind(message.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(callback_from_row).collect()
    }

    async fn reserve_send(&self, r: &SendReservation<'_>) -> StoreResult<Reservation> {
        self.reservations
            .submit(crate::store::queued::Reserve::of(r))
            .await
    }

    async fn record_outbox(&self, e: &OutboxEntry) -> StoreResult<()> {
        let mut tx = self.write_statement().await?;
        sqlx::query(
            "INSERT INTO outbox (message_uuid, protocol, sender, recipient, cc, bcc, subject, body, media_urls, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (message_uuid) DO NOTHING",
        )
        .bind(e.message_uuid.to_string())
        .bind(&e.protocol)
        .bind(&e.from)
        .bind(&e.to)
        .bind(json(&e.cc)?)
        .bind(json(&e.bcc)?)
        .bind(&e.subject)
        .bind(&e.body)
        .bind(json(&e.media_urls)?)
        .bind(ms(e.sent_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_sent(&self, message: Uuid) -> StoreResult<bool> {
        let found = sqlx::query("SELECT 1 FROM outbox WHERE message_uuid = $1")
            .bind(message.to_string())
            .fetch_optional(&self.reader)
            .await?;
        Ok(found.is_some())
    }

    async fn outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, message_uuid, protocol, sender, recipient, cc, bcc, subject, body, media_urls, sent_at
                            FROM outbox ORDER BY id DESC LIMIT $1) ORDER BY id",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEntry {
                    message_uuid: parse_uuid(r.get("message_uuid"))?,
                    protocol: r.get("protocol"),
                    from: r.get("sender"),
                    to: r.get("recipient"),
                    cc: from_json(r.get("cc"))?,
                    bcc: from_json(r.get("bcc"))?,
                    subject: r.get("subject"),
                    body: r.get("body"),
                    media_urls: from_json(r.get("media_urls"))?,
                    sent_at: from_ms(r.get("sent_at"))?,
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
        .fetch_all(&self.reader)
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
        let found: Option<String> = sqlx::query_scalar(
            "SELECT department_uuid FROM messages
             WHERE customer_uuid = $3 AND recipient = $4 AND direction = 'OUTGOING' AND protocol = 'TEXT'
               AND department_uuid IN (SELECT uuid FROM departments
                                       WHERE text_sender_number = $1 AND dealer_uuid = $2)
             ORDER BY created_at DESC, uuid DESC LIMIT 1",
        )
        .bind(sender.as_str())
        .bind(dealer.to_string())
        .bind(customer.to_string())
        .bind(phone.as_str())
        .fetch_optional(&self.reader)
        .await?;
        found.as_deref().map(parse_uuid).transpose()
    }
}

/// Writes one accepted message with its job, idempotency key and thread owner inside the
/// caller's transaction (a savepoint of a group commit).
pub(super) async fn accept_in(
    conn: &mut SqliteConnection,
    message: &Message,
    job: Option<NewJob>,
    idempotency: Option<&IdempotencyClaim>,
    thread: Option<ThreadOwner>,
) -> StoreResult<AcceptOutcome> {
    let now = ms(message.created_at);
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
    insert_message(conn, message).await?;
    if let Some(job) = job {
        sqlx::query(
            "INSERT INTO delivery_jobs (message_uuid, due_at, attempts, lease_id, lease_expires_at) VALUES ($1, $2, 0, $3, $4)",
        )
        .bind(message.uuid.to_string())
        .bind(ms(job.due_at))
        .bind(job.lease.map(|l| l.id.to_string()))
        .bind(job.lease.map(|l| ms(l.expires_at)))
        .execute(&mut *conn)
        .await?;
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
            .bind(t.department_uuid.to_string())
            .bind(t.customer_uuid.to_string())
            .bind(t.user_uuid.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(AcceptOutcome::Accepted)
}

pub(super) fn callback_from_row(r: &sqlx::sqlite::SqliteRow) -> StoreResult<CallbackRecord> {
    let count = |column: &str| -> StoreResult<u32> {
        let v: i64 = r.try_get(column)?;
        u32::try_from(v).map_err(|_| corrupt(column, &v.to_string()))
    };
    Ok(CallbackRecord {
        webhook_id: r.try_get("webhook_id")?,
        seq: count("seq")?,
        url: r.try_get("url")?,
        state: r.try_get("state")?,
        attempts: count("attempts")?,
        last_result: r.try_get("last_result")?,
        payload: r.try_get("payload")?,
        created_at: from_ms(r.try_get("created_at")?)?,
    })
}
