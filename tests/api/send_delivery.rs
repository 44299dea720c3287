//! The durable pipeline: callbacks retried and ordered, idempotency keys, inbound keywords,
//! restarts with work pending, and the callback address guard.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{eventually, spawn_app_in, spawn_app_with};
use crate::receiver::{Receiver, signature_is_valid};
use crate::send_support::*;

#[tokio::test]
async fn a_callback_answered_500_is_retried_with_the_same_webhook_id_and_delivered_once() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[500]).await;

    send(&app, &shop, example_one(&receiver.url)).await;

    let refused = receiver.next().await;
    assert_eq!(refused.answered, 500);
    let retried = receiver.next().await;
    assert_eq!(retried.answered, 200);
    assert_eq!(
        retried.webhook_id, refused.webhook_id,
        "a retry keeps its webhook-id"
    );
    assert_eq!(retried.body["messageStatus"], "SENT");
    assert!(signature_is_valid(
        &shop.tenant.credential.webhook_secret,
        &retried
    ));
    let delivered = receiver.next().await;
    assert_eq!(delivered.body["messageStatus"], "DELIVERED");
    // SENT and DELIVERED each arrived exactly once after the retry.
    receiver.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_later_event_waits_until_the_earlier_callback_is_delivered() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    // The SENT callback fails three times; DELIVERED must not overtake it.
    let mut receiver = Receiver::start(&[503, 503, 503]).await;

    send(&app, &shop, example_one(&receiver.url)).await;

    let mut statuses = Vec::new();
    loop {
        let r = receiver.next().await;
        statuses.push((
            r.body["messageStatus"].as_str().unwrap().to_string(),
            r.answered,
        ));
        if r.body["messageStatus"] == "DELIVERED" {
            break;
        }
    }
    let expected: Vec<(String, u16)> = [
        ("SENT", 503),
        ("SENT", 503),
        ("SENT", 503),
        ("SENT", 200),
        ("DELIVERED", 200),
    ]
    .into_iter()
    .map(|(s, c)| (s.to_string(), c))
    .collect();
    assert_eq!(statuses, expected);
}

#[tokio::test]
async fn a_callback_that_never_succeeds_ends_failed_and_lets_the_next_one_go() {
    let app = spawn_app_with(|s| {
        callback_settings(s);
        s.callbacks.retry_schedule_seconds = vec![0, 0];
    })
    .await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[500, 500]).await;

    let body: Value = send(&app, &shop, example_one(&receiver.url))
        .await
        .json()
        .await
        .unwrap();
    let message = body["messageUUID"].as_str().unwrap().to_string();

    assert_eq!(receiver.next().await.answered, 500);
    assert_eq!(receiver.next().await.answered, 500);
    let next = receiver.next().await;
    assert_eq!(next.body["messageStatus"], "DELIVERED");
    let status = message_status(&app, &shop, &message).await;
    let states: Vec<&str> = status["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states[0], "FAILED");
}

#[tokio::test]
async fn a_loopback_callback_is_refused_unless_private_networks_are_allowed() {
    let app = spawn_app_with(|s| s.callbacks.retry_schedule_seconds = vec![0, 0]).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let sync = text(
        "Hello",
        json!({"sendSynchronously": true, "callbackURL": receiver.url}),
    );
    let body: Value = send(&app, &shop, sync).await.json().await.unwrap();
    assert_eq!(body["messageStatus"], "DELIVERED");
    let message = body["messageUUID"].as_str().unwrap().to_string();

    // The DELIVERED callback was refused by the guard: final at once, nothing received.
    let callback = eventually("the callback to be settled", || async {
        let status = message_status(&app, &shop, &message).await;
        let cb = status["callbacks"][0].clone();
        (cb["state"] == "FAILED" || cb["state"] == "DELIVERED").then_some(cb)
    })
    .await;
    assert_eq!(callback["state"], "FAILED");
    assert!(
        callback["lastResult"].as_str().unwrap().contains("refused"),
        "{callback}"
    );
    receiver.assert_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_returns_the_first_answer_and_sends_once() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let path = message_path(&shop.tenant, shop.tenant.user, shop.john);
    let post = |body: Value, key: &'static str| {
        app.client
            .post(app.url(&path))
            .basic_auth(
                &shop.tenant.credential.username,
                Some(&shop.tenant.credential.password),
            )
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    let first: Value = post(example_one(&receiver.url), "order-42")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = post(example_one(&receiver.url), "order-42").await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the first response, byte for byte");

    let reused = post(text("Something else", json!({})), "order-42")
        .await
        .unwrap();
    assert_eq!(reused.status(), 422);
    let reused: Value = reused.json().await.unwrap();
    assert_eq!(reused["errors"][0]["errorCode"], "IDEMPOTENCY_KEY_REUSED");

    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");
    assert_eq!(outbox(&app).await.len(), 1);
}

async fn inbound(app: &crate::helpers::TestApp, from: &str, body: &str) -> Value {
    app.admin_ok(
        Method::POST,
        "/dev/inbound",
        json!({"from": from, "to": "+14155550100", "body": body}),
    )
    .await
}

