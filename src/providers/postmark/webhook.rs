//! What Postmark's webhook events say (Delivery, Bounce, SpamComplaint, SubscriptionChange),
//! read from their JSON: which message, and what it means for the message and its address.
//! The HTTP side — Basic auth, finding the message, applying the report — is
//! src/api/webhooks/postmark.rs.

use std::collections::HashMap;

use serde::Deserialize;
use uuid::Uuid;

use crate::domain::codes::ErrorCode;
use crate::providers::Receipt;

/// The fields of Postmark's webhook events Herald reads; the rest is ignored.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub record_type: String,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
    /// Bounce: `HardBounce`, `SoftBounce`, ...
    #[serde(rename = "Type")]
    kind: Option<String>,
    /// Bounce and SpamComplaint: the address concerned.
    email: Option<String>,
    /// Delivery and SubscriptionChange: the address concerned.
    recipient: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, serde_json::Value>,
    suppress_sending: Option<bool>,
    description: Option<String>,
}

/// Bounce types after which an address must not be emailed again.
const HARD_BOUNCES: [&str; 2] = ["HardBounce", "BadEmailAddress"];

/// What an event means. `address` is the address it concerns (`None`: the message's own
/// recipient); a receipt applies to the message only when that address is its recipient.
pub enum Report<'a> {
    /// The email reached `address`.
    Delivered { address: Option<&'a str> },
    /// `address` refused it for good (a hard bounce, a spam complaint): it must not be emailed
    /// again, and the message is undelivered.
    Refused {
        address: Option<&'a str>,
        receipt: Receipt,
    },
    /// `address` unsubscribed: it must not be emailed again.
    Unsubscribed { address: Option<&'a str> },
    /// Nothing Herald acts on (a soft bounce, an open, ...).
    Ignored,
}

impl Event {
    /// Postmark's `MessageID`, which Herald keeps as the provider message id.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref().filter(|id| !id.is_empty())
    }

    /// The `messageUUID` Herald put in the email's `Metadata`.
    pub fn message_uuid(&self) -> Option<Uuid> {
        self.metadata
            .get("messageUUID")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    pub fn report(&self) -> Report<'_> {
        match self.record_type.as_str() {
            "Delivery" => Report::Delivered {
                address: self.recipient.as_deref(),
            },
            "Bounce"
                if self
                    .kind
                    .as_deref()
                    .is_some_and(|k| HARD_BOUNCES.contains(&k)) =>
            {
                let detail = format!(
                    "Postmark reported a hard bounce: {}",
                    self.description.as_deref().unwrap_or("address rejected")
                );
                Report::Refused {
                    address: self.email.as_deref(),
                    receipt: Receipt::Undelivered {
                        code: Some(ErrorCode::InvalidEmailAddress),
                        detail,
                    },
                }
            }
            "SpamComplaint" => Report::Refused {
                address: self.email.as_deref(),
                receipt: Receipt::Undelivered {
                    code: Some(ErrorCode::CommunicationValueMarkedAsNotOkToCommunicate),
                    detail: "the recipient marked the message as spam".into(),
                },
            },
            "SubscriptionChange" if self.suppress_sending == Some(true) => Report::Unsubscribed {
                address: self.recipient.as_deref(),
            },
            _ => Report::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> Event {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn hard_bounces_and_complaints_refuse_soft_bounces_do_not() {
        let hard = event(
            serde_json::json!({"RecordType": "Bounce", "Type": "HardBounce",
            "Email": "ann@example.com", "Description": "mailbox unknown"}),
        );
        assert!(matches!(
            hard.report(),
            Report::Refused {
                address: Some("ann@example.com"),
                receipt: Receipt::Undelivered { .. }
            }
        ));
        let soft = event(serde_json::json!({"RecordType": "Bounce", "Type": "SoftBounce"}));
        assert!(matches!(soft.report(), Report::Ignored));
        let spam = event(serde_json::json!({"RecordType": "SpamComplaint"}));
        assert!(matches!(
            spam.report(),
            Report::Refused { address: None, .. }
        ));
        let kept = event(
            serde_json::json!({"RecordType": "SubscriptionChange", "SuppressSending": false}),
        );
        assert!(matches!(kept.report(), Report::Ignored));
    }

    #[test]
    fn the_message_is_named_by_its_id_or_by_herald_s_metadata() {
        let uuid = Uuid::now_v7();
        let e = event(
            serde_json::json!({"RecordType": "Delivery", "MessageID": "",
            "Metadata": {"messageUUID": uuid.to_string()}}),
        );
        assert_eq!(e.message_id(), None);
        assert_eq!(e.message_uuid(), Some(uuid));
    }
}
