//! The consent record: opt events in order, with their causes.

use super::*;

pub async fn opt_events_are_recorded_in_order(store: &dyn Store) {
    let dealer = dealer(store).await;
    let number = phone("+14155550004");
    let t0 = now();
    let changes = [
        OptChange {
            phone: &number,
            event: OptEvent::StopMessageReceived,
            source: OptSource::Inbound,
            cause: &OptCause::NONE,
        },
        OptChange {
            phone: &number,
            event: OptEvent::OptinMessageReceived,
            source: OptSource::Api,
            cause: &OptCause::NONE,
        },
    ];
    let statuses = store
        .apply_opt_changes(dealer.uuid, &changes, t0)
        .await
        .unwrap();
    assert_eq!(statuses[0].state, OptState::OptedOut);
    assert_eq!(statuses[1].state, OptState::OptedIn);
    let history = store.opt_history(dealer.uuid, &number).await.unwrap();
    let events: Vec<_> = history
        .iter()
        .map(|h| (h.event.as_str(), h.state.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("STOP_MESSAGE_RECEIVED", "OPTED_OUT"),
            ("OPTIN_MESSAGE_RECEIVED", "OPTED_IN")
        ]
    );
    assert_eq!(history[0].source, "INBOUND");
}

/// Consent history (issue 15): every event keeps its cause, oldest first, per dealer; an
/// address has a history of its own.
pub async fn consent_history_keeps_causes(store: &dyn Store) {
    let other = dealer(store).await;
    let dealer = dealer(store).await;
    let number = phone("+14155550400");
    let (stop_text, request) = (Uuid::now_v7(), Uuid::new_v4());
    let stop = OptCause::message(stop_text);
    let api = OptCause::request(request, Some("integrator".into()));
    let changes = [
        OptChange {
            phone: &number,
            event: OptEvent::StopMessageReceived,
            source: OptSource::Inbound,
            cause: &stop,
        },
        OptChange {
            phone: &number,
            event: OptEvent::HelpMessageReceived,
            source: OptSource::Inbound,
            cause: &stop,
        },
        OptChange {
            phone: &number,
            event: OptEvent::OptinMessageReceived,
            source: OptSource::Api,
            cause: &api,
        },
    ];
    store
        .apply_opt_changes(dealer.uuid, &changes, now())
        .await
        .unwrap();
    let history = store.opt_history(dealer.uuid, &number).await.unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.event.as_str(),
                h.state.as_str(),
                h.cause_message_uuid,
                h.cause_request_id,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("STOP_MESSAGE_RECEIVED", "OPTED_OUT", Some(stop_text), None),
            ("HELP_MESSAGE_RECEIVED", "OPTED_OUT", Some(stop_text), None),
            ("OPTIN_MESSAGE_RECEIVED", "OPTED_IN", None, Some(request)),
        ]
    );
    assert_eq!(history[2].actor.as_deref(), Some("integrator"));
    assert!(
        store
            .opt_history(other.uuid, &number)
            .await
            .unwrap()
            .is_empty()
    );

    let address = email("consent@example.com");
    let c = customer(&dealer, "Consent", &[], &["consent@example.com"]);
    store
        .save_customer_caused(&c, ContactOrigin::DmsImport, &api, now())
        .await
        .unwrap();
    let bounce = OptCause::message(stop_text);
    let change = EmailOptChange {
        email: &address,
        ok_to_email: false,
        event: OptEvent::ProviderReportedOptOut,
        source: OptSource::Provider,
        cause: &bounce,
    };
    store
        .set_ok_to_email(dealer.uuid, &change, now())
        .await
        .unwrap();
    let history = store
        .email_opt_history(dealer.uuid, &address)
        .await
        .unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|h| (h.event.as_str(), h.source.as_str(), h.state.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("CUSTOMER_SAVED", "DMS_IMPORT", "OPTED_IN"),
            ("PROVIDER_REPORTED_OPT_OUT", "PROVIDER", "OPTED_OUT"),
        ]
    );
    assert_eq!(history[0].cause_request_id, Some(request));
    assert_eq!(history[1].cause_message_uuid, Some(stop_text));
    assert!(
        store
            .email_opt_history(other.uuid, &address)
            .await
            .unwrap()
            .is_empty()
    );
}
