//! Credentials and grant come before any look at the request itself (SPEC 4.2), on every
//! route: a stranger, or an integrator aiming at another tenant's department, learns nothing
//! from how its body, query or path would have been judged. Webhooks prove their caller is
//! the provider before they read a field.

use reqwest::{Method, Response};
use secrecy::SecretString;
use uuid::Uuid;

use crate::helpers::{
    ADMIN_TOKEN, Credential, TestApp, assert_error, customer_path, customers_path,
    default_associate_path, lock_path, optout_read_path, optout_update_path, spawn_app_with,
};

const BODY_LIMIT: usize = 2048;
const HOOK_USER: &str = "postmark";
const HOOK_PASSWORD: &str = "hook-password";

/// Bodies no endpoint would accept, each with what is wrong with it.
fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let mut oversize = br#"{"padding":""#.to_vec();
    oversize.extend(std::iter::repeat_n(b'x', 2 * BODY_LIMIT));
    oversize.extend(br#""}"#);
    vec![
        (
            "a NUL character",
            br#"{"customer":{"firstName":"Jo\u0000hn"},"body":"\u0000"}"#.to_vec(),
        ),
        ("invalid JSON", b"{not json".to_vec()),
        (
            "wrong types",
            br#"{"customer":5,"messageAttributes":[],"ttlSeconds":"x","event":7}"#.to_vec(),
        ),
        ("invalid UTF-8", b"{\"customer\":\"\xff\xfe\"}".to_vec()),
        ("a body over the limit", oversize),
    ]
}

/// Every integrator route, aimed at `department` (with `user` and `customer` where the path
/// names them); queries and paths that would be refused once the grant holds are included.
fn integrator_routes(department: Uuid, user: Uuid, customer: Uuid) -> Vec<(Method, String)> {
    let message =
        format!("/communications/department/{department}/user/{user}/customer/{customer}/message");
    vec![
        (Method::POST, message),
        (
            Method::GET,
            format!(
                "/communications/department/{department}/message/{}",
                Uuid::new_v4()
            ),
        ),
        (
            Method::GET,
            format!(
                "/communications/department/{department}/customer/{customer}/messages?pageSize=1&pageSize=2"
            ),
        ),
        (Method::POST, customers_path(department)),
        (
            Method::GET,
            format!("{}?searchTerm=a&searchTerm=b", customers_path(department)),
        ),
        (Method::GET, customer_path(department, customer)),
        // A path segment that does not decode to UTF-8.
        (
            Method::GET,
            format!("{}/%FF%FE", customers_path(department)),
        ),
        (
            Method::GET,
            optout_read_path(department, "TEXT", "4155552671"),
        ),
        (Method::GET, optout_read_path(department, "FAX", "%FF")),
        (Method::POST, optout_update_path(department)),
        (Method::GET, default_associate_path(department)),
        (Method::POST, lock_path(department, user, customer)),
        (Method::DELETE, lock_path(department, user, customer)),
    ]
}

async fn spawn_guarded_app() -> TestApp {
    spawn_app_with(|s| {
        s.http.body_limit_bytes = BODY_LIMIT;
        // The send endpoint (and the inbound email webhook) has a limit of its own.
        s.http.send_body_limit_bytes = BODY_LIMIT;
        s.text.twilio.auth_token = Some(SecretString::from("twilio-auth-token"));
        s.webhooks.postmark_username = Some(HOOK_USER.into());
        s.webhooks.postmark_password = Some(SecretString::from(HOOK_PASSWORD));
    })
    .await
}

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    basic: Option<&Credential>,
    body: &[u8],
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec());
    if let Some(c) = basic {
        request = request.basic_auth(&c.username, Some(&c.password));
    }
    request.send().await.expect("request reaches herald")
}

