//! Whatever a client sends, Herald answers in the seed's shape (`requestUUID` equal to the
//! `X-Request-Id` header, `errors[]`, `warnings[]`) with a 4xx, never a 5xx (SPEC 3, 4.2).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    Tenant, TestApp, assert_envelope, assert_error, customer_path, customers_path,
    error_descriptions, lock_path, optout_update_path, spawn_app, spawn_app_with,
};

/// Posts `body` to the customer create endpoint; asserts `400 INVALID_REQUEST` and returns the
/// description of the error.
async fn refused_create(app: &TestApp, tenant: &Tenant, body: &str) -> String {
    let response = app
        .call_raw(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            body.to_string(),
        )
        .await;
    let answer = assert_error(response, 400, "INVALID_REQUEST").await;
    error_descriptions(&answer, "INVALID_REQUEST")[0].clone()
}

#[tokio::test]
async fn malformed_json_is_an_invalid_request() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let description = refused_create(&app, &tenant, r#"{"customer": {"firstName": "John""#).await;

    // Assert
    assert!(description.contains("JSON"), "{description}");
    assert_eq!(app.search(&tenant, "John").await.len(), 0);
}

#[tokio::test]
async fn a_wrong_json_type_is_reported_with_its_path() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let body = json!({"customer": {"firstName": "John",
        "phoneNumbers": [{"phoneNumber": "4155552671", "okToText": "yes"}]}});

    // Act
    let description = refused_create(&app, &tenant, &body.to_string()).await;

    // Assert
    assert!(
        description.contains("customer.phoneNumbers[0].okToText"),
        "{description}"
    );
}

#[tokio::test]
async fn an_unknown_enum_value_is_reported_with_its_path() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let body = json!({"customer": {"firstName": "John",
        "phoneNumbers": [{"phoneNumber": "4155552671", "label": "HOME"},
                         {"phoneNumber": "6505550199", "label": "MOBILE"}]}});

    // Act
    let description = refused_create(&app, &tenant, &body.to_string()).await;

    // Assert
    assert!(
        description.contains("customer.phoneNumbers[1].label"),
        "{description}"
    );
    assert!(description.contains("MOBILE"), "{description}");
}

#[tokio::test]
async fn an_unknown_field_is_refused_and_named() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for (body, field) in [
        (
            json!({"customer": {"firstName": "John", "nickname": "JD"}}),
            "nickname",
        ),
        (
            json!({"customer": {"firstName": "John"}, "dryRun": true}),
            "dryRun",
        ),
        (
            json!({"customer": {"emails": [{"emailAddress": "j@example.com", "doNotCc": true}]}}),
            "doNotCc",
        ),
    ] {
        // Act
        let description = refused_create(&app, &tenant, &body.to_string()).await;

        // Assert
        assert!(description.contains(field), "{description}");
    }
    assert_eq!(app.search(&tenant, "John").await.len(), 0);
}

#[tokio::test]
async fn an_empty_body_is_an_invalid_request() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let create = app
        .call_raw(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            "",
        )
        .await;
    let optout = app
        .call_raw(
            &tenant.credential,
            Method::POST,
            &optout_update_path(tenant.department),
            "",
        )
        .await;

    // Assert
    assert_error(create, 400, "INVALID_REQUEST").await;
    assert_error(optout, 400, "INVALID_REQUEST").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_in_the_common_shape() {
    // Arrange
    let app = spawn_app_with(|s| s.http.body_limit_bytes = 2048).await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(&tenant, json!({"firstName": "John"}))
        .await;
    let padding = "x".repeat(4096);
    let big_customer = json!({"customer": {"firstName": "John", "company": padding}}).to_string();
    let big_optout = json!({"communicationAttributesList": [
        {"communicationType": "TEXT", "communicationValue": "4155552671"}
    ], "event": "STOP_MESSAGE_RECEIVED", "padding": padding})
    .to_string();
    let big_lock = json!({"ttlSeconds": 60, "padding": padding}).to_string();
    let requests = [
        (
            "customer create",
            customers_path(tenant.department),
            &big_customer,
        ),
        (
            "optoutstatus POST",
            optout_update_path(tenant.department),
            &big_optout,
        ),
        (
            "lock POST",
            lock_path(tenant.department, tenant.user, customer),
            &big_lock,
        ),
    ];

    for (name, path, body) in requests {
        // Act
        let response = app
            .call_raw(&tenant.credential, Method::POST, &path, body.clone())
            .await;

        // Assert
        assert_eq!(response.status(), 413, "{name}");
        assert_error(response, 413, "REQUEST_TOO_LARGE").await;
    }

    // The admin DMS import is bounded the same way.
    let import = app
        .client
        .post(app.url(&format!("/admin/v1/dealers/{}/customers", tenant.dealer)))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(big_customer.clone())
        .send()
        .await
        .unwrap();
    assert_error(import, 413, "REQUEST_TOO_LARGE").await;
}

