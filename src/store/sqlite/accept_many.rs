//! Many accepted messages written at once: the fast path of group commit. The rows travel as
//! JSON arrays, one per table, unpacked by SQLite's `json_each`, and every statement goes to
//! SQLite's thread in one query string: one hand-off for the whole batch however many messages
//! it carries, and one prepared text whatever its size (cached once, never parsed again).
//! Messages with an idempotency key are not written here (each needs its own check first).

use serde::Serialize;
use sqlx::SqliteConnection;

use super::messages::json;
use super::ms;
use crate::domain::message::Message;
use crate::store::{NewJob, StoreResult, ThreadOwner};

/// What one accepted message writes (its key, if any, is handled elsewhere).
pub(super) struct Accepted<'a> {
    pub message: &'a Message,
    pub job: Option<NewJob>,
    pub thread: Option<ThreadOwner>,
}

const ACCEPT_MANY: &str = concat!(
    // $1: the messages, in order.
    "INSERT INTO messages (uuid, dealer_uuid, department_uuid, customer_uuid, user_uuid,
         credential, direction, protocol, purpose, is_manual, body, subject, recipient, cc, bcc,
         options, override_optout, callback_url, callback_metadata, request_uuid, status,
         error_code, error_description, warnings, provider_message_id, composed_body, sender,
         created_at, updated_at)
     SELECT m.value ->> 'uuid', m.value ->> 'dealer', m.value ->> 'department',
            m.value ->> 'customer', m.value ->> 'user', m.value ->> 'credential',
            m.value ->> 'direction', m.value ->> 'protocol', m.value ->> 'purpose',
            m.value ->> 'manual', m.value ->> 'body', m.value ->> 'subject',
            m.value ->> 'recipient', m.value ->> 'cc', m.value ->> 'bcc', m.value ->> 'options',
            m.value ->> 'override', m.value ->> 'callback_url', m.value ->> 'metadata',
            m.value ->> 'request', m.value ->> 'status', m.value ->> 'code',
            m.value ->> 'description', m.value ->> 'warnings', m.value ->> 'provider_id',
            m.value ->> 'composed', m.value ->> 'sender', m.value ->> 'created',
            m.value ->> 'updated'
     FROM json_each($1) AS m ORDER BY m.key;",
    // $2: their jobs.
    "INSERT INTO delivery_jobs (message_uuid, due_at, attempts, lease_id, lease_expires_at)
     SELECT j.value ->> 'uuid', j.value ->> 'due', 0, j.value ->> 'lease', j.value ->> 'expires'
     FROM json_each($2) AS j ORDER BY j.key;",
    // $3: threads of non-delegating senders first: they never change an owner, so the owner
    // ends as the last delegating sender's, exactly as if the messages were written one by one.
    // A thread's rows update it in turn; `MAX` keeps the newest time across both statements.
    "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at)
     SELECT t.value ->> 'department', t.value ->> 'customer', t.value ->> 'user', t.value ->> 'at'
     FROM json_each($3) AS t WHERE true ORDER BY t.key
     ON CONFLICT (department_uuid, customer_uuid)
     DO UPDATE SET updated_at = MAX(threads.updated_at, excluded.updated_at);",
    // $4: then those of delegating senders.
    "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at)
     SELECT t.value ->> 'department', t.value ->> 'customer', t.value ->> 'user', t.value ->> 'at'
     FROM json_each($4) AS t WHERE true ORDER BY t.key
     ON CONFLICT (department_uuid, customer_uuid)
     DO UPDATE SET owner_user_uuid = excluded.owner_user_uuid,
                   updated_at = MAX(threads.updated_at, excluded.updated_at);"
);

/// The rows of a batch, as the JSON texts [`accept_many_in`] binds. Made before the write
/// connection is taken, so no one waits for the serializing.
pub(super) struct AcceptRows {
    messages: String,
    jobs: String,
    threads: String,
    delegated_threads: String,
}

