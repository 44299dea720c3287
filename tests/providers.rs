//! Herald's provider clients against fakes that speak each provider's real protocol on
//! loopback: Twilio's create-message call, Postmark's `/email`, and an SMTP server.

#[path = "support/fake_postmark.rs"]
mod fake_postmark;
#[path = "support/fake_smtp.rs"]
mod fake_smtp;
#[path = "support/fake_twilio.rs"]
mod fake_twilio;

#[path = "providers/postmark.rs"]
mod postmark;
#[path = "providers/smtp.rs"]
mod smtp;
#[path = "providers/twilio.rs"]
mod twilio;

use std::time::Duration;

use herald::providers::Outgoing;
use uuid::Uuid;

/// A text as the delivery step hands it to a provider.
pub fn text(media_urls: &[&str]) -> Outgoing {
    Outgoing {
        message_uuid: Uuid::now_v7(),
        protocol: "TEXT",
        from: "+14155550100".into(),
        to: "+11234567890".into(),
        cc: vec![],
        bcc: vec![],
        subject: None,
        body: "Your car is ready.\nText STOP to opt-out".into(),
        media_urls: media_urls.iter().map(|s| s.to_string()).collect(),
        html_body: None,
        attachments: vec![],
    }
}

/// An email as the delivery step hands it to a provider.
pub fn email(cc: &[&str], bcc: &[&str]) -> Outgoing {
    Outgoing {
        message_uuid: Uuid::now_v7(),
        protocol: "EMAIL",
        from: "Service Team <service@dealer.example.com>".into(),
        to: "customer@example.com".into(),
        cc: cc.iter().map(|s| s.to_string()).collect(),
        bcc: bcc.iter().map(|s| s.to_string()).collect(),
        subject: Some("Message from Acme Motors".into()),
        body: "Dear John,\n\nYour car is ready. Café open until 6.\n.\n-- Sarah Johnson".into(),
        media_urls: vec![],
        html_body: None,
        attachments: vec![],
    }
}

/// A client with a short timeout, for timeout tests; the others use a generous one.
pub fn http(timeout: Duration) -> reqwest::Client {
    herald::providers::http_client(timeout).unwrap()
}

/// An address nothing listens on.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}
