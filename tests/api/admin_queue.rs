//! `GET /admin/v1/queue` (SPEC 8): each job counted in the one place it is — due, held by
//! `delay`, waiting for an opt-in, backing off before a retry, in a worker's hands — with the
//! oldest due job's age and the messages that failed in the last hour.

use std::time::Duration;

use herald::config::TextProviderKind;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Reply};
use crate::helpers::{TestApp, assert_ok, eventually, spawn_app_with};
use crate::receiver::Receiver;
use crate::send_support::*;

async fn queue(app: &TestApp) -> Value {
    assert_ok(app.admin(Method::GET, "/admin/v1/queue", None).await).await
}

#[tokio::test]
async fn due_and_delayed_messages_are_counted_apart_and_the_oldest_wait_is_timed() {
    // An API-only node: nothing it accepts is taken by a worker.
    let app = spawn_app_with(|s| {
        callback_settings(s);
        s.delivery.workers = 0;
    })
    .await;
    let empty = queue(&app).await;
    assert_eq!(
        empty["messages"],
        json!({"due": 0, "oldestDueAt": null, "oldestDueAgeSeconds": 0, "scheduled": 0,
               "waitingForOptin": 0, "retrying": 0, "inFlight": 0, "inDoubt": 0,
               "failedLastHour": 0})
    );
    assert_eq!(
        empty["callbacks"],
        json!({"pending": 0, "retrying": 0, "failed": 0})
    );
    let shop = shop(&app).await;
    for i in 0..2 {
        assert_ok(send(&app, &shop, text(&format!("Reminder {i}"), json!({}))).await).await;
    }
    let held = text("Tomorrow", json!({"delay": 3600}));
    assert_ok(send(&app, &shop, held).await).await;

    let now = queue(&app).await;
    assert_eq!(now["messages"]["due"], 2, "{now}");
    assert_eq!(now["messages"]["scheduled"], 1, "{now}");
    assert_eq!(now["messages"]["inFlight"], 0, "{now}");
    assert!(now["messages"]["oldestDueAt"].is_string(), "{now}");

    app.clock.advance(Duration::from_secs(120));
    let later = queue(&app).await;
    let age = later["messages"]["oldestDueAgeSeconds"].as_i64().unwrap();
    assert!((120..200).contains(&age), "{later}");
    assert_eq!(later["messages"]["due"], 2, "{later}");
}

#[tokio::test]
async fn failed_retrying_in_flight_and_waiting_messages_are_each_counted() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([
        Reply::Error {
            status: 400,
            code: 21211,
            message: "The 'To' number is not a valid phone number.",
        },
        Reply::Error {
            status: 503,
            code: 20503,
            message: "Service Unavailable",
        },
        Reply::Slow(Duration::from_secs(3)),
    ]);
    let base_url = twilio.base_url.clone();
    let app = spawn_app_with(move |s| {
        callback_settings(s);
        s.delivery.retry_schedule_seconds = vec![7200];
        s.text.provider = TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
    })
    .await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let url = receiver.url.clone();
    let with_callback = |body: &str| text(body, json!({"callbackURL": url}));

    // Refused for good: FAILED.
    assert_ok(send(&app, &shop, with_callback("One")).await).await;
    twilio.next_request().await;
    assert_eq!(receiver.next().await.body["messageStatus"], "FAILED");
    // Refused for now: back in the queue, due in two hours.
    assert_ok(send(&app, &shop, with_callback("Two")).await).await;
    twilio.next_request().await;
    eventually("the retry is scheduled", || async {
        (queue(&app).await["messages"]["retrying"] == 1).then_some(())
    })
    .await;
    // Taken, and Twilio slow to answer: in a worker's hands.
    assert_ok(send(&app, &shop, with_callback("Three")).await).await;
    twilio.next_request().await;
    let busy = queue(&app).await;
    assert_eq!(busy["messages"]["inFlight"], 1, "{busy}");
    assert_eq!(busy["messages"]["retrying"], 1, "{busy}");
    assert_eq!(busy["messages"]["failedLastHour"], 1, "{busy}");
    assert_eq!(busy["messages"]["due"], 0, "{busy}");
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");

    // A number nobody has decided about, with queueIfOptedOut: waiting for its opt-in.
    let nina = app
        .create_customer(
            &shop.tenant,
            json!({"firstName": "Nina", "phoneNumbers": [{"phoneNumber": "+14155550177"}]}),
        )
        .await;
    let body = text(
        "Your car is ready",
        json!({"communicationValueOfCustomer": "+14155550177", "queueIfOptedOut": true}),
    );
    let path = message_path(&shop.tenant, shop.tenant.user, nina);
    assert_ok(
        app.call(&shop.tenant.credential, Method::POST, &path, Some(body))
            .await,
    )
    .await;
    // Once its worker has recorded the wait, nothing is in a worker's hands.
    let waiting = eventually("the message waits for opt-in", || async {
        let q = queue(&app).await;
        (q["messages"]["waitingForOptin"] == 1 && q["messages"]["inFlight"] == 0).then_some(q)
    })
    .await;
    assert_eq!(waiting["messages"]["retrying"], 1, "{waiting}");
    assert_eq!(waiting["messages"]["due"], 0, "{waiting}");

    // An hour on, the failure is no longer the last hour's.
    app.clock.advance(Duration::from_secs(3660));
    let later = queue(&app).await;
    assert_eq!(later["messages"]["failedLastHour"], 0, "{later}");
}
