//! `[text]`, `[email]` and `[webhooks]`: which provider carries each protocol, and how Herald
//! reaches it and is reached by it.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSettings {
    pub provider: TextProviderKind,
    pub twilio: TwilioSettings,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TextProviderKind {
    Outbox,
    Twilio,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub base_url: String,
    pub messaging_service_sid: Option<String>,
    /// At most this many texts a second leave from one sender (number or Messaging Service);
    /// a burst waits in Herald's queue. Unset: no pace.
    pub max_messages_per_second_per_sender: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub provider: EmailProviderKind,
    pub postmark: PostmarkSettings,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailProviderKind {
    Outbox,
    Postmark,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkSettings {
    pub server_token: Option<SecretString>,
    pub base_url: String,
    pub message_stream: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://user:pass@host:587?tls=required`; a secret because it may hold a password.
    pub url: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub postmark_username: Option<String>,
    pub postmark_password: Option<SecretString>,
}
