//! Shared arrangement for the send tests: a tenant whose customer John Doe came from the DMS
//! (so his number is OPTED_IN), Herald set to reach a loopback callback receiver, and the
//! seed's example bodies.

#![allow(dead_code)]

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Tenant, TestApp, spawn_app_with};
use herald::Settings;

/// Callbacks may reach the test's receiver on loopback, and retries come at once.
pub fn callback_settings(s: &mut Settings) {
    s.callbacks.allow_private_networks = true;
    s.callbacks.retry_schedule_seconds = vec![0, 0, 0, 0];
}

pub async fn spawn_sending_app() -> TestApp {
    spawn_app_with(callback_settings).await
}

pub struct Shop {
    pub tenant: Tenant,
    pub john: Uuid,
}

pub async fn shop(app: &TestApp) -> Shop {
    let tenant = app.tenant("Acme Motors").await;
    let john = app
        .import_customers(
            tenant.dealer,
            json!([{
                "firstName": "John", "lastName": "Doe", "customerKey": "DMS-1",
                "phoneNumbers": [{"phoneNumber": "1234567890", "isPreferred": true}],
                "emails": [{"emailAddress": "customer@example.com", "isPreferred": true}]
            }]),
        )
        .await[0];
    Shop { tenant, john }
}

pub fn message_path(tenant: &Tenant, user: Uuid, customer: Uuid) -> String {
    format!(
        "/communications/department/{}/user/{user}/customer/{customer}/message",
        tenant.department
    )
}

pub async fn send(app: &TestApp, shop: &Shop, body: Value) -> reqwest::Response {
    app.call(
        &shop.tenant.credential,
        Method::POST,
        &message_path(&shop.tenant, shop.tenant.user, shop.john),
        Some(body),
    )
    .await
}

/// The seed's example 1, verbatim but for the callback URL.
pub fn example_one(callback: &str) -> Value {
    json!({
        "messageAttributes": {
            "body": "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!",
            "isManual": true,
            "protocol": "TEXT",
            "type": "OUTGOING"
        },
        "messageSendingAttributes": {
            "communicationValueOfCustomer": "1234567890",
            "sendSynchronously": false,
            "callbackURL": callback,
            "callbackMetaData": {"appointmentId": "12345", "source": "appointment-reminder"},
            "addTCPAFooter": true,
            "addSignature": true,
            "addFooter": false,
            "sendVCard": false
        }
    })
}

pub const EXAMPLE_ONE_EXPECTED: &str = "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!\n-- Sarah Johnson\nText STOP to opt-out";

/// The seed's example 2, verbatim but for the callback URL.
pub fn example_two(callback: &str) -> Value {
    json!({
        "messageAttributes": {
            "body": "Dear John,\n\nThank you for choosing our service center. Your vehicle service has been completed.\n\nService Details:\n- Oil Change\n- Tire Rotation\n- Multi-point Inspection\n\nTotal: $89.99\n\nPlease feel free to contact us if you have any questions.\n\nBest regards,\nService Team",
            "isManual": false,
            "protocol": "EMAIL",
            "type": "OUTGOING"
        },
        "messageSendingAttributes": {
            "communicationValueOfCustomer": "customer@example.com",
            "sendSynchronously": false,
            "callbackURL": callback,
            "callbackMetaData": {"serviceOrderId": "SO-67890", "communicationType": "service-completion"},
            "addTCPAFooter": false,
            "addSignature": true,
            "addFooter": true,
            "sendVCard": false
        }
    })
}

/// The seed's example 3, verbatim.
pub fn example_three() -> Value {
    json!({
        "messageAttributes": {
            "body": "Your verification code is: 123456. This code will expire in 5 minutes.",
            "isManual": false,
            "protocol": "TEXT",
            "type": "OUTGOING"
        },
        "messageSendingAttributes": {
            "communicationValueOfCustomer": "+11234567890",
            "sendSynchronously": true,
            "addTCPAFooter": false,
            "addSignature": false,
            "addFooter": false,
            "sendVCard": false
        }
    })
}

/// A minimal TEXT with `extra` merged into messageSendingAttributes.
pub fn text(body: &str, extra: Value) -> Value {
    let mut sending = json!({"communicationValueOfCustomer": "1234567890"});
    if let (Some(s), Some(e)) = (sending.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({
        "messageAttributes": {"body": body, "isManual": true, "protocol": "TEXT", "type": "OUTGOING"},
        "messageSendingAttributes": sending
    })
}

pub async fn outbox(app: &TestApp) -> Vec<Value> {
    let body = app.admin_ok(Method::GET, "/dev/outbox", Value::Null).await;
    body["messages"].as_array().cloned().unwrap_or_default()
}

pub async fn message_status(app: &TestApp, shop: &Shop, message: &str) -> Value {
    let response = app
        .call(
            &shop.tenant.credential,
            Method::GET,
            &format!(
                "/communications/department/{}/message/{message}",
                shop.tenant.department
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// John's thread, newest first: the thread endpoint's whole answer.
pub async fn thread(app: &TestApp, shop: &Shop) -> Value {
    let response = app
        .call(
            &shop.tenant.credential,
            Method::GET,
            &format!(
                "/communications/department/{}/customer/{}/messages",
                shop.tenant.department, shop.john
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
