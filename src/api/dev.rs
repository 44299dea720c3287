//! `/dev`: see the whole flow with no provider account. `GET /dev/outbox` lists what the
//! outbox providers "sent"; `POST /dev/inbound` plays a customer texting in; `/dev/callbacks`
//! is a callback receiver to point `callbackURL` at. All but the receiver need the admin token.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::auth::Admin;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiJson, ApiQuery};
use super::state::AppState;
use crate::domain::PhoneNumber;
use crate::domain::attachment::AttachmentInfo;
use crate::domain::codes::ErrorCode;
use crate::domain::keywords::Keyword;
use crate::domain::optout::OptState;
use crate::service::inbound::{self, InboundText};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxView {
    #[serde(rename = "messageUUID")]
    message_uuid: Uuid,
    protocol: String,
    from: String,
    to: String,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: Option<String>,
    body: String,
    media_urls: Vec<String>,
    /// An email's HTML part, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    html_body: Option<String>,
    /// The files attached to an email (a text's media are in `mediaUrls`).
    attachments: Vec<AttachmentInfo>,
    sent_at: String,
}

#[derive(Serialize)]
pub struct OutboxReply {
    messages: Vec<OutboxView>,
}

#[derive(Deserialize)]
pub struct OutboxParams {
    limit: Option<u32>,
}

pub async fn outbox(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<OutboxParams>,
) -> ApiResult<OutboxReply> {
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state.store.outbox(limit).await?;
    Ok(Reply::ok(OutboxReply {
        messages: entries
            .into_iter()
            .map(|e| OutboxView {
                message_uuid: e.message_uuid,
                protocol: e.protocol,
                from: e.from,
                to: e.to,
                cc: e.cc,
                bcc: e.bcc,
                subject: e.subject,
                body: e.body,
                media_urls: e.media_urls,
                html_body: e.html_body,
                attachments: e.attachments,
                sent_at: e.sent_at.format(&Rfc3339).unwrap_or_default(),
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundBody {
    from: String,
    to: String,
    body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundReply {
    #[serde(rename = "messageUUID")]
    message_uuid: Uuid,
    #[serde(rename = "departmentUUID")]
    department_uuid: Uuid,
    #[serde(rename = "customerUUID")]
    customer_uuid: Option<Uuid>,
    keyword: Option<&'static str>,
    opt_out_state: OptState,
    #[serde(rename = "replyMessageUUID")]
    reply_message_uuid: Option<Uuid>,
}

pub async fn inbound(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<InboundBody>,
) -> ApiResult<InboundReply> {
    let from = PhoneNumber::parse(&body.from)
        .map_err(|e| ApiError::invalid_request(format!("from: {e}")))?;
    let to =
        PhoneNumber::parse(&body.to).map_err(|e| ApiError::invalid_request(format!("to: {e}")))?;
    let text = InboundText {
        from,
        to: to.clone(),
        body: body.body,
        provider_message_id: None,
        attachments: Vec::new(),
    };
    let received = inbound::receive(&state.store, &state.delivery_wake, text, state.clock.now())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(
                ErrorCode::InvalidDepartment,
                format!("no department texts from {to}"),
            )
        })?;
    Ok(Reply::ok(InboundReply {
        message_uuid: received.message_uuid,
        department_uuid: received.department_uuid,
        customer_uuid: received.customer_uuid,
        keyword: received.keyword.map(|k| match k {
            Keyword::OptOut => "OPT_OUT",
            Keyword::OptIn => "OPT_IN",
            Keyword::Help => "HELP",
        }),
        opt_out_state: received.opt_state,
        reply_message_uuid: received.reply_uuid,
    }))
}

/// How many received callbacks `/dev/callbacks` remembers.
const DEV_CALLBACKS_KEPT: usize = 100;

/// `POST /dev/callbacks`: keeps the callback (headers and body) in memory, the last 100.
pub async fn receive_callback(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    super::extract::ApiBytes(body): super::extract::ApiBytes,
) -> axum::http::StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let entry = serde_json::json!({
        "webhookId": header("webhook-id"),
        "webhookTimestamp": header("webhook-timestamp"),
        "webhookSignature": header("webhook-signature"),
        "body": serde_json::from_slice::<serde_json::Value>(&body).unwrap_or(serde_json::Value::Null),
    });
    let mut kept = state.dev_callbacks.lock().expect("dev callbacks lock");
    if kept.len() == DEV_CALLBACKS_KEPT {
        kept.pop_front();
    }
    kept.push_back(entry);
    axum::http::StatusCode::NO_CONTENT
}

#[derive(Serialize)]
pub struct CallbacksReply {
    callbacks: Vec<serde_json::Value>,
}

/// `GET /dev/callbacks`: what `POST /dev/callbacks` received, oldest first.
pub async fn callbacks(_: Admin, State(state): State<AppState>) -> ApiResult<CallbacksReply> {
    let kept = state.dev_callbacks.lock().expect("dev callbacks lock");
    Ok(Reply::ok(CallbacksReply {
        callbacks: kept.iter().cloned().collect(),
    }))
}
