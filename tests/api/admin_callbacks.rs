//! The callbacks a client never received (SPEC 8): listed newest first with the message they
//! report on, delivered again on the operator's word with the same `webhook-id` and the same
//! payload, and counted by the queue view.

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{TestApp, assert_error, assert_ok, eventually, spawn_app_with};
use crate::receiver::{Receiver, signature_is_valid};
use crate::send_support::*;

/// A Herald that gives up on a callback after two refusals.
async fn spawn_impatient_app() -> TestApp {
    spawn_app_with(|s| {
        s.callbacks.allow_private_networks = true;
        s.callbacks.retry_schedule_seconds = vec![0, 0];
    })
    .await
}

async fn failed_callbacks(app: &TestApp, query: &str) -> Value {
    assert_ok(
        app.admin(Method::GET, &format!("/admin/v1/callbacks{query}"), None)
            .await,
    )
    .await
}

/// Waits until `n` callbacks are listed as failed; returns the list.
async fn wait_for_failed(app: &TestApp, n: usize) -> Vec<Value> {
    eventually(&format!("{n} failed callbacks"), || async {
        let items = failed_callbacks(app, "?status=FAILED").await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (items.len() == n).then_some(items)
    })
    .await
}

fn retry_path(webhook_id: &str) -> String {
    format!("/admin/v1/callbacks/{webhook_id}/retry")
}

