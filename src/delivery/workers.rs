//! The pool of delivery workers of one Herald process.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{CLAIM_BATCH, Deliverer, Mode, POLL_INTERVAL};
use crate::store::Store;

/// Runs `count` workers until `shutdown`; each finishes the job in hand before stopping.
pub async fn run_workers(
    count: usize,
    store: Arc<dyn Store>,
    deliverer: Deliverer,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut workers = JoinSet::new();
    for id in 0..count {
        workers.spawn(work(
            id,
            store.clone(),
            deliverer.clone(),
            wake.clone(),
            shutdown.clone(),
        ));
    }
    while workers.join_next().await.is_some() {}
}

async fn work(
    id: usize,
    store: Arc<dyn Store>,
    deliverer: Deliverer,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let claimed = match store
            .claim_jobs(deliverer.now(), deliverer.lease(), CLAIM_BATCH)
            .await
        {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(worker = id, error = %e, "claiming delivery jobs failed");
                Vec::new()
            }
        };
        let full = claimed.len() as u32 == CLAIM_BATCH;
        for job in &claimed {
            if let Err(e) = deliverer.deliver(job, Mode::Queued).await {
                tracing::error!(worker = id, message = %job.message_uuid, error = format!("{e:#}"), "delivery step failed");
            }
        }
        if let Ok(depth) = store.queue_depth().await {
            metrics::gauge!("herald_delivery_queue_depth").set(depth as f64);
        }
        if !full {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }
}
