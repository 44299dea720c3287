//! Customers, search and locks.

use super::*;

pub async fn customer_update_replaces_contacts(store: &dyn Store) {
    let dealer = dealer(store).await;
    let mut c = customer(
        &dealer,
        "John",
        &["+14155550006", "+14155550007"],
        &["john@example.com"],
    );
    store
        .save_customer(&c, ContactOrigin::Api, now())
        .await
        .unwrap();
    c.phone_numbers.remove(0);
    c.emails.clear();
    c.company = Some("Doe Hauling".into());
    store
        .save_customer(&c, ContactOrigin::Api, now())
        .await
        .unwrap();
    let loaded = store.customer(dealer.uuid, c.uuid).await.unwrap().unwrap();
    assert_eq!(loaded, c);
}

pub async fn customer_uuid_of_another_dealer_is_refused(store: &dyn Store) {
    let a = dealer(store).await;
    let b = dealer(store).await;
    let c = customer(&a, "Owned", &[], &[]);
    store
        .save_customer(&c, ContactOrigin::Api, now())
        .await
        .unwrap();
    let hijack = Customer {
        dealer_uuid: b.uuid,
        first_name: Some("Mallory".into()),
        ..c.clone()
    };
    let err = store
        .save_customer(&hijack, ContactOrigin::Api, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.customer(b.uuid, c.uuid).await.unwrap().is_none());
    assert_eq!(
        store
            .customer(a.uuid, c.uuid)
            .await
            .unwrap()
            .unwrap()
            .first_name
            .as_deref(),
        Some("Owned")
    );
}

pub async fn search_matches_names_keys_phones_and_emails(store: &dyn Store) {
    let dealer = dealer(store).await;
    let other = dealer_named(store, "Other").await;
    let john = customer(
        &dealer,
        "John",
        &["+14155552671"],
        &["john.doe@example.com"],
    );
    let jane = customer(&dealer, "Jane", &["+14155552672"], &[]);
    let stranger = customer(&other, "John", &["+14155552671"], &["john.doe@example.com"]);
    for c in [&john, &jane, &stranger] {
        store
            .save_customer(c, ContactOrigin::Api, now())
            .await
            .unwrap();
    }
    let search = |text: &str| CustomerQuery {
        text: text.into(),
        phone: PhoneNumber::parse(text).ok(),
        email: EmailAddress::parse(text).ok(),
        limit: 10,
    };
    for term in [
        "john",
        "JOHN DOE",
        "KEY-John",
        "4155552671",
        "+14155552671",
        "John.Doe@Example.com",
    ] {
        let found = store
            .search_customers(dealer.uuid, &search(term))
            .await
            .unwrap();
        let uuids: Vec<Uuid> = found.iter().map(|c| c.uuid).collect();
        assert_eq!(uuids, vec![john.uuid], "term {term}");
    }
    let both = store
        .search_customers(dealer.uuid, &search("doe"))
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    let limited = store
        .search_customers(
            dealer.uuid,
            &CustomerQuery {
                limit: 1,
                ..search("doe")
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert!(
        store
            .search_customers(dealer.uuid, &search("%"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn locks_conflict_extend_and_expire(store: &dyn Store) {
    let customer = Uuid::new_v4();
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let t0 = now();
    let lock = |user, until| CustomerLock {
        customer_uuid: customer,
        user_uuid: user,
        expires_at: until,
    };
    let held = store
        .lock_customer(&lock(alice, t0 + Duration::minutes(5)), t0)
        .await
        .unwrap();
    assert!(matches!(held, LockOutcome::Held(_)));
    let refused = store
        .lock_customer(&lock(bob, t0 + Duration::minutes(5)), t0)
        .await
        .unwrap();
    assert!(matches!(refused, LockOutcome::HeldByOther(ref l) if l.user_uuid == alice));
    let extended = store
        .lock_customer(&lock(alice, t0 + Duration::minutes(10)), t0)
        .await
        .unwrap();
    assert!(matches!(extended, LockOutcome::Held(_)));
    assert!(matches!(
        store.unlock_customer(customer, bob, t0).await.unwrap(),
        UnlockOutcome::HeldByOther(_)
    ));

    // Once the lock has expired, another user takes it without anyone unlocking.
    let later = t0 + Duration::minutes(11);
    assert!(
        store
            .customer_lock(customer, later)
            .await
            .unwrap()
            .is_none()
    );
    let taken = store
        .lock_customer(&lock(bob, later + Duration::minutes(5)), later)
        .await
        .unwrap();
    assert!(matches!(taken, LockOutcome::Held(ref l) if l.user_uuid == bob));
    assert_eq!(
        store.unlock_customer(customer, bob, later).await.unwrap(),
        UnlockOutcome::Released
    );
    assert_eq!(
        store.unlock_customer(customer, bob, later).await.unwrap(),
        UnlockOutcome::NotLocked
    );
}

/// An empty text matches no name: inbound texts find their customer by phone alone.
pub async fn a_search_by_phone_alone_finds_only_that_phones_customer(store: &dyn Store) {
    let d = dealer(store).await;
    let john = customer(&d, "John", &["+14155550601"], &[]);
    let jane = customer(&d, "Jane", &["+14155550602"], &[]);
    for c in [&john, &jane] {
        store
            .save_customer(c, ContactOrigin::Api, now())
            .await
            .unwrap();
    }
    let query = CustomerQuery {
        text: String::new(),
        phone: Some(phone("+14155550602")),
        email: None,
        limit: 10,
    };
    let found = store.search_customers(d.uuid, &query).await.unwrap();
    assert_eq!(
        found.iter().map(|c| c.uuid).collect::<Vec<_>>(),
        vec![jane.uuid]
    );
}

pub async fn racing_users_never_both_hold_a_lock(store: &Arc<dyn Store>) {
    let t0 = now();
    for round in 0..20 {
        let customer = Uuid::new_v4();
        let users = [Uuid::new_v4(), Uuid::new_v4()];
        let attempts: Vec<_> = users
            .iter()
            .map(|&user| {
                let store = store.clone();
                let lock = CustomerLock {
                    customer_uuid: customer,
                    user_uuid: user,
                    expires_at: t0 + Duration::minutes(5),
                };
                tokio::spawn(async move { store.lock_customer(&lock, t0).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for attempt in attempts {
            outcomes.push(attempt.await.unwrap());
        }

        let holders: Vec<Uuid> = outcomes
            .iter()
            .filter_map(|o| match o {
                LockOutcome::Held(l) => Some(l.user_uuid),
                LockOutcome::HeldByOther(_) => None,
            })
            .collect();
        assert_eq!(holders.len(), 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .any(|o| matches!(o, LockOutcome::HeldByOther(l) if l.user_uuid == holders[0])),
            "the loser is told who holds it: {outcomes:?}"
        );
        let lock = store.customer_lock(customer, t0).await.unwrap().unwrap();
        assert_eq!(lock.user_uuid, holders[0]);
    }
}
