//! A callback the client refused until Herald gave up: counted on the overview, listed on the
//! callbacks page, and delivered again from there with the same `webhook-id`.

use reqwest::Method;

use crate::browser::Browser;
use crate::helpers::{assert_ok, eventually, spawn_app_with};
use crate::receiver::Receiver;
use crate::send_support::{example_one, send, shop};

#[tokio::test]
async fn a_failed_callback_is_found_from_the_overview_and_delivered_again() {
    let app = spawn_app_with(|s| {
        s.callbacks.allow_private_networks = true;
        s.callbacks.retry_schedule_seconds = vec![0, 0];
    })
    .await;
    let shop = shop(&app).await;
    // SENT is refused twice and given up on; DELIVERED, behind it, is taken.
    let mut receiver = Receiver::start(&[500, 500]).await;
    assert_ok(send(&app, &shop, example_one(&receiver.url)).await).await;
    let refused = receiver.next().await;
    receiver.next().await;
    receiver.next_delivered().await;
    eventually("the callback given up on", || async {
        let list = assert_ok(app.admin(Method::GET, "/admin/v1/callbacks", None).await).await;
        (list["items"].as_array().unwrap().len() == 1).then_some(())
    })
    .await;
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    let failed = browser.text("div.callbacks div.card.bad div.n").await;
    assert_eq!(failed, "1");
    browser
        .click("div.callbacks a[href='/console/callbacks']")
        .await;
    let page = browser.text("table.callbacks").await;
    assert!(page.contains(&refused.webhook_id), "{page}");
    assert!(page.contains("HTTP 500"), "{page}");
    browser.screenshot("callbacks").await;
    browser
        .click(&format!(
            "form[action='/console/callbacks/{}/retry'] button",
            refused.webhook_id
        ))
        .await;

    let again = receiver.next().await;
    assert_eq!(again.webhook_id, refused.webhook_id);
    assert_eq!(again.raw, refused.raw);
    assert!(browser.path().await.starts_with("/console/messages/"));
    eventually("the failed list emptied", || async {
        browser.open(&app, "/console/callbacks").await;
        browser
            .body()
            .await
            .contains("No callback has failed.")
            .then_some(())
    })
    .await;
    browser.close().await;
}
