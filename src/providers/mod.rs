//! Where messages leave Herald. Each provider speaks one service's protocol behind one
//! interface; the delivery worker never knows which one it talks to.

pub mod outbox;
pub mod pace;
pub mod postmark;
pub mod smtp;
pub mod twilio;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::{EmailProviderKind, Settings, TextProviderKind};
use crate::domain::attachment::Attachment;
use crate::domain::codes::ErrorCode;
use crate::store::Store;

/// A composed message, ready for a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub message_uuid: Uuid,
    /// `TEXT` or `EMAIL`.
    pub protocol: &'static str,
    /// E.164 number, or `Name <address>` for email.
    pub from: String,
    pub to: String,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: Option<String>,
    pub body: String,
    /// The media a TEXT carries (the vCard, its attachments), each a URL Herald serves.
    pub media_urls: Vec<String>,
    /// An EMAIL's HTML part, composed (SPEC 4.5).
    pub html_body: Option<String>,
    /// The files attached to an EMAIL, with their bytes.
    pub attachments: Vec<Attachment>,
}

/// What a provider made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Taken over by the provider. `receipt` is a delivery report known at once (the outbox
    /// provider's simulated one); real providers report later through their webhooks.
    Accepted {
        provider_message_id: String,
        receipt: Option<Receipt>,
    },
    /// Worth trying again later: network errors, timeouts, 5xx, 429.
    Transient { detail: String },
    /// Refused for good; `code` is the seed's error code for it.
    Permanent {
        code: ErrorCode,
        detail: String,
        effect: Option<Effect>,
    },
    /// Not sent: the sender's pace is used up. Comes back after `wait`, which is not an
    /// attempt (nothing reached the provider).
    Deferred { wait: Duration },
    /// The request may have reached the provider, but its answer did not reach Herald (the
    /// call timed out, or the connection broke after the request was written). Never sent
    /// again blindly: the provider is asked first ([`Provider::reconcile`], SPEC 6).
    InDoubt { detail: String },
}

/// What a provider says of a hand-over whose outcome Herald did not record (SPEC 6,
/// "In-doubt hand-overs are reconciled, never blindly resent").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// The provider has it: record this id (and the delivery report it already knows, if
    /// any) and send nothing.
    Sent {
        provider_message_id: String,
        receipt: Option<Receipt>,
    },
    /// The provider has no such message: it may be sent.
    NotFound,
    /// The provider could not be asked (unreachable, an error answer): ask again later, and
    /// send nothing meanwhile.
    Unknown { detail: String },
    /// The protocol has no way to ask (SMTP): the message is sent again, the same way (same
    /// `Message-ID`, so receivers can drop the copy), and recorded as a possible duplicate.
    Unaskable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    /// `code` is the seed's error code for it; `None` for the protocol's provider failure.
    Undelivered {
        code: Option<ErrorCode>,
        detail: String,
    },
}

/// What a permanent refusal also tells Herald about the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The number has opted out at the carrier (Twilio 21610).
    OptOutNumber,
    /// The address must not be emailed again (Postmark 406, hard bounce).
    StopEmailing,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn send(&self, message: &Outgoing) -> SendOutcome;
    /// Whether `message`, handed over at or after `since` with an outcome Herald did not
    /// record, reached the provider.
    async fn reconcile(&self, message: &Outgoing, since: OffsetDateTime) -> Reconciled;
}

/// The configured provider of each protocol.
#[derive(Clone)]
pub struct Providers {
    pub text: Arc<dyn Provider>,
    pub email: Arc<dyn Provider>,
}

impl Providers {
    pub fn from_settings(
        settings: &Settings,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let outbox: Arc<dyn Provider> = Arc::new(outbox::OutboxProvider::new(store, clock));
        // Below the delivery deadline, so a slow provider is a classified timeout.
        let timeout = settings
            .delivery
            .provider_deadline()
            .min(Duration::from_secs(30));
        let http = http_client(timeout)?;
        let text: Arc<dyn Provider> = match settings.text.provider {
            TextProviderKind::Outbox => outbox.clone(),
            TextProviderKind::Twilio => {
                let t = &settings.text.twilio;
                let config = twilio::TwilioConfig {
                    account_sid: t
                        .account_sid
                        .clone()
                        .context("text.twilio.account_sid is not set")?,
                    auth_token: t
                        .auth_token
                        .clone()
                        .context("text.twilio.auth_token is not set")?,
                    base_url: t.base_url.clone(),
                    messaging_service_sid: t.messaging_service_sid.clone(),
                    status_callback: format!(
                        "{}/webhooks/twilio/status",
                        settings.public_base_url()
                    ),
                };
                let pace = t
                    .max_messages_per_second_per_sender
                    .and_then(pace::Pace::per_second);
                Arc::new(twilio::TwilioProvider::new(http.clone(), config).with_pace(pace))
            }
        };
        let email: Arc<dyn Provider> = match settings.email.provider {
            EmailProviderKind::Outbox => outbox,
            EmailProviderKind::Postmark => {
                let p = &settings.email.postmark;
                let config = postmark::PostmarkConfig {
                    server_token: p
                        .server_token
                        .clone()
                        .context("email.postmark.server_token is not set")?,
                    base_url: p.base_url.clone(),
                    message_stream: p.message_stream.clone(),
                };
                Arc::new(postmark::PostmarkProvider::new(http, config))
            }
            EmailProviderKind::Smtp => {
                let url = settings
                    .email
                    .smtp
                    .url
                    .as_ref()
                    .context("email.smtp.url is not set")?;
                let config = smtp::SmtpConfig::from_url(url.expose_secret(), timeout)?;
                Arc::new(smtp::SmtpProvider::new(config))
            }
        };
        Ok(Self { text, email })
    }

    pub fn for_protocol(&self, protocol: crate::domain::message::Protocol) -> &Arc<dyn Provider> {
        match protocol {
            crate::domain::message::Protocol::Text => &self.text,
            crate::domain::message::Protocol::Email => &self.email,
        }
    }
}

/// The one HTTP client of the HTTP providers: no proxy from the environment, no redirects
/// (a provider API that redirects is misconfigured, and credentials must not follow), and
/// bounded waits.
pub fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the providers' HTTP client")
}

/// A create call that failed in transport: `Transient` when the request never left (no
/// connection could be made), `InDoubt` otherwise — a timeout or a connection lost after the
/// request was written may well have been taken.
pub(crate) fn transport_failure(provider: &str, e: &reqwest::Error) -> SendOutcome {
    let detail = format!("{provider} unreachable: {}", describe(e));
    if e.is_connect() {
        SendOutcome::Transient { detail }
    } else {
        SendOutcome::InDoubt { detail }
    }
}

/// A transport error for logs and attempt records, without the URL (Twilio's carries the
/// account SID) or any credential.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_decode() || e.is_body() {
        "the answer could not be read".into()
    } else {
        match std::error::Error::source(e) {
            Some(cause) => format!("request failed: {cause}"),
            None => "request failed".into(),
        }
    }
}
