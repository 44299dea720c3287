//! Attachments and HTML email (SPEC 4.5) against the protocol fakes: an MMS whose JPEG the fake
//! Twilio fetched through its media URL, byte for byte; a PDF and an HTML part through Postmark
//! and through SMTP (read back as MIME); the media route's tokens; the limits; and the
//! attachments listed in the status and thread answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mail_parser::MimeHeaders as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fake_postmark::FakePostmark;
use crate::fake_smtp::FakeSmtp;
use crate::fake_twilio::FakeTwilio;
use crate::helpers::{TestApp, assert_error, error_descriptions};
use crate::receiver::Receiver;
use crate::send_support::*;

const PUBLIC: &str = "https://herald.example.com";

/// A MIME text part as written (CRLF line ends, a line end after the last line) read back as
/// the text it carries.
fn text_of(part: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    part.map(|t| t.replace("\r\n", "\n").trim_end_matches('\n').to_string())
}

/// `n` bytes of a JPEG: its start and end markers around bytes no two files share.
fn jpeg(n: usize, seed: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = u32::from(seed) + 1;
    while bytes.len() < n - 2 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((x >> 16) as u8);
    }
    bytes.extend([0xFF, 0xD9]);
    bytes
}

/// A PDF's first line and bytes after it.
fn pdf(n: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..n - bytes.len()).map(|i| (i % 251) as u8));
    bytes
}

fn attachment(name: &str, kind: &str, bytes: &[u8]) -> Value {
    json!({"fileName": name, "contentType": kind, "content": STANDARD.encode(bytes)})
}

/// An automated TEXT with `attributes` merged into messageAttributes and `sending` into
/// messageSendingAttributes.
fn with(protocol: &str, attributes: Value, sending: Value) -> Value {
    let value = if protocol == "TEXT" {
        "1234567890"
    } else {
        "customer@example.com"
    };
    let mut body = json!({
        "messageAttributes": {"isManual": true, "protocol": protocol, "type": "OUTGOING"},
        "messageSendingAttributes": {"communicationValueOfCustomer": value, "addTCPAFooter": false}
    });
    for (section, extra) in [
        ("messageAttributes", attributes),
        ("messageSendingAttributes", sending),
    ] {
        for (k, v) in extra.as_object().unwrap() {
            body[section][k] = v.clone();
        }
    }
    body
}

async fn spawn_twilio(twilio: &FakeTwilio) -> TestApp {
    let app = crate::twilio_flow::spawn_twilio_app(twilio).await;
    // Twilio reaches Herald's public address; the test's proxy is this mapping.
    twilio.fetch_media_via(PUBLIC, &app.address);
    app
}

