//! Group commit for accepted messages on PostgreSQL. One transaction per send costs six round
//! trips and a WAL flush each, on a pool the workers share. Instead, one task takes the accepts
//! waiting in its channel — as many as queued up while the previous batch was being committed
//! — and writes them with one statement per table in one transaction; every caller is
//! answered only once that transaction is durable. Should the batch fail, each message is
//! written again in a transaction of its own, so a failing message fails alone.

use sqlx::PgPool;

use super::accept_many::{Accepted, accept_many_in};
use super::messages::accept_alone;
use crate::domain::message::Message;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::{AcceptOutcome, NewJob, StoreError, StoreResult, ThreadOwner};

/// The most accepts one transaction carries.
const MAX_BATCH: usize = 256;

pub(super) struct Accept {
    pub message: Message,
    pub job: Option<NewJob>,
    pub thread: Option<ThreadOwner>,
}

/// Accepts without an idempotency key queue here; each answer comes once its batch is durable.
pub(super) type GroupCommit = Batcher<Accept, AcceptOutcome>;

/// Starts the committing task on `pool`.
pub(super) fn start(pool: PgPool) -> GroupCommit {
    Batcher::start(MAX_BATCH, move |batch| {
        let pool = pool.clone();
        async move {
            commit(&pool, batch).await;
            metrics::counter!(crate::observability::POSTGRES_GROUP_COMMITS).increment(1);
        }
    })
}

async fn commit(pool: &PgPool, batch: Vec<Waiting<Accept, AcceptOutcome>>) {
    match commit_together(pool, &batch).await {
        Ok(()) => {
            for a in batch {
                a.answer(Ok(AcceptOutcome::Accepted));
            }
        }
        // The server is out of reach: each message alone would wait for a connection in turn,
        // and after a connection lost at COMMIT could even be refused as a duplicate of itself.
        Err(e) if e.is_unreachable() => {
            tracing::warn!(error = %e, messages = batch.len(), "batch insert failed: database unreachable");
            for w in batch {
                w.answer(Err(StoreError::Unavailable(e.to_string())));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, messages = batch.len(), "batch insert failed; writing one by one");
            for w in batch {
                let a = &w.item;
                let outcome = accept_alone(pool, &a.message, &[], a.job, None, a.thread).await;
                w.answer(outcome);
            }
        }
    }
}

async fn commit_together(
    pool: &PgPool,
    batch: &[Waiting<Accept, AcceptOutcome>],
) -> StoreResult<()> {
    let rows: Vec<Accepted> = batch
        .iter()
        .map(|w| &w.item)
        .map(|a| Accepted {
            message: &a.message,
            job: a.job,
            thread: a.thread,
        })
        .collect();
    let mut tx = pool.begin().await?;
    accept_many_in(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(())
}
