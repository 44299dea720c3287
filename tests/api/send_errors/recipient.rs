//! The recipient (SPEC 4.2 step 6).

use super::*;

async fn assert_invalid_value(app: &TestApp, shop: &Shop, route: &Route<'_>, body: Value) {
    let response = post(app, route, sync(body)).await;
    let answer = assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    assert_eq!(
        codes(&answer),
        vec!["INVALID_COMMUNICATION_VALUE"],
        "{answer}"
    );
    assert_nothing_stored(app, shop).await;
}

#[tokio::test]
async fn a_malformed_number_is_an_invalid_communication_value() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let body = text("Hi", json!({"communicationValueOfCustomer": "555-12"}));
    assert_invalid_value(&app, &shop, &shop.to(shop.john), body).await;
}

#[tokio::test]
async fn a_number_not_registered_for_the_customer_is_an_invalid_communication_value() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let body = text(
        "Hi",
        json!({"communicationValueOfCustomer": "+14155559999"}),
    );
    assert_invalid_value(&app, &shop, &shop.to(shop.john), body).await;
}

#[tokio::test]
async fn an_email_of_another_customer_is_an_invalid_communication_value() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    import_one(
        &app,
        &shop,
        json!({"firstName": "Jane", "customerKey": "DMS-2",
            "emails": [{"emailAddress": "jane@example.org"}]}),
    )
    .await;

    let body = email(
        "Hi",
        json!({"communicationValueOfCustomer": "jane@example.org"}),
    );
    assert_invalid_value(&app, &shop, &shop.to(shop.john), body).await;
}

#[tokio::test]
async fn an_email_to_a_customer_without_an_address_is_an_invalid_communication_value() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let paul = import_one(
        &app,
        &shop,
        json!({"firstName": "Paul", "customerKey": "DMS-3",
            "phoneNumbers": [{"phoneNumber": "+14155550133"}]}),
    )
    .await;

    let body = message("EMAIL", "Hi", json!({"sendSynchronously": true}));
    let response = post(&app, &shop.to(paul), body).await;

    assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    assert_eq!(outbox(&app).await, Vec::<Value>::new());
    assert_eq!(thread(&app, &shop, paul).await, Vec::<Value>::new());
}

#[tokio::test]
async fn without_a_communication_value_the_preferred_number_is_used() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let paul = import_one(
        &app,
        &shop,
        json!({"firstName": "Paul", "customerKey": "DMS-3", "phoneNumbers": [
            {"phoneNumber": "+14155550111", "isPreferred": false},
            {"phoneNumber": "+14155550122", "isPreferred": true}
        ]}),
    )
    .await;

    let body = message("TEXT", "Hi", json!({"sendSynchronously": true}));
    assert_ok(post(&app, &shop.to(paul), body).await).await;

    let sent = outbox(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "+14155550122");
}
