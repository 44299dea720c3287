//! The two ways a [`Message`] comes to be outside the store: an integrator's send request, as
//! the send endpoint checked it, and a text of Herald's own (a keyword reply, an opt-in
//! request). Every other field starts the same for both.

use time::OffsetDateTime;
use uuid::Uuid;

use super::customer::Customer;
use super::directory::{Department, User};
use super::message::{
    Direction, Message, MessageStatus, Protocol, Purpose, Recipient, SendOptions, SendRequest,
    Warning,
};
use super::{EmailAddress, PhoneNumber};

/// A send request that passed SPEC 4.2's checks, with what the checks decided.
pub struct Checked<'a> {
    /// The username of the credential it came with.
    pub credential: &'a str,
    pub department: &'a Department,
    pub user: &'a User,
    pub customer: &'a Customer,
    pub request: &'a SendRequest,
    pub recipient: Recipient,
    /// The CC and BCC addresses kept after screening.
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub warnings: Vec<Warning>,
    /// Whether the credential holds `message.override_optout`.
    pub override_granted: bool,
    /// The `requestUUID` the request is answered with.
    pub request_uuid: Uuid,
    /// When an asynchronous message's first attempt is held until, if it is held at all
    /// (`delay`, `sendAt`, quiet hours, a holiday).
    pub held_until: Option<OffsetDateTime>,
}

impl Message {
    /// The message an integrator's checked request makes: `ACCEPTED`, `SCHEDULED` when its
    /// first attempt is held (the same single insert, another status), or `DELIVERED` for an
    /// `INCOMING` one, which is recorded as received and sent to no one.
    pub fn requested(c: Checked<'_>, now: OffsetDateTime) -> Message {
        let request = c.request;
        let incoming = request.direction == Direction::Incoming;
        // To the millisecond, as the stores keep times: the send response says what a later
        // read says.
        let held_until = c
            .held_until
            .filter(|_| !incoming && !request.options.send_synchronously)
            .map(|t| t - time::Duration::nanoseconds(i64::from(t.nanosecond() % 1_000_000)));
        let status = if incoming {
            MessageStatus::Delivered
        } else if held_until.is_some() {
            MessageStatus::Scheduled
        } else {
            MessageStatus::Accepted
        };
        Message {
            uuid: Uuid::now_v7(),
            dealer_uuid: c.department.dealer_uuid,
            department_uuid: c.department.uuid,
            customer_uuid: Some(c.customer.uuid),
            user_uuid: Some(c.user.uuid),
            credential: Some(c.credential.to_string()),
            direction: request.direction,
            protocol: request.protocol,
            purpose: Purpose::Customer,
            is_manual: request.is_manual,
            body: request.body.clone(),
            subject: request.subject.clone(),
            html_body: request.html_body.clone(),
            attachments: request.attachments.iter().map(|a| a.info.clone()).collect(),
            cc: c.cc,
            bcc: c.bcc,
            options: request.options.clone(),
            override_optout: request.options.override_optout_rules && c.override_granted,
            callback_url: request.callback_url.clone(),
            callback_metadata: request.callback_metadata.clone(),
            request_uuid: c.request_uuid,
            status,
            error: None,
            warnings: c.warnings,
            provider_message_id: None,
            composed_body: incoming.then(|| request.body.clone()),
            sender: incoming.then(|| c.recipient.to_string()),
            recipient: c.recipient,
            created_at: now,
            updated_at: now,
            held_until,
        }
    }

    /// A TEXT of Herald's own to `number` in the department's thread with `customer`:
    /// automated, without a callback, through the same durable queue as any other.
    pub fn own_text(
        department: &Department,
        customer: Option<Uuid>,
        number: &PhoneNumber,
        body: String,
        now: OffsetDateTime,
    ) -> Message {
        Message {
            uuid: Uuid::now_v7(),
            dealer_uuid: department.dealer_uuid,
            department_uuid: department.uuid,
            customer_uuid: customer,
            user_uuid: None,
            credential: None,
            direction: Direction::Outgoing,
            protocol: Protocol::Text,
            purpose: Purpose::Customer,
            is_manual: false,
            body,
            subject: None,
            html_body: None,
            attachments: Vec::new(),
            recipient: Recipient::Phone(number.clone()),
            cc: Vec::new(),
            bcc: Vec::new(),
            options: SendOptions::default(),
            override_optout: false,
            callback_url: None,
            callback_metadata: Default::default(),
            request_uuid: Uuid::new_v4(),
            status: MessageStatus::Accepted,
            error: None,
            warnings: Vec::new(),
            provider_message_id: None,
            composed_body: None,
            sender: None,
            created_at: now,
            updated_at: now,
            held_until: None,
        }
    }
}