#[tokio::test]
async fn another_tenants_department_is_403_whatever_the_body_query_or_path() {
    // Arrange: A's credential, B's department.
    let app = spawn_guarded_app().await;
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let b_customer = app
        .create_customer(&b, serde_json::json!({"firstName": "Mallory"}))
        .await;

    for (method, path) in integrator_routes(b.department, b.user, b_customer) {
        for (what, body) in bad_bodies() {
            // Act
            let response = raw(&app, method.clone(), &path, Some(&a.credential), &body).await;

            // Assert
            assert_eq!(response.status(), 403, "{method} {path} with {what}");
            assert_error(response, 403, "INSUFFICIENT_SCOPE").await;
        }
    }
}

#[tokio::test]
async fn no_credentials_is_401_whatever_the_body_query_or_path() {
    let app = spawn_guarded_app().await;
    let b = app.tenant("Bravo Autos").await;
    let stranger = Credential {
        username: "nobody".into(),
        password: "wrong".into(),
        webhook_secret: String::new(),
    };

    for (method, path) in integrator_routes(b.department, b.user, Uuid::new_v4()) {
        for (what, body) in bad_bodies() {
            for credential in [None, Some(&stranger)] {
                let response = raw(&app, method.clone(), &path, credential, &body).await;
                assert_eq!(response.status(), 401, "{method} {path} with {what}");
                assert_error(response, 401, "INVALID_CREDENTIALS").await;
            }
        }
    }
}

#[tokio::test]
async fn the_admin_token_comes_before_the_body() {
    let app = spawn_guarded_app().await;
    let t = app.tenant("Acme Motors").await;
    let routes = [
        (Method::POST, "/admin/v1/dealers".to_string()),
        (
            Method::POST,
            format!("/admin/v1/dealers/{}/departments", t.dealer),
        ),
        (
            Method::PATCH,
            format!("/admin/v1/departments/{}", t.department),
        ),
        (
            Method::POST,
            format!("/admin/v1/departments/{}/users", t.department),
        ),
        (Method::POST, "/admin/v1/credentials".to_string()),
        (
            Method::DELETE,
            format!("/admin/v1/credentials/{}", t.credential.username),
        ),
        (
            Method::POST,
            format!("/admin/v1/dealers/{}/customers", t.dealer),
        ),
        (
            Method::POST,
            format!("/admin/v1/dealers/{}/blacklist", t.dealer),
        ),
        (Method::POST, "/dev/inbound".to_string()),
        (Method::GET, "/dev/outbox?limit=many".to_string()),
    ];

    for (method, path) in routes {
        for (what, body) in bad_bodies() {
            for token in [None, Some("not-the-token")] {
                let mut request = app
                    .client
                    .request(method.clone(), app.url(&path))
                    .body(body.clone());
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 401, "{method} {path} with {what}");
                assert_error(response, 401, "INVALID_ADMIN_TOKEN").await;
            }
        }
    }
    // The token was all that was missing: the credential is still there.
    let revoke = app
        .client
        .delete(app.url(&format!("/admin/v1/credentials/{}", t.credential.username)))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
}

/// Form bodies no Twilio request would carry.
fn bad_forms() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "a JSON NUL escape",
            b"Body=\\u0000&From=%2B14155552671".to_vec(),
        ),
        ("a NUL byte", b"Body=a\0b&To=%2B14155550100".to_vec()),
        ("invalid UTF-8", b"Body=\xff\xfe&MessageSid=%FF".to_vec()),
        ("not a form", b"{not a form%%%".to_vec()),
    ]
}

