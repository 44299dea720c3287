//! The send endpoint's refusals and warnings: request validation (all problems at once), the
//! check order of SPEC 4.2, the delivery outcomes of SPEC 5.2 and 5.3 both synchronously (the
//! HTTP answer) and asynchronously (the callback), and the CC/BCC screening.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ALL_SCOPES, Credential, TestApp, assert_envelope, assert_error, assert_ok, error_descriptions,
    lock_path, spawn_app_with,
};
use crate::receiver::Receiver;
use crate::send_support::*;

// ---------------------------------------------------------------------------------------------
// Arrangement

/// Who sends, from where, to whom.
struct Route<'a> {
    credential: &'a Credential,
    department: Uuid,
    user: Uuid,
    customer: Uuid,
}

impl Shop {
    /// The shop's ordinary user writing to `customer` with the shop's credential.
    fn to(&self, customer: Uuid) -> Route<'_> {
        Route {
            credential: &self.tenant.credential,
            department: self.tenant.department,
            user: self.tenant.user,
            customer,
        }
    }

    fn as_user(&self, user: Uuid) -> Route<'_> {
        Route {
            user,
            ..self.to(self.john)
        }
    }
}

async fn post(app: &TestApp, route: &Route<'_>, body: Value) -> Response {
    app.call(
        route.credential,
        Method::POST,
        &format!(
            "/communications/department/{}/user/{}/customer/{}/message",
            route.department, route.user, route.customer
        ),
        Some(body),
    )
    .await
}

/// A message of `protocol` with `sending` as its messageSendingAttributes.
fn message(protocol: &str, body: &str, sending: Value) -> Value {
    json!({
        "messageAttributes": {"body": body, "isManual": true, "protocol": protocol, "type": "OUTGOING"},
        "messageSendingAttributes": sending
    })
}

/// An EMAIL to John's address with `extra` merged into messageSendingAttributes.
fn email(body: &str, extra: Value) -> Value {
    with(
        message(
            "EMAIL",
            body,
            json!({"communicationValueOfCustomer": "customer@example.com"}),
        ),
        extra,
    )
}

/// `body` with `extra` merged into its messageSendingAttributes.
fn with(mut body: Value, extra: Value) -> Value {
    let sending = body["messageSendingAttributes"]
        .as_object_mut()
        .expect("messageSendingAttributes");
    for (k, v) in extra.as_object().expect("an object") {
        sending.insert(k.clone(), v.clone());
    }
    body
}

fn sync(body: Value) -> Value {
    with(body, json!({"sendSynchronously": true}))
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .map(|e| e["errorCode"].as_str().unwrap().to_string())
        .collect()
}

fn warning_codes(body: &Value) -> Vec<String> {
    body["warnings"]
        .as_array()
        .expect("warnings[]")
        .iter()
        .map(|w| w["warningCode"].as_str().unwrap().to_string())
        .collect()
}

async fn thread(app: &TestApp, shop: &Shop, customer: Uuid) -> Vec<Value> {
    let response = app
        .call(
            &shop.tenant.credential,
            Method::GET,
            &format!(
                "/communications/department/{}/customer/{customer}/messages",
                shop.tenant.department
            ),
            None,
        )
        .await;
    assert_ok(response).await["messages"]
        .as_array()
        .expect("messages[]")
        .clone()
}

/// A refused request left no trace: nothing sent, nothing in John's thread.
async fn assert_nothing_stored(app: &TestApp, shop: &Shop) {
    assert_eq!(outbox(app).await, Vec::<Value>::new(), "outbox");
    assert_eq!(
        thread(app, shop, shop.john).await,
        Vec::<Value>::new(),
        "thread"
    );
}

/// A synchronous send refused by policy: `422`, `FAILURE`, `FAILED`, `code`. Returns the body.
async fn assert_refused_inline(response: Response, code: &str) -> Value {
    let body = assert_error(response, 422, code).await;
    assert_eq!(body["status"], "FAILURE", "{body}");
    assert_eq!(body["messageStatus"], "FAILED", "{body}");
    assert_eq!(codes(&body), vec![code.to_string()], "{body}");
    body
}

