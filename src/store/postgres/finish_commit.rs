//! Group commit for delivery results on PostgreSQL. Each result (the job, the message's
//! status, its attempt, its callbacks) costs about ten round trips and a WAL flush in a
//! transaction of its own; instead one task per node takes the results waiting in its channel
//! and writes them in one transaction (`finish_many`), every worker answered once it is
//! durable. Should the batch fail — or hold one message twice — each result is written again
//! in a transaction of its own, so a failing one fails alone.

use std::collections::HashSet;

use sqlx::PgPool;

use super::finish_many::finish_many_in;
use super::messages::finish_alone;
use crate::store::StoreResult;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::queued::Finish;

/// The most results one transaction carries.
const MAX_BATCH: usize = 256;
/// Results queue here; each answer (whether the lease was still held) comes once durable.
pub(super) type FinishCommit = Batcher<Finish, bool>;

/// Starts the committing task on `pool`.
pub(super) fn start(pool: PgPool) -> FinishCommit {
    Batcher::start(MAX_BATCH, move |batch| {
        let pool = pool.clone();
        async move { commit(&pool, batch).await }
    })
}

async fn commit(pool: &PgPool, batch: Vec<Waiting<Finish, bool>>) {
    let items: Vec<&Finish> = batch.iter().map(|w| &w.item).collect();
    let mut seen = HashSet::with_capacity(items.len());
    let together = if items.iter().all(|f| seen.insert(f.job.message_uuid)) {
        match commit_together(pool, &items).await {
            Ok(held) => Some(held),
            Err(e) => {
                tracing::warn!(error = %e, results = items.len(), "batched delivery results failed; writing one by one");
                None
            }
        }
    } else {
        None
    };
    let outcomes: Vec<StoreResult<bool>> = match together {
        Some(held) => held.into_iter().map(Ok).collect(),
        None => {
            let mut outcomes = Vec::with_capacity(items.len());
            for f in &items {
                outcomes.push(finish_alone(pool, f).await);
            }
            outcomes
        }
    };
    drop(items);
    for (w, outcome) in batch.into_iter().zip(outcomes) {
        w.answer(outcome);
    }
}

async fn commit_together(pool: &PgPool, items: &[&Finish]) -> StoreResult<Vec<bool>> {
    let mut tx = pool.begin().await?;
    let held = finish_many_in(&mut tx, items).await?;
    tx.commit().await?;
    Ok(held)
}
