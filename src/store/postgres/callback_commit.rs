//! Group commit for callback results on PostgreSQL: one task per node takes the results
//! waiting in its channel and records them with one statement (typed arrays unpacked by
//! `UNNEST`), in one transaction that does not wait for its WAL flush (a lost delivered mark
//! only means the callback is sent again, with the same `webhook-id`; see `soft_tx`). Each
//! dispatcher is answered once it is committed.

use std::collections::HashSet;

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::messages::notify;
use super::{CALLBACKS_CHANNEL, at};
use crate::store::batcher::{Batcher, Waiting};
use crate::store::{CallbackResult, StoreError, StoreResult};

/// The most results one statement carries.
const MAX_BATCH: usize = 256;

/// One attempt's result, as `finish_callback` takes it.
pub(super) struct CallbackDone {
    pub webhook_id: String,
    pub lease_id: Uuid,
    pub result: CallbackResult,
}

pub(super) type CallbackCommit = Batcher<CallbackDone, bool>;

/// Starts the committing task on `pool`.
pub(super) fn start(pool: PgPool) -> CallbackCommit {
    Batcher::start(MAX_BATCH, move |batch| {
        let pool = pool.clone();
        async move { commit(&pool, batch).await }
    })
}

async fn commit(pool: &PgPool, batch: Vec<Waiting<CallbackDone, bool>>) {
    match record(pool, &batch).await {
        Ok(done) => {
            for w in batch {
                let held = done.contains(&(w.item.webhook_id.clone(), w.item.lease_id));
                w.answer(Ok(held));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, results = batch.len(), "writing callback results failed");
            for w in batch {
                w.answer(Err(StoreError::Unavailable(format!("commit failed: {e}"))));
            }
        }
    }
}

/// Records the batch; returns the (webhook id, lease) pairs whose lease was held.
async fn record(
    pool: &PgPool,
    batch: &[Waiting<CallbackDone, bool>],
) -> StoreResult<HashSet<(String, Uuid)>> {
    // One callback twice in a batch (a result from a dispatcher whose lease has passed to
    // another) is recorded one statement each, in order; the lease decides which one counts.
    let mut seen = HashSet::with_capacity(batch.len());
    let groups: Vec<Vec<&CallbackDone>> = if batch.iter().all(|w| seen.insert(&w.item.webhook_id)) {
        vec![batch.iter().map(|w| &w.item).collect()]
    } else {
        batch.iter().map(|w| vec![&w.item]).collect()
    };
    let mut tx = super::soft_tx(pool).await?;
    let mut done = HashSet::new();
    let mut frees_next = false;
    for group in groups {
        let (mut id, mut lease, mut state) = (vec![], vec![], vec![]);
        let (mut due, mut detail) = (vec![], vec![]);
        for c in &group {
            let (s, d, text) = match &c.result {
                CallbackResult::Delivered { detail } => ("DELIVERED", None, detail),
                CallbackResult::Retry { due_at, detail } => ("PENDING", Some(at(*due_at)), detail),
                CallbackResult::Failed { detail } => ("FAILED", None, detail),
            };
            id.push(c.webhook_id.as_str());
            lease.push(c.lease_id);
            state.push(s);
            due.push(d);
            detail.push(text.as_str());
        }
        let rows = sqlx::query(
            "UPDATE callbacks c SET state = r.state, attempts = c.attempts + 1,
                 due_at = COALESCE(r.due, c.due_at), last_result = r.detail,
                 lease_id = NULL, lease_expires_at = NULL
             FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[])
                  AS r(id, lease, state, due, detail)
             WHERE c.webhook_id = r.id AND c.lease_id = r.lease
             RETURNING c.webhook_id, r.lease, c.state",
        )
        .bind(&id)
        .bind(&lease)
        .bind(&state)
        .bind(&due)
        .bind(&detail)
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            frees_next |= r.try_get::<String, _>("state")? != "PENDING";
            done.insert((r.try_get("webhook_id")?, r.try_get("lease")?));
        }
    }
    if frees_next {
        // The next callback of these messages, if any, is now claimable on any node.
        notify(&mut tx, CALLBACKS_CHANNEL).await?;
    }
    tx.commit().await?;
    Ok(done)
}