/// An asynchronous send accepted, then called back as a `FAILURE` with `code`.
/// Returns the answer and the callback's body.
async fn assert_refused_by_callback(
    app: &TestApp,
    route: &Route<'_>,
    body: Value,
    code: &str,
) -> (Value, Value) {
    let mut receiver = Receiver::start(&[]).await;
    let body = with(
        body,
        json!({"sendSynchronously": false, "callbackURL": receiver.url}),
    );
    let accepted = assert_ok(post(app, route, body).await).await;
    assert_eq!(accepted["status"], "SUCCESS", "{accepted}");
    assert_eq!(accepted["messageStatus"], "ACCEPTED", "{accepted}");

    let callback = receiver.next_delivered().await.body;
    assert_eq!(
        callback["messageUUID"], accepted["messageUUID"],
        "{callback}"
    );
    assert_eq!(callback["status"], "FAILURE", "{callback}");
    assert_eq!(callback["messageStatus"], "FAILED", "{callback}");
    assert_eq!(codes(&callback), vec![code.to_string()], "{callback}");
    (accepted, callback)
}

/// `body` refused with `code` both ways, and nothing reached a provider.
async fn assert_refused_both_ways(app: &TestApp, route: &Route<'_>, body: Value, code: &str) {
    assert_refused_inline(post(app, route, sync(body.clone())).await, code).await;
    assert_refused_by_callback(app, route, body, code).await;
    assert_eq!(outbox(app).await, Vec::<Value>::new(), "nothing is sent");
}

/// A second department of the shop's dealer with `settings`, its own user and credential.
async fn other_department(app: &TestApp, shop: &Shop, settings: Value) -> (Uuid, Uuid, Credential) {
    let (department, _) = app.create_department(shop.tenant.dealer, settings).await;
    let user = app
        .create_user(department, json!({"firstName": "Sam", "lastName": "Parts"}))
        .await;
    let credential = app.department_credential(department).await;
    (department, user, credential)
}

/// A credential for the shop's department with every scope but `message.override_optout`.
async fn credential_without_override(app: &TestApp, shop: &Shop) -> Credential {
    let grants: Vec<Value> = ALL_SCOPES
        .iter()
        .filter(|s| **s != "message.override_optout")
        .map(|s| json!({"scope": s, "level": "DealerDepartment", "uuid": shop.tenant.department}))
        .collect();
    app.create_credential(Value::Array(grants)).await
}

/// Adds `+14155552671` to John through the customer API: it starts `NOT_SET`.
async fn add_not_set_number(app: &TestApp, shop: &Shop) {
    app.create_customer(
        &shop.tenant,
        json!({"uuid": shop.john, "phoneNumbers": [
            {"phoneNumber": "1234567890", "isPreferred": true},
            {"phoneNumber": "+14155552671"}
        ]}),
    )
    .await;
    assert_eq!(
        app.opt_status(&shop.tenant, "TEXT", "+14155552671").await["optOutState"],
        "NOT_SET"
    );
}

async fn blacklist(app: &TestApp, shop: &Shop, entries: Value) {
    app.admin_ok(
        Method::POST,
        &format!("/admin/v1/dealers/{}/blacklist", shop.tenant.dealer),
        entries,
    )
    .await;
}

async fn import_one(app: &TestApp, shop: &Shop, customer: Value) -> Uuid {
    app.import_customers(shop.tenant.dealer, json!([customer]))
        .await[0]
}

// ---------------------------------------------------------------------------------------------
// Validation (SPEC 4.2 step 2): 400, every problem in one answer, nothing stored.

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
async fn a_body_without_message_attributes_is_missing_message_attributes() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = send(
        &app,
        &shop,
        json!({"messageSendingAttributes": {"sendSynchronously": true}}),
    )
    .await;

    let body = assert_envelope(response, 400).await;
    assert_eq!(codes(&body), vec!["MISSING_MESSAGE_ATTRIBUTES"], "{body}");
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

#[tokio::test]
async fn a_callback_url_that_is_not_a_url_is_invalid_callback_url() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = send(&app, &shop, text("Hi", json!({"callbackURL": "not-a-url"}))).await;

    let body = assert_envelope(response, 400).await;
    assert_eq!(codes(&body), vec!["INVALID_CALLBACK_URL"], "{body}");
    assert_nothing_stored(&app, &shop).await;
}

#[tokio::test]
async fn a_text_body_over_1600_characters_is_message_too_long() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = send(&app, &shop, text(&"é".repeat(1601), json!({}))).await;

    let body = assert_envelope(response, 400).await;
    assert_eq!(codes(&body), vec!["MESSAGE_TOO_LONG"], "{body}");
    assert_nothing_stored(&app, &shop).await;
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

