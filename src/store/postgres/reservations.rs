//! Rate-window reservations on PostgreSQL, decided in batches. One task per node takes the
//! reservations waiting in its channel and decides them in one transaction:
//!
//! - it takes the advisory lock of every (department, recipient) in the batch, in one order,
//!   so no other node counts or inserts for them meanwhile, and two batches never wait on
//!   each other in a cycle;
//! - one statement counts every reservation that has room. A statement does not see its own
//!   inserts, so the reservations of one recipient go in rounds, each round seeing the ones
//!   before it, exactly as one by one;
//! - the few left over (counted before, i.e. a retry; or a full window) are decided one by
//!   one, which also finds how long a full window has to wait.
//!
//! The transaction does not wait for its WAL flush (see `soft_tx`): a reservation lost in a
//! crash is made again by the retried step.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::at;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::queued::{Reserve, rounds};
use crate::store::{Reservation, StoreError, StoreResult};

/// The most reservations one transaction carries.
const MAX_BATCH: usize = 256;

/// The advisory lock's key: one (department, recipient) at a time, on every node.
fn lock_key(r: &Reserve) -> String {
    format!("rate:{}:{}", r.department, r.recipient)
}

/// The start of window `i` of `r` and its limit.
fn window(r: &Reserve, i: usize) -> Option<(OffsetDateTime, i64)> {
    r.windows
        .get(i)
        .map(|(w, limit)| (at(r.now) - *w, i64::from(*limit)))
}

pub(super) type ReserveCommit = Batcher<Reserve, Reservation>;

/// Starts the committing task on `pool`.
pub(super) fn start(pool: PgPool) -> ReserveCommit {
    Batcher::start(MAX_BATCH, move |batch| {
        let pool = pool.clone();
        async move { commit(&pool, batch).await }
    })
}

async fn commit(pool: &PgPool, batch: Vec<Waiting<Reserve, Reservation>>) {
    let items: Vec<&Reserve> = batch.iter().map(|w| &w.item).collect();
    match decide_all(pool, &items).await {
        Ok(outcomes) => {
            drop(items);
            for (w, outcome) in batch.into_iter().zip(outcomes) {
                w.answer(Ok(outcome));
            }
        }
        Err(e) => {
            drop(items);
            tracing::error!(error = %e, reservations = batch.len(), "rate-window reservations failed");
            for w in batch {
                w.answer(Err(StoreError::Unavailable(format!(
                    "reserving failed: {e}"
                ))));
            }
        }
    }
}

async fn decide_all(pool: &PgPool, items: &[&Reserve]) -> StoreResult<Vec<Reservation>> {
    let mut tx = super::soft_tx(pool).await?;
    let keys: Vec<String> = items
        .iter()
        .map(|r| lock_key(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The sort in the subquery fixes the order the locks are taken in.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
         FROM (SELECT k FROM UNNEST($1::text[]) AS k ORDER BY k) AS sorted",
    )
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    let mut outcomes: Vec<Option<Reservation>> = items.iter().map(|_| None).collect();
    for round in rounds(items) {
        let granted = count_with_room(&mut tx, round.iter().map(|&i| items[i])).await?;
        for i in round {
            outcomes[i] = Some(if granted.contains(&items[i].message) {
                Reservation::Granted
            } else {
                reserve_one(&mut tx, items[i]).await?
            });
        }
    }
    tx.commit().await?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every reservation is in a round"))
        .collect())
}

