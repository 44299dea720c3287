//! Inbound texts (SPEC 5.1): recorded as INCOMING in the customer's thread, keywords applied
//! to the number's opt state, and the keyword's reply queued like any other message.
//!
//! A sender number belongs to one dealer, whose departments may share it. A text to a shared
//! number goes to the thread of the department that last texted that customer from it; when
//! none has (or the sender is no known customer), to the oldest department texting from it.
//! Opt state is the dealer's, so STOP and START hold for every department of it. A database
//! from before numbers were kept to one dealer may still have one texted from by several:
//! there STOP and START apply to each of those dealers, so no one keeps texting after a STOP.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::domain::PhoneNumber;
use crate::domain::attachment::Attachment;
use crate::domain::directory::Department;
use crate::domain::keywords::{Keyword, classify};
use crate::domain::message::{Direction, Message, MessageStatus, Purpose};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState};
use crate::store::{CustomerQuery, NewJob, OptChange, Store};

pub struct InboundText {
    pub from: PhoneNumber,
    pub to: PhoneNumber,
    pub body: String,
    pub provider_message_id: Option<String>,
    /// An MMS's media, fetched (SPEC 4.5).
    pub attachments: Vec<Attachment>,
}

#[derive(Debug)]
pub struct Received {
    pub message_uuid: Uuid,
    pub department_uuid: Uuid,
    pub customer_uuid: Option<Uuid>,
    pub keyword: Option<Keyword>,
    pub opt_state: OptState,
    /// The reply queued for the keyword, if any.
    pub reply_uuid: Option<Uuid>,
}

/// Handles one inbound text; `None` when no department texts from `to`.
pub async fn receive(
    store: &Arc<dyn Store>,
    wake: &Notify,
    text: InboundText,
    now: OffsetDateTime,
) -> anyhow::Result<Option<Received>> {
    let departments = store.departments_by_sender(&text.to).await?;
    let Some(oldest) = departments.first() else {
        return Ok(None);
    };
    let dealer = store
        .dealer(oldest.dealer_uuid)
        .await?
        .ok_or_else(|| anyhow::anyhow!("department {} has no dealer", oldest.uuid))?;
    let query = CustomerQuery {
        text: String::new(),
        phone: Some(text.from.clone()),
        email: None,
        limit: 1,
    };
    let customer = store
        .search_customers(dealer.uuid, &query)
        .await?
        .into_iter()
        .next();
    let last = match (&customer, departments.len()) {
        (Some(c), 2..) => {
            store
                .last_to_text(&text.to, dealer.uuid, c.uuid, &text.from)
                .await?
        }
        _ => None,
    };
    let department = last
        .and_then(|uuid| departments.iter().find(|d| d.uuid == uuid))
        .unwrap_or(oldest);

    let mut incoming = Message::own_text(
        department,
        customer.as_ref().map(|c| c.uuid),
        &text.from,
        text.body.clone(),
        now,
    );
    incoming.direction = Direction::Incoming;
    incoming.status = MessageStatus::Delivered;
    incoming.composed_body = Some(text.body.clone());
    incoming.sender = Some(text.from.to_string());
    incoming.provider_message_id = text.provider_message_id.clone();
    incoming.attachments = text.attachments.iter().map(|a| a.info.clone()).collect();
    store
        .accept_with_attachments(&incoming, &text.attachments, None, None, None)
        .await?;

    let keyword = classify(&text.body);
    let event = match keyword {
        Some(Keyword::OptOut) => Some(OptEvent::StopMessageReceived),
        Some(Keyword::OptIn) => Some(OptEvent::OptinMessageReceived),
        Some(Keyword::Help) => Some(OptEvent::HelpMessageReceived),
        None => None,
    };
    // The inbound text itself is the cause the history keeps.
    let cause = OptCause::message(incoming.uuid);
    let opt_state = match event {
        Some(event) => {
            let change = OptChange {
                phone: &text.from,
                event,
                source: OptSource::Inbound,
                cause: &cause,
            };
            let state = store.apply_opt_changes(dealer.uuid, &[change], now).await?[0].state;
            for other in other_dealers(&departments, dealer.uuid) {
                store.apply_opt_changes(other, &[change], now).await?;
            }
            // An opt-in may have released messages waiting for it.
            wake.notify_one();
            state
        }
        None => store.opt_status(dealer.uuid, &text.from).await?.state,
    };

    let reply_text = match keyword {
        Some(Keyword::OptOut) => Some(format!(
            "You are unsubscribed from {} texts and will receive no more messages. Reply START to resubscribe.",
            dealer.name
        )),
        Some(Keyword::OptIn) => Some(format!(
            "You are subscribed to {} texts. Reply STOP to unsubscribe, HELP for help.",
            dealer.name
        )),
        Some(Keyword::Help) => Some(department.settings.help_reply.clone()),
        None => None,
    };
    let mut reply_uuid = None;
    if let Some(body) = reply_text {
        let mut reply = Message::own_text(
            department,
            customer.as_ref().map(|c| c.uuid),
            &text.from,
            body,
            now,
        );
        reply.purpose = Purpose::KeywordReply;
        reply.options.add_tcpa_footer = false;
        store
            .accept_message(
                &reply,
                Some(NewJob {
                    due_at: now,
                    lease: None,
                }),
                None,
                None,
            )
            .await?;
        wake.notify_one();
        reply_uuid = Some(reply.uuid);
    }
    Ok(Some(Received {
        message_uuid: incoming.uuid,
        department_uuid: department.uuid,
        customer_uuid: customer.map(|c| c.uuid),
        keyword,
        opt_state,
        reply_uuid,
    }))
}

/// The dealers other than `dealer` texting from the same number (only in a database from
/// before numbers were kept to one dealer), each once.
fn other_dealers(departments: &[Department], dealer: Uuid) -> Vec<Uuid> {
    let mut others: Vec<Uuid> = departments
        .iter()
        .map(|d| d.dealer_uuid)
        .filter(|d| *d != dealer)
        .collect();
    others.sort();
    others.dedup();
    others
}