#[derive(Serialize)]
struct MessageRow<'a> {
    uuid: String,
    dealer: String,
    department: String,
    customer: Option<String>,
    user: Option<String>,
    credential: Option<&'a str>,
    direction: &'static str,
    protocol: &'static str,
    purpose: &'static str,
    manual: bool,
    body: &'a str,
    subject: Option<&'a str>,
    recipient: &'a str,
    cc: String,
    bcc: String,
    options: String,
    #[serde(rename = "override")]
    override_optout: bool,
    callback_url: Option<&'a str>,
    metadata: String,
    request: String,
    status: &'static str,
    code: Option<&'a str>,
    description: Option<&'a str>,
    warnings: String,
    provider_id: Option<&'a str>,
    composed: Option<&'a str>,
    sender: Option<&'a str>,
    created: i64,
    updated: i64,
}

#[derive(Serialize)]
struct JobRow {
    uuid: String,
    due: i64,
    lease: Option<String>,
    expires: Option<i64>,
}

#[derive(Serialize)]
struct ThreadRow {
    department: String,
    customer: String,
    user: String,
    at: i64,
}

impl AcceptRows {
    pub(super) fn of(batch: &[Accepted<'_>]) -> StoreResult<Self> {
        let mut messages = Vec::with_capacity(batch.len());
        let (mut jobs, mut threads, mut delegated) = (vec![], vec![], vec![]);
        for a in batch {
            let m = a.message;
            messages.push(MessageRow {
                uuid: m.uuid.to_string(),
                dealer: m.dealer_uuid.to_string(),
                department: m.department_uuid.to_string(),
                customer: m.customer_uuid.map(|u| u.to_string()),
                user: m.user_uuid.map(|u| u.to_string()),
                credential: m.credential.as_deref(),
                direction: m.direction.as_str(),
                protocol: m.protocol.as_str(),
                purpose: m.purpose.as_str(),
                manual: m.is_manual,
                body: &m.body,
                subject: m.subject.as_deref(),
                recipient: &m.recipient,
                cc: json(&m.cc)?,
                bcc: json(&m.bcc)?,
                options: json(&m.options)?,
                override_optout: m.override_optout,
                callback_url: m.callback_url.as_deref(),
                metadata: json(&m.callback_metadata)?,
                request: m.request_uuid.to_string(),
                status: m.status.as_str(),
                code: m.error.as_ref().map(|e| e.code.as_str()),
                description: m.error.as_ref().map(|e| e.description.as_str()),
                warnings: json(&m.warnings)?,
                provider_id: m.provider_message_id.as_deref(),
                composed: m.composed_body.as_deref(),
                sender: m.sender.as_deref(),
                created: ms(m.created_at),
                updated: ms(m.updated_at),
            });
            if let Some(job) = a.job {
                jobs.push(JobRow {
                    uuid: m.uuid.to_string(),
                    due: ms(job.due_at),
                    lease: job.lease.map(|l| l.id.to_string()),
                    expires: job.lease.map(|l| ms(l.expires_at)),
                });
            }
            if let Some(t) = a.thread {
                let row = ThreadRow {
                    department: t.department_uuid.to_string(),
                    customer: t.customer_uuid.to_string(),
                    user: t.user_uuid.to_string(),
                    at: ms(m.created_at),
                };
                if t.delegate { &mut delegated } else { &mut threads }.push(row);
            }
        }
        Ok(Self {
            messages: json(&messages)?,
            jobs: json(&jobs)?,
            threads: json(&threads)?,
            delegated_threads: json(&delegated)?,
        })
    }
}

/// Writes every message, job and thread of `rows`, in this order, inside the caller's
/// transaction. On failure part of it may be written: the caller undoes it and retries
/// message by message.
pub(super) async fn accept_many_in(conn: &mut SqliteConnection, rows: &AcceptRows) -> StoreResult<()> {
    sqlx::query(ACCEPT_MANY)
        .bind(&rows.messages)
        .bind(&rows.jobs)
        .bind(&rows.threads)
        .bind(&rows.delegated_threads)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
