//! INCOMING (SPEC 4.1).

use super::*;

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
