//! The operator's actions on a message (SPEC 8): cancel one not yet handed over (it ends
//! `CANCELLED` with a callback, never sent) and retry one that failed (back in the queue, every
//! delivery rule applied again). Also the `SCHEDULED` status of a delayed message (SPEC 4.3).

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fake_twilio::{FakeTwilio, Reply};
use crate::helpers::{TestApp, assert_error, assert_ok, eventually};
use crate::receiver::Receiver;
use crate::send_support::*;
use crate::twilio_flow::spawn_twilio_app;

fn action(message: &str, verb: &str) -> String {
    format!("/admin/v1/messages/{message}/{verb}")
}

async fn admin_message(app: &TestApp, message: &str) -> Value {
    assert_ok(
        app.admin(Method::GET, &format!("/admin/v1/messages/{message}"), None)
            .await,
    )
    .await
}

/// Sends example 1 held for an hour; returns the send response.
async fn send_delayed(app: &TestApp, shop: &Shop, callback: &str, delay: u64) -> Value {
    let mut body = example_one(callback);
    body["messageSendingAttributes"]["delay"] = json!(delay);
    assert_ok(send(app, shop, body).await).await
}

fn uuid(body: &Value) -> String {
    body["messageUUID"].as_str().unwrap().to_string()
}

/// A TEXT refused for good by Twilio (21211, invalid number: it opts nobody out).
fn invalid_number() -> Reply {
    Reply::Error {
        status: 400,
        code: 21211,
        message: "The 'To' number is not a valid phone number.",
    }
}

#[tokio::test]
async fn a_delayed_message_is_scheduled_until_due_then_sent() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let before = OffsetDateTime::now_utc();

    let long = send_delayed(&app, &shop, &receiver.url, 3600).await;
    let short = send_delayed(&app, &shop, &receiver.url, 1).await;

    // The send response, the status endpoint and the admin view say SCHEDULED, and when.
    assert_eq!(long["messageStatus"], "SCHEDULED");
    let at = long["scheduledFor"].as_str().expect("scheduledFor");
    assert!(at.ends_with('Z'), "{at}");
    let at = OffsetDateTime::parse(at, &Rfc3339).unwrap();
    let expected = before + time::Duration::hours(1);
    assert!((at - expected).abs() < time::Duration::seconds(10), "{at}");
    let status = message_status(&app, &shop, &uuid(&long)).await;
    assert_eq!(status["message"]["messageStatus"], "SCHEDULED");
    assert_eq!(status["message"]["scheduledFor"], long["scheduledFor"]);
    let admin = admin_message(&app, &uuid(&long)).await;
    assert_eq!(admin["message"]["messageStatus"], "SCHEDULED");
    assert_eq!(admin["message"]["scheduledFor"], long["scheduledFor"]);

    // Once due, the short one proceeds as any other: SENT, then DELIVERED, no scheduledFor.
    assert_eq!(short["messageStatus"], "SCHEDULED");
    let sent = receiver.next().await;
    assert_eq!(sent.body["messageUUID"], short["messageUUID"]);
    assert_eq!(sent.body["messageStatus"], "SENT");
    assert!(sent.body.get("scheduledFor").is_none(), "{}", sent.raw);
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");
    let outbox = outbox(&app).await;
    assert_eq!(outbox.len(), 1, "only the due message is sent");
    assert_eq!(outbox[0]["messageUUID"], short["messageUUID"]);
}