#[tokio::test]
async fn a_twilio_webhook_with_a_bad_signature_is_403_before_any_field_is_read() {
    let app = spawn_guarded_app().await;
    let mut oversize = b"Body=".to_vec();
    oversize.extend(std::iter::repeat_n(b'x', 2 * BODY_LIMIT));

    for path in ["/webhooks/twilio/status", "/webhooks/twilio/inbound"] {
        for (what, body) in bad_forms() {
            for signature in [None, Some("bm90IGEgc2lnbmF0dXJl")] {
                let mut request = app
                    .client
                    .post(app.url(path))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.clone());
                if let Some(s) = signature {
                    request = request.header("x-twilio-signature", s);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 403, "{path} with {what}");
                assert_error(response, 403, "INVALID_SIGNATURE").await;
            }
        }
        // Without a signature the body is not even read, however large.
        let unsigned = app
            .client
            .post(app.url(path))
            .body(oversize.clone())
            .send()
            .await
            .unwrap();
        assert_error(unsigned, 403, "INVALID_SIGNATURE").await;
        // A signature is checked over the whole form, so a body too large to read cannot be
        // checked: it is refused as too large, in the common shape.
        let signed = app
            .client
            .post(app.url(path))
            .header("x-twilio-signature", "bm90IGEgc2lnbmF0dXJl")
            .body(oversize.clone())
            .send()
            .await
            .unwrap();
        assert_error(signed, 413, "REQUEST_TOO_LARGE").await;
    }
}

#[tokio::test]
async fn the_postmark_webhook_checks_its_credentials_before_the_body() {
    let app = spawn_guarded_app().await;

    for (what, body) in bad_bodies() {
        for auth in [
            None,
            Some(("postmark", "wrong")),
            Some(("intruder", HOOK_PASSWORD)),
        ] {
            let mut request = app
                .client
                .post(app.url("/webhooks/postmark"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            if let Some((user, password)) = auth {
                request = request.basic_auth(user, Some(password));
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{what} with {auth:?}");
            assert_error(response, 401, "INVALID_CREDENTIALS").await;
        }
    }
    // With its credentials, the same bodies are judged: too large first, then malformed.
    for (what, body) in bad_bodies() {
        let response = app
            .client
            .post(app.url("/webhooks/postmark"))
            .basic_auth(HOOK_USER, Some(HOOK_PASSWORD))
            .body(body)
            .send()
            .await
            .unwrap();
        let expected = if what == "a body over the limit" {
            (413, "REQUEST_TOO_LARGE")
        } else {
            (400, "INVALID_REQUEST")
        };
        assert_eq!(response.status().as_u16(), expected.0, "{what}");
        assert_error(response, expected.0, expected.1).await;
    }
}

#[tokio::test]
async fn once_the_grant_holds_a_bad_body_is_judged_in_the_common_shape() {
    // Arrange: the tenant's own department this time.
    let app = spawn_guarded_app().await;
    let a = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(&a, serde_json::json!({"firstName": "John"}))
        .await;
    let send = format!(
        "/communications/department/{}/user/{}/customer/{customer}/message",
        a.department, a.user
    );
    let with_bodies = [
        (Method::POST, send),
        (Method::POST, customers_path(a.department)),
        (Method::POST, optout_update_path(a.department)),
        (Method::POST, lock_path(a.department, a.user, customer)),
    ];

    for (method, path) in with_bodies {
        for (what, body) in bad_bodies() {
            // Act
            let response = raw(&app, method.clone(), &path, Some(&a.credential), &body).await;

            // Assert: 413 for the oversize body, 400 for the others, all in the seed's shape.
            let (status, code) = if what == "a body over the limit" {
                (413, "REQUEST_TOO_LARGE")
            } else {
                (400, "INVALID_REQUEST")
            };
            assert_eq!(
                response.status().as_u16(),
                status,
                "{method} {path} with {what}"
            );
            assert_error(response, status, code).await;
        }
    }
    // Queries and paths too, once the grant holds.
    for path in [
        format!("{}?searchTerm=a&searchTerm=b", customers_path(a.department)),
        format!(
            "/communications/department/{}/customer/{customer}/messages?pageSize=1&pageSize=2",
            a.department
        ),
    ] {
        let response = raw(&app, Method::GET, &path, Some(&a.credential), b"").await;
        assert_error(response, 400, "INVALID_REQUEST").await;
    }
    let garbled = raw(
        &app,
        Method::GET,
        &format!("{}/%FF%FE", customers_path(a.department)),
        Some(&a.credential),
        b"",
    )
    .await;
    assert_error(garbled, 404, "INVALID_CUSTOMER").await;
}
