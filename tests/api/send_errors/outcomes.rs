//! Delivery outcomes (SPEC 4.2, 4.3, 5.2, 5.3): 422 inline, a FAILURE callback when queued.

use super::*;

#[tokio::test]
async fn a_number_that_sent_stop_is_opted_out_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let stop = app
        .opt_event(
            &shop.tenant,
            &[("TEXT", "+11234567890")],
            "STOP_MESSAGE_RECEIVED",
        )
        .await;
    assert_ok(stop).await;

    assert_refused_both_ways(
        &app,
        &shop.to(shop.john),
        text("Hi", json!({})),
        "OPTED_OUT_COMMUNICATION_VALUE",
    )
    .await;
}

#[tokio::test]
async fn a_not_set_number_added_through_the_api_is_opted_out_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    add_not_set_number(&app, &shop).await;

    assert_refused_both_ways(
        &app,
        &shop.to(shop.john),
        text(
            "Hi",
            json!({"communicationValueOfCustomer": "+14155552671"}),
        ),
        "OPTED_OUT_COMMUNICATION_VALUE",
    )
    .await;
}

#[tokio::test]
async fn a_number_not_ok_to_text_is_refused_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let paul = import_one(
        &app,
        &shop,
        json!({"firstName": "Paul", "customerKey": "DMS-3",
            "phoneNumbers": [{"phoneNumber": "+14155550133", "okToText": false}]}),
    )
    .await;

    assert_refused_both_ways(
        &app,
        &shop.to(paul),
        message("TEXT", "Hi", json!({})),
        "COMMUNICATION_VALUE_MARKED_AS_NOT_OK_TO_COMMUNICATE",
    )
    .await;
}

#[tokio::test]
async fn an_address_not_ok_to_email_is_refused_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let paul = import_one(
        &app,
        &shop,
        json!({"firstName": "Paul", "customerKey": "DMS-3",
            "emails": [{"emailAddress": "paul@example.org", "okToEmail": false}]}),
    )
    .await;

    assert_refused_both_ways(
        &app,
        &shop.to(paul),
        message("EMAIL", "Hi", json!({})),
        "COMMUNICATION_VALUE_MARKED_AS_NOT_OK_TO_COMMUNICATE",
    )
    .await;
}

#[tokio::test]
async fn a_department_without_a_text_sender_number_is_missing_voice_credentials_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let (department, user, credential) =
        other_department(&app, &shop, json!({"textSenderNumber": null})).await;
    let route = Route {
        credential: &credential,
        department,
        user,
        customer: shop.john,
    };

    assert_refused_both_ways(
        &app,
        &route,
        text("Hi", json!({})),
        "MISSING_VOICE_CREDENTIALS",
    )
    .await;
}

#[tokio::test]
async fn a_department_without_an_email_sender_is_missing_dealer_email_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let (department, user, credential) =
        other_department(&app, &shop, json!({"emailSender": null})).await;
    let route = Route {
        credential: &credential,
        department,
        user,
        customer: shop.john,
    };

    assert_refused_both_ways(&app, &route, email("Hi", json!({})), "MISSING_DEALER_EMAIL").await;
}

#[tokio::test]
async fn an_address_on_the_dealers_blacklist_is_refused_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    blacklist(&app, &shop, json!({"emails": ["customer@example.com"]})).await;

    assert_refused_both_ways(
        &app,
        &shop.to(shop.john),
        email("Hi", json!({})),
        "BLACKLISTED_EMAIL_ADDRESS_OR_DOMAIN",
    )
    .await;
}

#[tokio::test]
async fn a_domain_on_the_dealers_blacklist_is_refused_both_ways() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    blacklist(&app, &shop, json!({"domains": ["example.com"]})).await;

    assert_refused_both_ways(
        &app,
        &shop.to(shop.john),
        email("Hi", json!({})),
        "BLACKLISTED_EMAIL_ADDRESS_OR_DOMAIN",
    )
    .await;
}

#[tokio::test]
async fn a_domain_on_the_global_blacklist_is_refused_both_ways() {
    let app = spawn_app_with(|s| {
        callback_settings(s);
        s.blacklist.domains = vec!["example.com".into()];
    })
    .await;
    let shop = shop(&app).await;

    assert_refused_both_ways(
        &app,
        &shop.to(shop.john),
        email("Hi", json!({})),
        "BLACKLISTED_EMAIL_ADDRESS_OR_DOMAIN",
    )
    .await;
}