/// Counts each of `items` (no recipient twice) whose windows (an hour and a day at most) all
/// have room and that was not counted before; returns those it counted.
async fn count_with_room<'a>(
    conn: &mut PgConnection,
    items: impl Iterator<Item = &'a Reserve>,
) -> StoreResult<HashSet<Uuid>> {
    let (mut message, mut department, mut recipient, mut manual, mut now) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut since1, mut limit1, mut since2, mut limit2) = (vec![], vec![], vec![], vec![]);
    let mut cap: i64 = 0;
    // Three windows or more (none today) are decided one by one.
    for r in items.filter(|r| r.windows.len() <= 2) {
        message.push(r.message);
        department.push(r.department);
        recipient.push(r.recipient.as_str());
        manual.push(r.manual);
        now.push(at(r.now));
        let (first, second) = (window(r, 0), window(r, 1));
        since1.push(first.map(|w| w.0));
        limit1.push(first.map(|w| w.1));
        since2.push(second.map(|w| w.0));
        limit2.push(second.map(|w| w.1));
        cap = cap.max(first.map_or(0, |w| w.1).max(second.map_or(0, |w| w.1)));
    }
    if message.is_empty() {
        return Ok(HashSet::new());
    }
    // A count only needs to reach the largest limit of the batch: `LIMIT $10` bounds the scan
    // of a busy recipient's window.
    let rows = sqlx::query(
        "INSERT INTO rate_limit_sends (message_uuid, department_uuid, recipient, is_manual, at)
         SELECT r.message, r.department, r.recipient, r.manual, r.now
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::boolean[], $5::timestamptz[],
                     $6::timestamptz[], $7::bigint[], $8::timestamptz[], $9::bigint[])
              AS r(message, department, recipient, manual, now, since1, limit1, since2, limit2)
         WHERE (r.since1 IS NULL OR (
                   SELECT COUNT(*) FROM (
                       SELECT 1 FROM rate_limit_sends s
                       WHERE s.department_uuid = r.department AND s.recipient = r.recipient
                         AND s.is_manual = r.manual AND s.at > r.since1
                       ORDER BY s.at DESC LIMIT $10) AS recent) < r.limit1)
           AND (r.since2 IS NULL OR (
                   SELECT COUNT(*) FROM (
                       SELECT 1 FROM rate_limit_sends s
                       WHERE s.department_uuid = r.department AND s.recipient = r.recipient
                         AND s.is_manual = r.manual AND s.at > r.since2
                       ORDER BY s.at DESC LIMIT $10) AS recent) < r.limit2)
         ON CONFLICT (message_uuid) DO NOTHING
         RETURNING message_uuid",
    )
    .bind(&message)
    .bind(&department)
    .bind(&recipient)
    .bind(&manual)
    .bind(&now)
    .bind(&since1)
    .bind(&limit1)
    .bind(&since2)
    .bind(&limit2)
    .bind(cap)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<Uuid, _>("message_uuid")?))
        .collect()
}

/// One reservation on its own, its recipient's lock held: granted again if counted before,
/// refused with the wait if a window is full, else counted.
async fn reserve_one(conn: &mut PgConnection, r: &Reserve) -> StoreResult<Reservation> {
    let counted = sqlx::query("SELECT 1 FROM rate_limit_sends WHERE message_uuid = $1")
        .bind(r.message)
        .fetch_optional(&mut *conn)
        .await?;
    if counted.is_some() {
        return Ok(Reservation::Granted);
    }
    let now = at(r.now);
    for (window, limit) in &r.windows {
        let since = now - *window;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM (
                 SELECT at FROM rate_limit_sends
                 WHERE department_uuid = $1 AND recipient = $2 AND is_manual = $3 AND at > $4
                 ORDER BY at DESC LIMIT $5) recent",
        )
        .bind(r.department)
        .bind(&r.recipient)
        .bind(r.manual)
        .bind(since)
        .bind(i64::from(*limit))
        .fetch_one(&mut *conn)
        .await?;
        let n: i64 = row.try_get("n")?;
        if n >= i64::from(*limit) {
            // The window frees up when the oldest of the last `limit` sends leaves it.
            let oldest: OffsetDateTime = row
                .try_get::<Option<OffsetDateTime>, _>("oldest")?
                .unwrap_or(now);
            let wait = (oldest + *window - now).max(time::Duration::seconds(1));
            let wait = Duration::try_from(wait).unwrap_or(Duration::from_secs(1));
            return Ok(Reservation::Refused { retry_after: wait });
        }
    }
    sqlx::query(
        "INSERT INTO rate_limit_sends (message_uuid, department_uuid, recipient, is_manual, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.message)
    .bind(r.department)
    .bind(&r.recipient)
    .bind(r.manual)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(Reservation::Granted)
}
