//! One recipient's queued texts, claimed together by one worker: they reach Twilio one after
//! another in the order accepted, and what Twilio says about the number for one of them
//! (unsubscribed) holds for the next — even though a message's result is still being written
//! while the next one goes out.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_twilio::{FakeTwilio, Reply};
use crate::helpers::{TestApp, eventually};
use crate::send_support::*;
use crate::twilio_flow::spawn_twilio_app;

/// Queues `bodies` to John, due in a minute, then moves the clock past it: the first worker to
/// look claims them all in one batch. Returns their `messageUUID`s, in the order accepted.
async fn queue_then_release(app: &TestApp, shop: &Shop, bodies: &[&str]) -> Vec<String> {
    let mut uuids = Vec::new();
    for body in bodies {
        let response = send(app, shop, text(body, json!({"delay": 60}))).await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        uuids.push(answer["messageUUID"].as_str().unwrap().to_string());
    }
    app.clock.advance(Duration::from_secs(61));
    uuids
}

async fn final_message(app: &TestApp, shop: &Shop, uuid: &str) -> Value {
    eventually(&format!("{uuid} to be decided"), || async {
        let found = message_status(app, shop, uuid).await["message"].clone();
        // A delayed text is SCHEDULED, then ACCEPTED while queued: neither is a decision.
        let pending = found["messageStatus"] == "ACCEPTED" || found["messageStatus"] == "SCHEDULED";
        (!pending).then_some(found)
    })
    .await
}

#[tokio::test]
async fn a_recipients_texts_reach_twilio_in_the_order_accepted() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let bodies = ["first", "second", "third", "fourth", "fifth"];

    queue_then_release(&app, &shop, &bodies).await;

    for body in bodies {
        let request = twilio.next_request().await;
        assert!(
            request.param("Body").unwrap().starts_with(body),
            "expected {body:?} next, Twilio got {:?}",
            request.param("Body")
        );
    }
}

#[tokio::test]
async fn after_twilio_reports_the_number_unsubscribed_the_next_text_is_not_sent() {
    let mut twilio = FakeTwilio::start().await;
    twilio.script([Reply::unsubscribed()]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;

    let uuids = queue_then_release(&app, &shop, &["first", "second", "third"]).await;

    let first = twilio.next_request().await;
    assert!(first.param("Body").unwrap().starts_with("first"));
    let refused = final_message(&app, &shop, &uuids[0]).await;
    assert_eq!(refused["messageStatus"], "FAILED", "{refused}");
    for uuid in &uuids[1..] {
        let later = final_message(&app, &shop, uuid).await;
        assert_eq!(later["messageStatus"], "FAILED", "{later}");
        assert_eq!(
            later["messageErrors"][0]["errorCode"], "OPTED_OUT_COMMUNICATION_VALUE",
            "{later}"
        );
    }
    // Every step has ended, and a call is recorded before Twilio answers it.
    assert!(
        twilio.try_next_request().is_none(),
        "a text went to a number Twilio reported unsubscribed"
    );
}

#[tokio::test]
async fn after_a_slow_answer_the_lanes_next_texts_go_at_once_not_after_the_lease() {
    let twilio = FakeTwilio::start().await;
    twilio.script([Reply::Slow(Duration::from_millis(1500))]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;

    let uuids = queue_then_release(&app, &shop, &["first", "second", "third"]).await;
    // While Twilio holds its answer to the first text, more than half the lease goes by: the
    // lane's next texts can no longer be sent safely under that claim.
    eventually("Twilio to have the first text", || async {
        (!twilio.created().is_empty()).then_some(())
    })
    .await;
    app.clock.advance(Duration::from_secs(61));

    // They go back to the queue at once and out in order — not a lease later (the clock is
    // not moved again, so a job left to expire would never be retaken here).
    for uuid in &uuids {
        let sent = final_message(&app, &shop, uuid).await;
        assert_eq!(sent["messageStatus"], "SENT", "{sent}");
    }
    let bodies: Vec<String> = twilio.created().into_iter().map(|m| m.body).collect();
    assert_eq!(bodies.len(), 3, "each text once: {bodies:?}");
    for (body, expected) in bodies.iter().zip(["first", "second", "third"]) {
        assert!(body.starts_with(expected), "{bodies:?}");
    }
}
