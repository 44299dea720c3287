//! The send endpoint's refusals and warnings: request validation (all problems at once), the
//! check order of SPEC 4.2, the delivery outcomes of SPEC 5.2 and 5.3 both synchronously (the
//! HTTP answer) and asynchronously (the callback), and the CC/BCC screening; one file per
//! subject, the arrangement they share here.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ALL_SCOPES, Credential, TestApp, assert_envelope, assert_error, assert_ok, error_descriptions,
    lock_path, spawn_app_with,
};
use crate::receiver::Receiver;
use crate::send_support::*;

mod authority;
mod check_order;
mod copies;
mod incoming;
mod outcomes;
mod override_optout;
mod recipient;
mod validation;

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
