//! `GET /metrics` as Prometheus reads it: every series described and typed, latencies as
//! histograms, each message's final outcome counted whichever way it was sent, HTTP requests
//! by route template.
//!
//! The recorder is the test process's, shared by the tests running beside these: they assert
//! on what their own requests add (read, act, read again), never on totals.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fake_twilio::{ACCOUNT_SID, FakeTwilio, Reply};
use crate::helpers::{TestApp, eventually};
use crate::receiver::Receiver;
use crate::send_support::*;
use crate::twilio_flow::spawn_twilio_app;

const STATUS_URL: &str = "https://herald.example.com/webhooks/twilio/status";

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The sum of the samples of `name` carrying every one of `labels` (0 when there are none).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until `name{labels}` has grown past `before` (a step's outcome is recorded just
/// after its answer can reach the client; nothing tells a client when /metrics has it).
async fn grows(app: &TestApp, name: &str, labels: &[(&str, &str)], before: f64) -> f64 {
    eventually(
        &format!("{name}{labels:?} to grow past {before}"),
        || async {
            let now = value(&scrape(app).await, name, labels);
            (now > before).then_some(now)
        },
    )
    .await
}

fn sync_text() -> Value {
    example_three()
}

fn async_text() -> Value {
    let mut body = example_three();
    body["messageSendingAttributes"]["sendSynchronously"] = json!(false);
    body
}

const FINAL: &str = "herald_messages_final_total";

#[tokio::test]
async fn every_series_has_help_and_type_and_latencies_are_histograms() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    // Something on each path: a synchronous and a queued send, and a status read.
    assert_eq!(send(&app, &shop, sync_text()).await.status(), 200);
    let queued: Value = send(&app, &shop, async_text()).await.json().await.unwrap();
    let uuid = queued["messageUUID"].as_str().unwrap().to_string();
    eventually("the queued text delivered", || async {
        let status = message_status(&app, &shop, &uuid).await;
        (status["message"]["messageStatus"] == "DELIVERED").then_some(())
    })
    .await;

    let text = scrape(&app).await;

    let mut help = HashMap::new();
    let mut kind = HashMap::new();
    for line in text.lines() {
        let mut words = line.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("#"), Some("HELP"), Some(name)) => {
                help.insert(name.to_string(), line.to_string());
            }
            (Some("#"), Some("TYPE"), Some(name)) => {
                kind.insert(name.to_string(), words.next().unwrap_or("").to_string());
            }
            _ => {}
        }
    }
    let mut samples = 0;
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        samples += 1;
        let name = line.split(['{', ' ']).next().unwrap();
        let family = if kind.contains_key(name) {
            name
        } else {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            assert_eq!(
                kind.get(base).map(String::as_str),
                Some("histogram"),
                "{line}: no # TYPE\n{text}"
            );
            base
        };
        assert!(help.contains_key(family), "{line}: no # HELP\n{text}");
        assert!(!line.contains("quantile="), "{line}: a summary\n{text}");
    }
    assert!(samples > 0, "{text}");

    for histogram in [
        "herald_accept_seconds",
        "herald_provider_handover_seconds",
        "herald_message_end_to_end_seconds",
        "herald_http_request_duration_seconds",
    ] {
        assert_eq!(
            kind.get(histogram).map(String::as_str),
            Some("histogram"),
            "{histogram}\n{text}"
        );
    }
    for mode in ["sync", "async"] {
        let buckets: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("herald_accept_seconds_bucket{")
                    && l.contains(&format!("mode=\"{mode}\""))
            })
            .collect();
        assert!(buckets.len() > 5, "{mode}: {buckets:?}");
        assert!(buckets.iter().all(|l| l.contains("le=\"")), "{buckets:?}");
        assert!(
            buckets.iter().any(|l| l.contains("le=\"+Inf\"")),
            "{buckets:?}"
        );
        assert!(
            value(&text, "herald_accept_seconds_count", &[("mode", mode)]) >= 1.0,
            "{text}"
        );
    }
}

