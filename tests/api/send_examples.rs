//! The seed's three examples, end to end through the outbox providers, and the callbacks
//! they produce.

use serde_json::json;

use crate::receiver::{Receiver, signature_is_valid};
use crate::send_support::*;

#[tokio::test]
async fn example_one_is_accepted_sent_to_the_character_and_called_back_in_order() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let response = send(&app, &shop, example_one(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(body["messageStatus"], "ACCEPTED");
    assert_eq!(body["customerUUID"], shop.john.to_string());
    assert_eq!(body["requestUUID"], request_id);
    assert_eq!(
        body["metaData"],
        json!({"appointmentId": "12345", "source": "appointment-reminder"})
    );
    assert_eq!(body["errors"], json!([]));
    let message = body["messageUUID"].as_str().unwrap().to_string();

    let sent = receiver.next().await;
    let delivered = receiver.next().await;
    assert_eq!(sent.body["messageStatus"], "SENT");
    assert_eq!(delivered.body["messageStatus"], "DELIVERED");
    for cb in [&sent, &delivered] {
        assert!(
            signature_is_valid(&shop.tenant.credential.webhook_secret, cb),
            "bad signature on {}",
            cb.raw
        );
        assert_eq!(cb.body["messageUUID"], message);
        assert_eq!(cb.body["status"], "SUCCESS");
        assert_eq!(cb.body["metaData"]["appointmentId"], "12345");
    }
    assert_ne!(sent.webhook_id, delivered.webhook_id);

    let outbox = outbox(&app).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["body"], EXAMPLE_ONE_EXPECTED);
    assert_eq!(outbox[0]["to"], "+11234567890");
    assert_eq!(outbox[0]["from"], "+14155550100");
    assert_eq!(outbox[0]["messageUUID"], message);

    let status = message_status(&app, &shop, &message).await;
    assert_eq!(status["message"]["messageStatus"], "DELIVERED");
    assert_eq!(status["message"]["body"], EXAMPLE_ONE_EXPECTED);
    assert_eq!(status["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(status["callbacks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn example_two_emails_with_signature_and_footer_after_blank_lines() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let response = send(&app, &shop, example_two(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");

    let outbox = outbox(&app).await;
    assert_eq!(outbox.len(), 1);
    let expected = format!(
        "{}\n\n-- Sarah Johnson\n\nAcme Motors, 1 Main St",
        example_two("")["messageAttributes"]["body"]
            .as_str()
            .unwrap()
    );
    assert_eq!(outbox[0]["body"], expected);
    assert_eq!(outbox[0]["protocol"], "EMAIL");
    assert_eq!(outbox[0]["to"], "customer@example.com");
    assert_eq!(
        outbox[0]["from"],
        "Service Team <service@dealer.example.com>"
    );
    assert_eq!(outbox[0]["subject"], "Message from Acme Motors");
}

#[tokio::test]
async fn example_three_answers_after_the_provider_with_the_final_status() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;

    let response = send(&app, &shop, example_three()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(body["messageStatus"], "DELIVERED");

    let outbox = outbox(&app).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        outbox[0]["body"],
        "Your verification code is: 123456. This code will expire in 5 minutes."
    );
}
