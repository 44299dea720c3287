//! What customers send back (SPEC 4.5): an inbound MMS keeps its media, fetched from the fake
//! Twilio with the account's credentials (and not past its storage redirect); a customer's
//! email reply through Postmark's inbound webhook lands in the customer's thread with its
//! attachments; an email from an unknown address is kept, with no customer.

use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;

use crate::fake_postmark::{self, FakePostmark};
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio};
use crate::helpers::{TestApp, assert_error, spawn_app_with};
use crate::send_support::*;

const PUBLIC: &str = "https://herald.example.com";
const INBOUND_URL: &str = "https://herald.example.com/webhooks/twilio/inbound";
const HOOK_USER: &str = "postmark";
const HOOK_PASSWORD: &str = "hook-password";

async fn spawn(twilio: &FakeTwilio) -> TestApp {
    let base_url = twilio.base_url.clone();
    spawn_app_with(move |s| {
        callback_settings(s);
        s.public_base_url = Some(PUBLIC.into());
        s.text.provider = herald::config::TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
        s.webhooks.postmark_username = Some(HOOK_USER.into());
        s.webhooks.postmark_password = Some(SecretString::from(HOOK_PASSWORD));
    })
    .await
}

/// The messages of John's thread, newest first.
async fn thread_messages(app: &TestApp, shop: &Shop) -> Vec<Value> {
    thread(app, shop).await["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// The bytes of an attachment of a recorded message, as the store keeps them: read back
/// through a hand-over is not possible for an inbound message, so the test asks the store.
async fn stored_bytes(app: &TestApp, attachment: &str) -> Vec<u8> {
    let store = herald::store::connect(&app.settings.database_url)
        .await
        .unwrap();
    let uuid = attachment.parse().unwrap();
    let stored = store.attachment(uuid).await.unwrap().expect("kept");
    stored.attachment.content.to_vec()
}

#[tokio::test]
async fn an_inbound_mms_keeps_its_media_fetched_with_the_accounts_credentials() {
    let twilio = FakeTwilio::start().await;
    let app = spawn(&twilio).await;
    let shop = shop(&app).await;
    let photo: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:John Doe\r\nEND:VCARD\r\n".to_vec();
    let photo_url = twilio.add_inbound_media("image/jpeg", &photo);
    let card_url = twilio.add_inbound_media("text/vcard", &card);
    let elsewhere = "https://elsewhere.example/steal.jpg";
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "Here is the dent"),
        ("From", "+11234567890"),
        ("MessageSid", "MM00000000000000000000000000000001"),
        ("NumMedia", "3"),
        ("MediaUrl0", photo_url.as_str()),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl1", card_url.as_str()),
        ("MediaContentType1", "text/vcard"),
        ("MediaUrl2", elsewhere),
        ("MediaContentType2", "image/jpeg"),
        ("To", "+14155550100"),
    ];
    let answered = twilio
        .post_signed(&app.url("/webhooks/twilio/inbound"), INBOUND_URL, &params)
        .await;
    assert_eq!(answered.status(), 200);

    let messages = thread_messages(&app, &shop).await;
    let incoming = &messages[0];
    assert_eq!(incoming["type"], "INCOMING");
    assert_eq!(incoming["body"], "Here is the dent");
    let files = incoming["attachments"].as_array().unwrap();
    assert_eq!(
        files.len(),
        2,
        "the medium outside Twilio's API is not fetched: {files:?}"
    );
    assert_eq!(files[0]["fileName"], "MMS-1.jpg");
    assert_eq!(files[0]["contentType"], "image/jpeg");
    assert_eq!(files[0]["size"], 50_000);
    assert_eq!(files[1]["fileName"], "MMS-2.vcf");
    let fetches = twilio.media_fetches();
    assert_eq!(fetches.len(), 2);
    assert!(
        fetches.iter().all(|(_, authorized)| *authorized),
        "{fetches:?}"
    );
    assert_eq!(
        stored_bytes(&app, files[0]["attachmentUUID"].as_str().unwrap()).await,
        photo
    );
    assert_eq!(
        stored_bytes(&app, files[1]["attachmentUUID"].as_str().unwrap()).await,
        card
    );
}

