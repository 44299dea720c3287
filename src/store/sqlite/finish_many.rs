//! Many delivery results written with one statement per table: the fast path of
//! `finish_commit`. The rows travel as one JSON array bound to one parameter and are unpacked
//! by SQLite's `json_each`, so each statement has one text whatever the batch size: it is
//! prepared once and cached, and a batch of hundreds costs a handful of hand-offs to SQLite's
//! thread instead of several per message.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};

use super::finish_commit::Finish;
use super::ms;
use crate::domain::message::MessageStatus;
use crate::store::{JobNext, StoreResult};

/// Writes every result of `batch` whose lease is still held, inside the caller's transaction;
/// returns, for each, whether it was held (and so written). Fails as a whole; the caller rolls
/// back and writes the results one by one. No message may appear twice in `batch`.
pub(super) async fn finish_many_in(
    conn: &mut SqliteConnection,
    batch: &[&Finish],
) -> StoreResult<Vec<bool>> {
    let held = leases_held(conn, batch).await?;
    let kept: Vec<&Finish> = batch
        .iter()
        .zip(&held)
        .filter(|(_, held)| **held)
        .map(|(f, _)| *f)
        .collect();
    if !kept.is_empty() {
        update_messages(conn, &kept).await?;
        insert_attempts(conn, &kept).await?;
        insert_callbacks(conn, &kept).await?;
        update_jobs(conn, &kept).await?;
    }
    Ok(held)
}

async fn leases_held(conn: &mut SqliteConnection, batch: &[&Finish]) -> StoreResult<Vec<bool>> {
    let uuids: Vec<String> = batch
        .iter()
        .map(|f| f.job.message_uuid.to_string())
        .collect();
    let rows = sqlx::query(
        "SELECT message_uuid, lease_id FROM delivery_jobs
         WHERE message_uuid IN (SELECT value FROM json_each($1))",
    )
    .bind(Value::from(uuids.clone()).to_string())
    .fetch_all(&mut *conn)
    .await?;
    let leases: HashMap<String, Option<String>> = rows
        .iter()
        .map(|r| (r.get("message_uuid"), r.get("lease_id")))
        .collect();
    Ok(batch
        .iter()
        .zip(uuids)
        .map(|(f, uuid)| {
            leases.get(&uuid).and_then(|l| l.as_deref()) == Some(&*f.job.lease.id.to_string())
        })
        .collect())
}

