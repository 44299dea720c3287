//! Signing in, and what a browser without a session sees.

use crate::browser::Browser;
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_page_without_a_session_goes_to_sign_in_and_the_admin_token_opens_the_overview() {
    let app = spawn_app().await;
    let browser = Browser::start().await;

    browser.open(&app, "/console/messages").await;
    browser.wait_path("/console/login").await;
    browser.screenshot("login").await;

    browser.fill("input[name=token]", "not the token").await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .body()
            .await
            .contains("That is not the admin token.")
    );

    browser.sign_in(&app).await;
    assert!(browser.text("h1").await.contains("Overview"));
    browser.screenshot("overview").await;

    browser.click("form.signout button").await;
    browser.wait_path("/console/login").await;
    browser.open(&app, "/console").await;
    assert_eq!(browser.path().await, "/console/login");
    browser.close().await;
}
