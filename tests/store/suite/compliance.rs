//! Opt states and their history, the blacklist, okToEmail and opt-in requests.

use super::*;

pub async fn api_numbers_start_not_set_and_imported_ones_opted_in(store: &dyn Store) {
    let dealer = dealer(store).await;
    let from_api = customer(&dealer, "Api", &["+14155550001"], &[]);
    let from_dms = customer(&dealer, "Dms", &["+14155550002"], &[]);
    store
        .save_customer(&from_api, ContactOrigin::Api, now())
        .await
        .unwrap();
    store
        .save_customer(&from_dms, ContactOrigin::DmsImport, now())
        .await
        .unwrap();
    let api_state = store
        .opt_status(dealer.uuid, &phone("+14155550001"))
        .await
        .unwrap();
    let dms_state = store
        .opt_status(dealer.uuid, &phone("+14155550002"))
        .await
        .unwrap();
    assert_eq!(api_state.state, OptState::NotSet);
    assert!(api_state.time_of_change.is_none());
    assert_eq!(dms_state.state, OptState::OptedIn);
    assert!(dms_state.time_of_change.is_some());
}

pub async fn import_never_undoes_an_opt_out(store: &dyn Store) {
    let dealer = dealer(store).await;
    let number = phone("+14155550003");
    let change = OptChange {
        phone: &number,
        event: OptEvent::StopMessageReceived,
        source: OptSource::Inbound,
        cause: &OptCause::NONE,
    };
    store
        .apply_opt_changes(dealer.uuid, &[change], now())
        .await
        .unwrap();
    let c = customer(&dealer, "Stopped", &["+14155550003"], &[]);
    store
        .save_customer(&c, ContactOrigin::DmsImport, now())
        .await
        .unwrap();
    assert_eq!(
        store.opt_status(dealer.uuid, &number).await.unwrap().state,
        OptState::OptedOut
    );
}

pub async fn opt_state_is_per_dealer(store: &dyn Store) {
    let a = dealer(store).await;
    let b = dealer(store).await;
    let number = phone("+14155550005");
    let change = OptChange {
        phone: &number,
        event: OptEvent::UserRequestedOptOut,
        source: OptSource::Api,
        cause: &OptCause::NONE,
    };
    store
        .apply_opt_changes(a.uuid, &[change], now())
        .await
        .unwrap();
    assert_eq!(
        store.opt_status(a.uuid, &number).await.unwrap().state,
        OptState::OptedOut
    );
    assert_eq!(
        store.opt_status(b.uuid, &number).await.unwrap().state,
        OptState::NotSet
    );
}