#[tokio::test]
async fn a_customers_email_reply_lands_in_the_thread_with_its_attachments() {
    let twilio = FakeTwilio::start().await;
    let app = spawn(&twilio).await;
    let shop = shop(&app).await;
    let postmark = FakePostmark::start().await;
    let scan: Vec<u8> = b"%PDF-1.7\nsigned".to_vec();
    let payload = fake_postmark::inbound(
        "Customer@Example.com",
        "service@dealer.example.com",
        "Re: your repair order",
        "Signed, see attached.",
        "<p>Signed, see attached.</p>",
        &[("signed.pdf", "application/pdf", &scan)],
    );
    let url = app.url("/webhooks/postmark/inbound");
    let response = postmark
        .post_webhook(&url, Some((HOOK_USER, HOOK_PASSWORD)), &payload)
        .await;
    assert_eq!(response.status(), 200);
    // Postmark retrying the same webhook records nothing new.
    let again = postmark
        .post_webhook(&url, Some((HOOK_USER, HOOK_PASSWORD)), &payload)
        .await;
    assert_eq!(again.status(), 200);

    let messages = thread_messages(&app, &shop).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let reply = &messages[0];
    assert_eq!(reply["type"], "INCOMING");
    assert_eq!(reply["protocol"], "EMAIL");
    assert_eq!(reply["communicationValue"], "customer@example.com");
    assert_eq!(reply["subject"], "Re: your repair order");
    assert_eq!(reply["body"], "Signed, see attached.");
    assert_eq!(reply["htmlBody"], "<p>Signed, see attached.</p>");
    assert_eq!(reply["attachments"][0]["fileName"], "signed.pdf");
    let uuid = reply["attachments"][0]["attachmentUUID"].as_str().unwrap();
    assert_eq!(stored_bytes(&app, uuid).await, scan);

    // Without Postmark's credentials nothing is recorded.
    let refused = postmark
        .post_webhook(&url, Some((HOOK_USER, "wrong")), &payload)
        .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(thread_messages(&app, &shop).await.len(), 1);
}

#[tokio::test]
async fn an_email_from_an_unknown_address_is_kept_with_no_customer() {
    let twilio = FakeTwilio::start().await;
    let app = spawn(&twilio).await;
    let shop = shop(&app).await;
    let postmark = FakePostmark::start().await;
    let payload = fake_postmark::inbound(
        "stranger@example.net",
        "service@dealer.example.com",
        "Do you sell tires?",
        "Hello?",
        "",
        &[],
    );
    let response = postmark
        .post_webhook(
            &app.url("/webhooks/postmark/inbound"),
            Some((HOOK_USER, HOOK_PASSWORD)),
            &payload,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(thread_messages(&app, &shop).await.is_empty(), "not John's");
    // The operator's message log has it, from the address, with no customer.
    let log = app
        .admin_ok(
            Method::GET,
            &format!(
                "/admin/v1/messages?departmentUuid={}",
                shop.tenant.department
            ),
            Value::Null,
        )
        .await;
    let kept: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["communicationValue"] == "stranger@example.net")
        .collect();
    assert_eq!(kept.len(), 1, "{log}");
    assert_eq!(kept[0]["type"], "INCOMING");
    assert_eq!(kept[0]["customerUUID"], Value::Null);

    // Malformed: no sender at all.
    let response = postmark
        .post_webhook(
            &app.url("/webhooks/postmark/inbound"),
            Some((HOOK_USER, HOOK_PASSWORD)),
            &serde_json::json!({"Subject": "x"}),
        )
        .await;
    assert_error(response, 400, "INVALID_REQUEST").await;
}