#[tokio::test]
async fn cancelling_a_scheduled_message_ends_it_cancelled_with_a_callback_and_sends_nothing() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let sent = send_delayed(&app, &shop, &receiver.url, 2).await;
    let message = uuid(&sent);

    let answer = app
        .admin(Method::POST, &action(&message, "cancel"), None)
        .await;

    let body = assert_ok(answer).await;
    assert_eq!(body["message"]["messageUUID"], message.as_str());
    assert_eq!(body["message"]["messageStatus"], "CANCELLED");
    assert!(body["message"].get("scheduledFor").is_none(), "{body}");
    let callback = receiver.next().await;
    assert_eq!(callback.body["messageUUID"], message.as_str());
    assert_eq!(callback.body["messageStatus"], "CANCELLED");
    assert_eq!(callback.body["status"], "FAILURE");
    assert_eq!(callback.body["metaData"]["appointmentId"], "12345");
    // Its job is gone: well past its due time nothing is sent and nothing more called back.
    receiver
        .assert_quiet(std::time::Duration::from_secs(3))
        .await;
    assert!(outbox(&app).await.is_empty());
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "CANCELLED");

    // Cancelled is final: a second cancel and a retry are refused.
    let again = app
        .admin(Method::POST, &action(&message, "cancel"), None)
        .await;
    assert_error(again, 409, "MESSAGE_NOT_CANCELLABLE").await;
    let retry = app
        .admin(Method::POST, &action(&message, "retry"), None)
        .await;
    assert_error(retry, 409, "MESSAGE_NOT_RETRYABLE").await;
}

#[tokio::test]
async fn a_message_already_sent_cannot_be_cancelled_nor_retried() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let sent = assert_ok(send(&app, &shop, example_one(&receiver.url)).await).await;
    let message = uuid(&sent);
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");

    let cancel = app
        .admin(Method::POST, &action(&message, "cancel"), None)
        .await;
    let retry = app
        .admin(Method::POST, &action(&message, "retry"), None)
        .await;

    let body = assert_error(cancel, 409, "MESSAGE_NOT_CANCELLABLE").await;
    assert!(body.to_string().contains("DELIVERED"), "{body}");
    assert_error(retry, 409, "MESSAGE_NOT_RETRYABLE").await;
    let admin = admin_message(&app, &message).await;
    assert_eq!(admin["message"]["messageStatus"], "DELIVERED");
    assert!(admin["callbacks"].as_array().unwrap().len() == 2, "{admin}");
    receiver
        .assert_quiet(std::time::Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn retrying_a_failed_message_delivers_it_and_keeps_its_history() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([invalid_number(), Reply::Created]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let sent = assert_ok(send(&app, &shop, example_one(&receiver.url)).await).await;
    let message = uuid(&sent);
    twilio.next_request().await;
    assert_eq!(receiver.next().await.body["messageStatus"], "FAILED");

    let answer = app
        .admin(Method::POST, &action(&message, "retry"), None)
        .await;

    let body = assert_ok(answer).await;
    assert_eq!(body["message"]["messageStatus"], "ACCEPTED");
    assert_eq!(body["message"]["messageErrors"], json!([]));
    let resent = twilio.next_request().await;
    assert_eq!(resent.param("To"), Some("+11234567890"));
    let after = receiver.next().await;
    assert_eq!(after.body["messageStatus"], "SENT");
    assert_eq!(after.body["status"], "SUCCESS");
    let admin = admin_message(&app, &message).await;
    assert_eq!(admin["message"]["messageStatus"], "SENT");
    let outcomes: Vec<&str> = admin["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["PERMANENT", "SUCCESS"], "{admin}");
    // A queued message again: a second retry is refused.
    let again = app
        .admin(Method::POST, &action(&message, "retry"), None)
        .await;
    assert_error(again, 409, "MESSAGE_NOT_RETRYABLE").await;
}

#[tokio::test]
async fn a_retried_message_to_a_number_opted_out_since_stays_refused() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([invalid_number()]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let sent = assert_ok(send(&app, &shop, example_one(&receiver.url)).await).await;
    let message = uuid(&sent);
    twilio.next_request().await;
    assert_eq!(receiver.next().await.body["messageStatus"], "FAILED");
    let out = app
        .opt_event(
            &shop.tenant,
            &[("TEXT", "1234567890")],
            "USER_REQUESTED_OPT_OUT",
        )
        .await;
    assert_eq!(out.status(), 200);

    let answer = app
        .admin(Method::POST, &action(&message, "retry"), None)
        .await;

    assert_ok(answer).await;
    let refused = receiver.next().await;
    assert_eq!(refused.body["messageStatus"], "FAILED");
    assert_eq!(
        refused.body["errors"][0]["errorCode"],
        "OPTED_OUT_COMMUNICATION_VALUE"
    );
    assert!(
        twilio.try_next_request().is_none(),
        "nothing sent to Twilio"
    );
    assert_eq!(twilio.created().len(), 0);
    let admin = admin_message(&app, &message).await;
    assert_eq!(admin["message"]["messageStatus"], "FAILED");
}

#[tokio::test]
async fn a_message_waiting_for_optin_can_be_cancelled() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    // A number nobody has decided about: with queueIfOptedOut the message waits for opt-in.
    let nina = app
        .create_customer(
            &shop.tenant,
            json!({"firstName": "Nina", "phoneNumbers": [{"phoneNumber": "+14155550177"}]}),
        )
        .await;
    let body = text(
        "Your car is ready",
        json!({"communicationValueOfCustomer": "+14155550177", "queueIfOptedOut": true, "callbackURL": receiver.url}),
    );
    let path = message_path(&shop.tenant, shop.tenant.user, nina);
    let sent = assert_ok(
        app.call(&shop.tenant.credential, Method::POST, &path, Some(body))
            .await,
    )
    .await;
    let message = uuid(&sent);
    eventually("the message waits for opt-in", || async {
        let status = message_status(&app, &shop, &message).await;
        (status["message"]["messageStatus"] == "WAITING_FOR_OPTIN").then_some(())
    })
    .await;

    let answer = app
        .admin(Method::POST, &action(&message, "cancel"), None)
        .await;

    assert_eq!(
        assert_ok(answer).await["message"]["messageStatus"],
        "CANCELLED"
    );
    loop {
        let callback = receiver.next().await;
        assert_ne!(callback.body["messageStatus"], "SENT", "{}", callback.raw);
        if callback.body["messageStatus"] == "CANCELLED" {
            break;
        }
    }
    // An opt-in later wakes nothing: the message stays cancelled, unsent.
    let optin = app
        .opt_event(
            &shop.tenant,
            &[("TEXT", "+14155550177")],
            "OPTIN_MESSAGE_RECEIVED",
        )
        .await;
    assert_eq!(optin.status(), 200);
    receiver
        .assert_quiet(std::time::Duration::from_millis(500))
        .await;
    let outbox = outbox(&app).await;
    assert!(
        outbox.iter().all(|m| m["messageUUID"] != message.as_str()),
        "{outbox:?}"
    );
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "CANCELLED");
}