// ---------------------------------------------------------------------------------------------
// Check order (SPEC 4.2 steps 1 and 3).

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

// ---------------------------------------------------------------------------------------------
// Authority and locks (SPEC 4.2 steps 4 and 5).

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

// ---------------------------------------------------------------------------------------------
// The recipient (SPEC 4.2 step 6).

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

// ---------------------------------------------------------------------------------------------
// Delivery outcomes (SPEC 4.2, 4.3, 5.2, 5.3): 422 inline, a FAILURE callback when queued.

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

// ---------------------------------------------------------------------------------------------
// overrideOptoutRules and queueIfOptedOut (SPEC 5.2).

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

// ---------------------------------------------------------------------------------------------
// CC and BCC screening (SPEC 5.3): each dropped entry leaves a warning, the others are copied.

/// Sends John an email copying `cc` and `bcc`; returns the answer and what was sent.
async fn email_with_copies(app: &TestApp, shop: &Shop, cc: Value, bcc: Value) -> (Value, Value) {
    let body = sync(email(
        "Hi",
        json!({"listOfEmailsToBeCCed": cc, "listOfEmailsToBeBCCed": bcc}),
    ));
    let answer = assert_ok(send(app, shop, body).await).await;
    let sent = outbox(app).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    (answer, sent[0].clone())
}

#[tokio::test]
async fn a_malformed_copy_address_is_dropped_with_invalid_email() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let (answer, sent) = email_with_copies(
        &app,
        &shop,
        json!(["not-an-email", "advisor@example.net"]),
        json!(["manager@example.net", "@nowhere"]),
    )
    .await;

    assert_eq!(
        warning_codes(&answer),
        vec!["INVALID_EMAIL", "INVALID_EMAIL"],
        "{answer}"
    );
    assert_eq!(sent["cc"], json!(["advisor@example.net"]));
    assert_eq!(sent["bcc"], json!(["manager@example.net"]));
}

#[tokio::test]
async fn a_copy_to_a_customer_with_do_not_cc_is_dropped() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    import_one(
        &app,
        &shop,
        json!({"firstName": "Jane", "customerKey": "DMS-2",
            "emails": [{"emailAddress": "jane@example.org", "doNotCC": true}]}),
    )
    .await;

    let (answer, sent) = email_with_copies(
        &app,
        &shop,
        json!(["jane@example.org", "advisor@example.net"]),
        json!(["JANE@example.org", "manager@example.net"]),
    )
    .await;

    assert_eq!(
        warning_codes(&answer),
        vec!["DO_NOT_CC_ENABLED", "DO_NOT_CC_ENABLED"],
        "{answer}"
    );
    assert_eq!(sent["cc"], json!(["advisor@example.net"]));
    assert_eq!(sent["bcc"], json!(["manager@example.net"]));
}

#[tokio::test]
async fn a_copy_to_a_blacklisted_domain_is_dropped() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    blacklist(&app, &shop, json!({"domains": ["spam.example"]})).await;

    let (answer, sent) = email_with_copies(
        &app,
        &shop,
        json!(["advisor@example.net", "someone@spam.example"]),
        json!(["other@spam.example", "manager@example.net"]),
    )
    .await;

    assert_eq!(
        warning_codes(&answer),
        vec!["BLACKLISTED_EMAIL_DOMAIN", "BLACKLISTED_EMAIL_DOMAIN"],
        "{answer}"
    );
    assert_eq!(sent["cc"], json!(["advisor@example.net"]));
    assert_eq!(sent["bcc"], json!(["manager@example.net"]));
}

// ---------------------------------------------------------------------------------------------
// INCOMING (SPEC 4.1).

#[tokio::test]
async fn an_incoming_message_is_recorded_in_the_thread_and_sent_to_no_one() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut body = text("Can I come in at 9?", json!({}));
    body["messageAttributes"]["type"] = json!("INCOMING");

    let answer = assert_ok(send(&app, &shop, body).await).await;

    let messages = thread(&app, &shop, shop.john).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["type"], "INCOMING");
    assert_eq!(messages[0]["messageUUID"], answer["messageUUID"]);
    assert_eq!(messages[0]["body"], "Can I come in at 9?");
    assert_eq!(outbox(&app).await, Vec::<Value>::new());
}
