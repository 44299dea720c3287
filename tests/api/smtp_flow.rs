//! EMAIL through SMTP end to end: Herald configured with `[email] provider = "smtp"` against
//! the loopback SMTP server.

use serde_json::Value;

use crate::fake_smtp::{Command, FakeSmtp, Scripted};
use crate::helpers::{TestApp, spawn_app_with};
use crate::receiver::Receiver;
use crate::send_support::*;

pub(crate) async fn spawn_smtp_app(smtp: &FakeSmtp) -> TestApp {
    let url = smtp.url(None);
    spawn_app_with(move |s| {
        callback_settings(s);
        s.email.provider = herald::config::EmailProviderKind::Smtp;
        s.email.smtp.url = Some(secrecy::SecretString::from(url));
    })
    .await
}

#[tokio::test]
async fn an_email_goes_out_by_smtp_and_is_called_back_sent_then_delivered() {
    let mut smtp = FakeSmtp::start().await;
    let app = spawn_smtp_app(&smtp).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    let response = send(&app, &shop, example_two(&receiver.url)).await;
    assert_eq!(response.status(), 200);
    let message = response.json::<Value>().await.unwrap()["messageUUID"]
        .as_str()
        .unwrap()
        .to_string();

    let mail = smtp.next_mail().await;
    assert_eq!(mail.mail_from, "service@dealer.example.com");
    assert_eq!(mail.rcpt_to, ["customer@example.com"]);
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{message}@herald>"))
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Message from Acme Motors")
    );
    assert_eq!(receiver.next().await.body["messageStatus"], "SENT");
    let delivered = receiver.next().await;
    assert_eq!(delivered.body["messageStatus"], "DELIVERED");
    assert_eq!(delivered.body["messageUUID"], message);
}

#[tokio::test]
async fn a_refused_recipient_fails_the_message_as_an_invalid_address() {
    let smtp = FakeSmtp::start().await;
    smtp.script(
        Command::Rcpt,
        Scripted::Reply(
            550,
            "5.1.1 <customer@example.com>: Recipient address rejected",
        ),
    );
    let app = spawn_smtp_app(&smtp).await;
    let shop = shop(&app).await;
    let mut receiver = Receiver::start(&[]).await;

    send(&app, &shop, example_two(&receiver.url)).await;

    let failed = receiver.next().await;
    assert_eq!(failed.body["messageStatus"], "FAILED");
    assert_eq!(
        failed.body["errors"][0]["errorCode"],
        "INVALID_EMAIL_ADDRESS"
    );
}
