//! Message rows written and read once for both backends: a message, its job and thread, its
//! attempts, callbacks and outbox entries, and what a finished step does to its job.

use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Query, Row, corrupt};
use super::{
    AttemptRecord, CallbackRecord, JobNext, MessageUpdate, NewJob, OutboxEntry, StoreResult,
    ThreadOwner,
};
use crate::domain::codes::ErrorCode;
use crate::domain::message::{
    Direction, Message, MessageError, MessageStatus, Protocol, Purpose, Recipient,
};

pub(crate) const MESSAGE_COLUMNS: &str = "uuid, dealer_uuid, department_uuid, customer_uuid, user_uuid, credential, direction, protocol, purpose, is_manual, body, subject, recipient, cc, bcc, options, override_optout, callback_url, callback_metadata, request_uuid, status, error_code, error_description, warnings, provider_message_id, composed_body, sender, created_at, updated_at, scheduled_for, html_body, attachments";

/// The statuses a receipt never moves a message out of.
pub(crate) const FINAL_STATUSES: &str =
    "('DELIVERED', 'UNDELIVERED', 'FAILED', 'EXPIRED', 'CANCELLED')";

/// A row of [`MESSAGE_COLUMNS`].
pub(crate) fn message_from_row(r: &impl Row) -> StoreResult<Message> {
    let direction: String = r.field("direction")?;
    let protocol: String = r.field("protocol")?;
    let purpose: String = r.field("purpose")?;
    let status: String = r.field("status")?;
    let error_code: Option<String> = r.field("error_code")?;
    let error_description: Option<String> = r.field("error_description")?;
    let protocol = Protocol::parse(&protocol).ok_or_else(|| corrupt("protocol", &protocol))?;
    let recipient: String = r.field("recipient")?;
    Ok(Message {
        uuid: r.uuid("uuid")?,
        dealer_uuid: r.uuid("dealer_uuid")?,
        department_uuid: r.uuid("department_uuid")?,
        customer_uuid: r.opt_uuid("customer_uuid")?,
        user_uuid: r.opt_uuid("user_uuid")?,
        credential: r.field("credential")?,
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        protocol,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("purpose", &purpose))?,
        is_manual: r.field("is_manual")?,
        body: r.field("body")?,
        subject: r.field("subject")?,
        recipient: Recipient::parse(protocol, &recipient)
            .ok_or_else(|| corrupt("recipient", &recipient))?,
        cc: r.json("cc")?,
        bcc: r.json("bcc")?,
        options: r.json("options")?,
        override_optout: r.field("override_optout")?,
        callback_url: r.field("callback_url")?,
        callback_metadata: r.json("callback_metadata")?,
        request_uuid: r.uuid("request_uuid")?,
        status: MessageStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        error: match error_code {
            Some(code) => Some(MessageError {
                code: ErrorCode::parse(&code).ok_or_else(|| corrupt("error_code", &code))?,
                description: error_description.unwrap_or_default(),
            }),
            None => None,
        },
        warnings: r.json("warnings")?,
        provider_message_id: r.field("provider_message_id")?,
        composed_body: r.field("composed_body")?,
        sender: r.field("sender")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        held_until: r.opt_time("scheduled_for")?,
        html_body: r.field("html_body")?,
        attachments: r.json("attachments")?,
    })
}

/// Writes one message, inside the caller's transaction.
pub(crate) async fn insert_message<B: Backend>(tx: &mut B::Conn, m: &Message) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)"
    );
    B::query(sqlx::AssertSqlSafe(sql))
        .uuid(m.uuid)
        .uuid(m.dealer_uuid)
        .uuid(m.department_uuid)
        .opt_uuid(m.customer_uuid)
        .opt_uuid(m.user_uuid)
        .bind(&m.credential)
        .bind(m.direction.as_str())
        .bind(m.protocol.as_str())
        .bind(m.purpose.as_str())
        .bind(m.is_manual)
        .bind(&m.body)
        .bind(&m.subject)
        .bind(m.recipient.as_str())
        .json(&m.cc)?
        .json(&m.bcc)?
        .json(&m.options)?
        .bind(m.override_optout)
        .bind(&m.callback_url)
        .json(&m.callback_metadata)?
        .uuid(m.request_uuid)
        .bind(m.status.as_str())
        .bind(m.error.as_ref().map(|e| e.code.as_str()))
        .bind(m.error.as_ref().map(|e| e.description.as_str()))
        .json(&m.warnings)?
        .bind(&m.provider_message_id)
        .bind(&m.composed_body)
        .bind(&m.sender)
        .time(m.created_at)
        .time(m.updated_at)
        .opt_time(m.held_until)
        .bind(&m.html_body)
        .json(&m.attachments)?
        .execute(tx)
        .await?;
    Ok(())
}

/// Writes an accepted message's delivery job.
pub(crate) async fn insert_job<B: Backend>(
    tx: &mut B::Conn,
    message: Uuid,
    job: &NewJob,
) -> StoreResult<()> {
    B::query(
        "INSERT INTO delivery_jobs (message_uuid, due_at, attempts, lease_id, lease_expires_at) VALUES ($1, $2, 0, $3, $4)",
    )
    .uuid(message)
    .time(job.due_at)
    .opt_uuid(job.lease.map(|l| l.id))
    .opt_time(job.lease.map(|l| l.expires_at))
    .execute(tx)
    .await?;
    Ok(())
}

