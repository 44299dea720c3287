//! A number's or address's consent history (SPEC 8): `GET /admin/v1/dealers/{dealerUuid}/consent`
//! answers the opt state and every event that changed it, oldest first, with its source and
//! cause — the record a dealer shows in a TCPA dispute — and only that dealer's.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SENDER_NUMBER, TestApp, assert_error, assert_ok, spawn_app};
use crate::send_support::shop;

async fn consent(app: &TestApp, dealer: impl std::fmt::Display, value: &str) -> Value {
    let path = format!(
        "/admin/v1/dealers/{dealer}/consent?value={}",
        crate::helpers::encode(value)
    );
    assert_ok(app.admin(Method::GET, &path, None).await).await["consent"].clone()
}

#[tokio::test]
async fn a_numbers_history_names_each_event_its_source_and_its_cause() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let stop = json!({"from": "+11234567890", "to": SENDER_NUMBER, "body": "STOP"});
    let inbound = assert_ok(app.admin(Method::POST, "/dev/inbound", Some(stop)).await).await;
    let by_api = app
        .opt_event(
            &shop.tenant,
            &[("TEXT", "1234567890")],
            "OPTIN_MESSAGE_RECEIVED",
        )
        .await;
    let by_api = assert_ok(by_api).await;

    // Any spelling of the number finds it.
    let view = consent(&app, shop.tenant.dealer, "(123) 456-7890").await;

    assert_eq!(view["dealerUuid"], shop.tenant.dealer.to_string());
    assert_eq!(view["communicationType"], "TEXT");
    assert_eq!(view["communicationValue"], "+11234567890");
    assert_eq!(view["optOutState"], "OPTED_IN");
    assert!(view["timeOfChange"].is_string(), "{view}");
    let history = view["history"].as_array().unwrap();
    let events: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
                e["optOutState"].as_str().unwrap(),
            )
        })
        .collect();
    // The DMS import opted the number in first; then STOP; then the API's opt-in.
    assert_eq!(
        events,
        [
            ("DMS_IMPORT", "DMS_IMPORT", "OPTED_IN"),
            ("STOP_MESSAGE_RECEIVED", "INBOUND", "OPTED_OUT"),
            ("OPTIN_MESSAGE_RECEIVED", "API", "OPTED_IN"),
        ],
        "{view}"
    );
    let stop = &history[1];
    assert_eq!(stop["messageUuid"], inbound["messageUUID"], "the STOP text");
    assert!(stop["actor"].is_null(), "{stop}");
    let optin = &history[2];
    assert_eq!(optin["actor"], shop.tenant.credential.username.as_str());
    assert_eq!(optin["requestUuid"], by_api["requestUUID"], "the API call");
}

#[tokio::test]
async fn an_address_has_a_history_of_its_own() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let out = app
        .opt_event(
            &shop.tenant,
            &[("EMAIL", "Customer@Example.com")],
            "USER_REQUESTED_OPT_OUT",
        )
        .await;
    assert_ok(out).await;

    let view = consent(&app, shop.tenant.dealer, "customer@example.com").await;

    assert_eq!(view["communicationType"], "EMAIL");
    assert_eq!(view["communicationValue"], "customer@example.com");
    assert_eq!(view["optOutState"], "OPTED_OUT");
    let last = view["history"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(last["event"], "USER_REQUESTED_OPT_OUT", "{view}");
    assert_eq!(last["actor"], shop.tenant.credential.username.as_str());
}

#[tokio::test]
async fn another_dealer_sees_nothing_of_this_dealers_consent() {
    let app = spawn_app().await;
    // The first dealer holds the sender number the STOP is texted to.
    shop(&app).await;
    let stop = json!({"from": "+11234567890", "to": SENDER_NUMBER, "body": "STOP"});
    assert_ok(app.admin(Method::POST, "/dev/inbound", Some(stop)).await).await;
    let other = app.tenant("Other Motors").await;

    let view = consent(&app, other.dealer, "+11234567890").await;

    assert_eq!(view["optOutState"], "NOT_SET");
    assert_eq!(view["history"], json!([]));
    assert!(view["timeOfChange"].is_null(), "{view}");
}

#[tokio::test]
async fn a_bad_value_or_an_unknown_dealer_is_refused() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let base = format!("/admin/v1/dealers/{}/consent", shop.tenant.dealer);
    for query in ["", "?value=", "?value=5551234", "?value=ann%40"] {
        let response = app
            .admin(Method::GET, &format!("{base}{query}"), None)
            .await;
        assert_error(response, 400, "INVALID_REQUEST").await;
    }
    for dealer in ["3fa85f64-5717-4562-b3fc-2c963f66afa6", "not-a-uuid"] {
        let path = format!("/admin/v1/dealers/{dealer}/consent?value=%2B11234567890");
        let response = app.admin(Method::GET, &path, None).await;
        assert_error(response, 404, "INVALID_DEALER").await;
    }
}
