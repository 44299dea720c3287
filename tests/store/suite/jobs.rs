//! Delivery jobs: leases, retries, in-doubt claims and receipts.

use super::*;

pub async fn jobs_are_leased_to_one_claimer_and_retaken_after_expiry(store: &dyn Store) {
    use herald::store::{AcceptOutcome, JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    for _ in 0..3 {
        let m = message(&dealer, &department, t0);
        let job = NewJob {
            due_at: t0,
            lease: None,
        };
        assert_eq!(
            store
                .accept_message(&m, Some(job), None, None)
                .await
                .unwrap(),
            AcceptOutcome::Accepted
        );
    }
    let lease = StdDuration::from_secs(60);
    let (a, b) = tokio::join!(
        store.claim_jobs(t0, lease, 2),
        store.claim_jobs(t0, lease, 2)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut claimed: Vec<Uuid> = a.iter().chain(b.iter()).map(|j| j.message_uuid).collect();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 3, "every job claimed once: {a:?} {b:?}");
    assert_eq!(a.len() + b.len(), 3);
    assert!(
        store.claim_jobs(t0, lease, 10).await.unwrap().is_empty(),
        "leased jobs are not claimable"
    );

    // The claimer died: after the lease, another worker takes the jobs.
    let later = t0 + Duration::seconds(61);
    let retaken = store.claim_jobs(later, lease, 10).await.unwrap();
    assert_eq!(retaken.len(), 3);
    let stale = a.first().or(b.first()).unwrap();
    let done = MessageUpdate {
        status: Some(herald::domain::message::MessageStatus::Sent),
        ..Default::default()
    };
    assert!(
        !store
            .finish_job(stale, done.clone(), vec![], JobNext::Done, later)
            .await
            .unwrap(),
        "a lost lease records nothing"
    );
    let fresh = retaken
        .iter()
        .find(|j| j.message_uuid == stale.message_uuid)
        .unwrap();
    assert!(
        store
            .finish_job(fresh, done, vec![], JobNext::Done, later)
            .await
            .unwrap()
    );
    let m = store.message(stale.message_uuid).await.unwrap().unwrap();
    assert_eq!(m.status, herald::domain::message::MessageStatus::Sent);
    assert_eq!(store.queue_depth().await.unwrap(), 2);
}

/// SPEC 6: a job retaken after a lease that recorded no result is in doubt since that claim
/// began; a step that records an in-doubt attempt keeps the doubt for the next claim; any
/// other recorded result clears it.
pub async fn a_retaken_or_timed_out_job_is_claimed_in_doubt(store: &dyn Store) {
    use herald::store::{Doubt, JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    // The stores keep times to the millisecond.
    let t0 = now();
    let t0 = t0.replace_millisecond(t0.millisecond()).unwrap();
    let m = message(&dealer, &department, t0);
    let job = NewJob {
        due_at: t0,
        lease: None,
    };
    store
        .accept_message(&m, Some(job), None, None)
        .await
        .unwrap();
    let lease = StdDuration::from_secs(60);
    let first = store.claim_jobs(t0, lease, 1).await.unwrap().remove(0);
    assert_eq!(first.doubt, None, "a first claim is not in doubt");

    // The claimer died mid-step: the next claim knows, and since when.
    let t1 = t0 + Duration::seconds(61);
    let retaken = store.claim_jobs(t1, lease, 1).await.unwrap().remove(0);
    assert_eq!(
        retaken.doubt,
        Some(Doubt {
            since: Some(t0),
            retaken: true
        })
    );

    // Its step could not ask the provider: retried, still in doubt since the first claim.
    let t2 = t1 + Duration::seconds(1);
    let next = JobNext::Retry {
        due_at: t2,
        in_doubt_since: Some(t0),
    };
    assert!(
        store
            .finish_job(&retaken, MessageUpdate::default(), vec![], next, t1)
            .await
            .unwrap()
    );
    let asked_again = store.claim_jobs(t2, lease, 1).await.unwrap().remove(0);
    assert_eq!(
        asked_again.doubt,
        Some(Doubt {
            since: Some(t0),
            retaken: false
        })
    );
    assert_eq!(asked_again.attempts, 1);

    // Settled (not found, then a transient failure): the doubt is gone.
    let next = JobNext::Retry {
        due_at: t2,
        in_doubt_since: None,
    };
    assert!(
        store
            .finish_job(&asked_again, MessageUpdate::default(), vec![], next, t2)
            .await
            .unwrap()
    );
    let clear = store.claim_jobs(t2, lease, 1).await.unwrap().remove(0);
    assert_eq!(clear.doubt, None);
    // Released unsent (a lane short of lease): not in doubt either, and due at once.
    assert!(
        store
            .finish_job(
                &clear,
                MessageUpdate::default(),
                vec![],
                JobNext::Park { until: t2 },
                t2
            )
            .await
            .unwrap()
    );
    let released = store.claim_jobs(t2, lease, 1).await.unwrap().remove(0);
    assert_eq!(released.doubt, None);
    assert_eq!(released.attempts, 2);
}

pub async fn a_retried_job_waits_for_its_due_time(store: &dyn Store) {
    use herald::store::{JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    let m = message(&dealer, &department, t0);
    store
        .accept_message(
            &m,
            Some(NewJob {
                due_at: t0,
                lease: None,
            }),
            None,
            None,
        )
        .await
        .unwrap();
    let job = store
        .claim_jobs(t0, StdDuration::from_secs(60), 1)
        .await
        .unwrap()
        .remove(0);
    let due_at = t0 + Duration::seconds(30);
    assert!(
        store
            .finish_job(
                &job,
                MessageUpdate::default(),
                vec![],
                JobNext::Retry {
                    due_at,
                    in_doubt_since: None
                },
                t0
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_jobs(t0 + Duration::seconds(29), StdDuration::from_secs(60), 1)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_jobs(due_at, StdDuration::from_secs(60), 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
}

pub async fn receipts_never_move_a_final_status_back(store: &dyn Store) {
    use herald::domain::message::MessageStatus;
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let m = message(&dealer, &department, now());
    store.accept_message(&m, None, None, None).await.unwrap();
    assert!(
        store
            .apply_receipt(
                m.uuid,
                MessageStatus::Delivered,
                None,
                Some(new_callback(1)),
                now()
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_receipt(
                m.uuid,
                MessageStatus::Undelivered,
                None,
                Some(new_callback(2)),
                now()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.message(m.uuid).await.unwrap().unwrap().status,
        MessageStatus::Delivered
    );
    assert_eq!(
        store.callbacks(m.uuid).await.unwrap().len(),
        1,
        "no callback for a receipt that changed nothing"
    );
}

pub async fn concurrent_claimers_never_share_a_job(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let queued = queue_messages(store.as_ref(), &dealer, &department, t0, 50).await;

    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_jobs(t0, StdDuration::from_secs(60), 5)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    assert!(batch.len() <= 5, "a batch never exceeds its limit");
                    mine.extend(batch.into_iter().map(|j| j.message_uuid));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }

    assert_eq!(claimed.len(), 50, "every job claimed exactly once");
    let claimed: HashSet<Uuid> = claimed.into_iter().collect();
    assert_eq!(claimed, queued.into_iter().collect::<HashSet<_>>());
}
