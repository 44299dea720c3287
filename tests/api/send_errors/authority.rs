//! Authority and locks (SPEC 4.2 steps 4 and 5).

use super::*;

#[tokio::test]
async fn a_user_who_cannot_text_may_not_send_a_text() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let user = app
        .create_user(
            shop.tenant.department,
            json!({"firstName": "No", "lastName": "Text", "canText": false}),
        )
        .await;

    let response = post(&app, &shop.as_user(user), sync(text("Hi", json!({})))).await;
    assert_error(response, 403, "USER_DOES_NOT_HAVE_AUTHORITY").await;
    assert_nothing_stored(&app, &shop).await;

    // Email is still allowed.
    let response = post(&app, &shop.as_user(user), sync(email("Hi", json!({})))).await;
    assert_ok(response).await;
}

#[tokio::test]
async fn a_user_who_cannot_email_may_not_send_an_email() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let user = app
        .create_user(
            shop.tenant.department,
            json!({"firstName": "No", "lastName": "Email", "canEmail": false}),
        )
        .await;

    let response = post(&app, &shop.as_user(user), sync(email("Hi", json!({})))).await;
    assert_error(response, 403, "USER_DOES_NOT_HAVE_AUTHORITY").await;
    assert_nothing_stored(&app, &shop).await;

    let response = post(&app, &shop.as_user(user), sync(text("Hi", json!({})))).await;
    assert_ok(response).await;
}

#[tokio::test]
async fn a_customer_locked_by_another_user_cannot_be_sent_to_but_the_holder_can() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let holder = shop.tenant.default_user;
    let locked = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &lock_path(shop.tenant.department, holder, shop.john),
            Some(json!({})),
        )
        .await;
    assert_ok(locked).await;

    let response = post(&app, &shop.to(shop.john), sync(text("Hi", json!({})))).await;
    assert_error(response, 409, "CUSTOMER_LOCKED").await;
    assert_nothing_stored(&app, &shop).await;

    let response = post(&app, &shop.as_user(holder), sync(text("Hi", json!({})))).await;
    let body = assert_ok(response).await;
    assert_eq!(body["status"], "SUCCESS", "{body}");
    assert_eq!(outbox(&app).await.len(), 1);
}
