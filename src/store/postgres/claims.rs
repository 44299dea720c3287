//! Claiming jobs and callbacks on PostgreSQL: claimers on every node at once, kept apart by
//! `FOR UPDATE SKIP LOCKED`.

use std::time::Duration;

use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, at};
use crate::store::backend::Row as _;
use crate::store::{ClaimedCallback, ClaimedJob, Doubt, Lease, StoreResult};

pub(super) async fn claim_jobs(
    store: &PgStore,
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
    let mut tx = store.pool.begin().await?;
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
                attempts: r.count("attempts")?,
                doubt: (retaken || since.is_some()).then_some(Doubt { since, retaken }),
            })
        })
        .collect()
}

pub(super) async fn claim_callbacks(
    store: &PgStore,
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
    let mut tx = store.soft_tx().await?;
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
                attempts: r.count("attempts")?,
                created_at: r.try_get("created_at")?,
                lease,
            })
        })
        .collect()
}
