//! EMAIL through Postmark end to end: Herald configured with `[email] provider = "postmark"`
//! against the fake Postmark, its webhook events posted to `/webhooks/postmark` with the
//! Basic credentials of `[webhooks]`.

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::fake_postmark::{self, FakePostmark, Reply, SERVER_TOKEN};
use crate::helpers::{TestApp, spawn_app_with};
use crate::receiver::{Receiver, signature_is_valid};
use crate::send_support::*;

const HOOK_USER: &str = "postmark";
const HOOK_PASSWORD: &str = "hook-password";

pub(crate) async fn spawn_postmark_app(postmark: &FakePostmark, webhook_auth: bool) -> TestApp {
    let base_url = postmark.base_url.clone();
    spawn_app_with(move |s| {
        callback_settings(s);
        s.email.provider = herald::config::EmailProviderKind::Postmark;
        s.email.postmark.server_token = Some(SecretString::from(SERVER_TOKEN));
        s.email.postmark.base_url = base_url;
        if webhook_auth {
            s.webhooks.postmark_username = Some(HOOK_USER.into());
            s.webhooks.postmark_password = Some(SecretString::from(HOOK_PASSWORD));
        }
    })
    .await
}

/// Sends the seed's example 2 and waits for Postmark to have it and the client to hear
/// `SENT`; returns `(messageUUID, Postmark's MessageID)`.
async fn send_and_sent(
    app: &TestApp,
    shop: &Shop,
    postmark: &mut FakePostmark,
    receiver: &mut Receiver,
) -> (String, String) {
    let response = send(app, shop, example_two(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let message = body["messageUUID"].as_str().unwrap().to_string();
    let request = postmark.next_request().await;
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    (message, request.message_id.expect("postmark accepted it"))
}

async fn post_event(app: &TestApp, postmark: &FakePostmark, event: &Value) -> reqwest::Response {
    postmark
        .post_webhook(
            &app.url("/webhooks/postmark"),
            Some((HOOK_USER, HOOK_PASSWORD)),
            event,
        )
        .await
}

async fn ok_to_email(app: &TestApp, shop: &Shop) -> Value {
    app.get_customer(&shop.tenant, shop.john).await["emails"][0]["okToEmail"].clone()
}

#[tokio::test]
async fn an_email_goes_out_through_postmark_and_its_delivery_calls_back_delivered() {
    let mut postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let response = send(&app, &shop, example_two(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let message = response.json::<Value>().await.unwrap()["messageUUID"]
        .as_str()
        .unwrap()
        .to_string();

    let request = postmark.next_request().await;
    assert_eq!(
        request.body["From"],
        "Service Team <service@dealer.example.com>"
    );
    assert_eq!(request.body["To"], "customer@example.com");
    assert_eq!(request.body["Subject"], "Message from Acme Motors");
    assert!(
        request.body["TextBody"]
            .as_str()
            .unwrap()
            .ends_with("\n\n-- Sarah Johnson\n\nAcme Motors, 1 Main St")
    );
    assert_eq!(request.body["MessageStream"], "outbound");
    assert_eq!(request.body["Metadata"]["messageUUID"], message);
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");

    let event = fake_postmark::delivery(&request.message_id.unwrap(), "customer@example.com");
    let answered = post_event(&app, &postmark, &event).await;
    assert_eq!(answered.status(), 200);

    let delivered = receiver.next().await;
    assert_eq!(delivered.body["messageStatus"], "DELIVERED");
    assert_eq!(delivered.body["metaData"]["serviceOrderId"], "SO-67890");
    assert!(signature_is_valid(
        &shop.tenant.credential.webhook_secret,
        &delivered
    ));
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "DELIVERED");
}

#[tokio::test]
async fn a_hard_bounce_calls_back_undelivered_and_stops_emailing_the_address() {
    let mut postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, id) = send_and_sent(&app, &shop, &mut postmark, &mut receiver).await;

    let bounce = fake_postmark::bounce(&id, "customer@example.com", "HardBounce");
    assert_eq!(post_event(&app, &postmark, &bounce).await.status(), 200);

    let undelivered = receiver.next().await;
    assert_eq!(undelivered.body["messageStatus"], "UNDELIVERED");
    assert_eq!(
        undelivered.body["errors"][0]["errorCode"],
        "INVALID_EMAIL_ADDRESS"
    );
    assert_eq!(ok_to_email(&app, &shop).await, false);
    // A delivery report arriving after the bounce changes nothing.
    let late = fake_postmark::delivery(&id, "customer@example.com");
    assert_eq!(post_event(&app, &postmark, &late).await.status(), 200);
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "UNDELIVERED");
    assert_eq!(status["callbacks"].as_array().unwrap().len(), 2);

    // The next email to John is refused before it reaches Postmark.
    send(&app, &shop, example_two(&receiver.url)).await;
    let refused = receiver.next().await;
    assert_eq!(
        refused.body["errors"][0]["errorCode"],
        "COMMUNICATION_VALUE_MARKED_AS_NOT_OK_TO_COMMUNICATE"
    );
}

#[tokio::test]
async fn a_soft_bounce_changes_nothing() {
    let mut postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, id) = send_and_sent(&app, &shop, &mut postmark, &mut receiver).await;

    let bounce = fake_postmark::bounce(&id, "customer@example.com", "SoftBounce");
    assert_eq!(post_event(&app, &postmark, &bounce).await.status(), 200);

    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "SENT");
    assert_eq!(ok_to_email(&app, &shop).await, true);
}

