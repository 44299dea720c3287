//! The Postmark client: the `/email` call's headers and body, every error class, timeouts,
//! and the outbound search that settles an in-doubt hand-over.

use std::time::Duration;

use herald::domain::codes::ErrorCode;
use herald::providers::postmark::{PostmarkConfig, PostmarkProvider};
use herald::providers::{Effect, Outgoing, Provider, Reconciled, SendOutcome};
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;

use crate::fake_postmark::{FakePostmark, Reply, SERVER_TOKEN};
use crate::{closed_port_url, email, http};

fn config(base_url: &str) -> PostmarkConfig {
    PostmarkConfig {
        server_token: SecretString::from(SERVER_TOKEN),
        base_url: base_url.into(),
        message_stream: "outbound".into(),
    }
}

fn provider(base_url: &str) -> PostmarkProvider {
    PostmarkProvider::new(http(Duration::from_secs(10)), config(base_url))
}

#[tokio::test]
async fn email_call_carries_the_token_json_and_metadata_and_keeps_the_message_id() {
    let mut postmark = FakePostmark::start().await;
    let message = email(&["a@example.com", "b@example.com"], &["c@example.com"]);

    let outcome = provider(&postmark.base_url).send(&message).await;

    let request = postmark.next_request().await;
    let SendOutcome::Accepted {
        provider_message_id,
        receipt,
    } = outcome
    else {
        panic!("accepted expected, got {outcome:?}");
    };
    assert_eq!(Some(provider_message_id), request.message_id);
    assert_eq!(receipt, None, "Postmark reports delivery later, by webhook");
    assert_eq!(
        request.header("x-postmark-server-token"),
        Some(SERVER_TOKEN)
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({
            "From": "Service Team <service@dealer.example.com>",
            "To": "customer@example.com",
            "Cc": "a@example.com, b@example.com",
            "Bcc": "c@example.com",
            "Subject": "Message from Acme Motors",
            "TextBody": message.body,
            "MessageStream": "outbound",
            "Metadata": {"messageUUID": message.message_uuid.to_string()},
        })
    );
}

#[tokio::test]
async fn no_cc_or_bcc_fields_without_copies() {
    let mut postmark = FakePostmark::start().await;

    provider(&postmark.base_url).send(&email(&[], &[])).await;

    let request = postmark.next_request().await;
    assert!(request.body.get("Cc").is_none() && request.body.get("Bcc").is_none());
}

#[tokio::test]
async fn an_invalid_address_is_permanent() {
    let postmark = FakePostmark::start().await;
    postmark.script([Reply::Error {
        status: 422,
        code: 300,
        message: "Invalid 'To' address: 'customer@example'.",
    }]);

    let outcome = provider(&postmark.base_url).send(&email(&[], &[])).await;

    assert_eq!(
        outcome,
        SendOutcome::Permanent {
            code: ErrorCode::InvalidEmailAddress,
            detail: "Postmark error 300: Invalid 'To' address: 'customer@example'.".into(),
            effect: None,
        }
    );
}

