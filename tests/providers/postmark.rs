//! The Postmark client: the `/email` call's headers and body, every error class, timeouts.

use std::time::Duration;

use herald::domain::codes;
use herald::providers::postmark::{PostmarkConfig, PostmarkProvider};
use herald::providers::{Effect, Provider, SendOutcome};
use secrecy::SecretString;
use serde_json::json;

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
            code: codes::INVALID_EMAIL_ADDRESS,
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
                if *code == codes::INVALID_EMAIL_ADDRESS
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
                if *code == codes::INTERNAL_SERVER_ERROR && detail.starts_with("Postmark error 10:")
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
async fn a_slow_postmark_is_a_transient_timeout() {
    let postmark = FakePostmark::start().await;
    postmark.script([Reply::Slow(Duration::from_secs(5))]);
    let provider =
        PostmarkProvider::new(http(Duration::from_millis(200)), config(&postmark.base_url));

    let outcome = provider.send(&email(&[], &[])).await;

    assert!(
        matches!(&outcome, SendOutcome::Transient { detail } if detail.contains("timed out")),
        "{outcome:?}"
    );
}
