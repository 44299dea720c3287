//! The session cookie's attributes, and forms posted from elsewhere: plain HTTP, since a
//! browser would not even send them.

use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::helpers::{ADMIN_TOKEN, TestApp, spawn_app};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in; returns the `name=value` of the session cookie and its whole `Set-Cookie`.
async fn session(app: &TestApp) -> (String, String) {
    let answer = client()
        .post(app.url("/console/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let set = answer.headers()[SET_COOKIE].to_str().unwrap().to_string();
    (set.split(';').next().unwrap().to_string(), set)
}

/// The CSRF token the credentials page's forms carry.
async fn csrf_token(app: &TestApp, cookie: &str) -> String {
    let page = client()
        .get(app.url("/console/credentials"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_strict_and_expires() {
    let app = spawn_app().await;
    let (_, set) = session(&app).await;
    assert!(set.starts_with("herald_console="), "{set}");
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    let wrong = client()
        .post(app.url("/console/login"))
        .form(&[("token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let forged = client()
        .get(app.url("/console"))
        .header(COOKIE, "herald_console=99999999999.bm9uY2U.AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 303);
    assert_eq!(forged.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let (cookie, _) = session(&app).await;
    let token = csrf_token(&app, &cookie).await;
    let revoke = app.url(&format!(
        "/console/credentials/{}/revoke",
        tenant.credential.username
    ));

    let forged_origin = client()
        .post(&revoke)
        .header(COOKIE, &cookie)
        .header(ORIGIN, "https://evil.example")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let cross_site = client()
        .post(&revoke)
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let no_token = client()
        .post(&revoke)
        .header(COOKIE, &cookie)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    let wrong_token = client()
        .post(&revoke)
        .header(COOKIE, &cookie)
        .form(&[("csrf", "AAAA")])
        .send()
        .await
        .unwrap();
    let login_from_elsewhere = client()
        .post(app.url("/console/login"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();

    for answer in [
        forged_origin,
        cross_site,
        no_token,
        wrong_token,
        login_from_elsewhere,
    ] {
        assert_eq!(answer.status(), 403);
    }
    let listed: serde_json::Value = app
        .admin(reqwest::Method::GET, "/admin/v1/credentials", None)
        .await
        .json()
        .await
        .unwrap();
    let ours = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["username"] == tenant.credential.username.as_str())
        .unwrap()
        .clone();
    assert!(ours["revokedAt"].is_null(), "{ours}");

    // The same form from Herald's own page is done.
    let done = client()
        .post(&revoke)
        .header(COOKIE, &cookie)
        .header(ORIGIN, &app.address)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
}
