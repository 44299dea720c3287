//! An in-doubt Twilio hand-over settled through the Messages list (SPEC 6): what counts as
//! that hand-over, paging, the receipt the list already knows, and what leaves it unknown.

use std::time::Duration;

use herald::providers::twilio::TwilioProvider;
use herald::providers::{Outgoing, Provider, Receipt, Reconciled, SendOutcome};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::{config, provider};
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Reply};
use crate::{closed_port_url, http, text};

const SERVICE_SID: &str = "MG00000000000000000000000000000001";

async fn sent(provider: &TwilioProvider, message: &Outgoing) -> String {
    match provider.send(message).await {
        SendOutcome::Accepted {
            provider_message_id,
            ..
        } => provider_message_id,
        other => panic!("accepted expected, got {other:?}"),
    }
}

fn with_body(body: &str) -> Outgoing {
    let mut message = text(&[]);
    message.body = body.into();
    message
}

fn param<'a>(call: &'a [(String, String)], name: &str) -> Option<&'a str> {
    call.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn the_created_message_is_found_by_recipient_sender_and_body() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);
    let sid = sent(&provider, &message).await;

    let verdict = provider.reconcile(&message, since).await;

    assert_eq!(
        verdict,
        Reconciled::Sent {
            provider_message_id: sid,
            receipt: None
        }
    );
    let calls = twilio.list_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(param(&calls[0], "To"), Some("+11234567890"));
    assert_eq!(param(&calls[0], "From"), Some("+14155550100"));
    assert!(param(&calls[0], "PageSize").is_some());
}

#[tokio::test]
async fn another_body_or_a_message_created_before_the_hand_over_is_not_found() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    let since = OffsetDateTime::now_utc();
    sent(&provider, &with_body("Your car is ready.")).await;

    let other_body = provider
        .reconcile(&with_body("Your car needs a part."), since)
        .await;
    let earlier = provider
        .reconcile(
            &with_body("Your car is ready."),
            OffsetDateTime::now_utc() + Duration::from_secs(2),
        )
        .await;

    assert_eq!(other_body, Reconciled::NotFound);
    assert_eq!(earlier, Reconciled::NotFound);
}

#[tokio::test]
async fn a_message_from_another_number_is_not_found() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);
    let mut from_other = message.clone();
    from_other.from = "+14155550199".into();
    sent(&provider, &from_other).await;

    assert_eq!(
        provider.reconcile(&message, since).await,
        Reconciled::NotFound
    );
}

#[tokio::test]
async fn through_a_messaging_service_the_service_is_the_sender() {
    let twilio = FakeTwilio::start().await;
    let by_number = provider(&twilio.base_url);
    let mut service_config = config(&twilio.base_url);
    service_config.messaging_service_sid = Some(SERVICE_SID.into());
    let by_service = TwilioProvider::new(http(Duration::from_secs(10)), service_config);
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);
    sent(&by_number, &message).await;

    let before = by_service.reconcile(&message, since).await;
    let sid = sent(&by_service, &message).await;
    let after = by_service.reconcile(&message, since).await;

    assert_eq!(
        before,
        Reconciled::NotFound,
        "sent from a number, not the service"
    );
    assert_eq!(
        after,
        Reconciled::Sent {
            provider_message_id: sid,
            receipt: None
        }
    );
    for call in twilio.list_calls() {
        assert_eq!(param(&call, "From"), None, "the service picks the number");
        assert_eq!(param(&call, "To"), Some("+11234567890"));
    }
}

#[tokio::test]
async fn later_messages_push_the_hand_over_to_a_later_page() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);
    let sid = sent(&provider, &message).await;
    for n in 0..60 {
        sent(&provider, &with_body(&format!("later message {n}"))).await;
    }

    let verdict = provider.reconcile(&message, since).await;

    assert_eq!(
        verdict,
        Reconciled::Sent {
            provider_message_id: sid,
            receipt: None
        }
    );
    let calls = twilio.list_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(param(&calls[1], "PageToken").is_some(), "{calls:?}");
}

