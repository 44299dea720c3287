//! The default dealer associate endpoint, and customer locks held by one user at a time
//! (SPEC 1 and 3).

use reqwest::{Method, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::helpers::{
    Tenant, TestApp, assert_error, assert_ok, default_associate_path, error_descriptions,
    lock_path, spawn_app,
};

async fn lock(app: &TestApp, tenant: &Tenant, user: Uuid, customer: Uuid, body: Value) -> Response {
    app.call(
        &tenant.credential,
        Method::POST,
        &lock_path(tenant.department, user, customer),
        Some(body),
    )
    .await
}

async fn unlock(app: &TestApp, tenant: &Tenant, user: Uuid, customer: Uuid) -> Response {
    app.call(
        &tenant.credential,
        Method::DELETE,
        &lock_path(tenant.department, user, customer),
        None,
    )
    .await
}

fn expires_at(body: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(body["lock"]["expiresAt"].as_str().unwrap(), &Rfc3339)
        .unwrap_or_else(|e| panic!("expiresAt is not RFC 3339 ({e}): {body}"))
}

#[tokio::test]
async fn the_default_dealer_associate_is_the_one_created_with_the_department() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::GET,
            &default_associate_path(tenant.department),
            None,
        )
        .await;

    // Assert
    let body = assert_ok(response).await;
    let associate = &body["dealerAssociate"];
    assert_eq!(associate["uuid"], tenant.default_user.to_string());
    assert_ne!(associate["uuid"], tenant.user.to_string());
    assert_eq!(associate["isDefault"], true);
    assert_eq!(associate["departmentUUID"], tenant.department.to_string());
}

#[tokio::test]
async fn a_lock_is_held_by_one_user_until_that_user_releases_it() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let user_a = tenant.user;
    let user_b = app
        .create_user(
            tenant.department,
            json!({"firstName": "Bob", "lastName": "Baker"}),
        )
        .await;
    let customer = app
        .create_customer(&tenant, json!({"firstName": "John"}))
        .await;

    // Act + Assert: A takes the lock.
    let taken = assert_ok(lock(&app, &tenant, user_a, customer, json!({})).await).await;
    assert_eq!(taken["lock"]["userUUID"], user_a.to_string());
    assert_eq!(taken["lock"]["customerUUID"], customer.to_string());
    let now = OffsetDateTime::now_utc();
    let first_expiry = expires_at(&taken);
    assert!(
        first_expiry > now + time::Duration::seconds(240)
            && first_expiry <= now + time::Duration::seconds(301),
        "five minutes by default: {taken}"
    );

    // B cannot take it.
    assert_error(
        lock(&app, &tenant, user_b, customer, json!({})).await,
        409,
        "CUSTOMER_LOCKED",
    )
    .await;

    // A can extend it.
    let extended =
        assert_ok(lock(&app, &tenant, user_a, customer, json!({"ttlSeconds": 3600})).await).await;
    assert!(expires_at(&extended) > first_expiry, "{extended}");

    // B cannot release it, and trying leaves it held.
    assert_error(
        unlock(&app, &tenant, user_b, customer).await,
        409,
        "CUSTOMER_LOCKED",
    )
    .await;
    assert_error(
        lock(&app, &tenant, user_b, customer, json!({})).await,
        409,
        "CUSTOMER_LOCKED",
    )
    .await;

    // A releases it; then B can take it.
    let released = assert_ok(unlock(&app, &tenant, user_a, customer).await).await;
    assert_eq!(released["released"], true);
    let taken_by_b = assert_ok(lock(&app, &tenant, user_b, customer, json!({})).await).await;
    assert_eq!(taken_by_b["lock"]["userUUID"], user_b.to_string());
    assert_error(
        lock(&app, &tenant, user_a, customer, json!({})).await,
        409,
        "CUSTOMER_LOCKED",
    )
    .await;
}

#[tokio::test]
async fn releasing_a_lock_nobody_holds_is_harmless() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(&tenant, json!({"firstName": "John"}))
        .await;

    // Act
    let response = unlock(&app, &tenant, tenant.user, customer).await;

    // Assert
    assert_eq!(assert_ok(response).await["released"], false);
}

#[tokio::test]
async fn a_user_of_another_department_cannot_lock() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let (sales, sales_default) = app
        .create_department(tenant.dealer, json!({"name": "Sales"}))
        .await;
    let sales_user = app
        .create_user(sales, json!({"firstName": "Sam", "lastName": "Sales"}))
        .await;
    let other_dealer = app.tenant("Bravo Autos").await;
    let customer = app
        .create_customer(&tenant, json!({"firstName": "John"}))
        .await;

    for user in [sales_user, sales_default, other_dealer.user, Uuid::new_v4()] {
        // Act
        let locked = lock(&app, &tenant, user, customer, json!({})).await;
        let unlocked = unlock(&app, &tenant, user, customer).await;

        // Assert
        assert_error(locked, 400, "INVALID_USER").await;
        assert_error(unlocked, 400, "INVALID_USER").await;
    }
    let malformed = app
        .call(
            &tenant.credential,
            Method::POST,
            &lock_path(tenant.department, "not-a-user", customer),
            None,
        )
        .await;
    assert_error(malformed, 400, "INVALID_USER").await;

    // The customer is still free for a user of this department.
    assert_ok(lock(&app, &tenant, tenant.user, customer, json!({})).await).await;
}

#[tokio::test]
async fn a_customer_of_another_dealer_cannot_be_locked() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let b_customer = app
        .create_customer(&b, json!({"firstName": "Mallory"}))
        .await;

    for customer in [b_customer, Uuid::new_v4()] {
        // Act
        let locked = lock(&app, &a, a.user, customer, json!({})).await;
        let unlocked = unlock(&app, &a, a.user, customer).await;

        // Assert
        assert_error(locked, 400, "INVALID_CUSTOMER").await;
        assert_error(unlocked, 400, "INVALID_CUSTOMER").await;
    }

    // B's own users still find the customer unlocked.
    assert_ok(lock(&app, &b, b.user, b_customer, json!({})).await).await;
}

#[tokio::test]
async fn a_lock_needs_a_positive_bounded_ttl() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let other_user = app
        .create_user(
            tenant.department,
            json!({"firstName": "Bob", "lastName": "Baker"}),
        )
        .await;
    let customer = app
        .create_customer(&tenant, json!({"firstName": "John"}))
        .await;

    for ttl in [json!(0), json!(-5), json!(86_401), json!("60"), json!(1.5)] {
        // Act
        let response = lock(
            &app,
            &tenant,
            tenant.user,
            customer,
            json!({"ttlSeconds": ttl}),
        )
        .await;

        // Assert
        let body = assert_error(response, 400, "INVALID_REQUEST").await;
        assert!(
            error_descriptions(&body, "INVALID_REQUEST")[0].contains("ttlSeconds"),
            "{body}"
        );
    }

    // None of the refused requests took the lock.
    assert_ok(
        lock(
            &app,
            &tenant,
            other_user,
            customer,
            json!({"ttlSeconds": 1}),
        )
        .await,
    )
    .await;
}
