use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn a_new_customer_can_be_created_and_read_back() {
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(
            &tenant,
            json!({"firstName": "John", "lastName": "Doe",
            "phoneNumbers": [{"phoneNumber": "(415) 555-2671"}]}),
        )
        .await;
    let response = app
        .call(
            &tenant.credential,
            Method::GET,
            &format!(
                "/customer/v2/department/{}/customer/{customer}",
                tenant.department
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["customer"]["phoneNumbers"][0]["phoneNumber"],
        "+14155552671"
    );
    assert_eq!(body["errors"], json!([]));
}
