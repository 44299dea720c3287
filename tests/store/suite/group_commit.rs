//! Writes committed in groups: each lands as if alone, a failing one fails alone.

use super::*;
use herald::domain::codes::{ErrorCode, WarningCode};
use herald::domain::message::Recipient;

pub async fn a_failing_accept_fails_alone_among_concurrent_ones(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let taken = message(&dealer, &department, t0);
    store
        .accept_message(&taken, None, None, None)
        .await
        .unwrap();

    // Twenty accepts at once (on SQLite they share group commits), one of them a duplicate.
    let mut batch: Vec<_> = (0..19).map(|_| message(&dealer, &department, t0)).collect();
    batch.insert(7, taken.clone());
    let racers: Vec<_> = batch
        .iter()
        .cloned()
        .map(|m| {
            let store = store.clone();
            tokio::spawn(async move { store.accept_message(&m, None, None, None).await.is_ok() })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "only the duplicate fails: {results:?}"
    );
    assert!(!results[7]);
    for (i, m) in batch.iter().enumerate() {
        if i != 7 {
            assert!(
                store.message(m.uuid).await.unwrap().is_some(),
                "message {i} was stored"
            );
        }
    }
}

pub async fn concurrent_accepts_read_back_exactly_as_written(store: &Arc<dyn Store>) {
    use herald::domain::message::{MessageError, Protocol, Warning};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    // The store keeps milliseconds.
    let t0 = OffsetDateTime::from_unix_timestamp_nanos(
        now().unix_timestamp_nanos() / 1_000_000 * 1_000_000,
    )
    .unwrap();
    // Every field set, with text that JSON and SQL both have to escape.
    let written: Vec<_> = (0..12)
        .map(|i| {
            let mut m = message(&dealer, &department, t0 + time::Duration::milliseconds(i));
            m.customer_uuid = Some(Uuid::new_v4());
            m.user_uuid = (i % 2 == 0).then(Uuid::new_v4);
            m.protocol = Protocol::Email;
            m.is_manual = i % 3 == 0;
            m.override_optout = i % 2 == 1;
            m.body =
                format!("Héllo #{i} 🚗 \"quoted\" 'single' \\ back\nnew line\ttab {{}} [] ->> $1");
            m.subject = Some(format!("Subject {i} — ✓"));
            m.recipient = Recipient::Email(email(&format!("john+{i}@example.com")));
            m.cc = vec![email("a@example.com"), email("b@example.com")];
            m.bcc = vec![email("c@example.com")];
            m.options.send_v_card = true;
            m.options.delay_seconds = 30;
            m.callback_url =
                (i % 4 != 0).then(|| format!("https://client.example.com/cb?i={i}&x=\"y\""));
            m.callback_metadata = [
                ("appointmentId".to_string(), serde_json::json!(12345 + i)),
                (
                    "nested".to_string(),
                    serde_json::json!({"a": [1, 2.5, null, "x\"y"]}),
                ),
            ]
            .into_iter()
            .collect();
            m.error = (i % 5 == 0).then(|| MessageError {
                code: ErrorCode::InternalServerError,
                description: "why, with \"quotes\"".into(),
            });
            m.warnings = vec![Warning {
                code: WarningCode::InvalidEmail,
                description: "a warning".into(),
            }];
            m.provider_message_id = (i % 2 == 0).then(|| format!("SM{i:032}"));
            m.composed_body = Some(format!("{}\n-- Sarah", m.body));
            m.sender = Some("+14155550100".into());
            m.updated_at = t0 + time::Duration::seconds(1);
            m
        })
        .collect();
    // At once: on SQLite they share group commits, and so one batched write.
    let racers: Vec<_> = written
        .iter()
        .cloned()
        .map(|m| {
            let store = store.clone();
            tokio::spawn(async move { store.accept_message(&m, None, None, None).await })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap().unwrap();
    }
    for m in &written {
        let read = store.message(m.uuid).await.unwrap().expect("stored");
        assert_eq!(&read, m);
    }
}

pub async fn concurrent_accepts_for_one_thread_all_land(store: &Arc<dyn Store>) {
    use herald::store::{NewJob, ThreadOwner};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let customer = Uuid::new_v4();
    let t0 = now();
    // Forty accepts at once for one thread (on SQLite they share multi-row inserts): the
    // default associate's (not delegating) and three others' (delegating) interleaved.
    let delegates: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let racers: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let m = message(&dealer, &department, t0);
            let delegate = i % 2 == 1;
            let thread = ThreadOwner {
                department_uuid: department.uuid,
                customer_uuid: customer,
                user_uuid: if delegate {
                    delegates[i % 3]
                } else {
                    department.default_user_uuid
                },
                delegate,
            };
            let job = NewJob {
                due_at: t0,
                lease: None,
            };
            tokio::spawn(async move {
                store
                    .accept_message(&m, Some(job), None, Some(thread))
                    .await
                    .map(|_| m.uuid)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for racer in racers {
        accepted.push(racer.await.unwrap().expect("accepted"));
    }
    for uuid in &accepted {
        assert!(store.message(*uuid).await.unwrap().is_some(), "stored");
    }
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 100)
        .await
        .unwrap();
    let mut claimed: Vec<Uuid> = jobs.iter().map(|j| j.message_uuid).collect();
    claimed.sort();
    accepted.sort();
    assert_eq!(claimed, accepted, "every message has its job");
    let owner = store
        .thread_owner(department.uuid, customer)
        .await
        .unwrap()
        .expect("the thread exists");
    assert!(
        delegates.contains(&owner),
        "a delegating sender owns the thread, not the default associate"
    );
}

pub async fn a_failing_write_fails_alone_among_concurrent_ones(store: &Arc<dyn Store>) {
    // Twenty writes at once (on SQLite they share one commit), one of them a duplicate: only
    // that one fails, and every other is kept.
    let taken = dealer(store.as_ref()).await;
    let mut dealers: Vec<Dealer> = (0..19)
        .map(|i| Dealer {
            uuid: Uuid::new_v4(),
            name: format!("Dealer {i}"),
        })
        .collect();
    dealers.insert(11, taken.clone());
    let racers: Vec<_> = dealers
        .iter()
        .cloned()
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_dealer(&d, now()).await.is_ok() })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "only the duplicate fails: {results:?}"
    );
    assert!(!results[11]);
    for (i, d) in dealers.iter().enumerate() {
        assert_eq!(
            store.dealer(d.uuid).await.unwrap().map(|s| s.name),
            Some(d.name.clone()),
            "dealer {i} is kept"
        );
    }
}

