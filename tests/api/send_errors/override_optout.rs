//! overrideOptoutRules and queueIfOptedOut (SPEC 5.2).

use super::*;

#[tokio::test]
async fn override_with_the_grant_sends_to_a_not_set_number() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    add_not_set_number(&app, &shop).await;

    let body = text(
        "Hi",
        json!({"communicationValueOfCustomer": "+14155552671",
            "overrideOptoutRules": true, "sendSynchronously": true}),
    );
    let answer = assert_ok(send(&app, &shop, body).await).await;

    assert_eq!(answer["status"], "SUCCESS", "{answer}");
    assert_eq!(warning_codes(&answer), Vec::<String>::new(), "{answer}");
    let sent = outbox(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "+14155552671");
}

#[tokio::test]
async fn override_without_the_grant_warns_and_the_rules_apply() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    add_not_set_number(&app, &shop).await;
    let credential = credential_without_override(&app, &shop).await;
    let route = Route {
        credential: &credential,
        ..shop.to(shop.john)
    };

    let body = text(
        "Hi",
        json!({"communicationValueOfCustomer": "+14155552671",
            "overrideOptoutRules": true, "sendSynchronously": true}),
    );
    let answer = assert_refused_inline(
        post(&app, &route, body).await,
        "OPTED_OUT_COMMUNICATION_VALUE",
    )
    .await;

    assert_eq!(
        warning_codes(&answer),
        vec!["CANT_OVERRIDE_OPTOUT"],
        "{answer}"
    );

    // Queued, the answer and the callback carry the warning too.
    let body = text(
        "Hi",
        json!({"communicationValueOfCustomer": "+14155552671", "overrideOptoutRules": true}),
    );
    let (accepted, callback) =
        assert_refused_by_callback(&app, &route, body, "OPTED_OUT_COMMUNICATION_VALUE").await;
    assert_eq!(
        warning_codes(&accepted),
        vec!["CANT_OVERRIDE_OPTOUT"],
        "{accepted}"
    );
    assert_eq!(
        warning_codes(&callback),
        vec!["CANT_OVERRIDE_OPTOUT"],
        "{callback}"
    );
    assert_eq!(outbox(&app).await, Vec::<Value>::new());
}

#[tokio::test]
async fn override_with_the_grant_never_reaches_an_opted_out_number() {
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
        text(
            "Hi",
            json!({"overrideOptoutRules": true, "queueIfOptedOut": true}),
        ),
        "OPTED_OUT_COMMUNICATION_VALUE",
    )
    .await;
}

#[tokio::test]
async fn queue_if_opted_out_on_an_email_warns_and_sends() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let body = sync(email("Hi", json!({"queueIfOptedOut": true})));
    let answer = assert_ok(send(&app, &shop, body).await).await;

    assert_eq!(answer["status"], "SUCCESS", "{answer}");
    assert_eq!(
        warning_codes(&answer),
        vec!["CANT_QUEUE_MESSAGE_IF_OPTED_OUT"],
        "{answer}"
    );
    let sent = outbox(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "customer@example.com");
}
