//! Messages: what a send request asks for, and the states a message goes through (SPEC 4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::attachment::{Attachment, AttachmentInfo};
use super::codes::{ErrorCode, WarningCode};
use super::{EmailAddress, PhoneNumber};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Text,
    Email,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Text => "TEXT",
            Protocol::Email => "EMAIL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TEXT" => Some(Protocol::Text),
            "EMAIL" => Some(Protocol::Email),
            _ => None,
        }
    }
}

/// `OUTGOING`: to the customer. `INCOMING`: from the customer, recorded in the thread only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    Outgoing,
    Incoming,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outgoing => "OUTGOING",
            Direction::Incoming => "INCOMING",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OUTGOING" => Some(Direction::Outgoing),
            "INCOMING" => Some(Direction::Incoming),
            _ => None,
        }
    }
}

/// `messageStatus` of responses and callbacks (SPEC 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    Accepted,
    /// Accepted, its first attempt held (`delay`) until [`Message::scheduled_for`].
    Scheduled,
    WaitingForOptin,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Expired,
    /// Withdrawn by the operator before any hand-over (SPEC 8): nothing was sent.
    Cancelled,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Accepted => "ACCEPTED",
            MessageStatus::Scheduled => "SCHEDULED",
            MessageStatus::WaitingForOptin => "WAITING_FOR_OPTIN",
            MessageStatus::Sent => "SENT",
            MessageStatus::Delivered => "DELIVERED",
            MessageStatus::Undelivered => "UNDELIVERED",
            MessageStatus::Failed => "FAILED",
            MessageStatus::Expired => "EXPIRED",
            MessageStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// Whether no later event can change this status (a receipt never moves it backwards).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            MessageStatus::Delivered
                | MessageStatus::Undelivered
                | MessageStatus::Failed
                | MessageStatus::Expired
                | MessageStatus::Cancelled
        )
    }

    /// `status` of the seed's response for a message in this state.
    pub fn is_success(self) -> bool {
        !matches!(
            self,
            MessageStatus::Failed
                | MessageStatus::Undelivered
                | MessageStatus::Expired
                | MessageStatus::Cancelled
        )
    }
}

/// Why Herald sends a message: it decides which rules apply (SPEC 5.1, 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    /// A message an integrator asked for: every rule applies.
    Customer,
    /// A reply to an inbound keyword (STOP, HELP…): sent whatever the opt state, not rate limited.
    KeywordReply,
    /// The department's opt-in request to a `NOT_SET` number: not rate limited.
    OptinRequest,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Customer => "CUSTOMER",
            Purpose::KeywordReply => "KEYWORD_REPLY",
            Purpose::OptinRequest => "OPTIN_REQUEST",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CUSTOMER" => Some(Purpose::Customer),
            "KEYWORD_REPLY" => Some(Purpose::KeywordReply),
            "OPTIN_REQUEST" => Some(Purpose::OptinRequest),
            _ => None,
        }
    }
}

/// The options of `messageSendingAttributes` with the seed's defaults applied (SPEC 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendOptions {
    pub send_synchronously: bool,
    pub add_tcpa_footer: bool,
    pub add_signature: bool,
    pub add_footer: bool,
    pub send_v_card: bool,
    pub queue_if_opted_out: bool,
    pub override_optout_rules: bool,
    /// Seconds to hold an asynchronous message before its first attempt.
    pub delay_seconds: u64,
    /// `sendAt`: no attempt before this time (an asynchronous message; a past time is now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub send_at: Option<time::OffsetDateTime>,
    /// `overrideHolidays`: a department holiday does not hold this message (quiet hours do).
    #[serde(default)]
    pub override_holidays: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            send_synchronously: false,
            add_tcpa_footer: true,
            add_signature: false,
            add_footer: false,
            send_v_card: false,
            queue_if_opted_out: false,
            override_optout_rules: false,
            delay_seconds: 0,
            send_at: None,
            override_holidays: false,
        }
    }
}

