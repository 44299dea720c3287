//! Inbound email (SPEC 4.5): a customer's reply, recorded as an `INCOMING` EMAIL in the
//! customer's thread with its attachments, so an email conversation is two-sided.
//!
//! The department is the one emailing from an address the email was sent to (the oldest,
//! when several share it); the customer is the dealer's customer with the sender's address.
//! An email from an address no customer has is kept all the same, in the department, with no
//! customer (as an inbound text from an unknown number is): the operator sees it in the
//! message log. An email to no department's address is not Herald's to keep.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::message::{
    Direction, Message, MessageStatus, Protocol, Purpose, Recipient, SendOptions,
};
use crate::providers::postmark::inbound::InboundEmail;
use crate::store::{CustomerQuery, Store};

/// What became of one inbound email.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Recorded {
        message_uuid: Uuid,
        department_uuid: Uuid,
        customer_uuid: Option<Uuid>,
    },
    /// Recorded before (a retried webhook).
    Again { message_uuid: Uuid },
    /// Sent to no address any department emails from.
    NoDepartment,
}

pub async fn receive(
    store: &Arc<dyn Store>,
    email: InboundEmail,
    now: OffsetDateTime,
) -> anyhow::Result<Received> {
    if let Some(id) = &email.message_id
        && let Some(earlier) = store.message_by_provider_id(id).await?
        && earlier.protocol == Protocol::Email
    {
        return Ok(Received::Again {
            message_uuid: earlier.uuid,
        });
    }
    let mut department = None;
    for address in &email.recipients {
        if let Some(d) = store
            .departments_by_email_sender(address)
            .await?
            .into_iter()
            .next()
        {
            department = Some(d);
            break;
        }
    }
    let Some(department) = department else {
        return Ok(Received::NoDepartment);
    };
    let query = CustomerQuery {
        text: String::new(),
        phone: None,
        email: Some(email.from.clone()),
        limit: 1,
    };
    let customer = store
        .search_customers(department.dealer_uuid, &query)
        .await?
        .into_iter()
        .next();
    let message = Message {
        uuid: Uuid::now_v7(),
        dealer_uuid: department.dealer_uuid,
        department_uuid: department.uuid,
        customer_uuid: customer.map(|c| c.uuid),
        user_uuid: None,
        credential: None,
        direction: Direction::Incoming,
        protocol: Protocol::Email,
        purpose: Purpose::Customer,
        is_manual: true,
        body: email.text.clone(),
        subject: email.subject.clone(),
        html_body: email.html.clone(),
        attachments: email.attachments.iter().map(|a| a.info.clone()).collect(),
        recipient: Recipient::Email(email.from.clone()),
        cc: Vec::new(),
        bcc: Vec::new(),
        options: SendOptions::default(),
        override_optout: false,
        callback_url: None,
        callback_metadata: Default::default(),
        request_uuid: Uuid::new_v4(),
        status: MessageStatus::Delivered,
        error: None,
        warnings: Vec::new(),
        provider_message_id: email.message_id.clone(),
        composed_body: Some(email.text.clone()),
        sender: Some(email.from.to_string()),
        created_at: now,
        updated_at: now,
        held_until: None,
    };
    store
        .accept_with_attachments(&message, &email.attachments, None, None, None)
        .await?;
    Ok(Received::Recorded {
        message_uuid: message.uuid,
        department_uuid: department.uuid,
        customer_uuid: message.customer_uuid,
    })
}