pub async fn concurrent_delivery_results_land_as_if_one_by_one(store: &Arc<dyn Store>) {
    // Twenty-four results at once (on SQLite they are written together), of every kind, each
    // raced by a late result from a worker whose lease is gone: every held result is kept
    // exactly, every stale one changes nothing.
    use herald::domain::message::{MessageError, MessageStatus};
    use herald::store::{AttemptRecord, ClaimedJob, JobNext, Lease, MessageUpdate};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    queue_messages(store.as_ref(), &dealer, &department, t0, 24).await;
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 24)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 24);
    // A claimed batch's messages are read at once; one that does not exist is left out.
    let mut uuids: Vec<Uuid> = jobs.iter().map(|j| j.message_uuid).collect();
    uuids.push(Uuid::new_v4());
    let mut read: Vec<Uuid> = store
        .messages(&uuids)
        .await
        .unwrap()
        .iter()
        .map(|m| m.uuid)
        .collect();
    read.sort();
    uuids.pop();
    uuids.sort();
    assert_eq!(read, uuids);
    let later = t0 + Duration::seconds(300);
    let result = |i: usize| -> (MessageUpdate, Vec<AttemptRecord>, JobNext) {
        let attempt = |outcome: &str| AttemptRecord {
            attempt: 1,
            at: t0,
            outcome: outcome.into(),
            error_code: None,
            detail: Some(format!("result {i}")),
        };
        match i % 4 {
            0 => (
                MessageUpdate {
                    status: Some(MessageStatus::Sent),
                    provider_message_id: Some(format!("SM{i}")),
                    composed_body: Some(format!("Hello {i}")),
                    sender: Some("+14155550100".into()),
                    callbacks: vec![new_callback(1), new_callback(2)],
                    ..Default::default()
                },
                vec![attempt("SUCCESS")],
                JobNext::Done,
            ),
            1 => (
                MessageUpdate::default(),
                vec![attempt("TRANSIENT")],
                JobNext::Retry {
                    due_at: later,
                    in_doubt_since: None,
                },
            ),
            2 => (
                MessageUpdate {
                    status: Some(MessageStatus::WaitingForOptin),
                    ..Default::default()
                },
                vec![],
                JobNext::Park { until: later },
            ),
            _ => (
                MessageUpdate {
                    status: Some(MessageStatus::Failed),
                    error: Some(MessageError {
                        code: ErrorCode::RateLimitReached,
                        description: format!("full {i}"),
                    }),
                    callbacks: vec![new_callback(1)],
                    ..Default::default()
                },
                vec![],
                JobNext::Done,
            ),
        }
    };
    let mut racers = Vec::new();
    for (i, job) in jobs.iter().cloned().enumerate() {
        let stale = ClaimedJob {
            lease: Lease {
                id: Uuid::new_v4(),
                ..job.lease
            },
            ..job.clone()
        };
        let (update, attempt, next) = result(i);
        for (job, expect_held) in [(stale, false), (job, true)] {
            let store = store.clone();
            let (update, attempt) = (update.clone(), attempt.clone());
            racers.push(tokio::spawn(async move {
                let held = store
                    .finish_job(&job, update, attempt, next, t0)
                    .await
                    .unwrap();
                assert_eq!(held, expect_held, "result {i}: lease held");
            }));
        }
    }
    for racer in racers {
        racer.await.unwrap();
    }
    for (i, job) in jobs.iter().enumerate() {
        let m = store.message(job.message_uuid).await.unwrap().unwrap();
        let attempts = store.attempts(job.message_uuid).await.unwrap();
        let callbacks = store.callbacks(job.message_uuid).await.unwrap();
        let seqs: Vec<u32> = callbacks.iter().map(|c| c.seq).collect();
        match i % 4 {
            0 => {
                assert_eq!(m.status, MessageStatus::Sent, "result {i}");
                assert_eq!(m.provider_message_id.as_deref(), Some(&*format!("SM{i}")));
                assert_eq!(m.composed_body.as_deref(), Some(&*format!("Hello {i}")));
                assert_eq!(m.sender.as_deref(), Some("+14155550100"));
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].outcome, "SUCCESS");
                assert_eq!(seqs, [1, 2], "result {i}: callbacks in order");
                assert_eq!(callbacks[0].payload, "{\"n\":1}");
                assert_eq!(callbacks[1].payload, "{\"n\":2}");
            }
            1 => {
                assert_eq!(m.status, MessageStatus::Accepted, "result {i}");
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].outcome, "TRANSIENT");
                assert_eq!(attempts[0].detail.as_deref(), Some(&*format!("result {i}")));
                assert!(seqs.is_empty());
            }
            2 => {
                assert_eq!(m.status, MessageStatus::WaitingForOptin, "result {i}");
                assert!(attempts.is_empty());
                assert!(seqs.is_empty());
            }
            _ => {
                assert_eq!(m.status, MessageStatus::Failed, "result {i}");
                let error = m.error.unwrap();
                assert_eq!(error.code, ErrorCode::RateLimitReached);
                assert_eq!(error.description, format!("full {i}"));
                assert!(attempts.is_empty());
                assert_eq!(seqs, [1]);
            }
        }
    }
    // The retried and parked jobs are back in the queue, free, due when their step said; a
    // retry counts one attempt more, a parked job none.
    assert_eq!(store.queue_depth().await.unwrap(), 12);
    assert!(
        store
            .claim_jobs(later - Duration::seconds(1), StdDuration::from_secs(60), 24)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_jobs(later, StdDuration::from_secs(60), 24)
        .await
        .unwrap();
    assert_eq!(again.len(), 12);
    for job in again {
        let i = jobs
            .iter()
            .position(|j| j.message_uuid == job.message_uuid)
            .unwrap();
        assert_eq!(job.attempts, u32::from(i % 4 == 1), "result {i}: attempts");
    }
}

