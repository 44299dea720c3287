//! CC and BCC screening (SPEC 5.3): each dropped entry leaves a warning, the others are copied.

use super::*;

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