#[tokio::test]
async fn an_inactive_recipient_is_permanent_and_stops_emailing() {
    let postmark = FakePostmark::start().await;
    postmark.script([Reply::Error {
        status: 422,
        code: 406,
        message: "You tried to send to recipient(s) that have been marked as inactive.",
    }]);

    let outcome = provider(&postmark.base_url).send(&email(&[], &[])).await;

    assert!(
        matches!(
            &outcome,
            SendOutcome::Permanent { code, effect: Some(Effect::StopEmailing), .. }
                if *code == ErrorCode::InvalidEmailAddress
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_bad_server_token_is_permanent() {
    let postmark = FakePostmark::start().await;
    let mut config = config(&postmark.base_url);
    config.server_token = SecretString::from("wrong-token");
    let provider = PostmarkProvider::new(http(Duration::from_secs(10)), config);

    let outcome = provider.send(&email(&[], &[])).await;

    assert!(
        matches!(
            &outcome,
            SendOutcome::Permanent { code, detail, effect: None }
                if *code == ErrorCode::InternalServerError && detail.starts_with("Postmark error 10:")
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_transient() {
    let postmark = FakePostmark::start().await;
    let provider = provider(&postmark.base_url);
    for status in [429, 500, 503] {
        postmark.script([Reply::Error {
            status,
            code: 0,
            message: "busy",
        }]);

        let outcome = provider.send(&email(&[], &[])).await;

        assert!(
            matches!(outcome, SendOutcome::Transient { .. }),
            "{status}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn network_errors_are_transient() {
    let outcome = provider(&closed_port_url().await)
        .send(&email(&[], &[]))
        .await;

    assert!(
        matches!(outcome, SendOutcome::Transient { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_slow_postmark_leaves_the_message_in_doubt() {
    let postmark = FakePostmark::start().await;
    postmark.script([Reply::Slow(Duration::from_secs(5))]);
    let provider =
        PostmarkProvider::new(http(Duration::from_millis(200)), config(&postmark.base_url));

    let outcome = provider.send(&email(&[], &[])).await;

    assert!(
        matches!(&outcome, SendOutcome::InDoubt { detail } if detail.contains("timed out")),
        "{outcome:?}"
    );
}

/// A hand-over settled long ago: a miss is final at once.
fn long_ago() -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::minutes(5)
}

async fn accepted_id(provider: &PostmarkProvider, message: &Outgoing) -> String {
    match provider.send(message).await {
        SendOutcome::Accepted {
            provider_message_id,
            ..
        } => provider_message_id,
        other => panic!("accepted expected, got {other:?}"),
    }
}

#[tokio::test]
async fn reconcile_finds_an_email_postmark_took_by_its_message_uuid() {
    let postmark = FakePostmark::start().await;
    let provider = provider(&postmark.base_url);
    let message = email(&[], &[]);
    let id = accepted_id(&provider, &message).await;

    let reconciled = provider.reconcile(&message, long_ago()).await;

    assert_eq!(
        reconciled,
        Reconciled::Sent {
            provider_message_id: id,
            receipt: None,
        }
    );
    let searches = postmark.searches();
    assert_eq!(searches.len(), 1);
    let query = &searches[0];
    assert_eq!(query["recipient"], "customer@example.com");
    assert_eq!(
        query["metadata_messageUUID"],
        message.message_uuid.to_string()
    );
    assert_eq!(query["offset"], "0");
    assert!(
        query["count"]
            .parse::<u32>()
            .is_ok_and(|n| (1..=500).contains(&n))
    );
}

#[tokio::test]
async fn reconcile_does_not_take_another_message_to_the_same_address_for_this_one() {
    let postmark = FakePostmark::start().await;
    let provider = provider(&postmark.base_url);
    accepted_id(&provider, &email(&[], &[])).await;

    let reconciled = provider.reconcile(&email(&[], &[]), long_ago()).await;

    assert_eq!(reconciled, Reconciled::NotFound);
    assert_eq!(
        postmark.searches().len(),
        1,
        "an old miss is not asked again"
    );
}

#[tokio::test]
async fn a_miss_right_after_the_hand_over_is_asked_once_more() {
    let postmark = FakePostmark::start().await;

    let reconciled = provider(&postmark.base_url)
        .reconcile(&email(&[], &[]), OffsetDateTime::now_utc())
        .await;

    assert_eq!(reconciled, Reconciled::NotFound);
    assert_eq!(postmark.searches().len(), 2);
}

#[tokio::test]
async fn an_email_the_search_lags_behind_is_found_on_the_second_ask() {
    let postmark = FakePostmark::start().await;
    postmark.set_search_lag(Duration::from_secs(1));
    let provider = provider(&postmark.base_url);
    let message = email(&[], &[]);
    let since = OffsetDateTime::now_utc();
    let id = accepted_id(&provider, &message).await;

    let reconciled = provider.reconcile(&message, since).await;

    assert_eq!(
        reconciled,
        Reconciled::Sent {
            provider_message_id: id,
            receipt: None,
        }
    );
    assert_eq!(postmark.searches().len(), 2, "the first search missed it");
}

#[tokio::test]
async fn a_search_that_fails_leaves_the_message_unknown() {
    let postmark = FakePostmark::start().await;
    let provider = provider(&postmark.base_url);
    let message = email(&[], &[]);
    accepted_id(&provider, &message).await;
    postmark.fail_searches(true);

    let reconciled = provider.reconcile(&message, long_ago()).await;

    assert!(
        matches!(&reconciled, Reconciled::Unknown { detail } if detail.contains("503")),
        "{reconciled:?}"
    );
}

#[tokio::test]
async fn a_search_refused_for_the_token_is_unknown_and_does_not_show_the_token() {
    let postmark = FakePostmark::start().await;
    let mut config = config(&postmark.base_url);
    config.server_token = SecretString::from("wrong-token");
    let provider = PostmarkProvider::new(http(Duration::from_secs(10)), config);

    let reconciled = provider.reconcile(&email(&[], &[]), long_ago()).await;

    let Reconciled::Unknown { detail } = reconciled else {
        panic!("unknown expected, got {reconciled:?}");
    };
    assert!(
        detail.contains("401") && detail.contains("error 10"),
        "{detail}"
    );
    assert!(!detail.contains("wrong-token"), "{detail}");
}

#[tokio::test]
async fn an_unreachable_search_is_unknown() {
    let reconciled = provider(&closed_port_url().await)
        .reconcile(&email(&[], &[]), long_ago())
        .await;

    assert!(
        matches!(reconciled, Reconciled::Unknown { .. }),
        "{reconciled:?}"
    );
}

#[tokio::test]
async fn an_email_taken_but_never_answered_is_in_doubt_then_found() {
    for reply in [Reply::Hang, Reply::Drop, Reply::Garbled] {
        let postmark = FakePostmark::start().await;
        postmark.script([reply.clone()]);
        let provider =
            PostmarkProvider::new(http(Duration::from_millis(500)), config(&postmark.base_url));
        let message = email(&[], &[]);

        let outcome = provider.send(&message).await;
        let reconciled = provider.reconcile(&message, long_ago()).await;

        assert!(
            matches!(outcome, SendOutcome::InDoubt { .. }),
            "{reply:?}: {outcome:?}"
        );
        let taken = postmark.emails();
        assert_eq!(taken.len(), 1, "{reply:?}");
        assert_eq!(
            reconciled,
            Reconciled::Sent {
                provider_message_id: taken[0].message_id.clone(),
                receipt: None,
            },
            "{reply:?}"
        );
        assert_eq!(
            postmark.taken_per_message_uuid()[&message.message_uuid.to_string()],
            1
        );
    }
}
