//! Many delivery results written at once: the fast path of `finish_commit`. The rows travel
//! as JSON arrays, one per table, unpacked by SQLite's `json_each`, and every statement goes
//! to SQLite's thread in one query string: one hand-off for the whole batch, however many
//! results it carries, and one prepared text whatever its size (cached once).
//!
//! Every write checks the result's lease against its job row, which the last two statements
//! delete or free, so a result whose lease is gone writes nothing, exactly as one by one.

use std::collections::HashSet;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};

use super::ms;
use crate::domain::message::MessageStatus;
use crate::store::queued::Finish;
use crate::store::{JobNext, StoreResult};

/// The result's job still holds its lease (`$row`: the alias of the result's JSON row).
macro_rules! held {
    ($row:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM delivery_jobs j WHERE j.message_uuid = ",
            $row,
            ".value ->> 'uuid' AND j.lease_id = ",
            $row,
            ".value ->> 'lease')"
        )
    };
}

const FINISH_MANY: &str = concat!(
    // $1: which results still hold their lease (the answer).
    "SELECT j.message_uuid FROM delivery_jobs j, json_each($1) AS k
     WHERE j.message_uuid = k.value ->> 'uuid' AND j.lease_id = k.value ->> 'lease';",
    // $2: the messages' new state.
    "UPDATE messages SET status = COALESCE(u.value ->> 'status', messages.status),
         error_code = CASE WHEN u.value ->> 'code' IS NULL THEN messages.error_code ELSE u.value ->> 'code' END,
         error_description = CASE WHEN u.value ->> 'code' IS NULL THEN messages.error_description ELSE u.value ->> 'description' END,
         provider_message_id = COALESCE(u.value ->> 'provider_id', messages.provider_message_id),
         composed_body = COALESCE(u.value ->> 'body', messages.composed_body),
         sender = COALESCE(u.value ->> 'sender', messages.sender),
         updated_at = u.value ->> 'at',
         scheduled_for = COALESCE(u.value ->> 'held', messages.scheduled_for)
     FROM json_each($2) AS u
     WHERE messages.uuid = u.value ->> 'uuid' AND ",
    held!("u"),
    ";",
    // $3: the attempts, in order.
    "INSERT INTO delivery_attempts (message_uuid, attempt, at, outcome, error_code, detail)
     SELECT a.value ->> 'uuid', a.value ->> 'attempt', a.value ->> 'at', a.value ->> 'outcome',
            a.value ->> 'code', a.value ->> 'detail'
     FROM json_each($3) AS a WHERE ",
    held!("a"),
    " ORDER BY a.key;",
    // $4: the callbacks, numbered after each message's last one (`n`: 1, 2, … within the
    // result). The rows are all read, and sorted, before the first is written, so every row
    // sees the numbers as they stood before this statement.
    "INSERT INTO callbacks (webhook_id, message_uuid, seq, url, credential, payload, state, due_at, created_at)
     SELECT c.value ->> 'id', c.value ->> 'uuid',
            (SELECT COALESCE(MAX(p.seq), 0) FROM callbacks p WHERE p.message_uuid = c.value ->> 'uuid') + (c.value ->> 'n'),
            c.value ->> 'url', c.value ->> 'credential', c.value ->> 'payload', 'PENDING',
            c.value ->> 'at', c.value ->> 'at'
     FROM json_each($4) AS c WHERE ",
    held!("c"),
    " ORDER BY c.key;",
    // $5: jobs done leave the queue.
    "DELETE FROM delivery_jobs
     WHERE (message_uuid, lease_id) IN (SELECT value ->> 'uuid', value ->> 'lease' FROM json_each($5));",
    // $6: the others go back to it, free, due again when their step said.
    "UPDATE delivery_jobs SET due_at = q.value ->> 'due',
         attempts = delivery_jobs.attempts + (q.value ->> 'attempts'),
         lease_id = NULL, lease_expires_at = NULL, in_doubt_since = q.value ->> 'doubt'
     FROM json_each($6) AS q
     WHERE delivery_jobs.message_uuid = q.value ->> 'uuid' AND delivery_jobs.lease_id = q.value ->> 'lease';"
);

/// Writes every result of `batch` whose lease is still held, inside the caller's transaction;
/// returns, for each, whether it was held (and so written). On failure part of it may be
/// written: the caller undoes it. No message may appear twice in `batch`.
pub(super) async fn finish_many_in(
    conn: &mut SqliteConnection,
    batch: &[&Finish],
) -> StoreResult<Vec<bool>> {
    let (mut leases, mut updates, mut attempts, mut callbacks, mut done, mut again) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for f in batch {
        let (uuid, lease) = (f.job.message_uuid.to_string(), f.job.lease.id.to_string());
        let at = ms(f.now);
        leases.push(json!({"uuid": uuid, "lease": lease}));
        let u = &f.update;
        updates.push(json!({
            "uuid": uuid,
            "lease": lease,
            "status": u.status.map(MessageStatus::as_str),
            "code": u.error.as_ref().map(|e| &e.code),
            "description": u.error.as_ref().map(|e| &e.description),
            "provider_id": u.provider_message_id,
            "body": u.composed_body,
            "sender": u.sender,
            "held": u.held_until.map(ms),
            "at": at,
        }));
        for a in &f.attempts {
            attempts.push(json!({
                "uuid": uuid,
                "lease": lease,
                "attempt": a.attempt,
                "at": ms(a.at),
                "outcome": a.outcome,
                "code": a.error_code,
                "detail": a.detail,
            }));
        }
        for (n, cb) in u.callbacks.iter().enumerate() {
            callbacks.push(json!({
                "uuid": uuid,
                "lease": lease,
                "n": n + 1,
                "id": cb.webhook_id,
                "url": cb.url,
                "credential": cb.credential,
                "payload": cb.payload,
                "at": at,
            }));
        }
        match f.next {
            JobNext::Done => done.push(json!({"uuid": uuid, "lease": lease})),
            JobNext::Park { until } => again.push(
                json!({"uuid": uuid, "lease": lease, "due": ms(until), "attempts": 0, "doubt": null}),
            ),
            JobNext::Retry {
                due_at,
                in_doubt_since,
            } => again.push(json!({
                "uuid": uuid, "lease": lease, "due": ms(due_at), "attempts": 1,
                "doubt": in_doubt_since.map(ms),
            })),
        }
    }
    let text = |rows: Vec<Value>| Value::from(rows).to_string();
    let rows = sqlx::query(FINISH_MANY)
        .bind(text(leases))
        .bind(text(updates))
        .bind(text(attempts))
        .bind(text(callbacks))
        .bind(text(done))
        .bind(text(again))
        .fetch_all(&mut *conn)
        .await?;
    let held: HashSet<String> = rows.iter().map(|r| r.get("message_uuid")).collect();
    Ok(batch
        .iter()
        .map(|f| held.contains(&f.job.message_uuid.to_string()))
        .collect())
}
