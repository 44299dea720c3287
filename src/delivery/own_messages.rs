//! Messages Herald sends on its own: keyword replies and opt-in requests. They go through the
//! same durable queue as any other message, without callbacks.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::domain::PhoneNumber;
use crate::domain::directory::Department;
use crate::domain::message::{Message, Purpose};
use crate::domain::optout::{OptCause, OptSource};
use crate::store::{NewJob, Store};

/// Who asked for an opt-in request, for the number's history.
pub struct Asker {
    pub source: OptSource,
    /// The API request, or the one that accepted the send waiting for the opt-in.
    pub request_id: Option<Uuid>,
    /// The credential's username.
    pub actor: Option<String>,
}

/// Texts the department's opt-in request to `phone` unless one went out in the last 24 hours
/// or the number has decided already; returns the request's message UUID when one is queued.
/// The claim records the request in the number's history, naming the request's own message.
pub async fn request_optin(
    store: &Arc<dyn Store>,
    wake: &Notify,
    department: &Department,
    customer: Option<Uuid>,
    phone: &PhoneNumber,
    asked_by: Asker,
    now: OffsetDateTime,
) -> anyhow::Result<Option<Uuid>> {
    let mut request = Message::own_text(
        department,
        customer,
        phone,
        department.settings.optin_request_text.clone(),
        now,
    );
    request.purpose = Purpose::OptinRequest;
    request.options.add_tcpa_footer = false;
    let cause = OptCause {
        actor: asked_by.actor,
        message_uuid: Some(request.uuid),
        request_id: asked_by.request_id,
    };
    if !store
        .claim_optin_request(department.dealer_uuid, phone, asked_by.source, &cause, now)
        .await?
    {
        return Ok(None);
    }
    store
        .accept_message(
            &request,
            Some(NewJob {
                due_at: now,
                lease: None,
            }),
            None,
            None,
        )
        .await?;
    wake.notify_one();
    Ok(Some(request.uuid))
}