pub async fn blacklist_matches_address_and_domain(store: &dyn Store) {
    let dealer = dealer(store).await;
    let other = dealer_named(store, "Other").await;
    store
        .add_to_blacklist(
            dealer.uuid,
            &[email("bad@example.com")],
            &["spam.example.net".into()],
            now(),
        )
        .await
        .unwrap();
    assert!(
        store
            .is_blacklisted(dealer.uuid, &email("bad@example.com"))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_blacklisted(dealer.uuid, &email("anyone@spam.example.net"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_blacklisted(dealer.uuid, &email("good@example.com"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_blacklisted(other.uuid, &email("bad@example.com"))
            .await
            .unwrap()
    );
    // Adding the same entries again is harmless.
    store
        .add_to_blacklist(
            dealer.uuid,
            &[email("bad@example.com")],
            &["spam.example.net".into()],
            now(),
        )
        .await
        .unwrap();
}

pub async fn ok_to_email_is_set_per_dealer(store: &dyn Store) {
    let a = dealer(store).await;
    let b = dealer(store).await;
    let address = "shared@example.com";
    store
        .save_customer(
            &customer(&a, "A", &[], &[address]),
            ContactOrigin::Api,
            now(),
        )
        .await
        .unwrap();
    store
        .save_customer(
            &customer(&b, "B", &[], &[address]),
            ContactOrigin::Api,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .set_ok_to_email(a.uuid, &opt_out_email(&email(address)), now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .email_flags(a.uuid, &email(address))
            .await
            .unwrap()
            .iter()
            .map(|f| f.ok_to_email)
            .collect::<Vec<_>>(),
        vec![false]
    );
    assert_eq!(
        store
            .email_flags(b.uuid, &email(address))
            .await
            .unwrap()
            .iter()
            .map(|f| f.ok_to_email)
            .collect::<Vec<_>>(),
        vec![true]
    );
    assert!(
        store
            .email_flags(a.uuid, &email("unknown@example.com"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn an_opt_out_racing_an_import_always_wins(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    for round in 0..20 {
        let number = phone(&format!("+1415555{:04}", 100 + round));
        let racers: Vec<_> = [
            (OptEvent::DmsImport, OptSource::DmsImport),
            (OptEvent::StopMessageReceived, OptSource::Inbound),
        ]
        .into_iter()
        .map(|(event, source)| {
            let (store, number) = (store.clone(), number.clone());
            tokio::spawn(async move {
                let change = OptChange {
                    phone: &number,
                    event,
                    source,
                    cause: &OptCause::NONE,
                };
                store
                    .apply_opt_changes(dealer.uuid, &[change], now())
                    .await
                    .unwrap();
            })
        })
        .collect();
        for racer in racers {
            racer.await.unwrap();
        }

        // Whichever came first, the import never undoes the STOP: either it came before it,
        // or it saw the opt-out and changed nothing.
        assert_eq!(
            store.opt_status(dealer.uuid, &number).await.unwrap().state,
            OptState::OptedOut,
            "round {round}"
        );
        let history = store.opt_history(dealer.uuid, &number).await.unwrap();
        let events: Vec<_> = history.iter().map(|h| h.event.as_str()).collect();
        // An import after the STOP is kept in the history too, changing nothing.
        assert!(
            events == ["STOP_MESSAGE_RECEIVED", "DMS_IMPORT"]
                || events == ["DMS_IMPORT", "STOP_MESSAGE_RECEIVED"],
            "round {round}: {events:?}"
        );
    }
}

pub async fn an_optin_request_is_claimed_once_a_day_only_for_undecided_numbers(
    store: &Arc<dyn Store>,
) {
    let dealer = dealer(store.as_ref()).await;
    let number = phone("+14155550102");
    let t0 = now();
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let (store, number) = (store.clone(), number.clone());
            tokio::spawn(async move {
                store
                    .claim_optin_request(dealer.uuid, &number, OptSource::Api, &OptCause::NONE, t0)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = 0;
    for racer in racers {
        claimed += usize::from(racer.await.unwrap());
    }
    assert_eq!(claimed, 1);
    assert!(
        !store
            .claim_optin_request(
                dealer.uuid,
                &number,
                OptSource::Api,
                &OptCause::NONE,
                t0 + Duration::hours(23)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_optin_request(
                dealer.uuid,
                &number,
                OptSource::Api,
                &OptCause::NONE,
                t0 + Duration::hours(25)
            )
            .await
            .unwrap()
    );
    let out = phone("+14155550103");
    let change = OptChange {
        phone: &out,
        event: OptEvent::StopMessageReceived,
        source: OptSource::Inbound,
        cause: &OptCause::NONE,
    };
    store
        .apply_opt_changes(dealer.uuid, &[change], t0)
        .await
        .unwrap();
    assert!(
        !store
            .claim_optin_request(dealer.uuid, &out, OptSource::Api, &OptCause::NONE, t0)
            .await
            .unwrap()
    );
}

pub async fn an_optin_releases_the_messages_waiting_for_it_in_order(store: &Arc<dyn Store>) {
    use herald::domain::message::MessageStatus;
    use herald::store::{JobNext, MessageUpdate};
    use std::time::Duration as StdDuration;
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let queued = queue_messages(store.as_ref(), &dealer, &department, t0, 3).await;
    let until = t0 + Duration::days(1);
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 10)
        .await
        .unwrap();
    for job in &jobs {
        let update = MessageUpdate {
            status: Some(MessageStatus::WaitingForOptin),
            ..Default::default()
        };
        assert!(
            store
                .finish_job(job, update, vec![], JobNext::Park { until }, t0)
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .claim_jobs(t0, StdDuration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "parked"
    );

    let number = phone("+14155550199");
    let yes = OptChange {
        phone: &number,
        event: OptEvent::OptinMessageReceived,
        source: OptSource::Inbound,
        cause: &OptCause::NONE,
    };
    let t1 = t0 + Duration::minutes(5);
    store
        .apply_opt_changes(dealer.uuid, &[yes], t1)
        .await
        .unwrap();
    let released = store
        .claim_jobs(t1, StdDuration::from_secs(60), 10)
        .await
        .unwrap();
    let order: Vec<Uuid> = released.iter().map(|j| j.message_uuid).collect();
    assert_eq!(order, queued, "released at once, in the order accepted");
    assert!(
        released.iter().all(|j| j.attempts == 0),
        "parking is not an attempt"
    );
}
