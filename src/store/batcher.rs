//! The queue behind group commit, shared by both backends: callers put a request in a channel
//! and wait for its answer; one task takes every request waiting — as many as queued up while
//! it handled the previous batch, up to a limit — and hands them to the backend together.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreResult};

/// One request in a batch, with the way back to its caller.
pub(crate) struct Waiting<T, R> {
    pub item: T,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<T, R> Waiting<T, R> {
    pub fn answer(self, outcome: StoreResult<R>) {
        // A caller that stopped waiting (its request was cancelled) needs no answer.
        let _ = self.reply.send(outcome);
    }
}

pub(crate) struct Batcher<T, R> {
    queue: mpsc::Sender<Waiting<T, R>>,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task that hands batches of at most `max` to `handle`; it ends when the
    /// `Batcher` is dropped. `handle` must answer every request of its batch.
    pub fn start<F, Fut>(max: usize, handle: F) -> Self
    where
        F: FnMut(Vec<Waiting<T, R>>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::start_with(max, handle, |task| {
            tokio::spawn(task);
        })
    }

    /// [`Self::start`], with the task started by `spawn` (e.g. on a runtime of its own).
    pub fn start_with<F, Fut, S>(max: usize, mut handle: F, spawn: S) -> Self
    where
        F: FnMut(Vec<Waiting<T, R>>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        S: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
    {
        let (queue, mut waiting) = mpsc::channel(max * 4);
        spawn(Box::pin(async move {
            let mut batch = Vec::with_capacity(max);
            while waiting.recv_many(&mut batch, max).await > 0 {
                handle(std::mem::take(&mut batch)).await;
            }
        }));
        Self { queue }
    }

    /// Queues `item`; returns its answer once its batch has been handled.
    pub async fn submit(&self, item: T) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Waiting { item, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the batch writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the batch writer stopped mid-batch".into()))?
    }
}
