//! EMAIL through Postmark's `/email` JSON API. Delivery reports come back later through
//! `/webhooks/postmark`, matched by the `MessageID` kept here or the `messageUUID` sent in
//! `Metadata`, which is also what an in-doubt hand-over is looked up by
//! ([`reconcile`]).

pub mod inbound;
mod reconcile;
pub mod webhook;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::codes::ErrorCode;
use crate::providers::{
    Effect, Outgoing, Provider, Reconciled, SendOutcome, describe, transport_failure,
};

/// Postmark's ErrorCode for a bad or missing server token.
const BAD_TOKEN: i64 = 10;
/// "Invalid email request": a recipient address Postmark cannot send to.
const INVALID_ADDRESS: i64 = 300;
/// "Inactive recipient": the address bounced hard or complained before.
const INACTIVE_RECIPIENT: i64 = 406;

#[derive(Clone)]
pub struct PostmarkConfig {
    pub server_token: SecretString,
    /// `https://api.postmarkapp.com`, or a test server.
    pub base_url: String,
    pub message_stream: String,
}

pub struct PostmarkProvider {
    http: reqwest::Client,
    config: PostmarkConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EmailRequest<'a> {
    from: String,
    to: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bcc: Option<String>,
    subject: &'a str,
    text_body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    html_body: Option<&'a str>,
    message_stream: &'a str,
    metadata: Metadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<AttachmentRequest<'a>>,
}

/// One of Postmark's `Attachments`: `{Name, Content (base64), ContentType}`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttachmentRequest<'a> {
    name: &'a str,
    content: String,
    content_type: &'a str,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(rename = "messageUUID")]
    message_uuid: String,
}

/// Postmark's answer, success and refusal alike.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct EmailResponse {
    error_code: Option<i64>,
    message: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
}

impl PostmarkProvider {
    pub fn new(http: reqwest::Client, config: PostmarkConfig) -> Self {
        Self { http, config }
    }
}

#[async_trait]
impl Provider for PostmarkProvider {
    fn name(&self) -> &'static str {
        "postmark"
    }

    #[tracing::instrument(skip_all, fields(provider = "postmark", message_uuid = %m.message_uuid))]
    async fn reconcile(&self, m: &Outgoing, since: time::OffsetDateTime) -> Reconciled {
        reconcile::reconcile(&self.http, &self.config, m, since).await
    }

    #[tracing::instrument(skip_all, fields(provider = "postmark", message_uuid = %m.message_uuid))]
    async fn send(&self, m: &Outgoing) -> SendOutcome {
        let join = |list: &[String]| (!list.is_empty()).then(|| list.join(", "));
        let request = EmailRequest {
            from: quote_display_name(&m.from),
            to: &m.to,
            cc: join(&m.cc),
            bcc: join(&m.bcc),
            subject: m.subject.as_deref().unwrap_or_default(),
            text_body: &m.body,
            html_body: m.html_body.as_deref(),
            message_stream: &self.config.message_stream,
            metadata: Metadata {
                message_uuid: m.message_uuid.to_string(),
            },
            attachments: m
                .attachments
                .iter()
                .map(|a| AttachmentRequest {
                    name: &a.info.file_name,
                    content: STANDARD.encode(&a.content),
                    content_type: &a.info.content_type,
                })
                .collect(),
        };
        let response = self
            .http
            .post(format!(
                "{}/email",
                self.config.base_url.trim_end_matches('/')
            ))
            .header(
                "X-Postmark-Server-Token",
                self.config.server_token.expose_secret(),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&request)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return transport_failure("Postmark", &e),
        };
        let status = response.status();
        let body: EmailResponse = match response.json().await {
            Ok(body) => body,
            // Taken, but without the MessageID the webhooks and the search report it by.
            Err(e) if status.is_success() => {
                return SendOutcome::InDoubt {
                    detail: format!("Postmark answered {status}: {}", describe(&e)),
                };
            }
            Err(_) => EmailResponse::default(),
        };
        classify(status, body, m)
    }
}

fn classify(status: StatusCode, body: EmailResponse, m: &Outgoing) -> SendOutcome {
    let error_code = body.error_code.unwrap_or(0);
    if status.is_success() && error_code == 0 {
        let provider_message_id = body.message_id.unwrap_or_else(|| {
            tracing::warn!("Postmark accepted a message without a MessageID");
            format!("postmark-unknown-{}", m.message_uuid.simple())
        });
        return SendOutcome::Accepted {
            provider_message_id,
            receipt: None,
        };
    }
    let detail = format!(
        "Postmark error {error_code}: {}",
        body.message
            .as_deref()
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("refused"))
    );
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return SendOutcome::Transient { detail };
    }
    if status == StatusCode::UNAUTHORIZED || error_code == BAD_TOKEN {
        tracing::error!(
            %status,
            error_code,
            "Postmark refused Herald's server token: check [email.postmark] server_token"
        );
        return SendOutcome::Permanent {
            code: ErrorCode::InternalServerError,
            detail,
            effect: None,
        };
    }
    if error_code == INACTIVE_RECIPIENT || status == StatusCode::NOT_ACCEPTABLE {
        return SendOutcome::Permanent {
            code: ErrorCode::InvalidEmailAddress,
            detail,
            effect: Some(Effect::StopEmailing),
        };
    }
    if error_code == INVALID_ADDRESS {
        return SendOutcome::Permanent {
            code: ErrorCode::InvalidEmailAddress,
            detail,
            effect: None,
        };
    }
    // Other refusals (an unconfirmed sender signature, a paused account...) are Postmark's
    // verdict on the request itself: retrying it as it is would fail the same way.
    tracing::warn!(%status, error_code, "Postmark refused a message");
    SendOutcome::Permanent {
        code: ErrorCode::InternalServerError,
        detail,
        effect: None,
    }
}

/// `Name <address>` with the name quoted when it holds characters that would otherwise split
/// or end it (`Acme, Inc. <a@b>` is two malformed addresses to Postmark).
fn quote_display_name(from: &str) -> String {
    let Some((name, rest)) = from.rsplit_once(" <") else {
        return from.to_string();
    };
    if name.starts_with('"') || !name.contains([',', ';', ':', '@', '.', '(', ')', '[', ']']) {
        return from.to_string();
    }
    format!("\"{}\" <{rest}", name.replace('\\', "\\\\"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_with_specials_are_quoted() {
        assert_eq!(
            quote_display_name("Service Team <s@d.example>"),
            "Service Team <s@d.example>"
        );
        assert_eq!(
            quote_display_name("Acme, Inc. <s@d.example>"),
            "\"Acme, Inc.\" <s@d.example>"
        );
        assert_eq!(quote_display_name("s@d.example"), "s@d.example");
    }
}
