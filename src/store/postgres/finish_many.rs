//! Many delivery results written in one transaction, one statement per table: the fast path
//! of `finish_commit` on PostgreSQL. The rows travel as typed arrays, unpacked by `UNNEST`, so
//! a batch of hundreds costs a handful of round trips and one commit instead of about ten
//! round trips and a commit each.

use std::collections::{BTreeSet, HashMap};

use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::messages::notify;
use super::{CALLBACKS_CHANNEL, JOBS_CHANNEL, at};
use crate::domain::message::MessageStatus;
use crate::store::queued::Finish;
use crate::store::{JobNext, StoreResult};

/// Writes every result of `batch` whose lease is still held, inside the caller's transaction;
/// returns, for each, whether it was held (and so written). Fails as a whole. No message may
/// appear twice in `batch`.
pub(super) async fn finish_many_in(
    conn: &mut PgConnection,
    batch: &[&Finish],
) -> StoreResult<Vec<bool>> {
    let held = lock_held_jobs(conn, batch).await?;
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

/// Locks the batch's job rows (in one order, so two batches never wait on each other in a
/// cycle): a claimer on another node cannot take one over until this batch is written.
async fn lock_held_jobs(conn: &mut PgConnection, batch: &[&Finish]) -> StoreResult<Vec<bool>> {
    let uuids: Vec<Uuid> = batch.iter().map(|f| f.job.message_uuid).collect();
    let rows = sqlx::query(
        "SELECT message_uuid, lease_id FROM delivery_jobs
         WHERE message_uuid = ANY($1) ORDER BY message_uuid FOR UPDATE",
    )
    .bind(&uuids)
    .fetch_all(&mut *conn)
    .await?;
    let mut leases: HashMap<Uuid, Option<Uuid>> = HashMap::with_capacity(rows.len());
    for r in &rows {
        leases.insert(r.try_get("message_uuid")?, r.try_get("lease_id")?);
    }
    Ok(batch
        .iter()
        .map(|f| leases.get(&f.job.message_uuid).copied().flatten() == Some(f.job.lease.id))
        .collect())
}

async fn update_messages(conn: &mut PgConnection, kept: &[&Finish]) -> StoreResult<()> {
    let mut uuid = Vec::with_capacity(kept.len());
    let (mut status, mut code, mut description) = (vec![], vec![], vec![]);
    let (mut provider_id, mut body, mut sender, mut when) = (vec![], vec![], vec![], vec![]);
    let mut held = Vec::with_capacity(kept.len());
    for f in kept {
        let u = &f.update;
        uuid.push(f.job.message_uuid);
        status.push(u.status.map(MessageStatus::as_str));
        code.push(u.error.as_ref().map(|e| e.code.as_str()));
        description.push(u.error.as_ref().map(|e| e.description.as_str()));
        provider_id.push(u.provider_message_id.as_deref());
        body.push(u.composed_body.as_deref());
        sender.push(u.sender.as_deref());
        when.push(at(f.now));
        held.push(u.held_until.map(at));
    }
    sqlx::query(
        "UPDATE messages m SET status = COALESCE(u.status, m.status),
             error_code = CASE WHEN u.code IS NULL THEN m.error_code ELSE u.code END,
             error_description = CASE WHEN u.code IS NULL THEN m.error_description ELSE u.description END,
             provider_message_id = COALESCE(u.provider_id, m.provider_message_id),
             composed_body = COALESCE(u.body, m.composed_body),
             sender = COALESCE(u.sender, m.sender),
             updated_at = u.at,
             scheduled_for = COALESCE(u.held, m.scheduled_for)
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[])
              AS u(uuid, status, code, description, provider_id, body, sender, at, held)
         WHERE m.uuid = u.uuid",
    )
    .bind(&uuid)
    .bind(&status)
    .bind(&code)
    .bind(&description)
    .bind(&provider_id)
    .bind(&body)
    .bind(&sender)
    .bind(&when)
    .bind(&held)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_attempts(conn: &mut PgConnection, kept: &[&Finish]) -> StoreResult<()> {
    let (mut uuid, mut attempt, mut when) = (vec![], vec![], vec![]);
    let (mut outcome, mut code, mut detail) = (vec![], vec![], vec![]);
    for f in kept {
        for a in &f.attempts {
            uuid.push(f.job.message_uuid);
            attempt.push(i64::from(a.attempt));
            when.push(at(a.at));
            outcome.push(a.outcome.as_str());
            code.push(a.error_code.as_deref());
            detail.push(a.detail.as_deref());
        }
    }
    if uuid.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO delivery_attempts (message_uuid, attempt, at, outcome, error_code, detail)
         SELECT uuid, attempt, at, outcome, code, detail
         FROM UNNEST($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS a(uuid, attempt, at, outcome, code, detail, n) ORDER BY n",
    )
    .bind(&uuid)
    .bind(&attempt)
    .bind(&when)
    .bind(&outcome)
    .bind(&code)
    .bind(&detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Each message's new callbacks, numbered after its last one (its row locked first, as for one
/// result alone), in the order given; the callback dispatchers of every node are woken.
async fn insert_callbacks(conn: &mut PgConnection, kept: &[&Finish]) -> StoreResult<()> {
    let messages: BTreeSet<Uuid> = kept
        .iter()
        .filter(|f| !f.update.callbacks.is_empty())
        .map(|f| f.job.message_uuid)
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    let messages: Vec<Uuid> = messages.into_iter().collect();
    sqlx::query("SELECT 1 FROM messages WHERE uuid = ANY($1) ORDER BY uuid FOR UPDATE")
        .bind(&messages)
        .execute(&mut *conn)
        .await?;
    let rows = sqlx::query(
        "SELECT message_uuid, MAX(seq) AS last FROM callbacks
         WHERE message_uuid = ANY($1) GROUP BY message_uuid",
    )
    .bind(&messages)
    .fetch_all(&mut *conn)
    .await?;
    let mut last: HashMap<Uuid, i64> = HashMap::with_capacity(rows.len());
    for r in &rows {
        last.insert(r.try_get("message_uuid")?, r.try_get("last")?);
    }
    let (mut id, mut uuid, mut seq) = (vec![], vec![], vec![]);
    let (mut url, mut credential, mut payload, mut when) = (vec![], vec![], vec![], vec![]);
    for f in kept {
        let n = last.entry(f.job.message_uuid).or_insert(0);
        for cb in &f.update.callbacks {
            *n += 1;
            id.push(cb.webhook_id.as_str());
            uuid.push(f.job.message_uuid);
            seq.push(*n);
            url.push(cb.url.as_str());
            credential.push(cb.credential.as_str());
            payload.push(cb.payload.as_str());
            when.push(at(f.now));
        }
    }
    sqlx::query(
        "INSERT INTO callbacks (webhook_id, message_uuid, seq, url, credential, payload, state, due_at, created_at)
         SELECT id, uuid, seq, url, credential, payload, 'PENDING', at, at
         FROM UNNEST($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
              AS c(id, uuid, seq, url, credential, payload, at)",
    )
    .bind(&id)
    .bind(&uuid)
    .bind(&seq)
    .bind(&url)
    .bind(&credential)
    .bind(&payload)
    .bind(&when)
    .execute(&mut *conn)
    .await?;
    notify(conn, CALLBACKS_CHANNEL).await
}

/// Done jobs leave the queue; the others go back to it, free, due again when their step said.
/// A retry due at once wakes the workers of every node.
async fn update_jobs(conn: &mut PgConnection, kept: &[&Finish]) -> StoreResult<()> {
    let mut done = Vec::new();
    let (mut again, mut due, mut more, mut doubt) = (vec![], vec![], vec![], vec![]);
    let mut due_now = false;
    for f in kept {
        match f.next {
            JobNext::Done => done.push(f.job.message_uuid),
            JobNext::Park { until } => {
                again.push(f.job.message_uuid);
                due.push(at(until));
                more.push(0i64);
                doubt.push(None);
            }
            JobNext::Retry {
                due_at,
                in_doubt_since,
            } => {
                again.push(f.job.message_uuid);
                due.push(at(due_at));
                more.push(1i64);
                doubt.push(in_doubt_since.map(at));
                due_now |= at(due_at) <= at(f.now);
            }
        }
    }
    if !done.is_empty() {
        sqlx::query("DELETE FROM delivery_jobs WHERE message_uuid = ANY($1)")
            .bind(&done)
            .execute(&mut *conn)
            .await?;
    }
    if !again.is_empty() {
        sqlx::query(
            "UPDATE delivery_jobs j SET due_at = q.due, attempts = j.attempts + q.more,
                 lease_id = NULL, lease_expires_at = NULL, in_doubt_since = q.doubt
             FROM UNNEST($1::uuid[], $2::timestamptz[], $3::bigint[], $4::timestamptz[])
                  AS q(uuid, due, more, doubt)
             WHERE j.message_uuid = q.uuid",
        )
        .bind(&again)
        .bind(&due)
        .bind(&more)
        .bind(&doubt)
        .execute(&mut *conn)
        .await?;
    }
    if due_now {
        notify(conn, JOBS_CHANNEL).await?;
    }
    Ok(())
}
