//! Rate-window reservations, committed in groups. A message about to be handed to a provider
//! is counted in its recipient's windows unless one is full (`reserve_send`); one task takes
//! the reservations waiting in its channel and decides them together:
//!
//! - one statement counts every reservation that has room (the rows travel as one JSON array,
//!   unpacked by `json_each`). A statement does not see its own inserts, so the reservations of
//!   one recipient go in rounds: the first of each recipient in the first statement, the
//!   second in the next, so each sees the ones before it, exactly as one by one;
//! - the few left over (counted before, i.e. a retry; or a full window) are decided one by
//!   one, which also finds how long a full window has to wait.
//!
//! All of it is one write of the shared transaction; every caller is answered once it is
//! durable.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::ms;
use super::writer::Writer;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::queued::{Reserve, rounds};
use crate::store::{Reservation, StoreError, StoreResult};

/// The most reservations one batch carries.
const MAX_BATCH: usize = 256;

/// One row of the batch statement: up to two windows (an hour and a day), each as the time it
/// starts and its limit.
fn row(r: &Reserve) -> Option<Value> {
    if r.windows.len() > 2 {
        return None;
    }
    let now = ms(r.now);
    let window = |i: usize| {
        r.windows
            .get(i)
            .map(|(w, limit)| (now - w.as_millis() as i64, *limit))
    };
    let (first, second) = (window(0), window(1));
    Some(json!({
        "message": r.message.to_string(),
        "department": r.department.to_string(),
        "recipient": r.recipient,
        "manual": r.manual,
        "at": now,
        "since1": first.map(|w| w.0),
        "limit1": first.map(|w| w.1),
        "since2": second.map(|w| w.0),
        "limit2": second.map(|w| w.1),
    }))
}

pub(super) type ReserveCommit = Batcher<Reserve, Reservation>;

/// Starts the committing task on `writer`.
pub(super) fn start(writer: Writer) -> ReserveCommit {
    super::runtime::batcher(MAX_BATCH, writer, |writer, batch| async move {
        commit(&writer, batch).await
    })
}

async fn commit(writer: &Writer, batch: Vec<Waiting<Reserve, Reservation>>) {
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e),
    };
    let items: Vec<&Reserve> = batch.iter().map(|w| &w.item).collect();
    let outcomes = match decide(&mut tx, &items).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            drop(tx);
            return fail_all(batch, &e);
        }
    };
    if let Err(e) = tx.commit().await {
        return fail_all(batch, &e);
    }
    for (w, outcome) in batch.into_iter().zip(outcomes) {
        w.answer(Ok(outcome));
    }
}

async fn decide(conn: &mut SqliteConnection, items: &[&Reserve]) -> StoreResult<Vec<Reservation>> {
    let mut outcomes: Vec<Option<Reservation>> = items.iter().map(|_| None).collect();
    for round in rounds(items) {
        let granted = count_with_room(conn, round.iter().map(|&i| items[i])).await?;
        for i in round {
            if granted.contains(&items[i].message) {
                outcomes[i] = Some(Reservation::Granted);
            } else {
                outcomes[i] = Some(reserve_one(conn, items[i]).await?);
            }
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every reservation is in a round"))
        .collect())
}

/// Counts each of `items` (no recipient twice) whose windows all have room and that was not
/// counted before; returns those it counted.
async fn count_with_room<'a>(
    conn: &mut SqliteConnection,
    items: impl Iterator<Item = &'a Reserve>,
) -> StoreResult<HashSet<Uuid>> {
    let mut rows = Vec::new();
    let mut cap: i64 = 0;
    for r in items {
        // Three windows or more (none today) are decided one by one.
        if let Some(row) = row(r) {
            rows.push(row);
            cap = cap.max(r.windows.iter().map(|w| i64::from(w.1)).max().unwrap_or(0));
        }
    }
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    // A count only needs to reach the largest limit of the batch: `LIMIT $2` bounds the scan
    // of a busy recipient's window.
    let counted = sqlx::query(
        "INSERT INTO rate_limit_sends (message_uuid, department_uuid, recipient, is_manual, at)
         SELECT r.value ->> 'message', r.value ->> 'department', r.value ->> 'recipient',
                r.value ->> 'manual', r.value ->> 'at'
         FROM json_each($1) AS r
         WHERE (r.value ->> 'since1' IS NULL OR (
                   SELECT COUNT(*) FROM (
                       SELECT 1 FROM rate_limit_sends s
                       WHERE s.department_uuid = r.value ->> 'department' AND s.recipient = r.value ->> 'recipient'
                         AND s.is_manual = r.value ->> 'manual' AND s.at > r.value ->> 'since1'
                       ORDER BY s.at DESC LIMIT $2)) < r.value ->> 'limit1')
           AND (r.value ->> 'since2' IS NULL OR (
                   SELECT COUNT(*) FROM (
                       SELECT 1 FROM rate_limit_sends s
                       WHERE s.department_uuid = r.value ->> 'department' AND s.recipient = r.value ->> 'recipient'
                         AND s.is_manual = r.value ->> 'manual' AND s.at > r.value ->> 'since2'
                       ORDER BY s.at DESC LIMIT $2)) < r.value ->> 'limit2')
         ON CONFLICT (message_uuid) DO NOTHING
         RETURNING message_uuid",
    )
    .bind(Value::from(rows).to_string())
    .bind(cap)
    .fetch_all(&mut *conn)
    .await?;
    counted
        .iter()
        .map(|row| super::parse_uuid(row.get("message_uuid")))
        .collect()
}

/// One reservation on its own: granted again if counted before, refused with the wait if a
/// window is full, else counted.
async fn reserve_one(conn: &mut SqliteConnection, r: &Reserve) -> StoreResult<Reservation> {
    let counted = sqlx::query("SELECT 1 FROM rate_limit_sends WHERE message_uuid = $1")
        .bind(r.message.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    if counted.is_some() {
        return Ok(Reservation::Granted);
    }
    let now = ms(r.now);
    for (window, limit) in &r.windows {
        let since = now - window.as_millis() as i64;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM (
                 SELECT at FROM rate_limit_sends
                 WHERE department_uuid = $1 AND recipient = $2 AND is_manual = $3 AND at > $4
                 ORDER BY at DESC LIMIT $5)",
        )
        .bind(r.department.to_string())
        .bind(&r.recipient)
        .bind(r.manual)
        .bind(since)
        .bind(i64::from(*limit))
        .fetch_one(&mut *conn)
        .await?;
        let n: i64 = row.get("n");
        if n >= i64::from(*limit) {
            // The window frees up when the oldest of the last `limit` sends leaves it.
            let oldest: i64 = row.get::<Option<i64>, _>("oldest").unwrap_or(now);
            let wait = (oldest + window.as_millis() as i64 - now).max(1000);
            return Ok(Reservation::Refused {
                retry_after: Duration::from_millis(wait as u64),
            });
        }
    }
    sqlx::query(
        "INSERT INTO rate_limit_sends (message_uuid, department_uuid, recipient, is_manual, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.message.to_string())
    .bind(r.department.to_string())
    .bind(&r.recipient)
    .bind(r.manual)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(Reservation::Granted)
}

fn fail_all(batch: Vec<Waiting<Reserve, Reservation>>, e: &StoreError) {
    tracing::error!(error = %e, reservations = batch.len(), "writing rate-window reservations failed");
    for w in batch {
        w.answer(Err(StoreError::Unavailable(format!("commit failed: {e}"))));
    }
}
