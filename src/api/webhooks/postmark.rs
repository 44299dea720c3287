//! `POST /webhooks/postmark`: Postmark's Delivery, Bounce, SpamComplaint and
//! SubscriptionChange events (read by src/providers/postmark/webhook.rs), behind the Basic
//! credentials of `[webhooks]`. With no
//! credentials configured the endpoint refuses everything with `403` (Postmark stops retrying
//! on a 403); wrong credentials are `401`.
//!
//! A message is found by Postmark's `MessageID` (kept as the provider message id) or by the
//! `messageUUID` Herald put in `Metadata`. An event for a message not yet recorded as sent is
//! answered `503`, so Postmark retries it once the send is recorded (a receipt applied earlier
//! would be overwritten by the send's own record).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;
use crate::api::extract::ApiBody;
use crate::api::state::AppState;
use crate::domain::EmailAddress;
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageStatus, Protocol};
use crate::domain::optout::{OptCause, OptEvent, OptSource};
use crate::providers::Receipt;
use crate::providers::postmark::webhook::{Event, Report};
use crate::store::EmailOptChange;

pub(super) fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let hooks = &state.settings.webhooks;
    let (Some(user), Some(password)) = (
        hooks.postmark_username.as_deref().filter(|u| !u.is_empty()),
        hooks
            .postmark_password
            .as_ref()
            .map(|p| p.expose_secret())
            .filter(|p| !p.is_empty()),
    ) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::WebhookDisabled,
            "the Postmark webhook is disabled: set webhooks.postmark_username and postmark_password",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .unwrap_or_default();
    // Digests first, so the comparison takes the same time whatever the lengths.
    let expected = Sha256::digest(format!("{user}:{password}").as_bytes());
    if bool::from(Sha256::digest(&given).ct_eq(&expected)) {
        Ok(())
    } else {
        Err(ApiError::unauthenticated())
    }
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: ApiBody,
) -> Result<StatusCode, ApiError> {
    authorized(&state, &headers)?;
    // Read only once the caller is known to be Postmark.
    let event: Event = body.json().await?;
    let message = find_message(&state, &event).await?;
    let Some(message) = message else {
        tracing::info!(record = %event.record_type, "Postmark event for a message Herald does not know");
        return Ok(StatusCode::OK);
    };
    match event.report() {
        Report::Delivered { address } => {
            if is_recipient(&message, address) {
                receipt(&state, &message, Receipt::Delivered).await?;
            }
        }
        Report::Refused {
            address,
            receipt: refused,
        } => {
            stop_emailing(&state, &message, address).await?;
            if is_recipient(&message, address) {
                receipt(&state, &message, refused).await?;
            }
        }
        Report::Unsubscribed { address } => stop_emailing(&state, &message, address).await?,
        Report::Ignored => tracing::debug!(record = %event.record_type, "Postmark event ignored"),
    }
    Ok(StatusCode::OK)
}

/// The EMAIL message an event is about: by Postmark's MessageID, else by our Metadata.
async fn find_message(state: &AppState, event: &Event) -> Result<Option<Message>, ApiError> {
    if let Some(id) = event.message_id()
        && let Some(message) = state.store.message_by_provider_id(id).await?
    {
        return Ok(Some(message).filter(|m| m.protocol == Protocol::Email));
    }
    let Some(uuid) = event.message_uuid() else {
        return Ok(None);
    };
    Ok(state
        .store
        .message(uuid)
        .await?
        .filter(|m| m.protocol == Protocol::Email))
}

/// Whether the event concerns the message's own recipient (not one of its CC/BCC); an event
/// naming no address is taken to.
fn is_recipient(message: &Message, address: Option<&str>) -> bool {
    address.is_none_or(|a| a.trim().eq_ignore_ascii_case(message.recipient.as_str()))
}

async fn receipt(state: &AppState, message: &Message, receipt: Receipt) -> Result<(), ApiError> {
    if matches!(
        message.status,
        MessageStatus::Accepted | MessageStatus::Scheduled
    ) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::InternalServerError,
            "the message is not recorded as sent yet; try again later",
        ));
    }
    let moved = state
        .deliverer
        .apply_receipt(message, receipt)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(message_uuid = %message.uuid, moved, "Postmark receipt");
    Ok(())
}

/// `okToEmail = false` for `address` (the message's recipient when the event names none)
/// wherever the message's dealer has it.
async fn stop_emailing(
    state: &AppState,
    message: &Message,
    address: Option<&str>,
) -> Result<(), ApiError> {
    let address = address.unwrap_or(message.recipient.as_str());
    let Ok(email) = EmailAddress::parse(address) else {
        tracing::warn!("Postmark named an address Herald cannot read; nothing marked");
        return Ok(());
    };
    let change = EmailOptChange {
        email: &email,
        ok_to_email: false,
        event: OptEvent::ProviderReportedOptOut,
        source: OptSource::Provider,
        cause: &OptCause::message(message.uuid),
    };
    let changed = state
        .store
        .set_ok_to_email(message.dealer_uuid, &change, state.clock.now())
        .await?;
    tracing::info!(
        message_uuid = %message.uuid,
        changed,
        "address marked not ok to email after a Postmark report"
    );
    Ok(())
}