/// Records who owns the thread after an accepted message (SPEC 1).
pub(crate) async fn upsert_thread<B: Backend>(
    tx: &mut B::Conn,
    t: &ThreadOwner,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let sql = if t.delegate {
        "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET owner_user_uuid = excluded.owner_user_uuid, updated_at = excluded.updated_at"
    } else {
        "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET updated_at = excluded.updated_at"
    };
    B::query(sql)
        .uuid(t.department_uuid)
        .uuid(t.customer_uuid)
        .uuid(t.user_uuid)
        .time(now)
        .execute(tx)
        .await?;
    Ok(())
}

/// Appends a step's attempts to the message's history.
/// Writes what a delivery step's result changes on its message row: each field only when the
/// update gives it (an error replaces code and description together).
pub(crate) async fn update_message<B: Backend>(
    tx: &mut B::Conn,
    uuid: Uuid,
    update: &MessageUpdate,
    now: OffsetDateTime,
) -> StoreResult<()> {
    B::query(
        "UPDATE messages SET status = COALESCE($2, status),
             error_code = CASE WHEN CAST($3 AS TEXT) IS NULL THEN error_code ELSE $3 END,
             error_description = CASE WHEN CAST($3 AS TEXT) IS NULL THEN error_description ELSE $4 END,
             provider_message_id = COALESCE($5, provider_message_id),
             composed_body = COALESCE($6, composed_body),
             sender = COALESCE($7, sender),
             updated_at = $8,
             scheduled_for = COALESCE($9, scheduled_for)
         WHERE uuid = $1",
    )
    .uuid(uuid)
    .bind(update.status.map(MessageStatus::as_str))
    .bind(update.error.as_ref().map(|e| e.code.as_str()))
    .bind(update.error.as_ref().map(|e| e.description.as_str()))
    .bind(&update.provider_message_id)
    .bind(&update.composed_body)
    .bind(&update.sender)
    .time(now)
    .opt_time(update.held_until)
    .execute(tx)
    .await?;
    Ok(())
}

pub(crate) async fn insert_attempts<B: Backend>(
    tx: &mut B::Conn,
    message: Uuid,
    attempts: &[AttemptRecord],
) -> StoreResult<()> {
    for a in attempts {
        B::query(
            "INSERT INTO delivery_attempts (message_uuid, attempt, at, outcome, error_code, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .uuid(message)
        .bind(i64::from(a.attempt))
        .time(a.at)
        .bind(&a.outcome)
        .bind(&a.error_code)
        .bind(&a.detail)
        .execute(tx)
        .await?;
    }
    Ok(())
}

/// What a finished step does to its job: gone, parked until a time, or due again later.
pub(crate) async fn move_job<B: Backend>(
    tx: &mut B::Conn,
    message: Uuid,
    next: JobNext,
) -> StoreResult<()> {
    let query = match next {
        JobNext::Done => B::query("DELETE FROM delivery_jobs WHERE message_uuid = $1").uuid(message),
        JobNext::Park { until } => B::query(
            "UPDATE delivery_jobs SET due_at = $2, lease_id = NULL, lease_expires_at = NULL,
                 in_doubt_since = NULL
             WHERE message_uuid = $1",
        )
        .uuid(message)
        .time(until),
        JobNext::Retry {
            due_at,
            in_doubt_since,
        } => B::query(
            "UPDATE delivery_jobs SET due_at = $2, attempts = attempts + 1, lease_id = NULL, lease_expires_at = NULL,
                 in_doubt_since = $3
             WHERE message_uuid = $1",
        )
        .uuid(message)
        .time(due_at)
        .opt_time(in_doubt_since),
    };
    query.execute(tx).await?;
    Ok(())
}

/// A row of [`super::CALLBACK_COLUMNS`].
pub(crate) fn callback_from_row(r: &impl Row) -> StoreResult<CallbackRecord> {
    Ok(CallbackRecord {
        webhook_id: r.field("webhook_id")?,
        seq: r.count("seq")?,
        url: r.field("url")?,
        state: r.field("state")?,
        attempts: r.count("attempts")?,
        last_result: r.field("last_result")?,
        payload: r.field("payload")?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn attempt_from_row(r: &impl Row) -> StoreResult<AttemptRecord> {
    Ok(AttemptRecord {
        attempt: r.count("attempt")?,
        at: r.time("at")?,
        outcome: r.field("outcome")?,
        error_code: r.field("error_code")?,
        detail: r.field("detail")?,
    })
}

pub(crate) fn outbox_from_row(r: &impl Row) -> StoreResult<OutboxEntry> {
    Ok(OutboxEntry {
        message_uuid: r.uuid("message_uuid")?,
        protocol: r.field("protocol")?,
        from: r.field("sender")?,
        to: r.field("recipient")?,
        cc: r.json("cc")?,
        bcc: r.json("bcc")?,
        subject: r.field("subject")?,
        body: r.field("body")?,
        media_urls: r.json("media_urls")?,
        html_body: r.field("html_body")?,
        attachments: r.json("attachments")?,
        sent_at: r.time("sent_at")?,
    })
}
