//! In-doubt hand-overs end to end (SPEC 6): a provider call whose answer never reaches Herald is
//! never sent again blindly. Herald asks the provider (Twilio's Messages list, Postmark's
//! outbound search) and records what it says; SMTP, which cannot be asked, is sent again with
//! the same `Message-ID` and marked a possible duplicate. The message's history shows it all.

use secrecy::SecretString;
use serde_json::Value;

use crate::fake_postmark::{self, FakePostmark, SERVER_TOKEN};
use crate::fake_smtp::{Command, FakeSmtp, Scripted};
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio};
use crate::helpers::{TestApp, eventually, spawn_app_with};
use crate::receiver::Receiver;
use crate::send_support::*;

/// A lease of 2 s gives provider calls 1 s before they are in doubt; retries come at once, and
/// enough of them that a test decides when the provider can be asked again.
fn quick_doubt(s: &mut herald::Settings) {
    callback_settings(s);
    s.delivery.lease_seconds = 2;
    s.delivery.retry_schedule_seconds = vec![0; 50];
}

/// `(outcome, detail)` of each attempt of the message, in order.
async fn attempts(app: &TestApp, shop: &Shop, message: &str) -> Vec<(String, String)> {
    let status = message_status(app, shop, message).await;
    status["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap().to_string(),
                a["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The message's status once it has left `ACCEPTED`.
async fn settled_status(app: &TestApp, shop: &Shop, message: &str) -> String {
    eventually("the message to be settled", || async {
        let status = message_status(app, shop, message).await;
        let s = status["message"]["messageStatus"]
            .as_str()
            .unwrap()
            .to_string();
        (s != "ACCEPTED").then_some(s)
    })
    .await
}

async fn accepted_uuid(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["messageUUID"].as_str().unwrap().to_string()
}

async fn spawn_postmark_app(postmark: &FakePostmark) -> TestApp {
    let base_url = postmark.base_url.clone();
    spawn_app_with(move |s| {
        quick_doubt(s);
        s.email.provider = herald::config::EmailProviderKind::Postmark;
        s.email.postmark.server_token = Some(SecretString::from(SERVER_TOKEN));
        s.email.postmark.base_url = base_url;
    })
    .await
}

#[tokio::test]
async fn a_postmark_send_that_never_answered_is_found_by_search_and_not_sent_again() {
    let postmark = FakePostmark::start().await;
    postmark.script([fake_postmark::Reply::Hang]);
    let app = spawn_postmark_app(&postmark).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let message = accepted_uuid(send(&app, &shop, example_two(&receiver.url)).await).await;

    assert_eq!(settled_status(&app, &shop, &message).await, "SENT");
    let taken = postmark.taken_per_message_uuid();
    assert_eq!(taken.get(&message), Some(&1), "handed to Postmark once");
    let outcomes: Vec<String> = attempts(&app, &shop, &message)
        .await
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(outcomes, ["IN_DOUBT", "RECONCILED_SENT"]);
    let searched = postmark.searches();
    assert!(
        searched
            .iter()
            .any(|q| q.get("metadata_messageUUID") == Some(&message)),
        "searched by messageUUID: {searched:?}"
    );
    let sent = receiver.next().await;
    assert_eq!(sent.body["messageStatus"], "SENT");
    assert_eq!(sent.body["messageUUID"], message);
}

#[tokio::test]
async fn a_postmark_send_in_doubt_waits_while_search_fails_and_is_never_resent_meanwhile() {
    let postmark = FakePostmark::start().await;
    postmark.script([fake_postmark::Reply::Drop]);
    postmark.fail_searches(true);
    let app = spawn_postmark_app(&postmark).await;
    let shop = shop(&app).await;
    let receiver = Receiver::start(&[]).await;

    let message = accepted_uuid(send(&app, &shop, example_two(&receiver.url)).await).await;

    // Asked (and refused) more than once, never resent meanwhile.
    eventually("two failed searches", || async {
        (postmark.searches().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(postmark.taken_per_message_uuid().get(&message), Some(&1));
    assert_eq!(
        message_status(&app, &shop, &message).await["message"]["messageStatus"],
        "ACCEPTED"
    );
    let history = attempts(&app, &shop, &message).await;
    assert!(
        history.iter().all(|(o, _)| o == "IN_DOUBT") && history.len() >= 2,
        "{history:?}"
    );
    assert!(
        history[1].1.contains("could not ask postmark"),
        "{history:?}"
    );

    postmark.fail_searches(false);
    assert_eq!(settled_status(&app, &shop, &message).await, "SENT");
    assert_eq!(postmark.taken_per_message_uuid().get(&message), Some(&1));
    let last = attempts(&app, &shop, &message).await.pop().unwrap();
    assert_eq!(last.0, "RECONCILED_SENT");
}

#[tokio::test]
async fn an_smtp_message_whose_250_was_lost_is_sent_again_with_its_message_id_as_a_possible_duplicate()
 {
    let smtp = FakeSmtp::start().await;
    smtp.script(Command::Message, Scripted::Drop);
    let url = smtp.url(None);
    let app = spawn_app_with(move |s| {
        quick_doubt(s);
        s.email.provider = herald::config::EmailProviderKind::Smtp;
        s.email.smtp.url = Some(SecretString::from(url));
    })
    .await;
    let shop = shop(&app).await;
    let receiver = Receiver::start(&[]).await;

    let message = accepted_uuid(send(&app, &shop, example_two(&receiver.url)).await).await;

    assert_eq!(settled_status(&app, &shop, &message).await, "DELIVERED");
    let id = format!("<{message}@herald>");
    assert_eq!(smtp.message_ids(), [Some(id.clone()), Some(id)]);
    let history = attempts(&app, &shop, &message).await;
    let outcomes: Vec<&str> = history.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(outcomes, ["IN_DOUBT", "SUCCESS"]);
    assert!(history[1].1.contains("possible duplicate"), "{history:?}");
}

async fn spawn_twilio_app(twilio: &FakeTwilio) -> TestApp {
    let base_url = twilio.base_url.clone();
    spawn_app_with(move |s| {
        quick_doubt(s);
        s.text.provider = herald::config::TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
    })
    .await
}

#[tokio::test]
async fn a_twilio_send_that_never_answered_is_found_in_the_messages_list_and_not_sent_again() {
    let twilio = FakeTwilio::start().await;
    twilio.script([crate::fake_twilio::Reply::Hang]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let message = accepted_uuid(send(&app, &shop, example_one(&receiver.url)).await).await;

    assert_eq!(settled_status(&app, &shop, &message).await, "SENT");
    let created = twilio.created();
    assert_eq!(created.len(), 1, "handed to Twilio once");
    let status = message_status(&app, &shop, &message).await;
    let history: Vec<&str> = status["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["IN_DOUBT", "RECONCILED_SENT"]);
    // The list was asked for this recipient and sender.
    let asked = twilio.list_calls();
    assert!(
        asked[0].contains(&("To".into(), "+11234567890".into()))
            && asked[0].contains(&("From".into(), "+14155550100".into())),
        "{asked:?}"
    );
    let sent = receiver.next().await;
    assert_eq!(sent.body["messageStatus"], "SENT");
    // Twilio's status webhook finds the message by the sid reconciliation recorded.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("herald_reconciliations_total")
                && l.contains("provider=\"twilio\"")
                && l.contains("outcome=\"sent\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_reconciled_text_takes_the_delivery_status_twilio_already_has() {
    let twilio = FakeTwilio::start().await;
    twilio.script([crate::fake_twilio::Reply::Disconnect]);
    twilio.fail_list(Some(503));
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let receiver = Receiver::start(&[]).await;

    let message = accepted_uuid(send(&app, &shop, example_one(&receiver.url)).await).await;
    eventually("a failed list call", || async {
        (!twilio.list_calls().is_empty()).then_some(())
    })
    .await;
    let sid = twilio.created()[0].sid.clone();
    twilio.set_status(&sid, "delivered");
    twilio.fail_list(None);

    assert_eq!(settled_status(&app, &shop, &message).await, "DELIVERED");
    assert_eq!(twilio.created().len(), 1, "handed to Twilio once");
}
