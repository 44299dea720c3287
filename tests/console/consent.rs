//! A number's consent history after STOP and START.

use reqwest::Method;
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{SENDER_NUMBER, assert_ok, spawn_app};
use crate::send_support::shop;

#[tokio::test]
async fn a_numbers_consent_history_shows_stop_then_start() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    for word in ["STOP", "START"] {
        let inbound = json!({"from": "+11234567890", "to": SENDER_NUMBER, "body": word});
        assert_ok(app.admin(Method::POST, "/dev/inbound", Some(inbound)).await).await;
    }
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    browser
        .open(
            &app,
            &format!(
                "/console/consent?dealerUuid={}&value=%2B11234567890",
                shop.tenant.dealer
            ),
        )
        .await;
    let history = browser.text("table.history").await;
    browser.screenshot("consent").await;

    assert_eq!(browser.text("dd.state").await, "OPTED_IN");
    let stop = history.find("STOP_MESSAGE_RECEIVED").expect(&history);
    let start = history.find("OPTIN_MESSAGE_RECEIVED").expect(&history);
    assert!(stop < start, "oldest first: {history}");
    browser.close().await;
}
