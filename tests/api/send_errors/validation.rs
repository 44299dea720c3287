//! Validation (SPEC 4.2 step 2): 400, every problem in one answer, nothing stored.

use super::*;

#[tokio::test]
async fn empty_message_attributes_report_every_missing_field_together() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = send(&app, &shop, json!({"messageAttributes": {}})).await;

    let body = assert_envelope(response, 400).await;
    let found = codes(&body);
    for code in [
        "MISSING_MESSAGE_TYPE",
        "MISSING_MESSAGE_PROTOCOL",
        "MISSING_IS_MANUAL",
        "MISSING_MESSAGE_BODY",
    ] {
        assert!(found.contains(&code.to_string()), "{code} not in {body}");
    }
    assert_eq!(found.len(), 4, "{body}");
    assert_nothing_stored(&app, &shop).await;
}

#[tokio::test]
async fn wrong_types_and_unknown_values_are_invalid_requests_naming_their_paths() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = send(
        &app,
        &shop,
        json!({
            "messageAttributes": {"body": "Hi", "isManual": "yes", "protocol": "FAX", "type": "OUTGOING"},
            "messageSendingAttributes": {"sendSynchronously": "no", "callbackMetaData": [1]}
        }),
    )
    .await;

    let body = assert_envelope(response, 400).await;
    assert!(
        codes(&body).iter().all(|c| c == "INVALID_REQUEST"),
        "{body}"
    );
    let descriptions = error_descriptions(&body, "INVALID_REQUEST");
    for path in [
        "messageAttributes.isManual",
        "messageAttributes.protocol",
        "messageSendingAttributes.sendSynchronously",
        "messageSendingAttributes.callbackMetaData",
    ] {
        assert!(
            descriptions.iter().any(|d| d.contains(path)),
            "{path} not named in {descriptions:?}"
        );
    }
    assert_eq!(descriptions.len(), 4, "{body}");
    assert_nothing_stored(&app, &shop).await;
}

/// Bodies refused for one problem each: what the case is, the body, the one code it gets.
fn single_refusals() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "a body without messageAttributes",
            json!({"messageSendingAttributes": {"sendSynchronously": true}}),
            "MISSING_MESSAGE_ATTRIBUTES",
        ),
        (
            "a callbackURL that is not a URL",
            text("Hi", json!({"callbackURL": "not-a-url"})),
            "INVALID_CALLBACK_URL",
        ),
        (
            "a TEXT body over 1600 characters",
            text(&"é".repeat(1601), json!({})),
            "MESSAGE_TOO_LONG",
        ),
    ]
}

#[tokio::test]
async fn each_single_problem_is_refused_with_its_code_alone() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    for (case, request, code) in single_refusals() {
        let response = send(&app, &shop, request).await;

        let body = assert_envelope(response, 400).await;
        assert_eq!(codes(&body), vec![code], "{case}: {body}");
        assert_nothing_stored(&app, &shop).await;
    }
}

#[tokio::test]
async fn a_text_over_1600_characters_once_composed_is_message_too_long() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    // 1580 + "\n-- Sarah Johnson" (17) + "\nText STOP to opt-out" (21) = 1618.
    let body = "x".repeat(1580);

    let response = send(
        &app,
        &shop,
        text(
            &body,
            json!({"addSignature": true, "sendSynchronously": true}),
        ),
    )
    .await;

    let answer = assert_envelope(response, 400).await;
    assert_eq!(codes(&answer), vec!["MESSAGE_TOO_LONG"], "{answer}");
    assert_nothing_stored(&app, &shop).await;

    // The same body without the additions fits.
    let fits = send(
        &app,
        &shop,
        text(
            &body,
            json!({"addTCPAFooter": false, "sendSynchronously": true}),
        ),
    )
    .await;
    assert_ok(fits).await;
}

#[tokio::test]
async fn a_text_too_long_once_composed_is_refused_before_authority_lock_and_recipient() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let cannot_text = app
        .create_user(
            shop.tenant.department,
            json!({"firstName": "No", "lastName": "Text", "canText": false}),
        )
        .await;
    let locked = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &lock_path(shop.tenant.department, shop.tenant.default_user, shop.john),
            Some(json!({})),
        )
        .await;
    assert_ok(locked).await;
    // Under 1600 as given, over once the signature and the TCPA footer are added; sent by a
    // user who may not text, to a customer another user holds, at a number he does not have.
    let body = text(
        &"x".repeat(1580),
        json!({"addSignature": true, "sendSynchronously": true,
            "communicationValueOfCustomer": "+14155559999"}),
    );

    let response = post(&app, &shop.as_user(cannot_text), body).await;

    let answer = assert_envelope(response, 400).await;
    assert_eq!(codes(&answer), vec!["MESSAGE_TOO_LONG"], "{answer}");
    assert_nothing_stored(&app, &shop).await;
}
