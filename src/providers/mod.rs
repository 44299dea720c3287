//! Where messages leave Herald. Each provider speaks one service's protocol behind one
//! interface; the delivery worker never knows which one it talks to.

pub mod outbox;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::config::{EmailProviderKind, Settings, TextProviderKind};
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
    pub media_urls: Vec<String>,
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
        code: &'static str,
        detail: String,
        effect: Option<Effect>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    Undelivered { detail: String },
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
}

/// The configured provider of each protocol.
#[derive(Clone)]
pub struct Providers {
    pub text: Arc<dyn Provider>,
    pub email: Arc<dyn Provider>,
}

impl Providers {
    pub fn from_settings(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let outbox: Arc<dyn Provider> = Arc::new(outbox::OutboxProvider::new(store));
        let text = match settings.text.provider {
            TextProviderKind::Outbox => outbox.clone(),
            TextProviderKind::Twilio => {
                anyhow::bail!("the twilio provider is not built yet; use outbox")
            }
        };
        let email = match settings.email.provider {
            EmailProviderKind::Outbox => outbox,
            other => anyhow::bail!("the {other:?} email provider is not built yet; use outbox"),
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