fn uuid_of(body: &Value) -> String {
    body["messageUUID"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_mms_carries_the_jpeg_twilio_fetched_through_its_media_url_byte_for_byte() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio(&twilio).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;
    let pads = jpeg(40_000, 1);
    let rotor = jpeg(30_000, 2);

    let response = send(
        &app,
        &shop,
        with(
            "TEXT",
            json!({"body": "Your front pads are at 2 mm.", "attachments": [
                attachment("pads.jpg", "image/jpeg", &pads),
                attachment("rotor left.jpg", "image/jpeg", &rotor),
            ]}),
            json!({"callbackURL": receiver.url, "sendVCard": true}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let message = uuid_of(&response.json().await.unwrap());

    let request = twilio.next_request().await;
    assert_eq!(request.param("Body"), Some("Your front pads are at 2 mm."));
    let urls = request.all("MediaUrl");
    assert_eq!(urls.len(), 3, "the vCard, then each attachment: {urls:?}");
    assert!(urls[0].starts_with(&format!("{PUBLIC}/vcard/")));
    let status = message_status(&app, &shop, &message).await;
    let listed = status["message"]["attachments"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    for (i, (name, encoded)) in [
        ("pads.jpg", "pads.jpg"),
        ("rotor left.jpg", "rotor%20left.jpg"),
    ]
    .into_iter()
    .enumerate()
    {
        let uuid = listed[i]["attachmentUUID"].as_str().unwrap();
        assert_eq!(listed[i]["fileName"], name);
        assert_eq!(listed[i]["contentType"], "image/jpeg");
        let prefix = format!("{PUBLIC}/media/{uuid}/{encoded}?token=");
        assert!(
            urls[i + 1].starts_with(&prefix),
            "{} / {prefix}",
            urls[i + 1]
        );
    }
    assert_eq!(listed[0]["size"], 40_000);

    let created = twilio.created();
    let media = &created[0].media;
    assert_eq!(
        media[0].content_type.as_deref(),
        Some("text/vcard; charset=utf-8")
    );
    assert_eq!((media[1].status, media[2].status), (200, 200));
    assert_eq!(media[1].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(media[1].bytes, pads);
    assert_eq!(media[2].bytes, rotor);
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");

    // The thread lists them too.
    let thread = thread(&app, &shop).await;
    assert_eq!(thread["messages"][0]["attachments"], Value::Array(listed));
}

#[tokio::test]
async fn a_picture_alone_goes_without_a_body_and_no_body_without_one_is_missing() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_twilio(&twilio).await;
    let shop = shop(&app).await;
    let photo = jpeg(5_000, 3);

    let response = send(
        &app,
        &shop,
        with(
            "TEXT",
            json!({"body": "", "attachments": [attachment("car.jpg", "image/jpeg", &photo)]}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let request = twilio.next_request().await;
    assert_eq!(request.param("Body"), None);
    assert_eq!(request.all("MediaUrl").len(), 1);
    assert_eq!(twilio.created()[0].media[0].bytes, photo);

    // Absent too: fine with an attachment.
    let absent = with(
        "TEXT",
        json!({"attachments": [attachment("car.jpg", "image/jpeg", &photo)]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, absent).await.status(), 200);
    // Without any, the seed's MISSING_MESSAGE_BODY; an empty list is no attachment.
    for attributes in [
        json!({"body": ""}),
        json!({"attachments": []}),
        json!({"body": " ", "attachments": []}),
    ] {
        let response = send(&app, &shop, with("TEXT", attributes, json!({}))).await;
        assert_error(response, 400, "MISSING_MESSAGE_BODY").await;
    }
}

/// The newest outbox entry's media URL, at the address the test reaches Herald at.
async fn media_url_of_outbox(app: &TestApp) -> String {
    let entry = outbox(app).await.pop().expect("an outbox entry");
    let url = entry["mediaUrls"][0].as_str().unwrap().to_string();
    url.replace(&app.settings.public_base_url(), &app.address)
}

#[tokio::test]
async fn a_media_url_answers_only_with_its_own_token_until_it_expires() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let photo = jpeg(2_000, 4);
    let other = jpeg(2_000, 5);
    let body = with(
        "TEXT",
        json!({"body": "Here it is", "attachments": [attachment("car.jpg", "image/jpeg", &photo)]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, body).await.status(), 200);
    crate::helpers::eventually("the outbox has the text", || async {
        (!outbox(&app).await.is_empty()).then_some(())
    })
    .await;
    // Herald's public address is its listen address (port 0 in tests): the test's is the one
    // it is reached at.
    let url = media_url_of_outbox(&app).await;
    let client = reqwest::Client::new();
    let fetched = client.get(&url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");
    assert_eq!(fetched.headers()["x-content-type-options"], "nosniff");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), photo);

    // A second text's attachment: its token does not open the first.
    let second = with(
        "TEXT",
        json!({"body": "And this", "attachments": [attachment("other.jpg", "image/jpeg", &other)]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, second).await.status(), 200);
    crate::helpers::eventually("the outbox has the second text", || async {
        (outbox(&app).await.len() == 2).then_some(())
    })
    .await;
    let other_url = media_url_of_outbox(&app).await;
    let (path, token) = url.split_once("?token=").unwrap();
    let (other_path, other_token) = other_url.split_once("?token=").unwrap();
    assert_eq!(client.get(&other_url).send().await.unwrap().status(), 200);

    // One character of the MAC changed (its first: every one of its six bits is the MAC's).
    let (expiry, mac) = token.split_once('.').unwrap();
    let other = if mac.starts_with('A') { "B" } else { "A" };
    let wrong_token = format!("{expiry}.{other}{}", &mac[1..]);
    let mut refused = vec![
        path.to_string(),
        format!("{path}?token="),
        format!("{path}?token={wrong_token}"),
        format!("{path}?token={other_token}"),
        format!("{other_path}?token={token}"),
        format!(
            "{}/nope.jpg?token={token}",
            path.rsplit_once('/').unwrap().0
        ),
    ];
    refused.push(format!(
        "{}/media/not-a-uuid/car.jpg?token={token}",
        app.address
    ));
    for url in &refused {
        let response = client.get(url).send().await.unwrap();
        let body = assert_error(response, 404, "NOT_FOUND").await;
        assert_eq!(
            body["errors"][0]["errorDescription"], "no such media",
            "{url}"
        );
    }

    // A day later the token has expired.
    app.clock.advance(std::time::Duration::from_secs(24 * 3600));
    assert_error(client.get(&url).send().await.unwrap(), 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn an_email_with_a_pdf_and_html_goes_through_postmark() {
    let mut postmark = FakePostmark::start().await;
    let app = crate::postmark_flow::spawn_postmark_app(&postmark, false).await;
    let shop = shop(&app).await;
    let order = pdf(300_000);

    let response = send(
        &app,
        &shop,
        with(
            "EMAIL",
            json!({
                "body": "Your repair order is attached.",
                "htmlBody": "<html><body><p>Your repair order is <b>attached</b>.</p></body></html>",
                "subject": "RO 4411",
                "attachments": [attachment("RO-4411.pdf", "application/pdf", &order)]
            }),
            json!({"addSignature": true}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let message = uuid_of(&response.json().await.unwrap());
    let request = postmark.next_request().await;
    assert_eq!(
        request.body["TextBody"],
        "Your repair order is attached.\n\n-- Sarah Johnson"
    );
    assert_eq!(
        request.body["HtmlBody"],
        "<html><body><p>Your repair order is <b>attached</b>.</p><p>-- Sarah Johnson</p></body></html>"
    );
    assert_eq!(
        request.attachments(),
        vec![(
            "RO-4411.pdf".to_string(),
            "application/pdf".to_string(),
            order
        )]
    );
    assert!(request.message_id.is_some(), "postmark took it");
    let status = message_status(&app, &shop, &message).await;
    assert_eq!(
        status["message"]["attachments"][0]["fileName"],
        "RO-4411.pdf"
    );
    assert_eq!(status["message"]["attachments"][0]["size"], 300_000);
    assert_eq!(
        status["message"]["htmlBody"],
        "<html><body><p>Your repair order is <b>attached</b>.</p></body></html>"
    );
}

#[tokio::test]
async fn an_email_with_a_pdf_and_html_goes_through_smtp_as_mixed_and_alternative_parts() {
    let mut smtp = FakeSmtp::start().await;
    let app = crate::smtp_flow::spawn_smtp_app(&smtp).await;
    let shop = shop(&app).await;
    let order = pdf(120_000);

    let response = send(
        &app,
        &shop,
        with(
            "EMAIL",
            json!({
                "body": "Your repair order is attached.",
                "htmlBody": "<p>Your repair order is <b>attached</b>.</p>",
                "attachments": [attachment("RO 4411.pdf", "application/pdf", &order)]
            }),
            json!({"addSignature": true}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mail = smtp.next_mail().await;
    let parsed = mail.parsed();
    let root = parsed.content_type().expect("a content type");
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("mixed")));
    assert_eq!(
        text_of(parsed.body_text(0)).as_deref(),
        Some("Your repair order is attached.\n\n-- Sarah Johnson")
    );
    assert_eq!(
        text_of(parsed.body_html(0)).as_deref(),
        Some("<p>Your repair order is <b>attached</b>.</p><p>-- Sarah Johnson</p>")
    );
    assert_eq!(parsed.attachment_count(), 1);
    let file = parsed.attachment(0).unwrap();
    assert_eq!(file.attachment_name(), Some("RO 4411.pdf"));
    let kind = file.content_type().unwrap();
    assert_eq!((kind.ctype(), kind.subtype()), ("application", Some("pdf")));
    assert_eq!(file.contents(), &order[..]);
    let alternative = parsed.part(1).expect("the alternative part");
    let kind = alternative.content_type().unwrap();
    assert_eq!(
        (kind.ctype(), kind.subtype()),
        ("multipart", Some("alternative"))
    );
}

#[tokio::test]
async fn an_html_email_without_attachments_is_alternative_and_a_plain_one_stays_plain() {
    let mut smtp = FakeSmtp::start().await;
    let app = crate::smtp_flow::spawn_smtp_app(&smtp).await;
    let shop = shop(&app).await;
    let html = with(
        "EMAIL",
        json!({"body": "Hi", "htmlBody": "<p>Hi</p>"}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, html).await.status(), 200);
    let mail = smtp.next_mail().await;
    let parsed = mail.parsed();
    let kind = parsed.content_type().unwrap();
    assert_eq!(
        (kind.ctype(), kind.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(text_of(parsed.body_text(0)).as_deref(), Some("Hi"));
    assert_eq!(text_of(parsed.body_html(0)).as_deref(), Some("<p>Hi</p>"));

    let plain = with("EMAIL", json!({"body": "Hi"}), json!({}));
    assert_eq!(send(&app, &shop, plain).await.status(), 200);
    let mail = smtp.next_mail().await;
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(text_of(mail.parsed().body_text(0)).as_deref(), Some("Hi"));
}

#[tokio::test]
async fn the_outbox_shows_a_texts_media_and_an_emails_files_and_html() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let text = with(
        "TEXT",
        json!({"body": "Photo", "attachments": [attachment("a.png", "image/png", b"\x89PNG....")]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, text).await.status(), 200);
    let email = with(
        "EMAIL",
        json!({"body": "", "attachments": [attachment("ro.pdf", "application/pdf", &pdf(100))]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, email).await.status(), 200);
    let entries = crate::helpers::eventually("both in the outbox", || async {
        let entries = outbox(&app).await;
        (entries.len() == 2).then_some(entries)
    })
    .await;
    let (text, email) = if entries[0]["protocol"] == "TEXT" {
        (&entries[0], &entries[1])
    } else {
        (&entries[1], &entries[0])
    };
    let media = text["mediaUrls"][0].as_str().unwrap();
    assert!(
        media.contains("/media/") && media.contains("/a.png?token="),
        "{media}"
    );
    assert_eq!(email["attachments"][0]["fileName"], "ro.pdf");
    assert_eq!(email["attachments"][0]["size"], 100);
    // An email of a file alone still has a text part: it names the file.
    assert_eq!(email["body"], "Attached: ro.pdf");
}

#[tokio::test]
async fn bad_attachments_are_reported_together_with_the_other_problems() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let photo = STANDARD.encode(jpeg(100, 6));
    let body = json!({
        "messageAttributes": {"protocol": "TEXT", "type": "OUTGOING", "attachments": [
            {"fileName": "a.jpg", "contentType": "image/jpeg", "content": "not base64!"},
            {"fileName": "b.jpg", "contentType": "image/jpeg", "content": ""},
            {"fileName": "page.html", "contentType": "text/html", "content": photo},
            {"fileName": "../c.jpg", "contentType": "image jpeg", "content": photo},
            {"contentType": "image/jpeg", "content": photo},
            "a string"
        ]},
        "messageSendingAttributes": {"communicationValueOfCustomer": "1234567890"}
    });
    let response = send(&app, &shop, body).await;
    let answer = assert_error(response, 400, "INVALID_ATTACHMENT").await;
    let codes: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["errorCode"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"MISSING_IS_MANUAL"), "{codes:?}");
    let problems = error_descriptions(&answer, "INVALID_ATTACHMENT");
    for expected in [
        "attachments[0].content: not base64",
        "attachments[1].content: the file is empty",
        "attachments[2].contentType: text/html",
        "attachments[3].fileName",
        "attachments[3].contentType",
        "attachments[4].fileName is required",
        "attachments[5]: expected an object",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected} in {problems:?}"
        );
    }
    // An executable is no email attachment; HTML is.
    let email = with(
        "EMAIL",
        json!({"body": "x", "attachments": [
            attachment("setup.exe", "application/octet-stream", b"MZ"),
            attachment("page.html", "text/html", b"<p>hi</p>"),
        ]}),
        json!({}),
    );
    let answer = assert_error(send(&app, &shop, email).await, 400, "INVALID_ATTACHMENT").await;
    let problems = error_descriptions(&answer, "INVALID_ATTACHMENT");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("setup.exe"), "{problems:?}");
    // htmlBody is for EMAIL.
    let text = with(
        "TEXT",
        json!({"body": "x", "htmlBody": "<p>x</p>"}),
        json!({}),
    );
    assert_error(send(&app, &shop, text).await, 400, "INVALID_REQUEST").await;
    assert!(outbox(&app).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn each_limit_refuses_and_the_send_endpoint_alone_takes_large_bodies() {
    let app = spawn_sending_app().await;
    let shop = shop(&app).await;
    let small = attachment("a.jpg", "image/jpeg", &jpeg(1_000, 7));
    let eleven: Vec<Value> = (0..11).map(|_| small.clone()).collect();
    let ten: Vec<Value> = (0..10).map(|_| small.clone()).collect();
    let refused =
        |attributes: Value, sending: Value, protocol: &str| with(protocol, attributes, sending);

    let cases = [
        (
            refused(
                json!({"body": "x", "attachments": eleven}),
                json!({}),
                "TEXT",
            ),
            "at most 10",
        ),
        (
            refused(
                json!({"body": "x", "attachments": ten.clone()}),
                json!({"sendVCard": true}),
                "TEXT",
            ),
            "beside the vCard",
        ),
        (
            refused(
                json!({"body": "x", "attachments": [attachment("big.jpg", "image/jpeg", &jpeg(5_000_001, 8))]}),
                json!({}),
                "TEXT",
            ),
            "at most 5000000",
        ),
        (
            refused(
                json!({"body": "x", "attachments": [
                    attachment("a.pdf", "application/pdf", &pdf(6_000_000)),
                    attachment("b.pdf", "application/pdf", &pdf(4_000_001)),
                ]}),
                json!({}),
                "EMAIL",
            ),
            "at most 10000000",
        ),
    ];
    for (body, expected) in cases {
        let answer = assert_error(send(&app, &shop, body).await, 400, "INVALID_ATTACHMENT").await;
        let problems = error_descriptions(&answer, "INVALID_ATTACHMENT");
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected} in {problems:?}"
        );
    }

    // Right at the limits: ten on a text, 5 MB in all; a 9 MB file on an email.
    let body = with("TEXT", json!({"body": "x", "attachments": ten}), json!({}));
    assert_eq!(send(&app, &shop, body).await.status(), 200);
    let five_mb = with(
        "TEXT",
        json!({"body": "x", "attachments": [attachment("big.jpg", "image/jpeg", &jpeg(5_000_000, 9))]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, five_mb).await.status(), 200);
    let nine_mb = with(
        "EMAIL",
        json!({"body": "x", "attachments": [attachment("deal.pdf", "application/pdf", &pdf(9_000_000))]}),
        json!({}),
    );
    assert_eq!(send(&app, &shop, nine_mb).await.status(), 200);

    // Every other endpoint keeps the small limit.
    let big_customer = json!({"firstName": "x".repeat(300_000), "lastName": "Doe"});
    let response = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &crate::helpers::customers_path(shop.tenant.department),
            Some(big_customer),
        )
        .await;
    assert_error(response, 413, "REQUEST_TOO_LARGE").await;
    // And the send endpoint has a limit of its own.
    let huge = with(
        "EMAIL",
        json!({"body": "x", "attachments": [attachment("huge.pdf", "application/pdf", &pdf(13_000_000))]}),
        json!({}),
    );
    assert_error(send(&app, &shop, huge).await, 413, "REQUEST_TOO_LARGE").await;
}

#[tokio::test]
async fn a_synchronous_mms_is_answered_once_twilio_has_fetched_its_picture() {
    let twilio = FakeTwilio::start().await;
    let app = spawn_twilio(&twilio).await;
    let shop = shop(&app).await;
    let photo = jpeg(20_000, 10);
    let response = send(
        &app,
        &shop,
        with(
            "TEXT",
            json!({"body": "Your car", "attachments": [attachment("car.jpg", "image/jpeg", &photo)]}),
            json!({"sendSynchronously": true}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["messageStatus"], "SENT");
    let created = twilio.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].media[0].bytes, photo);
}
