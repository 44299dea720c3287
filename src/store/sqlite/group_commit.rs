//! Group commit for accepted messages. SQLite has one writer and every commit costs an fsync
//! (`synchronous = FULL`), so one transaction per send caps acceptance at the disk's fsync
//! rate. Instead, one task takes the accepts waiting in its channel — as many as have queued
//! up while the previous batch was being committed — and writes them in one transaction;
//! every caller is answered only once that transaction is durable.
//! All messages without an idempotency key go in with one statement per table
//! (`accept_many`); should that fail, they are written again one by one, each in a savepoint
//! of its own, so a failing message rolls back alone and fails alone. Messages with a key are
//! always written one by one: each first looks for an earlier use of its key; so are messages
//! with attachments, whose files go in a table of their own.

use sqlx::{Acquire, SqliteConnection};

use super::accept_many::{Accepted, accept_many_in};
use super::messages::accept_in;
use super::writer::Writer;
use crate::domain::attachment::Attachment;
use crate::domain::message::Message;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::{AcceptOutcome, IdempotencyClaim, NewJob, StoreError, StoreResult, ThreadOwner};

/// The most accepts one transaction carries.
const MAX_BATCH: usize = 256;

pub(super) struct Accept {
    pub message: Message,
    pub job: Option<NewJob>,
    pub claim: Option<IdempotencyClaim>,
    pub thread: Option<ThreadOwner>,
    pub attachments: Vec<Attachment>,
}

impl Accept {
    /// Written one by one: a key is looked up first, and attachments have a table of their
    /// own that the fast path does not write.
    fn alone(&self) -> bool {
        self.claim.is_some() || !self.attachments.is_empty()
    }
}

/// Accepts queue here; each answer comes once its batch is durable (or refused).
pub(super) type GroupCommit = Batcher<Accept, AcceptOutcome>;

/// Starts the committing task on `writer`.
pub(super) fn start(writer: Writer) -> GroupCommit {
    super::runtime::batcher(MAX_BATCH, writer, |writer, batch| async move {
        commit(&writer, batch).await;
        metrics::counter!(crate::observability::SQLITE_GROUP_COMMITS).increment(1);
    })
}

async fn commit(writer: &Writer, batch: Vec<Waiting<Accept, AcceptOutcome>>) {
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e),
    };
    let mut outcomes: Vec<Option<StoreResult<AcceptOutcome>>> =
        batch.iter().map(|_| None).collect();
    for (a, outcome) in batch.iter().zip(outcomes.iter_mut()) {
        if a.item.alone() {
            *outcome = Some(accept_alone(&mut tx, &a.item).await);
        }
    }
    let plain: Vec<Accepted> = batch
        .iter()
        .map(|w| &w.item)
        .filter(|a| !a.alone())
        .map(|a| Accepted {
            message: &a.message,
            job: a.job,
            thread: a.thread,
        })
        .collect();
    if !plain.is_empty() && !accept_together(&mut tx, &plain).await {
        for (a, outcome) in batch.iter().zip(outcomes.iter_mut()) {
            if !a.item.alone() {
                *outcome = Some(accept_alone(&mut tx, &a.item).await);
            }
        }
    }
    drop(plain);
    if let Err(e) = tx.commit().await {
        return fail_all(batch, &e);
    }
    for (a, outcome) in batch.into_iter().zip(outcomes) {
        a.answer(outcome.unwrap_or(Ok(AcceptOutcome::Accepted)));
    }
}

/// The fast path: all in one savepoint; false (and nothing written) if any row failed.
async fn accept_together(tx: &mut SqliteConnection, plain: &[Accepted<'_>]) -> bool {
    let result = async {
        let mut savepoint = tx.begin().await?;
        match accept_many_in(&mut savepoint, plain).await {
            Ok(()) => {
                savepoint.commit().await?;
                Ok(())
            }
            Err(e) => {
                savepoint.rollback().await?;
                Err(e)
            }
        }
    }
    .await;
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, messages = plain.len(), "batch insert failed; writing one by one");
            false
        }
    }
}

/// One message in a savepoint of its own: it fails alone.
async fn accept_alone(tx: &mut SqliteConnection, a: &Accept) -> StoreResult<AcceptOutcome> {
    let mut savepoint = tx.begin().await?;
    let outcome = accept_in(
        &mut savepoint,
        &a.message,
        &a.attachments,
        a.job,
        a.claim.as_ref(),
        a.thread,
    )
    .await;
    match outcome {
        Ok(o) => {
            savepoint.commit().await?;
            Ok(o)
        }
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

fn fail_all(batch: Vec<Waiting<Accept, AcceptOutcome>>, e: &StoreError) {
    tracing::error!(error = %e, messages = batch.len(), "group commit failed");
    for a in batch {
        a.answer(Err(StoreError::Unavailable(format!("commit failed: {e}"))));
    }
}
