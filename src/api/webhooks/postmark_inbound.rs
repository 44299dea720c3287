//! `POST /webhooks/postmark/inbound`: Postmark's inbound webhook, a customer's email to one of
//! the dealer's addresses (read by src/providers/postmark/inbound.rs), behind the same Basic
//! credentials as `/webhooks/postmark`. Recorded by `service::inbound_email`; answered `200`
//! once it is durable (Postmark retries anything else), and `200` too for an email no
//! department's address received (logged: retrying could not place it).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::postmark::authorized;
use crate::api::error::ApiError;
use crate::api::extract::ApiBody;
use crate::api::state::AppState;
use crate::providers::postmark::inbound::Payload;
use crate::service::inbound_email::{self, Received};

pub async fn inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: ApiBody,
) -> Result<StatusCode, ApiError> {
    authorized(&state, &headers)?;
    // Read only once the caller is known to be Postmark.
    let payload: Payload = body.json().await?;
    let Some(email) = payload.read() else {
        return Err(ApiError::invalid_request(
            "FromFull.Email: no sender address",
        ));
    };
    let dropped = email.dropped;
    let received = inbound_email::receive(&state.store, email, state.clock.now())
        .await
        .map_err(ApiError::internal)?;
    match received {
        Received::Recorded {
            message_uuid,
            customer_uuid,
            ..
        } => tracing::info!(
            %message_uuid,
            known_sender = customer_uuid.is_some(),
            dropped_attachments = dropped,
            "inbound email"
        ),
        Received::Again { message_uuid } => {
            tracing::info!(%message_uuid, "inbound email recorded before")
        }
        Received::NoDepartment => {
            tracing::warn!("inbound email to no address a department emails from; not kept")
        }
    }
    Ok(StatusCode::OK)
}
