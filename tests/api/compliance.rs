//! Compliance and policy (SPEC 5.2, 5.4, 1): the opt-in queue, rate limits, thread ownership,
//! delayed sends and opt-in requests. Time moves with the test clock, never by waiting.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, eventually, spawn_app_in, spawn_app_with};
use crate::receiver::Receiver;
use crate::send_support::*;

/// A customer whose number came through the API: NOT_SET.
async fn undecided(app: &TestApp, shop: &Shop) -> Uuid {
    app.create_customer(
        &shop.tenant,
        json!({"firstName": "Nina", "phoneNumbers": [{"phoneNumber": "+14155550177"}]}),
    )
    .await
}

async fn send_to(app: &TestApp, shop: &Shop, user: Uuid, customer: Uuid, body: Value) -> Value {
    let response = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &message_path(&shop.tenant, user, customer),
            Some(body),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn queued(body: &str, callback: &str) -> Value {
    text(
        body,
        json!({"communicationValueOfCustomer": "+14155550177", "queueIfOptedOut": true, "callbackURL": callback}),
    )
}

async fn status_of(app: &TestApp, shop: &Shop, message: &str) -> String {
    message_status(app, shop, message).await["message"]["messageStatus"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_for_status(app: &TestApp, shop: &Shop, message: &str, wanted: &str) {
    eventually(&format!("{message} to be {wanted}"), || async {
        (status_of(app, shop, message).await == wanted).then_some(())
    })
    .await
}

async fn text_in(app: &TestApp, from: &str, body: &str) -> Value {
    app.admin_ok(
        Method::POST,
        "/dev/inbound",
        json!({"from": from, "to": "+14155550100", "body": body}),
    )
    .await
}

#[tokio::test]
async fn waiting_messages_get_one_optin_request_and_go_out_in_order_on_yes() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let nina = undecided(&app, &shop).await;
    let mut receiver = Receiver::start(&[]).await;

    let first = send_to(
        &app,
        &shop,
        shop.tenant.user,
        nina,
        queued("First", &receiver.url),
    )
    .await;
    let second = send_to(
        &app,
        &shop,
        shop.tenant.user,
        nina,
        queued("Second", &receiver.url),
    )
    .await;
    let (first, second) = (
        first["messageUUID"].as_str().unwrap(),
        second["messageUUID"].as_str().unwrap(),
    );
    wait_for_status(&app, &shop, first, "WAITING_FOR_OPTIN").await;
    wait_for_status(&app, &shop, second, "WAITING_FOR_OPTIN").await;
    let requests = eventually("the opt-in request", || async {
        let o = outbox(&app).await;
        (!o.is_empty()).then_some(o)
    })
    .await;
    assert_eq!(
        requests.len(),
        1,
        "one opt-in request for two waiting messages: {requests:?}"
    );
    assert_eq!(requests[0]["to"], "+14155550177");
    assert!(requests[0]["body"].as_str().unwrap().contains("Reply YES"));

    let yes = text_in(&app, "+14155550177", "Yes").await;
    assert_eq!(yes["optOutState"], "OPTED_IN");

    let mut delivered = Vec::new();
    while delivered.len() < 2 {
        let cb = receiver.next().await;
        if cb.body["messageStatus"] == "DELIVERED" {
            delivered.push(cb.body["messageUUID"].as_str().unwrap().to_string());
        }
    }
    let sent: Vec<String> = outbox(&app)
        .await
        .iter()
        .filter(|e| {
            e["body"].as_str().unwrap().starts_with("First")
                || e["body"].as_str().unwrap().starts_with("Second")
        })
        .map(|e| e["messageUUID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sent,
        vec![first.to_string(), second.to_string()],
        "released in the order accepted"
    );
}

#[tokio::test]
async fn a_waiting_message_expires_with_a_callback_when_the_timeout_passes() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let nina = undecided(&app, &shop).await;
    let mut receiver = Receiver::start(&[]).await;

    let body = send_to(
        &app,
        &shop,
        shop.tenant.user,
        nina,
        queued("Hello", &receiver.url),
    )
    .await;
    let message = body["messageUUID"].as_str().unwrap();
    wait_for_status(&app, &shop, message, "WAITING_FOR_OPTIN").await;

    app.clock.advance(Duration::from_secs(86_400 + 1));
    let expired = receiver.next().await;
    assert_eq!(expired.body["messageUUID"], message);
    assert_eq!(expired.body["messageStatus"], "EXPIRED");
    assert_eq!(expired.body["status"], "FAILURE");
    assert_eq!(
        expired.body["errors"][0]["errorCode"],
        "QUEUED_MESSAGE_EXPIRED"
    );
    // An opt-in after expiry sends nothing.
    text_in(&app, "+14155550177", "START").await;
    assert_eq!(status_of(&app, &shop, message).await, "EXPIRED");
}

#[tokio::test]
async fn expiry_can_be_silent() {
    let app = spawn_app_with(|s| {
        callback_settings(s);
        s.callbacks.notify_on_expiry = false;
    })
    .await;
    let shop = shop(&app).await;
    let nina = undecided(&app, &shop).await;
    let mut receiver = Receiver::start(&[]).await;
    let body = send_to(
        &app,
        &shop,
        shop.tenant.user,
        nina,
        queued("Hello", &receiver.url),
    )
    .await;
    let message = body["messageUUID"].as_str().unwrap();
    wait_for_status(&app, &shop, message, "WAITING_FOR_OPTIN").await;

    app.clock.advance(Duration::from_secs(86_400 + 1));
    wait_for_status(&app, &shop, message, "EXPIRED").await;
    receiver.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_department_timeout_shorter_than_a_day_is_honoured() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    app.admin_ok(
        Method::PATCH,
        &format!("/admin/v1/departments/{}", shop.tenant.department),
        json!({"optinQueueTimeoutSeconds": 600}),
    )
    .await;
    let nina = undecided(&app, &shop).await;
    let mut receiver = Receiver::start(&[]).await;
    let body = send_to(
        &app,
        &shop,
        shop.tenant.user,
        nina,
        queued("Hello", &receiver.url),
    )
    .await;
    let message = body["messageUUID"].as_str().unwrap();
    wait_for_status(&app, &shop, message, "WAITING_FOR_OPTIN").await;
    app.clock.advance(Duration::from_secs(601));
    assert_eq!(receiver.next().await.body["messageStatus"], "EXPIRED");
}

#[tokio::test]
async fn waiting_survives_a_restart_and_is_released_by_the_next_herald() {
    let mut receiver = Receiver::start(&[]).await;
    let first = spawn_sending_app().await;
    let shop = shop(&first).await;
    let nina = undecided(&first, &shop).await;
    let body = send_to(
        &first,
        &shop,
        shop.tenant.user,
        nina,
        queued("Still here", &receiver.url),
    )
    .await;
    let message = body["messageUUID"].as_str().unwrap().to_string();
    wait_for_status(&first, &shop, &message, "WAITING_FOR_OPTIN").await;
    let data = first.stop().await;

    let second = spawn_app_in(data, callback_settings).await;
    text_in(&second, "4155550177", "START").await;
    let sent = receiver.next().await;
    assert_eq!(sent.body["messageUUID"], message);
    assert_eq!(sent.body["messageStatus"], "SENT");
}

#[tokio::test]
async fn an_optin_through_the_status_api_or_a_dms_import_releases_waiting_messages() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let nina = undecided(&app, &shop).await;
    let mut receiver = Receiver::start(&[]).await;
    let body = send_to(
        &app,
        &shop,
        shop.tenant.user,
        nina,
        queued("Via API", &receiver.url),
    )
    .await;
    wait_for_status(
        &app,
        &shop,
        body["messageUUID"].as_str().unwrap(),
        "WAITING_FOR_OPTIN",
    )
    .await;

    let optin = app
        .opt_event(
            &shop.tenant,
            &[("TEXT", "+14155550177")],
            "OPTIN_MESSAGE_RECEIVED",
        )
        .await;
    assert_eq!(optin.status(), 200);
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");

    // A second undecided number, released by a DMS import of it.
    let omar = app
        .create_customer(&shop.tenant, json!({"firstName": "Omar", "customerKey": "DMS-9", "phoneNumbers": [{"phoneNumber": "+14155550188"}]}))
        .await;
    let waiting = text(
        "Via DMS",
        json!({"communicationValueOfCustomer": "+14155550188", "queueIfOptedOut": true, "callbackURL": receiver.url}),
    );
    let body = send_to(&app, &shop, shop.tenant.user, omar, waiting).await;
    wait_for_status(
        &app,
        &shop,
        body["messageUUID"].as_str().unwrap(),
        "WAITING_FOR_OPTIN",
    )
    .await;
    app.import_customers(
        shop.tenant.dealer,
        json!([{"customerKey": "DMS-9", "phoneNumbers": [{"phoneNumber": "+14155550188"}]}]),
    )
    .await;
    let released = receiver.next().await;
    assert_eq!(released.body["messageUUID"], body["messageUUID"]);
    assert_eq!(released.body["messageStatus"], "SENT");
}

#[tokio::test]
async fn two_concurrent_sends_at_a_rate_limit_boundary_exactly_one_is_refused() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    app.admin_ok(
        Method::PATCH,
        &format!("/admin/v1/departments/{}", shop.tenant.department),
        json!({"rateLimits": {"manualPerHour": 1}}),
    )
    .await;
    let path = message_path(&shop.tenant, shop.tenant.user, shop.john);
    let sync = text("Hi", json!({"sendSynchronously": true}));
    let (a, b) = tokio::join!(
        app.call(
            &shop.tenant.credential,
            Method::POST,
            &path,
            Some(sync.clone())
        ),
        app.call(
            &shop.tenant.credential,
            Method::POST,
            &path,
            Some(sync.clone())
        )
    );
    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 429]);
    let refused = if a.status() == 429 { a } else { b };
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["errorCode"], "RATE_LIMIT_REACHED");
    assert_eq!(body["status"], "FAILURE");

    // The window slides: an hour later there is room again.
    app.clock.advance(Duration::from_secs(3601));
    let again = app
        .call(&shop.tenant.credential, Method::POST, &path, Some(sync))
        .await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn automated_messages_have_hourly_and_daily_windows_and_async_refusals_call_back() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    app.admin_ok(
        Method::PATCH,
        &format!("/admin/v1/departments/{}", shop.tenant.department),
        json!({"rateLimits": {"automatedPerHour": 1, "automatedPerDay": 2}}),
    )
    .await;
    let mut receiver = Receiver::start(&[]).await;
    let url = receiver.url.clone();
    let automated = |body: &str| {
        let mut m = text(body, json!({"callbackURL": url}));
        m["messageAttributes"]["isManual"] = json!(false);
        m
    };
    let outcome = |r: crate::receiver::Received| {
        (
            r.body["messageStatus"].as_str().unwrap().to_string(),
            r.body["errors"][0]["errorCode"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };

    send(&app, &shop, automated("One")).await;
    assert_eq!(outcome(receiver.next().await).0, "SENT");
    assert_eq!(outcome(receiver.next().await).0, "DELIVERED");
    send(&app, &shop, automated("Two")).await;
    assert_eq!(
        outcome(receiver.next().await),
        ("FAILED".into(), "RATE_LIMIT_REACHED".into())
    );

    app.clock.advance(Duration::from_secs(3601));
    send(&app, &shop, automated("Three")).await;
    assert_eq!(outcome(receiver.next().await).0, "SENT");
    assert_eq!(outcome(receiver.next().await).0, "DELIVERED");
    app.clock.advance(Duration::from_secs(3601));
    send(&app, &shop, automated("Four")).await;
    assert_eq!(
        outcome(receiver.next().await),
        ("FAILED".into(), "RATE_LIMIT_REACHED".into()),
        "the daily window is full"
    );

    // Keyword replies do not count and are not limited.
    text_in(&app, "1234567890", "HELP").await;
    eventually("the help reply", || async {
        outbox(&app)
            .await
            .iter()
            .any(|e| e["body"].as_str().unwrap().contains("Reply STOP"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_default_associate_keeps_the_thread_owner_and_another_user_takes_it() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let thread = || async {
        app.call(
            &shop.tenant.credential,
            Method::GET,
            &format!(
                "/communications/department/{}/customer/{}/messages",
                shop.tenant.department, shop.john
            ),
            None,
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["ownerUserUUID"]
            .clone()
    };
    send_to(
        &app,
        &shop,
        shop.tenant.default_user,
        shop.john,
        text("From the desk", json!({})),
    )
    .await;
    assert_eq!(thread().await, shop.tenant.default_user.to_string());
    send_to(
        &app,
        &shop,
        shop.tenant.user,
        shop.john,
        text("Sarah here", json!({})),
    )
    .await;
    assert_eq!(thread().await, shop.tenant.user.to_string());
    send_to(
        &app,
        &shop,
        shop.tenant.default_user,
        shop.john,
        text("Reminder", json!({})),
    )
    .await;
    assert_eq!(
        thread().await,
        shop.tenant.user.to_string(),
        "the default associate does not take the thread"
    );
}

#[tokio::test]
async fn a_delayed_message_waits_for_its_time() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let later = send_to(
        &app,
        &shop,
        shop.tenant.user,
        shop.john,
        text("Later", json!({"delay": 120, "callbackURL": receiver.url})),
    )
    .await;
    send_to(
        &app,
        &shop,
        shop.tenant.user,
        shop.john,
        text("Now", json!({"callbackURL": receiver.url})),
    )
    .await;
    for _ in 0..2 {
        let cb = receiver.next().await;
        assert_ne!(
            cb.body["messageUUID"], later["messageUUID"],
            "the delayed message went early"
        );
    }
    assert_eq!(outbox(&app).await.len(), 1);

    app.clock.advance(Duration::from_secs(121));
    let cb = receiver.next().await;
    assert_eq!(cb.body["messageUUID"], later["messageUUID"]);
    assert_eq!(cb.body["messageStatus"], "SENT");
}

#[tokio::test]
async fn an_optin_request_asked_through_the_api_goes_out_at_most_once_a_day() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    undecided(&app, &shop).await;
    let ask = || async {
        let response = app
            .opt_event(
                &shop.tenant,
                &[("TEXT", "4155550177")],
                "USER_REQUESTED_SEND_OPTIN_REQUEST",
            )
            .await;
        assert_eq!(response.status(), 200);
    };

    ask().await;
    let sent = eventually("the opt-in request", || async {
        let o = outbox(&app).await;
        (o.len() == 1).then_some(o)
    })
    .await;
    assert_eq!(sent[0]["to"], "+14155550177");
    let state = app.opt_status(&shop.tenant, "TEXT", "4155550177").await;
    assert_eq!(state["optOutState"], "NOT_SET");
    assert_eq!(state["canSendOptinRequest"], false);

    ask().await; // within the day: not sent again
    app.clock.advance(Duration::from_secs(86_401));
    assert_eq!(
        app.opt_status(&shop.tenant, "TEXT", "4155550177").await["canSendOptinRequest"],
        true
    );
    ask().await;
    let both = eventually("the next day's request", || async {
        let o = outbox(&app).await;
        (o.len() >= 2).then_some(o)
    })
    .await;
    assert_eq!(both.len(), 2, "one request a day: {both:?}");
}
