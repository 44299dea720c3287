//! TEXT through Twilio end to end: Herald configured with `[text] provider = "twilio"` against
//! the fake Twilio, receipts and inbound texts posted to Herald's webhooks signed with the
//! fake's auth token.

use secrecy::SecretString;
use serde_json::Value;

use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Reply};
use crate::helpers::{TestApp, spawn_app_with};
use crate::receiver::{Receiver, signature_is_valid};
use crate::send_support::*;

/// Where Twilio reaches Herald (a proxy in front of it maps this to the test's port).
const PUBLIC: &str = "https://herald.example.com";
const STATUS_URL: &str = "https://herald.example.com/webhooks/twilio/status";
const INBOUND_URL: &str = "https://herald.example.com/webhooks/twilio/inbound";

pub(crate) async fn spawn_twilio_app(twilio: &FakeTwilio) -> TestApp {
    let base_url = twilio.base_url.clone();
    spawn_app_with(move |s| {
        callback_settings(s);
        s.public_base_url = Some(PUBLIC.into());
        s.text.provider = herald::config::TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
    })
    .await
}

/// Sends the seed's example 1 and waits until Twilio has it and the client heard `SENT`;
/// returns `(messageUUID, Twilio's sid)`.
async fn send_and_sent(
    app: &TestApp,
    shop: &Shop,
    twilio: &mut FakeTwilio,
    receiver: &mut Receiver,
) -> (String, String) {
    let response = send(app, shop, example_one(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let message = body["messageUUID"].as_str().unwrap().to_string();
    let request = twilio.next_request().await;
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    (message, request.sid.expect("twilio accepted it"))
}

async fn post_status(
    app: &TestApp,
    twilio: &FakeTwilio,
    sid: &str,
    status: &str,
    error: Option<&str>,
) -> reqwest::Response {
    let mut params = vec![
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("From", "+14155550100"),
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("To", "+11234567890"),
    ];
    if let Some(code) = error {
        params.push(("ErrorCode", code));
    }
    twilio
        .post_signed(&app.url("/webhooks/twilio/status"), STATUS_URL, &params)
        .await
}

async fn callbacks_recorded(app: &TestApp, shop: &Shop, message: &str) -> usize {
    message_status(app, shop, message).await["callbacks"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_text_goes_out_through_twilio_and_its_signed_receipt_calls_back_delivered() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let response = send(&app, &shop, example_one(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let message = response.json::<Value>().await.unwrap()["messageUUID"]
        .as_str()
        .unwrap()
        .to_string();

    let request = twilio.next_request().await;
    assert_eq!(request.param("To"), Some("+11234567890"));
    assert_eq!(request.param("From"), Some("+14155550100"));
    assert_eq!(request.param("Body"), Some(EXAMPLE_ONE_EXPECTED));
    assert_eq!(request.param("StatusCallback"), Some(STATUS_URL));
    let sent = receiver.next().await;
    assert_eq!(sent.body["messageStatus"], "SENT");

    let sid = request.sid.unwrap();
    let answered = post_status(&app, &twilio, &sid, "delivered", None).await;
    assert_eq!(answered.status(), 204);

    let delivered = receiver.next().await;
    assert_eq!(delivered.body["messageStatus"], "DELIVERED");
    assert_eq!(delivered.body["messageUUID"], message);
    assert_eq!(delivered.body["metaData"]["appointmentId"], "12345");
    assert!(signature_is_valid(
        &shop.tenant.credential.webhook_secret,
        &delivered
    ));
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "DELIVERED");
}

#[tokio::test]
async fn a_vcard_goes_as_media_url() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;

    let response = send(
        &app,
        &shop,
        text("Our card", serde_json::json!({"sendVCard": true})),
    )
    .await;
    assert_eq!(response.status(), 200);

    let request = twilio.next_request().await;
    assert_eq!(
        request.all("MediaUrl"),
        [format!("{PUBLIC}/vcard/{}.vcf", shop.tenant.department)]
    );
}

#[tokio::test]
async fn a_late_undelivered_never_moves_delivered_back() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, sid) = send_and_sent(&app, &shop, &mut twilio, &mut receiver).await;

    post_status(&app, &twilio, &sid, "delivered", None).await;
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");
    for (late, error) in [("sent", None), ("undelivered", Some("30005"))] {
        let answered = post_status(&app, &twilio, &sid, late, error).await;
        assert_eq!(answered.status(), 204);
    }

    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "DELIVERED");
    assert_eq!(callbacks_recorded(&app, &shop, &message).await, 2);
}