#[tokio::test]
async fn unknown_messages_and_wrong_tokens_are_refused() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let sent = send_delayed(&app, &shop, "https://example.com/cb", 3600).await;
    let message = uuid(&sent);
    let unknown = uuid::Uuid::new_v4().to_string();

    for verb in ["cancel", "retry"] {
        let missing = app.admin(Method::POST, &action(&unknown, verb), None).await;
        assert_error(missing, 404, "NOT_FOUND").await;
        let garbled = app
            .admin(Method::POST, &action("not-a-uuid", verb), None)
            .await;
        assert_error(garbled, 404, "NOT_FOUND").await;
        let no_token = app
            .client
            .post(app.url(&action(&message, verb)))
            .send()
            .await
            .unwrap();
        assert_error(no_token, 401, "INVALID_ADMIN_TOKEN").await;
        let wrong = app
            .client
            .post(app.url(&action(&message, verb)))
            .bearer_auth("not-the-admin-token")
            .send()
            .await
            .unwrap();
        assert_error(wrong, 401, "INVALID_ADMIN_TOKEN").await;
        let integrator = app
            .client
            .post(app.url(&action(&message, verb)))
            .basic_auth(
                &shop.tenant.credential.username,
                Some(&shop.tenant.credential.password),
            )
            .send()
            .await
            .unwrap();
        assert_error(integrator, 401, "INVALID_ADMIN_TOKEN").await;
    }
    // None of it changed the message.
    let admin = admin_message(&app, &message).await;
    assert_eq!(admin["message"]["messageStatus"], "SCHEDULED");
}
