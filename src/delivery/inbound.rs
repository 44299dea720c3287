//! Inbound texts (SPEC 5.1): recorded as INCOMING in the customer's thread, keywords applied
//! to the number's opt state, and the keyword's reply queued like any other message.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use super::own_messages::own_text;
use crate::domain::PhoneNumber;
use crate::domain::keywords::{Keyword, classify};
use crate::domain::message::{Direction, MessageStatus, Purpose};
use crate::domain::optout::{OptEvent, OptSource, OptState};
use crate::store::{CustomerQuery, NewJob, OptChange, Store};

pub struct InboundText {
    pub from: PhoneNumber,
    pub to: PhoneNumber,
    pub body: String,
    pub provider_message_id: Option<String>,
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
    let Some(department) = store
        .departments_by_sender(&text.to)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let dealer = store
        .dealer(department.dealer_uuid)
        .await?
        .ok_or_else(|| anyhow::anyhow!("department {} has no dealer", department.uuid))?;
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

    let mut incoming = own_text(
        &department,
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
    store.accept_message(&incoming, None, None, None).await?;

    let keyword = classify(&text.body);
    let event = match keyword {
        Some(Keyword::OptOut) => Some(OptEvent::StopMessageReceived),
        Some(Keyword::OptIn) => Some(OptEvent::OptinMessageReceived),
        _ => None,
    };
    let opt_state = match event {
        Some(event) => {
            let change = OptChange {
                phone: &text.from,
                event,
                source: OptSource::Inbound,
            };
            let state = store.apply_opt_changes(dealer.uuid, &[change], now).await?[0].state;
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
        let mut reply = own_text(
            &department,
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