#[tokio::test]
async fn an_unknown_path_is_not_found_in_the_common_shape() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for path in [
        "/nope".to_string(),
        format!("/customer/v3/department/{}/customer", tenant.department),
        format!(
            "{}/extra/segments",
            customer_path(tenant.department, tenant.user)
        ),
        "/admin/v1/nope".to_string(),
    ] {
        // Act
        let response = app.call(&tenant.credential, Method::GET, &path, None).await;

        // Assert
        assert_eq!(response.status(), 404, "{path}");
        assert_error(response, 404, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_refused_in_the_common_shape() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for (method, path) in [
        (Method::PUT, customers_path(tenant.department)),
        (
            Method::DELETE,
            customer_path(tenant.department, tenant.user),
        ),
        (Method::GET, optout_update_path(tenant.department)),
        (Method::PUT, "/admin/v1/credentials".to_string()),
        (Method::POST, "/healthz".to_string()),
    ] {
        // Act
        let response = app
            .call(&tenant.credential, method.clone(), &path, None)
            .await;

        // Assert
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_error(response, 405, "METHOD_NOT_ALLOWED").await;
    }
}

#[tokio::test]
async fn wrong_types_in_other_bodies_are_reported_with_their_path() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(&tenant, json!({"firstName": "John"}))
        .await;
    let requests = [
        (
            optout_update_path(tenant.department),
            json!({"communicationAttributesList": "4155552671", "event": "STOP_MESSAGE_RECEIVED"}),
            "communicationAttributesList",
        ),
        (
            optout_update_path(tenant.department),
            json!({"communicationAttributesList": [
                {"communicationType": "TEXT", "communicationValue": 4155552671u64}
            ], "event": "STOP_MESSAGE_RECEIVED"}),
            "communicationAttributesList[0].communicationValue",
        ),
        (
            lock_path(tenant.department, tenant.user, customer),
            json!({"ttlSeconds": "sixty"}),
            "ttlSeconds",
        ),
    ];

    for (path, body, json_path) in requests {
        // Act
        let response = app
            .call(&tenant.credential, Method::POST, &path, Some(body))
            .await;

        // Assert
        let answer = assert_error(response, 400, "INVALID_REQUEST").await;
        assert!(
            error_descriptions(&answer, "INVALID_REQUEST")[0].contains(json_path),
            "{json_path}: {answer}"
        );
    }
}

/// Bodies a careless or hostile client might send to the customer create endpoint.
fn hostile_bodies() -> Vec<Vec<u8>> {
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let deep_object = "{\"customer\":".repeat(5_000) + "{}" + &"}".repeat(5_000);
    let many_phones: Vec<_> = (0..25)
        .map(|i| json!({"phoneNumber": format!("41555526{i:02}")}))
        .collect();
    [
        "".to_string(),
        " ".to_string(),
        "null".to_string(),
        "[]".to_string(),
        "{}".to_string(),
        "\"customer\"".to_string(),
        "{\"customer\": null}".to_string(),
        "{\"customer\": []}".to_string(),
        "{\"customer\": {}} trailing".to_string(),
        "{\"customer\": {}, \"customer\": {}}".to_string(),
        "{\"customer\": {\"phoneNumbers\": \"4155552671\"}}".to_string(),
        "{\"customer\": {\"phoneNumbers\": [{}]}}".to_string(),
        "{\"customer\": {\"phoneNumbers\": [{\"phoneNumber\": null}]}}".to_string(),
        "{\"customer\": {\"firstName\": 12}}".to_string(),
        "{\"customer\": {\"uuid\": \"not-a-uuid\"}}".to_string(),
        "{\"customer\": {\"firstName\": 1e999}}".to_string(),
        "{\"customer\": {\"firstName\": \"\\ud800\"}}".to_string(),
        json!({"customer": {"firstName": "J".repeat(5_000)}}).to_string(),
        json!({"customer": {"phoneNumbers": many_phones}}).to_string(),
        json!({"customer": {"emails": [{"emailAddress": "a@".repeat(200)}]}}).to_string(),
        deep,
        deep_object,
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([
        b"{\"customer\": {\"firstName\": \"\xff\xfe\"}}".to_vec(),
        b"\x00\x01\x02".to_vec(),
        b"{\"customer\": {\"phoneNumbers\": [{\"phoneNumber\": 4155552671}]}}".to_vec(),
    ])
    .collect()
}

#[tokio::test]
async fn hostile_bodies_are_refused_never_a_server_error() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for body in hostile_bodies() {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();

        // Act
        let response = app
            .call_raw(
                &tenant.credential,
                Method::POST,
                &customers_path(tenant.department),
                body,
            )
            .await;

        // Assert
        let status = response.status().as_u16();
        assert!(
            status == 400 || status == 413,
            "{shown:?} answered {status}"
        );
        let answer = assert_envelope(response, status).await;
        assert!(
            !answer["errors"].as_array().unwrap().is_empty(),
            "{shown:?}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_nul_character_is_refused_before_it_reaches_the_store() {
    let app = crate::helpers::spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let create = app
        .call(
            &tenant.credential,
            reqwest::Method::POST,
            &format!("/customer/v2/department/{}/customer", tenant.department),
            Some(serde_json::json!({"customer": {"firstName": "Jo\u{0}hn"}})),
        )
        .await;
    crate::helpers::assert_error(create, 400, "INVALID_REQUEST").await;
    let search = app
        .call(
            &tenant.credential,
            reqwest::Method::GET,
            &format!(
                "/customer/v2/department/{}/customer?searchTerm=Jo%00hn",
                tenant.department
            ),
            None,
        )
        .await;
    crate::helpers::assert_error(search, 400, "INVALID_REQUEST").await;
}
