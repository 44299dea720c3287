//! Check order (SPEC 4.2 steps 1 and 3).

use super::*;

#[tokio::test]
async fn a_malformed_request_to_another_tenants_department_is_forbidden_first() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let other = app.tenant("Other Motors").await;

    let response = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &message_path(&other, other.user, shop.john),
            Some(json!({"messageAttributes": {}})),
        )
        .await;

    let body = assert_error(response, 403, "INSUFFICIENT_SCOPE").await;
    assert_eq!(codes(&body), vec!["INSUFFICIENT_SCOPE"], "{body}");
}

#[tokio::test]
async fn a_malformed_request_for_an_unknown_user_is_refused_for_its_body() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = post(
        &app,
        &shop.as_user(Uuid::new_v4()),
        json!({"messageAttributes": {}}),
    )
    .await;

    let body = assert_envelope(response, 400).await;
    assert!(
        !codes(&body).contains(&"INVALID_USER".to_string()),
        "{body}"
    );
    assert!(
        codes(&body).contains(&"MISSING_MESSAGE_BODY".to_string()),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_user_and_an_unknown_customer_are_reported_together() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let route = Route {
        user: Uuid::new_v4(),
        ..shop.to(Uuid::new_v4())
    };

    let response = post(&app, &route, text("Hi", json!({}))).await;

    let body = assert_envelope(response, 400).await;
    let mut found = codes(&body);
    found.sort();
    assert_eq!(found, vec!["INVALID_CUSTOMER", "INVALID_USER"], "{body}");
    assert_nothing_stored(&app, &shop).await;
}

#[tokio::test]
async fn a_user_of_another_department_is_an_invalid_user() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let (_, stranger, _) = other_department(&app, &shop, json!({})).await;

    let response = post(&app, &shop.as_user(stranger), sync(text("Hi", json!({})))).await;

    let body = assert_error(response, 400, "INVALID_USER").await;
    assert_eq!(codes(&body), vec!["INVALID_USER"], "{body}");
    assert_nothing_stored(&app, &shop).await;
}