#[tokio::test]
async fn synchronous_and_queued_sends_each_count_their_final_outcome() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let delivered = [("protocol", "TEXT"), ("status", "DELIVERED")];
    let e2e = "herald_message_end_to_end_seconds_count";

    let before = value(&scrape(&app).await, FINAL, &delivered);
    let sync_before = value(
        &scrape(&app).await,
        "herald_accept_seconds_count",
        &[("mode", "sync")],
    );
    let answer: Value = send(&app, &shop, sync_text()).await.json().await.unwrap();
    assert_eq!(answer["messageStatus"], "DELIVERED", "{answer}");
    // Counted before the answer was written.
    let text = scrape(&app).await;
    assert!(value(&text, FINAL, &delivered) >= before + 1.0, "{text}");
    assert!(value(&text, e2e, &delivered) >= 1.0, "{text}");
    assert!(
        value(&text, "herald_accept_seconds_count", &[("mode", "sync")]) >= sync_before + 1.0,
        "{text}"
    );

    let before = value(&text, FINAL, &delivered);
    let email = [("protocol", "EMAIL"), ("status", "DELIVERED")];
    let email_before = value(&text, FINAL, &email);
    let answer: Value = send(&app, &shop, async_text()).await.json().await.unwrap();
    assert_eq!(answer["messageStatus"], "ACCEPTED", "{answer}");
    grows(&app, FINAL, &delivered, before).await;

    let mut mail = example_two("https://client.example.com/cb");
    mail["messageSendingAttributes"]
        .as_object_mut()
        .unwrap()
        .remove("callbackURL");
    assert_eq!(send(&app, &shop, mail).await.status(), 200);
    grows(&app, FINAL, &email, email_before).await;
    let text = scrape(&app).await;
    assert!(value(&text, e2e, &email) >= 1.0, "{text}");
    assert!(
        value(
            &text,
            "herald_provider_handover_seconds_count",
            &[("protocol", "EMAIL"), ("provider", "outbox")]
        ) >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn provider_refusals_count_as_failed_sent_inline_or_by_a_worker() {
    let twilio = FakeTwilio::start().await;
    let refusal = || Reply::Error {
        status: 400,
        code: 21211,
        message: "The 'To' number is not a valid phone number.",
    };
    twilio.script([refusal(), refusal()]);
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let failed = [("protocol", "TEXT"), ("status", "FAILED")];

    let before = value(&scrape(&app).await, FINAL, &failed);
    let response = send(&app, &shop, sync_text()).await;
    assert_eq!(response.status(), 502);
    let text = scrape(&app).await;
    assert!(value(&text, FINAL, &failed) >= before + 1.0, "{text}");
    assert!(
        value(
            &text,
            "herald_provider_handover_seconds_count",
            &[("protocol", "TEXT"), ("provider", "twilio")]
        ) >= 1.0,
        "{text}"
    );

    let before = value(&text, FINAL, &failed);
    let response = send(&app, &shop, async_text()).await;
    assert_eq!(response.status(), 200);
    grows(&app, FINAL, &failed, before).await;
}

#[tokio::test]
async fn a_delivery_report_counts_the_outcome_a_hand_over_left_open() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio_app(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let delivered = [("protocol", "TEXT"), ("status", "DELIVERED")];

    let response = send(&app, &shop, example_one(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let sid = twilio.next_request().await.sid.unwrap();
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    let before = value(&scrape(&app).await, FINAL, &delivered);

    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("From", "+14155550100"),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "delivered"),
        ("SmsSid", sid.as_str()),
        ("SmsStatus", "delivered"),
        ("To", "+11234567890"),
    ];
    let answered = twilio
        .post_signed(&app.url("/webhooks/twilio/status"), STATUS_URL, &params)
        .await;
    assert_eq!(answered.status(), 204);
    // Counted before the callback was queued.
    assert_eq!(receiver.next().await.body["messageStatus"], "DELIVERED");
    let text = scrape(&app).await;
    assert!(value(&text, FINAL, &delivered) >= before + 1.0, "{text}");
    assert!(
        value(
            &text,
            "herald_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/webhooks/twilio/status"),
                ("status", "204")
            ]
        ) >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_never_by_path() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let message = Uuid::new_v4();
    let route = "/communications/department/{department}/message/{message}";
    let labels = [("method", "GET"), ("route", route), ("status", "404")];
    let unmatched = [("route", "unmatched"), ("status", "404")];
    let duration = "herald_http_request_duration_seconds_count";

    let text = scrape(&app).await;
    let (before, unmatched_before, duration_before) = (
        value(&text, "herald_http_requests_total", &labels),
        value(&text, "herald_http_requests_total", &unmatched),
        value(&text, duration, &[("method", "GET"), ("route", route)]),
    );
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
    assert_eq!(response.status(), 404);
    let stray = format!("/no/such/{}", Uuid::new_v4());
    let response = app.client.get(app.url(&stray)).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let text = scrape(&app).await;
    assert!(
        value(&text, "herald_http_requests_total", &labels) >= before + 1.0,
        "{text}"
    );
    assert!(
        value(&text, duration, &[("method", "GET"), ("route", route)]) >= duration_before + 1.0,
        "{text}"
    );
    assert!(
        value(&text, "herald_http_requests_total", &unmatched) >= unmatched_before + 1.0,
        "{text}"
    );
    for raw in [
        shop.tenant.department.to_string(),
        message.to_string(),
        stray.clone(),
    ] {
        assert!(!text.contains(&raw), "{raw} in /metrics:\n{text}");
    }
}

#[tokio::test]
async fn build_info_names_the_version() {
    let app = spawn_sending_app().await;

    let text = scrape(&app).await;
    let info = text
        .lines()
        .find(|l| l.starts_with("herald_build_info{"))
        .unwrap_or_else(|| panic!("no herald_build_info\n{text}"));
    assert!(
        info.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{info}"
    );
    assert!(info.ends_with(" 1"), "{info}");
}