#[tokio::test]
async fn paging_stops_at_messages_older_than_the_hand_over() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    for n in 0..60 {
        sent(&provider, &with_body(&format!("older message {n}"))).await;
    }
    let later = OffsetDateTime::now_utc() + Duration::from_secs(2);

    let verdict = provider.reconcile(&text(&[]), later).await;

    assert_eq!(verdict, Reconciled::NotFound);
    assert_eq!(
        twilio.list_calls().len(),
        1,
        "the first page is older already"
    );
}

#[tokio::test]
async fn a_status_twilio_already_knows_is_the_receipt() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    let since = OffsetDateTime::now_utc();
    let delivered = with_body("delivered one");
    let undelivered = with_body("undelivered one");
    let delivered_sid = sent(&provider, &delivered).await;
    let undelivered_sid = sent(&provider, &undelivered).await;
    twilio.set_status(&delivered_sid, "delivered");
    twilio.set_status(&undelivered_sid, "undelivered");
    twilio.set_error(&undelivered_sid, 30003, "Unreachable destination handset");

    assert_eq!(
        provider.reconcile(&delivered, since).await,
        Reconciled::Sent {
            provider_message_id: delivered_sid,
            receipt: Some(Receipt::Delivered)
        }
    );
    assert_eq!(
        provider.reconcile(&undelivered, since).await,
        Reconciled::Sent {
            provider_message_id: undelivered_sid,
            receipt: Some(Receipt::Undelivered {
                code: None,
                detail: "Twilio reported the message undelivered (error 30003: Unreachable destination handset)".into()
            })
        }
    );
}

#[tokio::test]
async fn a_list_that_fails_or_refuses_the_credentials_is_unknown() {
    let twilio = FakeTwilio::start().await;
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);
    sent(&provider(&twilio.base_url), &message).await;
    let mut wrong = config(&twilio.base_url);
    wrong.auth_token = SecretString::from("not-the-token");
    let wrong = TwilioProvider::new(http(Duration::from_secs(10)), wrong);

    let refused = wrong.reconcile(&message, since).await;
    twilio.fail_list(Some(503));
    let failing = provider(&twilio.base_url).reconcile(&message, since).await;
    let unreachable = provider(&closed_port_url().await)
        .reconcile(&message, since)
        .await;

    for verdict in [refused, failing, unreachable] {
        let Reconciled::Unknown { detail } = &verdict else {
            panic!("unknown expected, got {verdict:?}");
        };
        assert!(
            !detail.contains(ACCOUNT_SID) && !detail.contains(AUTH_TOKEN),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn a_create_never_answered_is_in_doubt_and_then_found() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([Reply::Hang]);
    let impatient = TwilioProvider::new(http(Duration::from_millis(300)), config(&twilio.base_url));
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);

    let outcome = impatient.send(&message).await;
    let verdict = provider(&twilio.base_url).reconcile(&message, since).await;

    assert!(
        matches!(&outcome, SendOutcome::InDoubt { detail } if detail.contains("timed out")),
        "{outcome:?}"
    );
    let sid = twilio
        .next_request()
        .await
        .sid
        .expect("the fake created it");
    assert_eq!(
        verdict,
        Reconciled::Sent {
            provider_message_id: sid,
            receipt: None
        }
    );
}

#[tokio::test]
async fn a_connection_broken_after_the_create_is_in_doubt_and_then_found() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([Reply::Disconnect]);
    let provider = provider(&twilio.base_url);
    let since = OffsetDateTime::now_utc();
    let message = text(&[]);

    let outcome = provider.send(&message).await;
    let verdict = provider.reconcile(&message, since).await;

    assert!(
        matches!(outcome, SendOutcome::InDoubt { .. }),
        "{outcome:?}"
    );
    let sid = twilio
        .next_request()
        .await
        .sid
        .expect("the fake created it");
    assert_eq!(
        verdict,
        Reconciled::Sent {
            provider_message_id: sid,
            receipt: None
        }
    );
    assert_eq!(twilio.created_count_by_body().values().sum::<usize>(), 1);
}
