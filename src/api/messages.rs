//! Message history: one message's status with its attempts and callbacks, and a customer's
//! thread, newest first, paged.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::auth::Integrator;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiPath, ApiQuery, path_uuid};
use super::lookup::{dealer_customer, invalid_customer_404};
use super::state::AppState;
use crate::domain::attachment::AttachmentInfo;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::Scope;
use crate::domain::message::{Direction, Message, MessageStatus, Protocol, Purpose};
use crate::domain::report::{ReportError, ReportWarning};
use crate::store::{AttemptRecord, CallbackRecord, ThreadCursor};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    #[serde(rename = "messageUUID")]
    message_uuid: Uuid,
    #[serde(rename = "customerUUID")]
    customer_uuid: Option<Uuid>,
    #[serde(rename = "userUUID")]
    user_uuid: Option<Uuid>,
    #[serde(rename = "departmentUUID")]
    department_uuid: Uuid,
    #[serde(rename = "type")]
    direction: Direction,
    protocol: Protocol,
    purpose: Purpose,
    is_manual: bool,
    message_status: MessageStatus,
    /// While `SCHEDULED`: when its first attempt is due (RFC 3339 UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<String>,
    /// What was sent (composed), or the body as requested while not yet sent.
    body: String,
    subject: Option<String>,
    /// An email's `htmlBody` as requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    html_body: Option<String>,
    /// `{attachmentUUID, fileName, contentType, size}` of each file sent or received with it.
    attachments: Vec<AttachmentInfo>,
    communication_value: String,
    from: Option<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    message_errors: Vec<ReportError>,
    message_warnings: Vec<ReportWarning>,
    meta_data: std::collections::BTreeMap<String, serde_json::Value>,
    created_at: String,
    updated_at: String,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        let report = crate::domain::report::MessageReport::of(&m, m.request_uuid);
        Self {
            message_uuid: m.uuid,
            customer_uuid: m.customer_uuid,
            user_uuid: m.user_uuid,
            department_uuid: m.department_uuid,
            direction: m.direction,
            protocol: m.protocol,
            purpose: m.purpose,
            is_manual: m.is_manual,
            message_status: m.status,
            scheduled_for: m.scheduled_for().map(crate::domain::report::rfc3339_utc),
            body: m.composed_body.unwrap_or(m.body),
            subject: m.subject,
            html_body: m.html_body,
            attachments: m.attachments,
            communication_value: m.recipient.to_string(),
            from: m.sender,
            cc: m.cc.iter().map(|a| a.to_string()).collect(),
            bcc: m.bcc.iter().map(|a| a.to_string()).collect(),
            message_errors: report.errors,
            message_warnings: report.warnings,
            meta_data: m.callback_metadata,
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    attempt: u32,
    at: String,
    outcome: String,
    error_code: Option<String>,
    detail: Option<String>,
}

impl From<AttemptRecord> for AttemptView {
    fn from(a: AttemptRecord) -> Self {
        Self {
            attempt: a.attempt,
            at: rfc3339(a.at),
            outcome: a.outcome,
            error_code: a.error_code,
            detail: a.detail,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackView {
    webhook_id: String,
    url: String,
    state: String,
    attempts: u32,
    last_result: Option<String>,
    created_at: String,
}

impl From<CallbackRecord> for CallbackView {
    fn from(c: CallbackRecord) -> Self {
        Self {
            webhook_id: c.webhook_id,
            url: c.url,
            state: c.state,
            attempts: c.attempts,
            last_result: c.last_result,
            created_at: rfc3339(c.created_at),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReply {
    message: MessageView,
    attempts: Vec<AttemptView>,
    callbacks: Vec<CallbackView>,
}

/// `GET /communications/department/{departmentUUID}/message/{messageUUID}`.
pub async fn status(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, message)): ApiPath<(String, String)>,
) -> ApiResult<StatusReply> {
    let department = auth
        .department(&state, &department, Scope::MessageRead)
        .await?;
    let not_found =
        || ApiError::not_found(ErrorCode::NotFound, "no such message in this department");
    let uuid = path_uuid(&message).ok_or_else(not_found)?;
    let message = state
        .store
        .message(uuid)
        .await?
        .filter(|m| m.department_uuid == department.uuid)
        .ok_or_else(not_found)?;
    let attempts = state.store.attempts(uuid).await?;
    let callbacks = state.store.callbacks(uuid).await?;
    Ok(Reply::ok(StatusReply {
        message: message.into(),
        attempts: attempts.into_iter().map(Into::into).collect(),
        callbacks: callbacks.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadParams {
    page_size: Option<String>,
    page_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReply {
    /// The dealer associate who owns the thread (SPEC 1), once anyone has written in it.
    #[serde(rename = "ownerUserUUID")]
    owner_user_uuid: Option<Uuid>,
    messages: Vec<MessageView>,
    next_page_token: Option<String>,
}

const DEFAULT_PAGE: u32 = 50;

/// `GET /communications/department/{departmentUUID}/customer/{customerUuid}/messages`.
pub async fn thread(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, customer)): ApiPath<(String, String)>,
    params: Result<ApiQuery<ThreadParams>, ApiError>,
) -> ApiResult<ThreadReply> {
    let department = auth
        .department(&state, &department, Scope::MessageRead)
        .await?;
    let ApiQuery(params) = params?;
    let customer = dealer_customer(&state, &department, &customer)
        .await?
        .ok_or_else(|| invalid_customer_404(None))?;
    let size = match params.page_size.as_deref() {
        None => DEFAULT_PAGE,
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::invalid_request("pageSize: a whole number from 1 to 200"))?,
    };
    let before = match params.page_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(parse_token(token).ok_or_else(|| {
            ApiError::invalid_request("pageToken: not a token this endpoint gave")
        })?),
    };
    let page = state
        .store
        .thread(department.uuid, customer.uuid, before, size + 1)
        .await?;
    let more = page.len() as u32 > size;
    let messages: Vec<Message> = page.into_iter().take(size as usize).collect();
    let next_page_token = more.then(|| messages.last().map(token)).flatten();
    let owner_user_uuid = state
        .store
        .thread_owner(department.uuid, customer.uuid)
        .await?;
    Ok(Reply::ok(ThreadReply {
        owner_user_uuid,
        messages: messages.into_iter().map(Into::into).collect(),
        next_page_token,
    }))
}

pub(crate) fn token(m: &Message) -> String {
    format!(
        "{}_{}",
        m.created_at.unix_timestamp_nanos() / 1_000_000,
        m.uuid.simple()
    )
}

pub(crate) fn parse_token(token: &str) -> Option<ThreadCursor> {
    let (ms, uuid) = token.split_once('_')?;
    let ms: i128 = ms.parse().ok()?;
    Some(ThreadCursor {
        created_at: OffsetDateTime::from_unix_timestamp_nanos(ms.checked_mul(1_000_000)?).ok()?,
        uuid: Uuid::parse_str(uuid).ok()?,
    })
}
