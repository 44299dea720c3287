//! Group commit for accepted messages on PostgreSQL. One transaction per send costs six round
//! trips and a WAL flush each, on a pool the workers share. Instead, one task takes the accepts
//! waiting in its channel — as many as queued up while the previous batch was being committed
//! — and writes them with one statement per table in one transaction; every caller is
//! answered only once that transaction is durable. Should the batch fail, each message is
//! written again in a transaction of its own, so a failing message fails alone.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::accept_many::{Accepted, accept_many_in};
use super::messages::accept_alone;
use crate::domain::message::Message;
use crate::store::{AcceptOutcome, NewJob, StoreError, StoreResult, ThreadOwner};

/// The most accepts one transaction carries.
const MAX_BATCH: usize = 256;

struct Accept {
    message: Message,
    job: Option<NewJob>,
    thread: Option<ThreadOwner>,
    reply: oneshot::Sender<StoreResult<AcceptOutcome>>,
}

#[derive(Clone)]
pub(super) struct GroupCommit {
    queue: mpsc::Sender<Accept>,
}

impl GroupCommit {
    /// Starts the committing task on `pool`; it ends when the last handle is dropped.
    pub(super) fn start(pool: PgPool) -> Self {
        let (queue, waiting) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run(pool, waiting));
        Self { queue }
    }

    /// Accepts one message without an idempotency key; returns once it is durable.
    pub(super) async fn accept(
        &self,
        message: Message,
        job: Option<NewJob>,
        thread: Option<ThreadOwner>,
    ) -> StoreResult<AcceptOutcome> {
        let (reply, answer) = oneshot::channel();
        let request = Accept {
            message,
            job,
            thread,
            reply,
        };
        self.queue
            .send(request)
            .await
            .map_err(|_| StoreError::Unavailable("the accept writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the accept writer stopped mid-commit".into()))?
    }
}

async fn run(pool: PgPool, mut waiting: mpsc::Receiver<Accept>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&pool, std::mem::take(&mut batch)).await;
        metrics::counter!("herald_postgres_group_commits_total").increment(1);
    }
}

async fn commit(pool: &PgPool, batch: Vec<Accept>) {
    match commit_together(pool, &batch).await {
        Ok(()) => {
            for a in batch {
                let _ = a.reply.send(Ok(AcceptOutcome::Accepted));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, messages = batch.len(), "batch insert failed; writing one by one");
            for a in batch {
                let outcome = accept_alone(pool, &a.message, a.job, None, a.thread).await;
                let _ = a.reply.send(outcome);
            }
        }
    }
}

async fn commit_together(pool: &PgPool, batch: &[Accept]) -> StoreResult<()> {
    let rows: Vec<Accepted> = batch
        .iter()
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
