//! Retry and cancel from a message's page.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::browser::Browser;
use crate::helpers::{TestApp, assert_ok, eventually, spawn_app, uuid_of};
use crate::send_support::{send, shop, text};

async fn status(app: &TestApp, message: Uuid) -> String {
    let body: Value = app
        .admin(Method::GET, &format!("/admin/v1/messages/{message}"), None)
        .await
        .json()
        .await
        .unwrap();
    body["message"]["messageStatus"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_failed_message_found_by_filter_is_retried_once_the_number_opted_in_again() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let number = [("TEXT", "+11234567890")];
    let out = app
        .opt_event(&shop.tenant, &number, "USER_REQUESTED_OPT_OUT")
        .await;
    assert_eq!(out.status(), 200);
    let refused = send(
        &app,
        &shop,
        text("Retry me", json!({"sendSynchronously": true})),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let failed = uuid_of(&refused.json::<Value>().await.unwrap()["messageUUID"]);
    let back_in = app
        .opt_event(&shop.tenant, &number, "OPTIN_MESSAGE_RECEIVED")
        .await;
    assert_eq!(back_in.status(), 200);
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    browser
        .open(
            &app,
            &format!(
                "/console/messages?status=FAILED&departmentUuid={}",
                shop.tenant.department
            ),
        )
        .await;
    browser
        .click(&format!("a[href='/console/messages/{failed}']"))
        .await;
    browser
        .click(&format!(
            "form[action='/console/messages/{failed}/retry'] button"
        ))
        .await;

    let now = eventually("the retried message sent", || async {
        let now = status(&app, failed).await;
        (now == "SENT" || now == "DELIVERED").then_some(now)
    })
    .await;
    assert!(now == "SENT" || now == "DELIVERED");
    browser
        .open(&app, &format!("/console/messages/{failed}"))
        .await;
    assert!(browser.body().await.contains(&now));
    browser.close().await;
}

#[tokio::test]
async fn a_scheduled_message_is_cancelled() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let held = assert_ok(send(&app, &shop, text("Tomorrow", json!({"delay": 3600}))).await).await;
    let held = uuid_of(&held["messageUUID"]);
    assert_eq!(status(&app, held).await, "SCHEDULED");
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    browser
        .open(&app, "/console/messages?status=SCHEDULED")
        .await;
    // The list says when a held message will go.
    let list = browser.body().await;
    assert!(list.contains("SCHEDULED until "), "{list}");
    browser
        .click(&format!("a[href='/console/messages/{held}']"))
        .await;
    assert!(browser.body().await.contains("Scheduled for"));
    browser.screenshot("scheduled-message").await;
    browser
        .click(&format!(
            "form[action='/console/messages/{held}/cancel'] button"
        ))
        .await;

    eventually("the message cancelled", || async {
        (status(&app, held).await == "CANCELLED").then_some(())
    })
    .await;
    browser
        .open(&app, &format!("/console/messages/{held}"))
        .await;
    let page = browser.body().await;
    assert!(page.contains("CANCELLED"), "{page}");
    assert!(!page.contains("Cancel\n"), "no cancel button any more");
    browser.close().await;
}
