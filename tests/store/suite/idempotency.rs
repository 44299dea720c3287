//! Idempotency keys.

use super::*;

pub async fn an_idempotency_key_is_claimed_once(store: &dyn Store) {
    use herald::store::{AcceptOutcome, IdempotencyClaim, StoredResponse};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let claim = IdempotencyClaim {
        credential: "integrator".into(),
        key: "k-1".into(),
        request_hash: "h1".into(),
        response: Some(StoredResponse {
            status: 200,
            body: "{}".into(),
        }),
    };
    let first = message(&dealer, &department, now());
    assert_eq!(
        store
            .accept_message(&first, None, Some(&claim), None)
            .await
            .unwrap(),
        AcceptOutcome::Accepted
    );
    let second = message(&dealer, &department, now());
    match store
        .accept_message(&second, None, Some(&claim), None)
        .await
        .unwrap()
    {
        AcceptOutcome::Existing(record) => {
            assert_eq!(record.message_uuid, first.uuid);
            assert_eq!(record.response, claim.response);
        }
        other => panic!("expected the first claim, got {other:?}"),
    }
    assert!(
        store.message(second.uuid).await.unwrap().is_none(),
        "nothing written for a replay"
    );
}

// Across nodes: several claimers and requests at once, each on its own task (and, on
// PostgreSQL, its own connection). The database must decide every race.

pub async fn racing_requests_with_one_idempotency_key_accept_once(store: &Arc<dyn Store>) {
    use herald::store::{AcceptOutcome, IdempotencyClaim};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    for round in 0..10 {
        let claim = IdempotencyClaim {
            credential: "integrator".into(),
            key: format!("race-{round}"),
            request_hash: "h".into(),
            response: None,
        };
        let requests: Vec<_> = (0..2)
            .map(|_| {
                let (store, claim) = (store.clone(), claim.clone());
                let m = message(&dealer, &department, now());
                tokio::spawn(async move {
                    let outcome = store
                        .accept_message(&m, None, Some(&claim), None)
                        .await
                        .unwrap();
                    (m.uuid, outcome)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for request in requests {
            outcomes.push(request.await.unwrap());
        }

        let winners: Vec<Uuid> = outcomes
            .iter()
            .filter(|(_, o)| *o == AcceptOutcome::Accepted)
            .map(|(uuid, _)| *uuid)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        for (uuid, outcome) in &outcomes {
            if let AcceptOutcome::Existing(record) = outcome {
                assert_eq!(record.message_uuid, winners[0]);
                assert!(store.message(*uuid).await.unwrap().is_none());
            }
        }
    }
}

pub async fn an_expired_idempotency_key_is_free(store: &Arc<dyn Store>) {
    use herald::store::{AcceptOutcome, IdempotencyClaim};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let claim = IdempotencyClaim {
        credential: "integrator".into(),
        key: "k-old".into(),
        request_hash: "h1".into(),
        response: None,
    };
    let t0 = now();
    let old = message(&dealer, &department, t0 - Duration::hours(25));
    assert_eq!(
        store
            .accept_message(&old, None, Some(&claim), None)
            .await
            .unwrap(),
        AcceptOutcome::Accepted
    );
    let fresh = message(&dealer, &department, t0);
    let reused = IdempotencyClaim {
        request_hash: "h2".into(),
        ..claim.clone()
    };
    assert_eq!(
        store
            .accept_message(&fresh, None, Some(&reused), None)
            .await
            .unwrap(),
        AcceptOutcome::Accepted,
        "a key past its 24 hours is free again"
    );
    let again = message(&dealer, &department, t0);
    match store
        .accept_message(&again, None, Some(&reused), None)
        .await
        .unwrap()
    {
        AcceptOutcome::Existing(record) => {
            assert_eq!(record.message_uuid, fresh.uuid);
            assert_eq!(record.request_hash, "h2");
        }
        other => panic!("expected the renewed claim, got {other:?}"),
    }
}