#[tokio::test]
async fn a_spam_complaint_found_by_metadata_calls_back_undelivered_and_stops_emailing() {
    let mut postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, _) = send_and_sent(&app, &shop, &mut postmark, &mut receiver).await;

    // No MessageID Herald knows: the messageUUID of the Metadata finds the message.
    let mut complaint = fake_postmark::spam_complaint(
        "00000000-0000-0000-0000-000000000000",
        "customer@example.com",
    );
    complaint["Metadata"] = json!({"messageUUID": message});
    assert_eq!(post_event(&app, &postmark, &complaint).await.status(), 200);

    let undelivered = receiver.next().await;
    assert_eq!(undelivered.body["messageStatus"], "UNDELIVERED");
    assert_eq!(undelivered.body["messageUUID"], message);
    assert_eq!(ok_to_email(&app, &shop).await, false);
}

#[tokio::test]
async fn a_suppressing_subscription_change_stops_emailing() {
    let mut postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, id) = send_and_sent(&app, &shop, &mut postmark, &mut receiver).await;

    let resumed = fake_postmark::subscription_change(&id, "customer@example.com", false);
    assert_eq!(post_event(&app, &postmark, &resumed).await.status(), 200);
    assert_eq!(ok_to_email(&app, &shop).await, true);
    let suppressed = fake_postmark::subscription_change(&id, "customer@example.com", true);
    assert_eq!(post_event(&app, &postmark, &suppressed).await.status(), 200);

    assert_eq!(ok_to_email(&app, &shop).await, false);
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "SENT");
}

#[tokio::test]
async fn the_webhook_wants_the_configured_basic_credentials() {
    let mut postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, id) = send_and_sent(&app, &shop, &mut postmark, &mut receiver).await;
    let event = fake_postmark::delivery(&id, "customer@example.com");
    let target = app.url("/webhooks/postmark");

    let none = postmark.post_webhook(&target, None, &event).await;
    let wrong = postmark
        .post_webhook(&target, Some((HOOK_USER, "wrong")), &event)
        .await;

    for refused in [none, wrong] {
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().contains_key("www-authenticate"));
    }
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "SENT");
}

#[tokio::test]
async fn without_configured_credentials_the_webhook_refuses_everything() {
    let postmark = FakePostmark::start().await;
    let app = spawn_postmark_app(&postmark, false).await;
    let event = fake_postmark::delivery("any", "customer@example.com");

    let refused = post_event(&app, &postmark, &event).await;

    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["errorCode"], "WEBHOOK_DISABLED");
}

#[tokio::test]
async fn an_inactive_recipient_fails_the_message_and_stops_emailing() {
    let mut postmark = FakePostmark::start().await;
    postmark.script([Reply::Error {
        status: 422,
        code: 406,
        message: "You tried to send to recipient(s) that have been marked as inactive.",
    }]);
    let app = spawn_postmark_app(&postmark, true).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    send(&app, &shop, example_two(&receiver.url)).await;

    postmark.next_request().await;
    let failed = receiver.next().await;
    assert_eq!(failed.body["messageStatus"], "FAILED");
    assert_eq!(
        failed.body["errors"][0]["errorCode"],
        "INVALID_EMAIL_ADDRESS"
    );
    assert_eq!(ok_to_email(&app, &shop).await, false);
}