#[tokio::test]
async fn a_failed_callback_is_listed_and_delivered_again_with_its_webhook_id() {
    let app = spawn_impatient_app().await;
    let shop = shop(&app).await;
    // SENT is refused twice (given up); DELIVERED, behind it, is taken.
    let mut receiver = Receiver::start(&[500, 503]).await;
    let sent = assert_ok(send(&app, &shop, example_one(&receiver.url)).await).await;
    let message = sent["messageUUID"].as_str().unwrap();
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(
        first.webhook_id, second.webhook_id,
        "{} / {}",
        first.raw, second.raw
    );
    assert_eq!(first.body["messageStatus"], "SENT");
    assert_eq!(
        receiver.next_delivered().await.body["messageStatus"],
        "DELIVERED"
    );

    let items = wait_for_failed(&app, 1).await;
    let item = &items[0];
    assert_eq!(item["webhookId"], first.webhook_id.as_str());
    assert_eq!(item["messageUUID"], message);
    assert_eq!(item["state"], "FAILED");
    assert_eq!(item["attempts"], 2);
    assert_eq!(item["url"], receiver.url.as_str());
    assert!(
        item["lastResult"].as_str().unwrap().contains("503"),
        "{item}"
    );
    // The receiver has the DELIVERED one a moment before Herald records it.
    eventually("the queue counting one failed callback", || async {
        let queue = assert_ok(app.admin(Method::GET, "/admin/v1/queue", None).await).await;
        let want = json!({"pending": 0, "retrying": 0, "failed": 1});
        (queue["callbacks"] == want).then_some(())
    })
    .await;

    let answer = app
        .admin(Method::POST, &retry_path(&first.webhook_id), None)
        .await;

    let body = assert_ok(answer).await;
    assert_eq!(body["callback"]["webhookId"], first.webhook_id.as_str());
    assert_eq!(body["callback"]["state"], "PENDING");
    assert_eq!(body["callback"]["attempts"], 0);
    let again = receiver.next().await;
    assert_eq!(again.webhook_id, first.webhook_id, "same webhook-id");
    assert_eq!(again.raw, first.raw, "same payload");
    assert_eq!(again.answered, 200);
    let secret = shop.tenant.credential.webhook_secret.clone();
    assert!(signature_is_valid(&secret, &again), "signed afresh");
    // The receiver has it a moment before Herald records it delivered.
    eventually("both callbacks recorded delivered", || async {
        let detail = assert_ok(
            app.admin(Method::GET, &format!("/admin/v1/messages/{message}"), None)
                .await,
        )
        .await;
        let states: Vec<String> = detail["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["state"].as_str().unwrap().to_string())
            .collect();
        (states == ["DELIVERED", "DELIVERED"]).then_some(())
    })
    .await;
    wait_for_failed(&app, 0).await;

    // Delivered now: a second redelivery is refused; an unknown id is not found.
    let twice = app
        .admin(Method::POST, &retry_path(&first.webhook_id), None)
        .await;
    assert_error(twice, 409, "CALLBACK_NOT_RETRYABLE").await;
    let unknown = app
        .admin(Method::POST, &retry_path("msg_unknown"), None)
        .await;
    assert_error(unknown, 404, "NOT_FOUND").await;
    receiver
        .assert_quiet(std::time::Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn failed_callbacks_page_newest_first_without_repeats_while_more_fail() {
    let app = spawn_impatient_app().await;
    let shop = shop(&app).await;
    // Every callback refused: each message leaves SENT and DELIVERED failed.
    let mut receiver = Receiver::start(&[500; 64]).await;
    for i in 0..3 {
        let body = text(
            &format!("Reminder {i}"),
            json!({"callbackURL": receiver.url}),
        );
        assert_ok(send(&app, &shop, body).await).await;
    }
    for _ in 0..12 {
        receiver.next().await;
    }
    let all = wait_for_failed(&app, 6).await;

    let first = failed_callbacks(&app, "?pageSize=4").await;
    // A callback failing between two pages is newer than every row of the walk: it shows
    // on no later page and pushes nothing out of it.
    let body = text("Late", json!({"callbackURL": receiver.url}));
    assert_ok(send(&app, &shop, body).await).await;
    for _ in 0..4 {
        receiver.next().await;
    }
    wait_for_failed(&app, 8).await;
    let token = first["nextPageToken"].as_str().expect("a second page");
    let second = failed_callbacks(&app, &format!("?pageSize=4&pageToken={token}")).await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["webhookId"].as_str().unwrap().to_string())
            .collect()
    };
    let walked: Vec<String> = ids(&first).into_iter().chain(ids(&second)).collect();
    let expected: Vec<String> = all
        .iter()
        .map(|c| c["webhookId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(walked, expected);
    assert!(second["nextPageToken"].is_null(), "{second}");
    let times: Vec<OffsetDateTime> = all
        .iter()
        .map(|c| OffsetDateTime::parse(c["createdAt"].as_str().unwrap(), &Rfc3339).unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
}

#[tokio::test]
async fn callback_list_queries_that_make_no_sense_are_refused() {
    let app = spawn_impatient_app().await;
    let messages_token = failed_token_of_another_list(&app).await;
    for query in [
        "?status=DELIVERED".to_string(),
        "?status=failed".to_string(),
        "?pageSize=0".to_string(),
        "?pageSize=201".to_string(),
        "?pageToken=garbled".to_string(),
        format!("?pageToken={messages_token}"),
        "?colour=red".to_string(),
    ] {
        let response = app
            .admin(Method::GET, &format!("/admin/v1/callbacks{query}"), None)
            .await;
        assert_error(response, 400, "INVALID_REQUEST").await;
    }
    // The default list is the failed one, and PENDING is a list of its own.
    let empty = failed_callbacks(&app, "").await;
    assert_eq!(empty["items"], json!([]));
    assert!(empty["nextPageToken"].is_null(), "{empty}");
    let pending = failed_callbacks(&app, "?status=PENDING").await;
    assert_eq!(pending["items"], json!([]));
}

/// A page token of the message log, which the callback list must not take.
async fn failed_token_of_another_list(app: &TestApp) -> String {
    let shop = shop(app).await;
    for i in 0..2 {
        assert_ok(send(app, &shop, text(&format!("Hi {i}"), json!({}))).await).await;
    }
    let page = assert_ok(
        app.admin(Method::GET, "/admin/v1/messages?pageSize=1", None)
            .await,
    )
    .await;
    page["nextPageToken"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn callback_routes_need_the_admin_token() {
    let app = spawn_impatient_app().await;
    for (method, path) in [
        (Method::GET, "/admin/v1/callbacks"),
        (Method::POST, "/admin/v1/callbacks/msg_x/retry"),
        (Method::GET, "/admin/v1/queue"),
    ] {
        let response = app
            .client
            .request(method, app.url(path))
            .bearer_auth("not-the-admin-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
}
