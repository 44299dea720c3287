//! The pool of delivery workers of one Herald process.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::handover::Handover;
use super::{CLAIM_BATCH, Deliverer, Mode, POLL_INTERVAL, QUEUE_DEPTH_INTERVAL};
use crate::domain::message::Message;
use crate::store::{ClaimedJob, Store};

/// Runs `count` workers until `shutdown`; each finishes the job in hand before stopping.
pub async fn run_workers(
    count: usize,
    store: Arc<dyn Store>,
    deliverer: Deliverer,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut workers = JoinSet::new();
    workers.spawn(report_queue_depth(store.clone(), shutdown.clone()));
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
        // The claimed jobs go out side by side — each waits on its provider and on its
        // commits, and the store commits the waiting writes of all of them together — except
        // that one recipient's messages go one after another, in the order claimed (accepted).
        let mut lanes_running = JoinSet::new();
        for lane in lanes(&store, claimed).await {
            lanes_running.spawn(run_lane(id, deliverer.clone(), lane));
        }
        while lanes_running.join_next().await.is_some() {}
        if !full {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }
}

/// One recipient's messages, handed over in order: each starts once the one before has been
/// handed over (see [`Handover`]), while that one's result is still being written.
async fn run_lane(id: usize, deliverer: Deliverer, lane: Lane) {
    let mut steps = JoinSet::new();
    for (job, message) in lane {
        let (handover, handed_over) = Handover::pair();
        let deliverer = deliverer.clone();
        steps.spawn(async move {
            if let Err(e) = deliverer
                .deliver_loaded(&job, message, Mode::Queued, handover)
                .await
            {
                tracing::error!(worker = id, message_uuid = %job.message_uuid, error = format!("{e:#}"), "delivery step failed");
            }
        });
        // Released, or dropped when the step ended (or panicked) without sending.
        let _ = handed_over.await;
    }
    while steps.join_next().await.is_some() {}
}

/// The claimed jobs with their messages (read at once), one lane per recipient, each in
/// claim order.
async fn lanes(store: &Arc<dyn Store>, claimed: Vec<ClaimedJob>) -> Vec<Lane> {
    if claimed.is_empty() {
        return Vec::new();
    }
    let uuids: Vec<Uuid> = claimed.iter().map(|j| j.message_uuid).collect();
    let mut messages: HashMap<Uuid, Message> = match store.messages(&uuids).await {
        Ok(found) => found.into_iter().map(|m| (m.uuid, m)).collect(),
        Err(e) => {
            // A storage failure: the jobs keep their leases until they expire, then are retried.
            tracing::error!(jobs = claimed.len(), error = %e, "reading claimed messages failed");
            return Vec::new();
        }
    };
    let mut lanes: Vec<Lane> = Vec::new();
    let mut by_recipient: HashMap<String, usize> = HashMap::new();
    for job in claimed {
        let message = messages.remove(&job.message_uuid);
        let key = message.as_ref().map(|m| m.recipient.to_string());
        match key.as_ref().and_then(|k| by_recipient.get(k)) {
            Some(&lane) => lanes[lane].push((job, message)),
            None => {
                if let Some(k) = key {
                    by_recipient.insert(k, lanes.len());
                }
                lanes.push(vec![(job, message)]);
            }
        }
    }
    lanes
}

type Lane = Vec<(ClaimedJob, Option<Message>)>;

/// Keeps `herald_delivery_queue_depth` current: one count per node per interval, however
/// many workers run.
async fn report_queue_depth(store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(QUEUE_DEPTH_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Ok(depth) = store.queue_depth().await {
            metrics::gauge!(crate::observability::QUEUE_DEPTH).set(depth as f64);
        }
    }
}
