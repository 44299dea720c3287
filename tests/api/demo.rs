//! `herald demo`: its data and its printed example work against a running Herald, callbacks
//! included (to Herald's own `/dev/callbacks` receiver).

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{eventually, spawn_app_with};
use crate::send_support::{EXAMPLE_ONE_EXPECTED, example_one, outbox};
use herald::demo;

#[tokio::test]
async fn the_demo_example_is_sent_and_called_back() {
    let app = spawn_app_with(|s| s.callbacks.allow_private_networks = true).await;
    let store = herald::store::connect(&app.settings.database_url)
        .await
        .unwrap();
    let credential = demo::seed(store.as_ref()).await.unwrap();
    // Running it again changes nothing but the demo password.
    let credential = {
        let again = demo::seed(store.as_ref()).await.unwrap();
        assert_ne!(again.password, credential.password);
        again
    };

    let path = format!(
        "/communications/department/{}/user/{}/customer/{}/message",
        demo::DEPARTMENT,
        demo::USER,
        demo::CUSTOMER
    );
    let response = app
        .client
        .post(app.url(&path))
        .basic_auth(&credential.username, Some(&credential.password))
        .json(&example_one(&app.url("/dev/callbacks")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let callbacks = eventually("two demo callbacks", || async {
        let body = app
            .admin_ok(Method::GET, "/dev/callbacks", Value::Null)
            .await;
        let list = body["callbacks"].as_array().cloned().unwrap_or_default();
        (list.len() >= 2).then_some(list)
    })
    .await;
    assert_eq!(callbacks[0]["body"]["messageStatus"], "SENT");
    assert_eq!(callbacks[1]["body"]["messageStatus"], "DELIVERED");
    assert!(
        callbacks[0]["webhookSignature"]
            .as_str()
            .unwrap()
            .starts_with("v1,")
    );
    let sent = outbox(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"], EXAMPLE_ONE_EXPECTED);
}