#[tokio::test]
async fn undelivered_calls_back_the_twilio_error_and_a_late_delivered_changes_nothing() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, sid) = send_and_sent(&app, &shop, &mut twilio, &mut receiver).await;

    post_status(&app, &twilio, &sid, "undelivered", Some("30003")).await;
    let undelivered = receiver.next().await;
    assert_eq!(undelivered.body["messageStatus"], "UNDELIVERED");
    assert_eq!(
        undelivered.body["errors"][0]["errorCode"],
        "TWILIO_SENDING_FAILURE"
    );
    assert!(
        undelivered.body["errors"][0]["errorDescription"]
            .as_str()
            .unwrap()
            .contains("30003")
    );
    post_status(&app, &twilio, &sid, "delivered", None).await;

    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "UNDELIVERED");
    assert_eq!(callbacks_recorded(&app, &shop, &message).await, 2);
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_webhooks_are_refused_and_change_nothing() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (message, sid) = send_and_sent(&app, &shop, &mut twilio, &mut receiver).await;
    let params = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
    let target = app.url("/webhooks/twilio/status");

    let unsigned = twilio.post_with_signature(&target, &params, None).await;
    let wrong_token = crate::fake_twilio::sign("another-token", STATUS_URL, &params);
    let wrong_token = twilio
        .post_with_signature(&target, &params, Some(&wrong_token))
        .await;
    let wrong_url = twilio
        .post_signed(
            &target,
            "https://elsewhere.example.com/webhooks/twilio/status",
            &params,
        )
        .await;
    let inbound = twilio
        .post_with_signature(
            &app.url("/webhooks/twilio/inbound"),
            &[
                ("From", "+11234567890"),
                ("To", "+14155550100"),
                ("Body", "STOP"),
            ],
            Some("bm90IGEgc2lnbmF0dXJl"),
        )
        .await;

    for refused in [unsigned, wrong_token, wrong_url, inbound] {
        assert_eq!(refused.status(), 403);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["errors"][0]["errorCode"], "INVALID_SIGNATURE");
    }
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "SENT");
    assert_eq!(callbacks_recorded(&app, &shop, &message).await, 1);
    let opt = app.opt_status(&shop.tenant, "TEXT", "1234567890").await;
    assert_eq!(opt["optOutState"], "OPTED_IN");
}

#[tokio::test]
async fn a_signature_over_the_url_with_its_default_port_is_accepted() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let (_, sid) = send_and_sent(&app, &shop, &mut twilio, &mut receiver).await;

    let answered = twilio
        .post_signed(
            &app.url("/webhooks/twilio/status"),
            "https://herald.example.com:443/webhooks/twilio/status",
            &[("MessageSid", sid.as_str()), ("MessageStatus", "delivered")],
        )
        .await;

    assert_eq!(answered.status(), 204);
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");
}

#[tokio::test]
async fn an_inbound_stop_is_recorded_opts_out_and_is_answered_through_twilio() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "Stop"),
        ("From", "+11234567890"),
        ("MessageSid", "SM0000000000000000000000000000inb1"),
        ("NumMedia", "0"),
        ("To", "+14155550100"),
    ];

    let answered = twilio
        .post_signed(&app.url("/webhooks/twilio/inbound"), INBOUND_URL, &params)
        .await;

    assert_eq!(answered.status(), 200);
    assert!(
        answered.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert!(
        answered
            .text()
            .await
            .unwrap()
            .contains("<Response></Response>")
    );
    let opt = app.opt_status(&shop.tenant, "TEXT", "1234567890").await;
    assert_eq!(opt["optOutState"], "OPTED_OUT");
    let reply = twilio.next_request().await;
    assert_eq!(reply.param("To"), Some("+11234567890"));
    assert_eq!(reply.param("From"), Some("+14155550100"));
    assert!(reply.param("Body").unwrap().contains("unsubscribed"));

    // Twilio retrying the same webhook records nothing new.
    let again = twilio
        .post_signed(&app.url("/webhooks/twilio/inbound"), INBOUND_URL, &params)
        .await;
    assert_eq!(again.status(), 200);
    let thread = thread(&app, &shop).await;
    let incoming: Vec<&Value> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "INCOMING")
        .collect();
    assert_eq!(incoming.len(), 1, "{thread}");
}

#[tokio::test]
async fn twilio_21610_fails_the_message_and_opts_the_number_out() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([Reply::unsubscribed()]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    send(&app, &shop, example_one(&receiver.url)).await;

    twilio.next_request().await;
    let failed = receiver.next().await;
    assert_eq!(failed.body["status"], "FAILURE");
    assert_eq!(failed.body["messageStatus"], "FAILED");
    assert_eq!(
        failed.body["errors"][0]["errorCode"],
        "TWILIO_SENDING_FAILURE"
    );
    assert!(
        failed.body["errors"][0]["errorDescription"]
            .as_str()
            .unwrap()
            .contains("21610")
    );
    let opt = app.opt_status(&shop.tenant, "TEXT", "1234567890").await;
    assert_eq!(opt["optOutState"], "OPTED_OUT");
}

#[tokio::test]
async fn a_paced_burst_waits_in_the_queue_and_every_text_goes_out() {
    let mut twilio = FakeTwilio::start().await;
    let base_url = twilio.base_url.clone();
    let app = spawn_app_with(move |s| {
        callback_settings(s);
        s.public_base_url = Some(PUBLIC.into());
        s.text.provider = herald::config::TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
        s.text.twilio.max_messages_per_second_per_sender = Some(20.0);
    })
    .await;
    let shop = shop(&app).await;

    for n in 0..4 {
        let response = send(
            &app,
            &shop,
            text(&format!("burst {n}"), serde_json::json!({})),
        )
        .await;
        assert_eq!(response.status(), 200);
    }

    let mut arrivals = Vec::new();
    for _ in 0..4 {
        twilio.next_request().await;
        arrivals.push(std::time::Instant::now());
    }
    let spread = arrivals[3] - arrivals[0];
    assert!(
        spread >= std::time::Duration::from_millis(120),
        "four texts at 20/s take at least 150 ms, took {spread:?}"
    );
}
