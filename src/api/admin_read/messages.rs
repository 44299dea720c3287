//! Messages: the filtered log, and one message with its attempts and callbacks.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::api::admin_paging::{
    List, Page, cut, decode_uuid_token, encode_token, given, page_size,
};
use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, Reply};
use crate::api::extract::{ApiPath, ApiQuery, path_uuid};
use crate::api::messages::{AttemptView, CallbackView, MessageView};
use crate::api::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageStatus, Protocol};
use crate::store::admin_reads::MessageFilter;
use crate::store::{AttemptRecord, CallbackRecord};

/// The message log's query, as the admin API and the console's filter form both name it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageParams {
    pub(crate) page_size: Option<String>,
    pub(crate) page_token: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) dealer_uuid: Option<String>,
    pub(crate) department_uuid: Option<String>,
    pub(crate) customer_uuid: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
}

fn query_uuid(raw: &Option<String>, name: &str) -> Result<Option<Uuid>, ApiError> {
    given(raw)
        .map(|v| {
            Uuid::parse_str(v).map_err(|_| ApiError::invalid_request(format!("{name}: not a UUID")))
        })
        .transpose()
}

fn query_time(raw: &Option<String>, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    given(raw)
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                ApiError::invalid_request(format!(
                    "{name}: an RFC 3339 time such as 2026-12-01T00:00:00Z"
                ))
            })
        })
        .transpose()
}

impl MessageParams {
    fn filter(&self) -> Result<MessageFilter, ApiError> {
        let status = given(&self.status)
            .map(|s| {
                MessageStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid_request(format!("status: {s:?} is not a message status"))
                })
            })
            .transpose()?;
        let protocol = given(&self.protocol)
            .map(|p| {
                Protocol::parse(p).ok_or_else(|| {
                    ApiError::invalid_request(format!("protocol: {p:?} is not TEXT or EMAIL"))
                })
            })
            .transpose()?;
        Ok(MessageFilter {
            status,
            protocol,
            dealer: query_uuid(&self.dealer_uuid, "dealerUuid")?,
            department: query_uuid(&self.department_uuid, "departmentUuid")?,
            customer: query_uuid(&self.customer_uuid, "customerUuid")?,
            since: query_time(&self.since, "since")?,
            until: query_time(&self.until, "until")?,
        })
    }
}

/// A message of the log: the status endpoint's view, with the dealer it belongs to.
#[derive(Serialize)]
pub struct MessageItem {
    #[serde(rename = "dealerUUID")]
    dealer_uuid: Uuid,
    #[serde(flatten)]
    message: MessageView,
}

impl From<Message> for MessageItem {
    fn from(m: Message) -> Self {
        Self {
            dealer_uuid: m.dealer_uuid,
            message: m.into(),
        }
    }
}

/// One page of the message log, newest first, filtered: the rows and the next page's token.
/// Shared by the admin API and the console (src/console/messages.rs).
pub(crate) async fn message_log(
    state: &AppState,
    params: &MessageParams,
) -> Result<(Vec<Message>, Option<String>), ApiError> {
    let size = page_size(&params.page_size)?;
    let before = decode_uuid_token(List::Messages, &params.page_token)?;
    let filter = params.filter()?;
    let rows = state
        .store
        .messages_page(&filter, before.as_ref(), size + 1)
        .await?;
    Ok(cut(rows, size, |m| {
        encode_token(List::Messages, m.created_at, &m.uuid.to_string())
    }))
}

/// `GET /admin/v1/messages`: every tenant's messages, newest first, filtered.
pub(super) async fn list_messages(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<MessageParams>,
) -> ApiResult<Page<MessageItem>> {
    let (rows, next_page_token) = message_log(&state, &params).await?;
    Ok(Reply::ok(Page {
        items: rows.into_iter().map(MessageItem::from).collect(),
        next_page_token,
    }))
}

#[derive(Serialize)]
pub struct MessageReply {
    message: MessageItem,
    attempts: Vec<AttemptView>,
    callbacks: Vec<CallbackView>,
}

/// A message with its attempts and callbacks, or `404`: shared by the admin API and the
/// console.
pub(crate) async fn message_detail(
    state: &AppState,
    segment: &str,
) -> Result<(Message, Vec<AttemptRecord>, Vec<CallbackRecord>), ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::NotFound, "no such message");
    let uuid = path_uuid(segment).ok_or_else(not_found)?;
    let message = state.store.message(uuid).await?.ok_or_else(not_found)?;
    let attempts = state.store.attempts(uuid).await?;
    let callbacks = state.store.callbacks(uuid).await?;
    Ok((message, attempts, callbacks))
}

/// `GET /admin/v1/messages/{messageUuid}`: the message, its attempts and its callbacks.
pub(super) async fn show_message(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<MessageReply> {
    let (message, attempts, callbacks) = message_detail(&state, &segment).await?;
    Ok(Reply::ok(MessageReply {
        message: message.into(),
        attempts: attempts.into_iter().map(Into::into).collect(),
        callbacks: callbacks.into_iter().map(Into::into).collect(),
    }))
}

/// The answer for an unknown message UUID.
pub(crate) fn no_such_message() -> ApiError {
    ApiError::not_found(ErrorCode::NotFound, "no such message")
}

/// `message` with its attempts and callbacks: the body of `GET /admin/v1/messages/{uuid}`
/// and of the actions on a message.
pub(crate) async fn message_reply(
    state: &AppState,
    message: Message,
) -> Result<MessageReply, ApiError> {
    let attempts = state.store.attempts(message.uuid).await?;
    let callbacks = state.store.callbacks(message.uuid).await?;
    Ok(MessageReply {
        message: message.into(),
        attempts: attempts.into_iter().map(Into::into).collect(),
        callbacks: callbacks.into_iter().map(Into::into).collect(),
    })
}
