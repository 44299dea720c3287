//! The message log's filters, a message's detail, and a customer's thread.

use fantoccini::Locator;
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{assert_ok, spawn_app, uuid_of};
use crate::send_support::{send, shop, text};

#[tokio::test]
async fn a_failed_message_is_found_by_filter_and_shows_why_it_failed() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let opted_out = app
        .opt_event(
            &shop.tenant,
            &[("TEXT", "+11234567890")],
            "USER_REQUESTED_OPT_OUT",
        )
        .await;
    assert_eq!(opted_out.status(), 200);
    let refused = send(
        &app,
        &shop,
        text("Still there?", json!({"sendSynchronously": true})),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let refused: serde_json::Value = refused.json().await.unwrap();
    let failed = uuid_of(&refused["messageUUID"]);
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    browser.open(&app, "/console/messages").await;
    browser
        .client
        .find(Locator::Css("select[name=status] option[value=FAILED]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .fill(
            "input[name=departmentUuid]",
            &shop.tenant.department.to_string(),
        )
        .await;
    browser.click("form.filters button").await;
    let listed = browser.text("table.messages").await;
    browser.screenshot("messages").await;
    assert!(listed.contains(&failed.to_string()), "{listed}");
    let other = app.tenant("Other Motors").await;
    browser
        .fill("input[name=departmentUuid]", &other.department.to_string())
        .await;
    browser.click("form.filters button").await;
    assert!(browser.body().await.contains("No message matches."));
    browser.client.back().await.unwrap();

    browser
        .click(&format!("a[href='/console/messages/{failed}']"))
        .await;
    let detail = browser.body().await;
    browser.screenshot("message").await;
    assert!(detail.contains("OPTED_OUT_COMMUNICATION_VALUE"), "{detail}");
    assert!(detail.contains("Still there?"), "{detail}");
    browser.close().await;
}

#[tokio::test]
async fn a_thread_shows_both_directions_in_order_with_attachments_and_a_hostile_name_as_text() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let name = "<script>alert(1)</script>";
    let customer = app
        .import_customers(
            shop.tenant.dealer,
            json!([{"firstName": name, "customerKey": "DMS-X",
                    "phoneNumbers": [{"phoneNumber": "+14155550123", "isPreferred": true}]}]),
        )
        .await[0];
    let path = crate::send_support::message_path(&shop.tenant, shop.tenant.user, customer);
    let body = json!({
        "messageAttributes": {"body": "<b>first</b>", "isManual": true, "protocol": "TEXT", "type": "OUTGOING",
            "attachments": [{"fileName": "<img src=x onerror=alert(1)>.jpg", "contentType": "image/jpeg", "content": "/9j/4AAQ"}]},
        "messageSendingAttributes": {"communicationValueOfCustomer": "+14155550123"}
    });
    assert_ok(
        app.call(
            &shop.tenant.credential,
            reqwest::Method::POST,
            &path,
            Some(body),
        )
        .await,
    )
    .await;
    let inbound = json!({"from": "+14155550123", "to": crate::helpers::SENDER_NUMBER, "body": "second, from the customer"});
    assert_ok(
        app.admin(reqwest::Method::POST, "/dev/inbound", Some(inbound))
            .await,
    )
    .await;
    let browser = Browser::start().await;
    browser.sign_in(&app).await;

    browser
        .open(
            &app,
            &format!(
                "/console/departments/{}/customers/{customer}",
                shop.tenant.department
            ),
        )
        .await;
    let shown = browser.text(".customer .name").await;
    let thread = browser.text("ol.thread").await;
    browser.screenshot("thread").await;

    assert_eq!(shown, name, "the name is shown as text");
    let scripts = browser
        .client
        .find_all(Locator::Css("script"))
        .await
        .unwrap();
    assert!(scripts.is_empty(), "no script element on the page");
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "no alert opened"
    );
    assert!(thread.contains("<b>first</b>"), "{thread}");
    assert!(
        thread.contains("<img src=x onerror=alert(1)>.jpg (image/jpeg, 6 bytes)"),
        "the attachment, its name as text: {thread}"
    );
    let first = thread.find("<b>first</b>").unwrap();
    let second = thread
        .find("second, from the customer")
        .expect("the inbound text");
    assert!(first < second, "oldest first: {thread}");
    browser.close().await;
}
