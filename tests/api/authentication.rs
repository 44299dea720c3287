//! HTTP Basic credentials for integrators and their revocation (SPEC 2), and the admin API's
//! bearer token (SPEC 8).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{
    ADMIN_TOKEN, Credential, TestApp, assert_error, assert_ok, default_associate_path, spawn_app,
    spawn_app_with,
};

/// Asserts a `401 INVALID_CREDENTIALS` carrying the Basic challenge of SPEC 2.
async fn assert_basic_challenge(response: Response) {
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(challenge.as_deref(), Some(r#"Basic realm="herald""#));
    assert_error(response, 401, "INVALID_CREDENTIALS").await;
}

async fn with_authorization(app: &TestApp, path: &str, value: &str) -> Response {
    app.client
        .get(app.url(path))
        .header(AUTHORIZATION, value)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_the_basic_challenge() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let path = default_associate_path(tenant.department);
    let wrong = Credential {
        password: format!("{}x", tenant.credential.password),
        ..tenant.credential.clone()
    };

    // Act
    let refused = app.call(&wrong, Method::GET, &path, None).await;
    let allowed = app.call(&tenant.credential, Method::GET, &path, None).await;

    // Assert
    assert_basic_challenge(refused).await;
    assert_ok(allowed).await;
}

#[tokio::test]
async fn a_request_without_authorization_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let response = app
        .client
        .get(app.url(&default_associate_path(tenant.department)))
        .send()
        .await
        .unwrap();

    // Assert
    assert_basic_challenge(response).await;
}

#[tokio::test]
async fn an_unknown_username_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let stranger = Credential {
        username: "hrld_00000000000000000000".into(),
        ..tenant.credential.clone()
    };

    // Act
    let response = app
        .call(
            &stranger,
            Method::GET,
            &default_associate_path(tenant.department),
            None,
        )
        .await;

    // Assert
    assert_basic_challenge(response).await;
}

#[tokio::test]
async fn garbage_authorization_headers_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let path = default_associate_path(tenant.department);
    let user = &tenant.credential.username;
    let password = &tenant.credential.password;
    let headers = [
        "Basic".to_string(),
        "Basic ".to_string(),
        "Basic !!!not-base64!!!".to_string(),
        format!("Basic {}", STANDARD.encode(user)),
        format!("Basic {}", STANDARD.encode(format!("{user}:"))),
        format!("Basic {}", STANDARD.encode(":")),
        format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', 0xfd])),
        format!("Bearer {password}"),
        format!("Digest username=\"{user}\""),
        format!("{user}:{password}"),
        format!("Basic {user}:{password}"),
        ADMIN_TOKEN.to_string(),
    ];

    for header in &headers {
        // Act
        let response = with_authorization(&app, &path, header).await;

        // Assert
        assert_eq!(response.status(), 401, "{header:?}");
        assert_basic_challenge(response).await;
    }

    // Control: the same credentials spelled correctly are accepted.
    let good = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    assert_ok(with_authorization(&app, &path, &good).await).await;
}

#[tokio::test]
async fn a_revoked_credential_is_refused_on_the_very_next_request() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let other = app.department_credential(tenant.department).await;
    let path = default_associate_path(tenant.department);
    assert_ok(app.call(&tenant.credential, Method::GET, &path, None).await).await;

    // Act
    let revoked = app
        .admin(
            Method::DELETE,
            &format!("/admin/v1/credentials/{}", tenant.credential.username),
            None,
        )
        .await;
    let next = app.call(&tenant.credential, Method::GET, &path, None).await;

    // Assert
    assert_ok(revoked).await;
    assert_basic_challenge(next).await;
    assert_ok(app.call(&other, Method::GET, &path, None).await).await;
}

#[tokio::test]
async fn revoking_an_unknown_credential_is_not_found() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .admin(
            Method::DELETE,
            "/admin/v1/credentials/hrld_does_not_exist",
            None,
        )
        .await;

    // Assert
    assert_eq!(response.status(), 404);
    crate::helpers::assert_envelope(response, 404).await;
}

#[tokio::test]
async fn the_admin_api_refuses_a_wrong_or_missing_bearer_token() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let body = json!({"name": "Sneaky Motors"});

    // Act
    let wrong = app
        .client
        .post(app.url("/admin/v1/dealers"))
        .bearer_auth(format!("{ADMIN_TOKEN}x"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let missing = app
        .client
        .post(app.url("/admin/v1/dealers"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let integrator = app
        .client
        .post(app.url("/admin/v1/dealers"))
        .basic_auth(
            &tenant.credential.username,
            Some(&tenant.credential.password),
        )
        .json(&body)
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(wrong, 401, "INVALID_ADMIN_TOKEN").await;
    assert_error(missing, 401, "INVALID_ADMIN_TOKEN").await;
    assert_error(integrator, 401, "INVALID_ADMIN_TOKEN").await;
}

#[tokio::test]
async fn the_admin_bearer_scheme_is_case_insensitive() {
    // Arrange
    let app = spawn_app().await;

    for scheme in ["Bearer", "bearer", "BEARER"] {
        // Act
        let response = app
            .client
            .post(app.url("/admin/v1/dealers"))
            .header(AUTHORIZATION, format!("{scheme} {ADMIN_TOKEN}"))
            .json(&json!({"name": "Acme Motors"}))
            .send()
            .await
            .unwrap();

        // Assert: RFC 9110 11.1, the scheme is matched without regard to case.
        assert_ok(response).await;
    }
}

#[tokio::test]
async fn the_admin_api_is_disabled_without_an_admin_token() {
    for token in [None, Some(SecretString::from(""))] {
        // Arrange
        let app = spawn_app_with(|s| s.admin_token = token).await;

        // Act
        let response = app
            .admin(
                Method::POST,
                "/admin/v1/dealers",
                Some(json!({"name": "Acme Motors"})),
            )
            .await;

        // Assert
        assert_error(response, 403, "ADMIN_API_DISABLED").await;
    }
}

#[tokio::test]
async fn the_dev_endpoints_do_not_exist_without_an_admin_token() {
    for token in [None, Some(SecretString::from(""))] {
        // Arrange
        let app = spawn_app_with(|s| s.admin_token = token).await;

        // Act: the callback receiver takes unauthenticated writes, so it must not be there
        let posted = app
            .client
            .post(app.url("/dev/callbacks"))
            .json(&json!({"messageStatus": "DELIVERED"}))
            .send()
            .await
            .unwrap();
        let inbound = app
            .client
            .post(app.url("/dev/inbound"))
            .json(&json!({"from": "+14155552671", "to": "+14155550100", "body": "STOP"}))
            .send()
            .await
            .unwrap();
        let outbox = app.admin(Method::GET, "/dev/outbox", None).await;

        // Assert: unknown paths, in the seed's shape
        assert_error(posted, 404, "NOT_FOUND").await;
        assert_error(inbound, 404, "NOT_FOUND").await;
        assert_error(outbox, 404, "NOT_FOUND").await;
    }
}
