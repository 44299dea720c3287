//! Callbacks: one at a time per message, in order, leased.

use super::*;

pub async fn callbacks_of_one_message_are_claimed_in_order(store: &dyn Store) {
    use herald::store::{CallbackResult, JobNext, MessageUpdate, NewJob};
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
    let update = MessageUpdate {
        callbacks: vec![new_callback(1), new_callback(2)],
        ..Default::default()
    };
    store
        .finish_job(&job, update, vec![], JobNext::Done, t0)
        .await
        .unwrap();

    let lease = StdDuration::from_secs(60);
    let first = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(
        first.len(),
        1,
        "only the first callback of a message is claimable"
    );
    assert_eq!(first[0].payload, "{\"n\":1}");
    // A retry keeps the order: the second still waits.
    store
        .finish_callback(
            &first[0],
            CallbackResult::Retry {
                due_at: t0,
                detail: "HTTP 500".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let again = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].webhook_id, first[0].webhook_id);
    assert_eq!(again[0].attempts, 1);
    store
        .finish_callback(
            &again[0],
            CallbackResult::Delivered {
                detail: "HTTP 200".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let second = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].payload, "{\"n\":2}");
    let records = store.callbacks(m.uuid).await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
        ["DELIVERED", "PENDING"]
    );
}

pub async fn concurrent_claimers_never_hold_two_callbacks_of_one_message(store: &Arc<dyn Store>) {
    use herald::store::{CallbackResult, JobNext, MessageUpdate};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let lease = StdDuration::from_secs(60);
    const MESSAGES: usize = 10;
    const PER_MESSAGE: u32 = 3;
    queue_messages(store.as_ref(), &dealer, &department, t0, MESSAGES).await;
    let jobs = store.claim_jobs(t0, lease, 100).await.unwrap();
    assert_eq!(jobs.len(), MESSAGES);
    for job in &jobs {
        let update = MessageUpdate {
            callbacks: (1..=PER_MESSAGE).map(new_callback).collect(),
            ..Default::default()
        };
        assert!(
            store
                .finish_job(job, update, vec![], JobNext::Done, t0)
                .await
                .unwrap()
        );
    }

    // Each claimer marks a message busy from claim to finish; finding it busy already means
    // two callbacks of one message were out at once.
    let busy = Arc::new(Mutex::new(HashSet::new()));
    let delivered: Arc<Mutex<HashMap<Uuid, Vec<u64>>>> = Arc::default();
    let total = MESSAGES * PER_MESSAGE as usize;
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let (store, busy, delivered) = (store.clone(), busy.clone(), delivered.clone());
            tokio::spawn(async move {
                loop {
                    if delivered
                        .lock()
                        .unwrap()
                        .values()
                        .map(Vec::len)
                        .sum::<usize>()
                        == total
                    {
                        return;
                    }
                    let batch = store.claim_callbacks(t0, lease, 5).await.unwrap();
                    for cb in &batch {
                        assert!(
                            busy.lock().unwrap().insert(cb.message_uuid),
                            "two callbacks of message {} claimed at once",
                            cb.message_uuid
                        );
                    }
                    if batch.is_empty() {
                        tokio::time::sleep(StdDuration::from_millis(2)).await;
                    }
                    for cb in batch {
                        let payload: serde_json::Value = serde_json::from_str(&cb.payload).unwrap();
                        delivered
                            .lock()
                            .unwrap()
                            .entry(cb.message_uuid)
                            .or_default()
                            .push(payload["n"].as_u64().unwrap());
                        // Free before finishing: once finished, the next one may be claimed.
                        busy.lock().unwrap().remove(&cb.message_uuid);
                        let result = CallbackResult::Delivered {
                            detail: "HTTP 200".into(),
                        };
                        assert!(store.finish_callback(&cb, result, t0).await.unwrap());
                    }
                }
            })
        })
        .collect();
    tokio::time::timeout(StdDuration::from_secs(60), async {
        for claimer in claimers {
            claimer.await.unwrap();
        }
    })
    .await
    .expect("every callback delivered within a minute");

    let delivered = delivered.lock().unwrap();
    assert_eq!(delivered.len(), MESSAGES);
    for order in delivered.values() {
        assert_eq!(order, &[1, 2, 3], "callbacks of a message go out in order");
    }
}

pub async fn concurrent_callback_results_land_as_if_one_by_one(store: &Arc<dyn Store>) {
    // Sixteen callback results at once (on SQLite one statement), each raced by a late one
    // from a dispatcher whose lease is gone.
    use herald::store::{CallbackResult, ClaimedCallback, Lease};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    queue_callbacks(store.as_ref(), &dealer, &department, t0, 16).await;
    let claimed = store
        .claim_callbacks(t0, StdDuration::from_secs(60), 16)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 16);
    let later = t0 + Duration::seconds(90);
    let result = |i: usize| match i % 3 {
        0 => CallbackResult::Delivered {
            detail: format!("HTTP 200 ({i})"),
        },
        1 => CallbackResult::Retry {
            due_at: later,
            detail: format!("HTTP 503 ({i})"),
        },
        _ => CallbackResult::Failed {
            detail: format!("HTTP 410 ({i})"),
        },
    };
    let mut racers = Vec::new();
    for (i, callback) in claimed.iter().cloned().enumerate() {
        let stale = ClaimedCallback {
            lease: Lease {
                id: Uuid::new_v4(),
                ..callback.lease
            },
            ..callback.clone()
        };
        for (callback, expect_held) in [(callback, true), (stale, false)] {
            let (store, result) = (store.clone(), result(i));
            racers.push(tokio::spawn(async move {
                let held = store.finish_callback(&callback, result, t0).await.unwrap();
                assert_eq!(held, expect_held, "result {i}: lease held");
            }));
        }
    }
    for racer in racers {
        racer.await.unwrap();
    }
    for (i, callback) in claimed.iter().enumerate() {
        let records = store.callbacks(callback.message_uuid).await.unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        let (state, detail) = match i % 3 {
            0 => ("DELIVERED", format!("HTTP 200 ({i})")),
            1 => ("PENDING", format!("HTTP 503 ({i})")),
            _ => ("FAILED", format!("HTTP 410 ({i})")),
        };
        assert_eq!(r.state, state, "result {i}");
        assert_eq!(r.attempts, 1, "result {i}: one attempt counted");
        assert_eq!(r.last_result.as_deref(), Some(&*detail));
    }
    // The retried ones are due again at their time, free to claim.
    assert!(
        store
            .claim_callbacks(later - Duration::seconds(1), StdDuration::from_secs(60), 16)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_callbacks(later, StdDuration::from_secs(60), 16)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        (0..claimed.len()).filter(|i| i % 3 == 1).count()
    );
}

pub async fn a_leased_callback_is_claimed_again_only_once_its_lease_expires(store: &dyn Store) {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    queue_callbacks(store, &dealer, &department, t0, 1).await;
    let lease = StdDuration::from_secs(30);
    let first = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    // The dispatcher holding it died: nobody else gets it before the lease runs out.
    let before = t0 + Duration::seconds(29);
    assert!(
        store
            .claim_callbacks(before, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let after = t0 + Duration::seconds(30);
    let again = store.claim_callbacks(after, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1, "claimed again once the lease has expired");
    assert_eq!(again[0].webhook_id, first[0].webhook_id);
    assert_ne!(again[0].lease, first[0].lease);
}
