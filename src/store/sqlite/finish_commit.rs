//! Group commit for delivery results. Every delivered message ends with a handful of writes
//! (its job, its status, its attempt, its callbacks); written one step at a time they cost
//! several hand-offs to SQLite's thread each. Instead one task takes the results waiting in its
//! channel and writes them together in one query (`finish_many`); each worker is answered once
//! that write is durable. Should the batch fail, it is undone and every result is written
//! again alone, in a savepoint of its own, so a failing one fails alone; so is a batch holding
//! one message twice.

use std::collections::HashSet;

use sqlx::{Acquire, SqliteConnection};

use super::finish_many::finish_many_in;
use super::messages::finish_job_in;
use super::writer::Writer;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::queued::Finish;
use crate::store::{StoreError, StoreResult};

/// The most results one batch carries.
const MAX_BATCH: usize = 256;
/// Results queue here; each answer (whether the lease was still held) comes once durable.
pub(super) type FinishCommit = Batcher<Finish, bool>;

/// Starts the committing task on `writer`.
pub(super) fn start(writer: Writer) -> FinishCommit {
    super::runtime::batcher(MAX_BATCH, writer, |writer, batch| async move {
        commit(&writer, batch).await
    })
}

async fn commit(writer: &Writer, batch: Vec<Waiting<Finish, bool>>) {
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e),
    };
    let items: Vec<&Finish> = batch.iter().map(|w| &w.item).collect();
    // One message twice in a batch (a result recorded by a worker whose lease has passed to
    // another) must be written in order, one after the other.
    let mut seen = HashSet::with_capacity(items.len());
    let distinct = items.iter().all(|f| seen.insert(f.job.message_uuid));
    let together = if distinct {
        match finish_many_in(&mut tx, &items).await {
            Ok(held) => Some(held),
            Err(e) => {
                tracing::warn!(error = %e, results = items.len(), "batched delivery results failed; writing one by one");
                if let Err(e) = tx.undo_so_far().await {
                    drop(items);
                    drop(tx);
                    return fail_all(batch, &e);
                }
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
                outcomes.push(finish_alone(&mut tx, f).await);
            }
            outcomes
        }
    };
    drop(items);
    if let Err(e) = tx.commit().await {
        return fail_all(batch, &e);
    }
    for (w, outcome) in batch.into_iter().zip(outcomes) {
        w.answer(outcome);
    }
}

/// One result in a savepoint of its own: it fails alone.
async fn finish_alone(tx: &mut SqliteConnection, f: &Finish) -> StoreResult<bool> {
    let mut savepoint = tx.begin().await?;
    match finish_job_in(
        &mut savepoint,
        &f.job,
        &f.update,
        &f.attempts,
        f.next,
        f.now,
    )
    .await
    {
        Ok(held) => {
            savepoint.commit().await?;
            Ok(held)
        }
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

fn fail_all(batch: Vec<Waiting<Finish, bool>>, e: &StoreError) {
    tracing::error!(error = %e, results = batch.len(), "writing delivery results failed");
    for w in batch {
        w.answer(Err(StoreError::Unavailable(format!("commit failed: {e}"))));
    }
}
