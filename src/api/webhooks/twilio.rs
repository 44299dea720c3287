//! `POST /webhooks/twilio/status` (delivery receipts) and `POST /webhooks/twilio/inbound`
//! (texts from customers): the HTTP side; what the parameters mean is read by
//! src/providers/twilio/webhook.rs. Both are signed by Twilio with the account's auth token over the
//! URL it was given, `public_base_url` + path + query; anything unsigned or wrongly signed is
//! `403` and changes nothing. The signature is over the form's parameters, so the body is read
//! (not interpreted) to check it: a request without a signature is refused before that, and
//! no field is looked at before the signature holds.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

use crate::api::error::ApiError;
use crate::api::extract::ApiBody;
use crate::api::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::message::Protocol;
use crate::providers::twilio::signature as twilio_signature;
use crate::providers::twilio::webhook::{self, Params};
use crate::service::inbound::{self, InboundText};

async fn verified(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: ApiBody,
) -> Result<Params, ApiError> {
    let Some(token) = state
        .settings
        .text
        .twilio
        .auth_token
        .as_ref()
        .map(|t| t.expose_secret())
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::WebhookDisabled,
            "Twilio webhooks are disabled: set text.twilio.auth_token",
        ));
    };
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidSignature,
            "missing or invalid X-Twilio-Signature",
        )
    };
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(refused)?;
    let body = body.bytes().await?;
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let url = format!("{}{path}", state.settings.public_base_url());
    if !twilio_signature::verify(token, &url, &params, signature) {
        tracing::warn!(%url, "refused a Twilio webhook with a bad signature");
        return Err(refused());
    }
    Ok(Params(params))
}

/// `POST /webhooks/twilio/status`: `delivered`, `undelivered` and `failed` become the
/// message's status and a callback; Twilio's intermediate statuses are acknowledged only.
pub async fn status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: ApiBody,
) -> Result<StatusCode, ApiError> {
    let params = verified(&state, &uri, &headers, body).await?;
    let Some(webhook::StatusReport {
        sid,
        reported,
        receipt: Some(receipt),
    }) = webhook::status_report(&params)
    else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let message = state.store.message_by_provider_id(sid).await?;
    match message {
        Some(message) if message.protocol == Protocol::Text => {
            let moved = state
                .deliverer
                .apply_receipt(&message, receipt)
                .await
                .map_err(ApiError::internal)?;
            tracing::info!(message_uuid = %message.uuid, status = reported, moved, "Twilio receipt");
        }
        _ => tracing::info!(
            sid,
            status = reported,
            "Twilio receipt for a message Herald does not know"
        ),
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /webhooks/twilio/inbound`: the text is recorded as INCOMING and its keyword applied;
/// replies leave through Herald's own queue, so the TwiML answer is empty.
pub async fn inbound(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: ApiBody,
) -> Result<Response, ApiError> {
    let params = verified(&state, &uri, &headers, body).await?;
    let Some(sms) = webhook::inbound_sms(&params) else {
        tracing::warn!("Twilio inbound text without a usable From or To number; ignored");
        return Ok(empty_twiml());
    };
    if let Some(sid) = &sms.sid
        && state.store.message_by_provider_id(sid).await?.is_some()
    {
        // Twilio sent this one before (a retried webhook): it is recorded already.
        return Ok(empty_twiml());
    }
    let to = sms.to.clone();
    let attachments = state.inbound_media.fetch(&sms.media).await;
    let text = InboundText {
        from: sms.from,
        to: sms.to,
        body: sms.body,
        provider_message_id: sms.sid,
        attachments,
    };
    let received = inbound::receive(&state.store, &state.delivery_wake, text, state.clock.now())
        .await
        .map_err(ApiError::internal)?;
    match received {
        Some(r) => {
            tracing::info!(message_uuid = %r.message_uuid, keyword = ?r.keyword, "inbound text")
        }
        None => tracing::warn!(%to, "inbound text to a number no department texts from"),
    }
    Ok(empty_twiml())
}

fn empty_twiml() -> Response {
    let mut response = webhook::EMPTY_TWIML.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    response
}
