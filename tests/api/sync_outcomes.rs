//! Synchronous sends through the real providers' protocols: the answer carries the provider's
//! outcome with SPEC 4.3's status, and a send still in flight holds its Idempotency-Key.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::fake_postmark::{self, FakePostmark};
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Reply};
use crate::helpers::{TestApp, eventually, spawn_app_with};
use crate::send_support::*;

async fn twilio_app(twilio: &FakeTwilio) -> TestApp {
    let base_url = twilio.base_url.clone();
    spawn_app_with(move |s| {
        callback_settings(s);
        s.text.provider = herald::config::TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
    })
    .await
}

#[tokio::test]
async fn example_three_is_answered_once_twilio_has_accepted_it() {
    let mut twilio = FakeTwilio::start().await;
    let app = twilio_app(&twilio).await;
    let shop = shop(&app).await;

    let response = send(&app, &shop, example_three()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(
        body["messageStatus"], "SENT",
        "delivery is reported later, by Twilio's receipt"
    );
    let request = twilio.next_request().await;
    assert_eq!(
        request.param("Body"),
        Some("Your verification code is: 123456. This code will expire in 5 minutes.")
    );
    assert_eq!(request.param("To"), Some("+11234567890"));
}

#[tokio::test]
async fn a_twilio_refusal_is_a_502_twilio_sending_failure() {
    let twilio = FakeTwilio::start().await;
    twilio.script([Reply::Error {
        status: 400,
        code: 21211,
        message: "The 'To' number is not a valid phone number.",
    }]);
    let app = twilio_app(&twilio).await;
    let shop = shop(&app).await;

    let response = send(&app, &shop, example_three()).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "FAILURE");
    assert_eq!(body["messageStatus"], "FAILED");
    assert_eq!(body["errors"][0]["errorCode"], "TWILIO_SENDING_FAILURE");
    assert!(
        body["errors"][0]["errorDescription"]
            .as_str()
            .unwrap()
            .contains("21211")
    );
}

#[tokio::test]
async fn a_repeat_while_the_first_send_is_in_flight_is_message_send_lock_not_obtained() {
    let twilio = FakeTwilio::start().await;
    twilio.script([Reply::Slow(Duration::from_secs(2))]);
    let app = twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let path = message_path(&shop.tenant, shop.tenant.user, shop.john);
    let post = || {
        app.client
            .post(app.url(&path))
            .basic_auth(
                &shop.tenant.credential.username,
                Some(&shop.tenant.credential.password),
            )
            .header("Idempotency-Key", "otp-1")
            .json(&example_three())
            .send()
    };

    let first = tokio::spawn(post());
    // The first message is durable before it is sent: once it is in the thread, the slow
    // provider is still holding its send.
    eventually("the first message on record", || async {
        let thread = thread(&app, &shop).await;
        (!thread["messages"].as_array().unwrap().is_empty()).then_some(())
    })
    .await;
    let repeat = post().await.unwrap();
    assert_eq!(repeat.status(), 409);
    let repeat: Value = repeat.json().await.unwrap();
    assert_eq!(
        repeat["errors"][0]["errorCode"],
        "MESSAGE_SEND_LOCK_NOT_OBTAINED"
    );

    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    // Now the key replays the first answer.
    let replay: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(replay["messageUUID"], first["messageUUID"]);
}

#[tokio::test]
async fn a_postmark_configuration_problem_is_a_500_internal_server_error() {
    let postmark = FakePostmark::start().await;
    postmark.script([fake_postmark::Reply::Error {
        status: 401,
        code: 10,
        message: "Bad or missing Server API token.",
    }]);
    let base_url = postmark.base_url.clone();
    let app = spawn_app_with(move |s| {
        callback_settings(s);
        s.email.provider = herald::config::EmailProviderKind::Postmark;
        s.email.postmark.server_token = Some(SecretString::from("wrong-token"));
        s.email.postmark.base_url = base_url;
    })
    .await;
    let shop = shop(&app).await;

    let mut email = example_two("https://client.example.com/cb");
    email["messageSendingAttributes"]["sendSynchronously"] = json!(true);
    let response = send(&app, &shop, email).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "FAILURE");
    assert_eq!(body["errors"][0]["errorCode"], "INTERNAL_SERVER_ERROR");
}
