//! The directory: dealers, a department's settings and users, credentials issued and revoked.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::Value;

use crate::browser::Browser;
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_directory_shows_dealers_departments_and_users_and_a_credential_is_issued_once_and_revoked()
 {
    let app = spawn_app().await;
    let tenant = app.tenant("Acme <Motors>").await;
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    browser.open(&app, "/console/directory").await;
    assert!(browser.body().await.contains("Acme <Motors>"));
    browser.screenshot("directory").await;
    browser
        .click(&format!("a[href='/console/dealers/{}']", tenant.dealer))
        .await;
    browser.screenshot("dealer").await;
    browser
        .click(&format!(
            "a[href='/console/departments/{}']",
            tenant.department
        ))
        .await;
    let department = browser.body().await;
    browser.screenshot("department").await;
    assert!(department.contains("Settings"), "{department}");
    assert!(
        department.contains(&tenant.user.to_string()),
        "{department}"
    );

    browser.open(&app, "/console/credentials").await;
    browser
        .fill("input[name=uuid]", &tenant.department.to_string())
        .await;
    browser.screenshot("credentials").await;
    browser.click("form.stack button").await;
    let username = browser.text("#username").await;
    let password = browser.text("#password").await;
    assert!(!password.is_empty());
    let with_it = app
        .client
        .get(app.url(&format!(
            "/manage/v2/departments/{}/dealerAssociate/default",
            tenant.department
        )))
        .basic_auth(&username, Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(with_it.status(), 200, "the shown password works");

    browser.open(&app, "/console/credentials").await;
    assert!(!browser.body().await.contains(&password), "shown once only");
    browser
        .click(&format!(
            "form[action='/console/credentials/{username}/revoke'] button"
        ))
        .await;
    // The form's answer lands on the same page: wait for the revocation itself.
    crate::helpers::eventually("the credential revoked", || async {
        let listed: Value = app
            .admin(Method::GET, "/admin/v1/credentials?pageSize=200", None)
            .await
            .json()
            .await
            .unwrap();
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["username"] == username.as_str() && c["revokedAt"].is_string())
            .map(|_| ())
    })
    .await;
    browser.open(&app, "/console/credentials").await;
    assert!(
        browser
            .client
            .find(Locator::Css(&format!(
                "form[action='/console/credentials/{username}/revoke']"
            )))
            .await
            .is_err(),
        "no revoke button for a revoked credential"
    );
    browser.close().await;
}