async fn update_messages(conn: &mut SqliteConnection, kept: &[&Finish]) -> StoreResult<()> {
    let rows: Vec<Value> = kept
        .iter()
        .map(|f| {
            let u = &f.update;
            json!({
                "uuid": f.job.message_uuid.to_string(),
                "status": u.status.map(MessageStatus::as_str),
                "code": u.error.as_ref().map(|e| &e.code),
                "description": u.error.as_ref().map(|e| &e.description),
                "provider_id": u.provider_message_id,
                "body": u.composed_body,
                "sender": u.sender,
                "at": ms(f.now),
            })
        })
        .collect();
    sqlx::query(
        "UPDATE messages SET status = COALESCE(u.value ->> 'status', messages.status),
             error_code = CASE WHEN u.value ->> 'code' IS NULL THEN messages.error_code ELSE u.value ->> 'code' END,
             error_description = CASE WHEN u.value ->> 'code' IS NULL THEN messages.error_description ELSE u.value ->> 'description' END,
             provider_message_id = COALESCE(u.value ->> 'provider_id', messages.provider_message_id),
             composed_body = COALESCE(u.value ->> 'body', messages.composed_body),
             sender = COALESCE(u.value ->> 'sender', messages.sender),
             updated_at = u.value ->> 'at'
         FROM json_each($1) AS u
         WHERE messages.uuid = u.value ->> 'uuid'",
    )
    .bind(Value::from(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_attempts(conn: &mut SqliteConnection, kept: &[&Finish]) -> StoreResult<()> {
    let rows: Vec<Value> = kept
        .iter()
        .filter_map(|f| {
            f.attempt.as_ref().map(|a| {
                json!({
                    "uuid": f.job.message_uuid.to_string(),
                    "attempt": a.attempt,
                    "at": ms(a.at),
                    "outcome": a.outcome,
                    "code": a.error_code,
                    "detail": a.detail,
                })
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO delivery_attempts (message_uuid, attempt, at, outcome, error_code, detail)
         SELECT value ->> 'uuid', value ->> 'attempt', value ->> 'at', value ->> 'outcome',
                value ->> 'code', value ->> 'detail'
         FROM json_each($1) ORDER BY key",
    )
    .bind(Value::from(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Each message's new callbacks, numbered after its last one, in the order given.
async fn insert_callbacks(conn: &mut SqliteConnection, kept: &[&Finish]) -> StoreResult<()> {
    let with: Vec<&Finish> = kept
        .iter()
        .copied()
        .filter(|f| !f.update.callbacks.is_empty())
        .collect();
    if with.is_empty() {
        return Ok(());
    }
    let uuids: Vec<String> = with
        .iter()
        .map(|f| f.job.message_uuid.to_string())
        .collect();
    let last = sqlx::query(
        "SELECT message_uuid, MAX(seq) AS seq FROM callbacks
         WHERE message_uuid IN (SELECT value FROM json_each($1)) GROUP BY message_uuid",
    )
    .bind(Value::from(uuids.clone()).to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut seqs: HashMap<String, i64> = last
        .iter()
        .map(|r| (r.get("message_uuid"), r.get("seq")))
        .collect();
    let mut rows = Vec::new();
    for (f, uuid) in with.iter().zip(uuids) {
        let seq = seqs.entry(uuid.clone()).or_insert(0);
        for cb in &f.update.callbacks {
            *seq += 1;
            rows.push(json!({
                "id": cb.webhook_id,
                "uuid": uuid,
                "seq": *seq,
                "url": cb.url,
                "credential": cb.credential,
                "payload": cb.payload,
                "at": ms(f.now),
            }));
        }
    }
    sqlx::query(
        "INSERT INTO callbacks (webhook_id, message_uuid, seq, url, credential, payload, state, due_at, created_at)
         SELECT value ->> 'id', value ->> 'uuid', value ->> 'seq', value ->> 'url', value ->> 'credential',
                value ->> 'payload', 'PENDING', value ->> 'at', value ->> 'at'
         FROM json_each($1) ORDER BY key",
    )
    .bind(Value::from(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Done jobs leave the queue; the others go back to it, free, due again when their step said.
async fn update_jobs(conn: &mut SqliteConnection, kept: &[&Finish]) -> StoreResult<()> {
    let mut done = Vec::new();
    let mut again = Vec::new();
    for f in kept {
        let uuid = f.job.message_uuid.to_string();
        match f.next {
            JobNext::Done => done.push(Value::from(uuid)),
            JobNext::Park { until } => {
                again.push(json!({"uuid": uuid, "due": ms(until), "attempts": 0}))
            }
            JobNext::Retry { due_at } => {
                again.push(json!({"uuid": uuid, "due": ms(due_at), "attempts": 1}))
            }
        }
    }
    if !done.is_empty() {
        sqlx::query(
            "DELETE FROM delivery_jobs WHERE message_uuid IN (SELECT value FROM json_each($1))",
        )
        .bind(Value::from(done).to_string())
        .execute(&mut *conn)
        .await?;
    }
    if !again.is_empty() {
        sqlx::query(
            "UPDATE delivery_jobs SET due_at = j.value ->> 'due',
                 attempts = attempts + (j.value ->> 'attempts'),
                 lease_id = NULL, lease_expires_at = NULL
             FROM json_each($1) AS j
             WHERE delivery_jobs.message_uuid = j.value ->> 'uuid'",
        )
        .bind(Value::from(again).to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