#[tokio::test]
async fn stop_then_start_by_text_changes_the_opt_state_and_is_answered() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let stopped = inbound(&app, "(123) 456-7890", "Stop").await;
    assert_eq!(stopped["keyword"], "OPT_OUT");
    assert_eq!(stopped["optOutState"], "OPTED_OUT");
    assert_eq!(stopped["customerUUID"], shop.john.to_string());
    let state = app.opt_status(&shop.tenant, "TEXT", "1234567890").await;
    assert_eq!(state["optOutState"], "OPTED_OUT");

    // While opted out, a send is refused.
    send(&app, &shop, example_one(&receiver.url)).await;
    let refused = receiver.next().await;
    assert_eq!(refused.body["status"], "FAILURE");
    assert_eq!(
        refused.body["errors"][0]["errorCode"],
        "OPTED_OUT_COMMUNICATION_VALUE"
    );

    let started = inbound(&app, "+11234567890", "START").await;
    assert_eq!(started["keyword"], "OPT_IN");
    assert_eq!(started["optOutState"], "OPTED_IN");

    // Both keywords were answered, the opt-out confirmation despite the opt-out.
    let replies: Vec<Value> = wait_for_outbox(&app, 2).await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(
        replies[0]["body"]
            .as_str()
            .unwrap()
            .contains("unsubscribed")
    );
    assert!(replies[1]["body"].as_str().unwrap().contains("subscribed"));
    assert!(replies.iter().all(|r| r["to"] == "+11234567890"));

    // Both inbound texts are in John's thread.
    let thread = app
        .call(
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
        .unwrap();
    let incoming = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "INCOMING")
        .count();
    assert_eq!(incoming, 2);
}

#[tokio::test]
async fn help_is_answered_with_the_department_help_reply_and_changes_nothing() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    app.admin_ok(
        Method::PATCH,
        &format!("/admin/v1/departments/{}", shop.tenant.department),
        json!({"helpReply": "Acme Service: call 555-0100. Reply STOP to opt out."}),
    )
    .await;

    let answer = inbound(&app, "1234567890", "help").await;
    assert_eq!(answer["keyword"], "HELP");
    assert_eq!(answer["optOutState"], "OPTED_IN");
    let reply_id = answer["replyMessageUUID"].as_str().unwrap().to_string();
    let reply = wait_for_outbox(&app, 1).await;
    assert_eq!(
        reply[0]["body"],
        "Acme Service: call 555-0100. Reply STOP to opt out."
    );
    assert_eq!(reply[0]["messageUUID"], reply_id);
}

/// Waits for `n` outbox entries, for sends that have no callback to wait on.
async fn wait_for_outbox(app: &crate::helpers::TestApp, n: usize) -> Vec<Value> {
    eventually(&format!("{n} outbox entries"), || async {
        let entries = outbox(app).await;
        (entries.len() >= n).then_some(entries)
    })
    .await
}

#[tokio::test]
async fn messages_and_callbacks_pending_at_a_restart_are_delivered_exactly_once() {
    let mut receiver = Receiver::start(&[]).await;
    // First Herald: accepts but sends nothing (an API-only node), then stops.
    let first = spawn_app_with(|s| {
        callback_settings(s);
        s.delivery.workers = 0;
    })
    .await;
    let shop = shop(&first).await;
    let mut accepted = HashSet::new();
    for i in 0..5 {
        let body: Value = send(
            &first,
            &shop,
            text(
                &format!("Reminder {i}"),
                json!({"callbackURL": receiver.url}),
            ),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(body["messageStatus"], "ACCEPTED");
        accepted.insert(body["messageUUID"].as_str().unwrap().to_string());
    }
    let dir = first.stop().await;

    // Second Herald: sends, but leaves its callbacks pending, then stops.
    let second = spawn_app_in(dir, |s| {
        callback_settings(s);
        s.callbacks.workers = 0;
    })
    .await;
    let sent = wait_for_outbox(&second, 5).await;
    let dir = second.stop().await;

    // Third Herald: delivers the callbacks.
    let third = spawn_app_in(dir, callback_settings).await;
    let mut seen = HashSet::new();
    let mut per_message: std::collections::HashMap<String, Vec<String>> = Default::default();
    for _ in 0..10 {
        let cb = receiver.next().await;
        assert!(
            seen.insert(cb.webhook_id.clone()),
            "callback {} arrived twice",
            cb.webhook_id
        );
        per_message
            .entry(cb.body["messageUUID"].as_str().unwrap().to_string())
            .or_default()
            .push(cb.body["messageStatus"].as_str().unwrap().to_string());
    }
    receiver.assert_quiet(Duration::from_millis(300)).await;

    let sent_ids: HashSet<String> = sent
        .iter()
        .map(|e| e["messageUUID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.len(), 5, "each message handed to the provider once");
    assert_eq!(sent_ids, accepted);
    assert_eq!(outbox(&third).await.len(), 5);
    for id in &accepted {
        assert_eq!(per_message[id], vec!["SENT", "DELIVERED"], "message {id}");
    }
}

#[tokio::test]
async fn a_lock_expires_and_the_customer_can_be_sent_to_again() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let holder_lock =
        crate::helpers::lock_path(shop.tenant.department, shop.tenant.user, shop.john);
    let locked = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &holder_lock,
            Some(json!({"ttlSeconds": 60})),
        )
        .await;
    assert_eq!(locked.status(), 200);
    let as_default = message_path(&shop.tenant, shop.tenant.default_user, shop.john);
    let sync = text("Hi", json!({"sendSynchronously": true}));
    let refused = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &as_default,
            Some(sync.clone()),
        )
        .await;
    assert_eq!(refused.status(), 409);

    app.clock.advance(Duration::from_secs(61));
    let sent = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &as_default,
            Some(sync),
        )
        .await;
    assert_eq!(sent.status(), 200);
}
