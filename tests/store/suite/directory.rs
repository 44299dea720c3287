//! The directory and credentials: departments, their default users, credentials, sender numbers.

use super::*;

pub async fn department_comes_with_its_default_user(store: &dyn Store) {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let loaded = store.department(department.uuid).await.unwrap().unwrap();
    assert_eq!(loaded, department);
    let user = store
        .user(department.default_user_uuid)
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_default);
    assert_eq!(user.department_uuid, department.uuid);
    assert!(store.department(Uuid::new_v4()).await.unwrap().is_none());
}

pub async fn credentials_upsert_and_revoke(store: &dyn Store) {
    let dealer = dealer(store).await;
    let grant = Grant {
        scope: Scope::MessageCreate,
        level: Level::Dealer,
        uuid: dealer.uuid,
    };
    let first = IssuedCredential::generate_for("integrator".into(), vec![grant]);
    store
        .put_credential(&first.credential, now())
        .await
        .unwrap();
    let loaded = store.credential("integrator").await.unwrap().unwrap();
    assert!(loaded.verify(&first.password));
    assert_eq!(loaded.grants, vec![grant]);

    assert!(store.revoke_credential("integrator", now()).await.unwrap());
    let revoked = store.credential("integrator").await.unwrap().unwrap();
    assert!(revoked.revoked);
    assert!(!revoked.verify(&first.password));
    assert!(!store.revoke_credential("nobody", now()).await.unwrap());

    let second = IssuedCredential::generate_for("integrator".into(), vec![]);
    store
        .put_credential(&second.credential, now())
        .await
        .unwrap();
    let reissued = store.credential("integrator").await.unwrap().unwrap();
    assert!(reissued.verify(&second.password));
    assert!(!reissued.verify(&first.password));
    assert!(reissued.grants.is_empty());
}

pub async fn a_sender_number_belongs_to_one_dealer(store: &dyn Store) {
    const N: &str = "+14155550700";
    let a = dealer(store).await;
    let b = dealer(store).await;
    let a1 = department_texting_from(store, &a, N).await.unwrap();
    // Departments of one dealer share it.
    let a2 = department_texting_from(store, &a, N).await.unwrap();
    // Another dealer cannot take it, new or by an update, and nothing of its write is kept.
    assert_in_use(department_texting_from(store, &b, N).await, N);
    let b1 = department(store, &b).await;
    assert_in_use(store.update_department(&with_sender(&b1, Some(N))).await, N);
    assert_eq!(store.department(b1.uuid).await.unwrap().unwrap(), b1);
    // Both of `a`'s, in any order: the two can be created within one millisecond.
    let senders = store.departments_by_sender(&phone(N)).await.unwrap();
    let mut found: Vec<_> = senders.iter().map(|d| d.uuid).collect();
    found.sort();
    let mut expected = vec![a1.uuid, a2.uuid];
    expected.sort();
    assert_eq!(found, expected);
    // An update that keeps the number is no new claim.
    let mut renamed = a1.clone();
    renamed.name = "Front Desk".into();
    store.update_department(&renamed).await.unwrap();
    // Once no department of `a` texts from it, it is free for `b`, and then no longer `a`'s.
    store
        .update_department(&with_sender(&a1, Some("+14155550701")))
        .await
        .unwrap();
    assert_in_use(store.update_department(&with_sender(&b1, Some(N))).await, N);
    store
        .update_department(&with_sender(&a2, None))
        .await
        .unwrap();
    store
        .update_department(&with_sender(&b1, Some(N)))
        .await
        .unwrap();
    assert_in_use(store.update_department(&with_sender(&a2, Some(N))).await, N);
    assert_in_use(department_texting_from(store, &a, N).await, N);
}

/// Two dealers taking one number at once: one wins, on any number of nodes; and while one
/// dealer's department lets a number go, another of its departments and another dealer
/// taking it never leave the number with two dealers.
pub async fn racing_dealers_never_both_take_a_sender_number(store: &Arc<dyn Store>) {
    for round in 0..20 {
        let number = format!("+1415555{:04}", 8000 + round);
        let a = dealer(store.as_ref()).await;
        let b = dealer(store.as_ref()).await;
        let attempts: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|d| {
                let store = store.clone();
                let number = number.clone();
                tokio::spawn(
                    async move { department_texting_from(store.as_ref(), &d, &number).await },
                )
            })
            .collect();
        let mut won = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert!(matches!(e, StoreError::SenderNumberInUse(_)), "{e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
    }
    for round in 0..20 {
        let number = format!("+1415555{:04}", 9000 + round);
        let a = dealer(store.as_ref()).await;
        let b = dealer(store.as_ref()).await;
        let a1 = department_texting_from(store.as_ref(), &a, &number)
            .await
            .unwrap();
        let a2 = department(store.as_ref(), &a).await;
        let b1 = department(store.as_ref(), &b).await;
        let writes = [
            with_sender(&a1, Some(&format!("+1415557{:04}", round))),
            with_sender(&a2, Some(&number)),
            with_sender(&b1, Some(&number)),
        ];
        let tasks: Vec<_> = writes
            .into_iter()
            .map(|d| {
                let store = store.clone();
                tokio::spawn(async move { store.update_department(&d).await })
            })
            .collect();
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                assert!(matches!(e, StoreError::SenderNumberInUse(_)), "{e:?}");
            }
        }
        let dealers: HashSet<Uuid> = store
            .departments_by_sender(&phone(&number))
            .await
            .unwrap()
            .iter()
            .map(|d| d.dealer_uuid)
            .collect();
        assert!(dealers.len() <= 1, "round {round}: {dealers:?}");
        // Whoever has it now, the other dealer cannot take it.
        if let Some(owner) = dealers.into_iter().next() {
            let other = if owner == a.uuid { &b } else { &a };
            assert_in_use(
                department_texting_from(store.as_ref(), other, &number).await,
                &number,
            );
        }
    }
}