/// A send request that passed validation (SPEC 4.2 step 2). Contact values are still raw:
/// whether they belong to the customer is checked later (step 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// Empty only when there are attachments (SPEC 4.5).
    pub body: String,
    pub subject: Option<String>,
    /// `htmlBody` (EMAIL): the HTML alternative of `body`.
    pub html_body: Option<String>,
    pub attachments: Vec<Attachment>,
    pub is_manual: bool,
    pub protocol: Protocol,
    pub direction: Direction,
    /// `communicationValueOfCustomer`, trimmed; `None` when absent or empty.
    pub communication_value: Option<String>,
    pub callback_url: Option<String>,
    pub callback_metadata: BTreeMap<String, serde_json::Value>,
    /// CC and BCC entries as given (EMAIL only); checked one by one, with warnings, later.
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub options: SendOptions,
}

/// The recipient of an outgoing message, resolved against the customer's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl Recipient {
    /// The recipient of a `protocol` message written as `text` (a stored one, say): a number
    /// for TEXT, an address for EMAIL; `None` when `text` is not one.
    pub fn parse(protocol: Protocol, text: &str) -> Option<Recipient> {
        match protocol {
            Protocol::Text => PhoneNumber::parse(text).ok().map(Recipient::Phone),
            Protocol::Email => EmailAddress::parse(text).ok().map(Recipient::Email),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Recipient::Phone(p) => p.as_str(),
            Recipient::Email(e) => e.as_str(),
        }
    }

    /// The number, for a TEXT's recipient.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        match self {
            Recipient::Phone(p) => Some(p),
            Recipient::Email(_) => None,
        }
    }

    /// The address, for an EMAIL's recipient.
    pub fn email(&self) -> Option<&EmailAddress> {
        match self {
            Recipient::Email(e) => Some(e),
            Recipient::Phone(_) => None,
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest TEXT once composed (SPEC 4.2): ten SMS segments, Twilio's own limit.
pub const MAX_TEXT_CHARS: usize = 1600;

/// Why a message failed, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageError {
    pub code: ErrorCode,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub code: WarningCode,
    pub description: String,
}

/// A message as Herald keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub uuid: uuid::Uuid,
    pub dealer_uuid: uuid::Uuid,
    pub department_uuid: uuid::Uuid,
    /// `None` for a reply to a number no customer has.
    pub customer_uuid: Option<uuid::Uuid>,
    /// The sending user; `None` for Herald's own messages (keyword replies, opt-in requests).
    pub user_uuid: Option<uuid::Uuid>,
    /// The credential that asked for it; its webhook secret signs the callbacks.
    pub credential: Option<String>,
    pub direction: Direction,
    pub protocol: Protocol,
    pub purpose: Purpose,
    pub is_manual: bool,
    /// The body as requested, before composition.
    pub body: String,
    pub subject: Option<String>,
    /// `htmlBody` as requested (EMAIL), before the signature and footer are appended.
    pub html_body: Option<String>,
    /// The files sent with it; their bytes are in the store (`Store::attachment_contents`).
    pub attachments: Vec<AttachmentInfo>,
    /// The number (TEXT) or address (EMAIL): for an incoming message, the customer's own.
    pub recipient: Recipient,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub options: SendOptions,
    /// `overrideOptoutRules` asked for by a credential allowed to.
    pub override_optout: bool,
    pub callback_url: Option<String>,
    pub callback_metadata: BTreeMap<String, serde_json::Value>,
    pub request_uuid: uuid::Uuid,
    pub status: MessageStatus,
    pub error: Option<MessageError>,
    pub warnings: Vec<Warning>,
    pub provider_message_id: Option<String>,
    /// Exactly what was handed to the provider.
    pub composed_body: Option<String>,
    /// The number or address it was sent from.
    pub sender: Option<String>,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
    /// The time its attempt was last held until (`delay`, `sendAt`, quiet hours, a holiday),
    /// to the millisecond as the stores keep times; kept once the message is released.
    pub held_until: Option<time::OffsetDateTime>,
}

impl Message {
    /// When a `SCHEDULED` message's next attempt is due (SPEC 4.3 `scheduledFor`).
    pub fn scheduled_for(&self) -> Option<time::OffsetDateTime> {
        self.held_until
            .filter(|_| self.status == MessageStatus::Scheduled)
    }
}