pub async fn a_failing_delivery_result_fails_alone_among_concurrent_ones(store: &Arc<dyn Store>) {
    // Ten results at once (on SQLite one batch), one of them carrying a callback whose id is
    // already taken: that one fails and changes nothing; the nine others are kept.
    use herald::domain::message::MessageStatus;
    use herald::store::{JobNext, MessageUpdate};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    queue_messages(store.as_ref(), &dealer, &department, t0, 11).await;
    let mut jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 11)
        .await
        .unwrap();
    let first = jobs.remove(0);
    let taken = new_callback(0);
    let update = MessageUpdate {
        callbacks: vec![taken.clone()],
        ..Default::default()
    };
    store
        .finish_job(&first, update, vec![], JobNext::Done, t0)
        .await
        .unwrap();
    let racers: Vec<_> = jobs
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, job)| {
            let store = store.clone();
            let callback = if i == 6 {
                taken.clone()
            } else {
                new_callback(i as u32)
            };
            tokio::spawn(async move {
                let update = MessageUpdate {
                    status: Some(MessageStatus::Sent),
                    callbacks: vec![callback],
                    ..Default::default()
                };
                store
                    .finish_job(&job, update, vec![], JobNext::Done, t0)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "only the duplicate fails: {results:?}"
    );
    assert!(!results[6]);
    for (i, job) in jobs.iter().enumerate() {
        let m = store.message(job.message_uuid).await.unwrap().unwrap();
        let callbacks = store.callbacks(job.message_uuid).await.unwrap();
        if i == 6 {
            assert_eq!(
                m.status,
                MessageStatus::Accepted,
                "the failed result wrote nothing"
            );
            assert!(callbacks.is_empty());
        } else {
            assert_eq!(m.status, MessageStatus::Sent, "result {i} is kept");
            assert_eq!(callbacks.len(), 1);
        }
    }
    assert_eq!(
        store.queue_depth().await.unwrap(),
        1,
        "the failed job stays queued"
    );
}
