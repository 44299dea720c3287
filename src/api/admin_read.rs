//! The operator reads back what Herald holds (SPEC 8, admin read API): dealers, a department
//! with its settings and users, credentials (never a secret), the message log and one message
//! with its attempts and callbacks. Every list answers `{items, nextPageToken}`, paged as
//! src/api/admin_paging.rs describes.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::admin::{dealer, department};
pub(crate) use super::admin_paging::PageParams;
use super::admin_paging::{
    List, Page, cut, decode_token, decode_uuid_token, encode_token, given, page_size, rfc3339,
};
use super::auth::Admin;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiPath, ApiQuery, path_uuid};
use super::messages::{AttemptView, CallbackView, MessageView};
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::Grant;
use crate::domain::directory::{Department, DepartmentSettings, User};
use crate::domain::message::{Message, MessageStatus, Protocol};
use crate::store::admin_reads::{CredentialEntry, DealerEntry, MessageFilter};
use crate::store::{AttemptRecord, CallbackRecord};

/// The read routes, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dealers", get(list_dealers))
        .route("/dealers/{dealer}", get(show_dealer))
        .route("/departments/{department}", get(show_department))
        .route("/credentials", get(list_credentials))
        .route("/messages", get(list_messages))
        .route("/messages/{message}", get(show_message))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DealerItem {
    uuid: Uuid,
    name: String,
    created_at: String,
}

/// One page of dealers, oldest first, and the next page's token (admin API and console).
pub(crate) async fn dealer_list(
    state: &AppState,
    params: &PageParams,
) -> Result<(Vec<DealerEntry>, Option<String>), ApiError> {
    let size = page_size(&params.page_size)?;
    let after = decode_uuid_token(List::Dealers, &params.page_token)?;
    let rows = state.store.dealers_page(after.as_ref(), size + 1).await?;
    Ok(cut(rows, size, |d| {
        encode_token(List::Dealers, d.created_at, &d.dealer.uuid.to_string())
    }))
}

/// `GET /admin/v1/dealers`: oldest first.
async fn list_dealers(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Page<DealerItem>> {
    let (rows, next_page_token) = dealer_list(&state, &params).await?;
    Ok(Reply::ok(Page {
        items: rows
            .into_iter()
            .map(|d| DealerItem {
                uuid: d.dealer.uuid,
                name: d.dealer.name,
                created_at: rfc3339(d.created_at),
            })
            .collect(),
        next_page_token,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentView {
    uuid: Uuid,
    dealer_uuid: Uuid,
    name: String,
    default_user_uuid: Uuid,
    settings: DepartmentSettings,
}

impl From<Department> for DepartmentView {
    fn from(d: Department) -> Self {
        Self {
            uuid: d.uuid,
            dealer_uuid: d.dealer_uuid,
            name: d.name,
            default_user_uuid: d.default_user_uuid,
            settings: d.settings,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DealerView {
    uuid: Uuid,
    name: String,
    departments: Vec<DepartmentView>,
}

#[derive(Serialize)]
pub struct DealerReply {
    dealer: DealerView,
}

/// `GET /admin/v1/dealers/{dealerUuid}`: the dealer and all its departments, oldest first.
async fn show_dealer(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<DealerReply> {
    let dealer = dealer(&state, &segment).await?;
    let departments = state.store.departments_of(dealer.uuid).await?;
    Ok(Reply::ok(DealerReply {
        dealer: DealerView {
            uuid: dealer.uuid,
            name: dealer.name,
            departments: departments.into_iter().map(Into::into).collect(),
        },
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    uuid: Uuid,
    first_name: String,
    last_name: String,
    email: Option<String>,
    can_text: bool,
    can_email: bool,
    is_default: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            uuid: u.uuid,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email.map(|e| e.as_str().to_string()),
            can_text: u.can_text,
            can_email: u.can_email,
            is_default: u.is_default,
        }
    }
}

#[derive(Serialize)]
pub struct DepartmentWithUsers {
    #[serde(flatten)]
    department: DepartmentView,
    users: Vec<UserView>,
}

#[derive(Serialize)]
pub struct DepartmentReply {
    department: DepartmentWithUsers,
}

/// `GET /admin/v1/departments/{uuid}`: its settings and its users, oldest first.
async fn show_department(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<DepartmentReply> {
    let department = department(&state, &segment).await?;
    let users = state.store.users_of(department.uuid).await?;
    Ok(Reply::ok(DepartmentReply {
        department: DepartmentWithUsers {
            department: department.into(),
            users: users.into_iter().map(Into::into).collect(),
        },
    }))
}

/// A credential as the operator sees it. There is deliberately no field for the password
/// hash or the webhook secret: neither can reach this answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialItem {
    username: String,
    grants: Vec<Grant>,
    created_at: String,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
}

impl From<CredentialEntry> for CredentialItem {
    fn from(c: CredentialEntry) -> Self {
        Self {
            username: c.username,
            grants: c.grants,
            created_at: rfc3339(c.created_at),
            revoked_at: c.revoked_at.map(rfc3339),
            last_used_at: c.last_used_at.map(rfc3339),
        }
    }
}

/// One page of credentials, oldest first, revoked ones included (admin API and console).
pub(crate) async fn credential_list(
    state: &AppState,
    params: &PageParams,
) -> Result<(Vec<CredentialEntry>, Option<String>), ApiError> {
    let size = page_size(&params.page_size)?;
    let after = decode_token(List::Credentials, &params.page_token)?;
    let rows = state
        .store
        .credentials_page(after.as_ref(), size + 1)
        .await?;
    Ok(cut(rows, size, |c| {
        encode_token(List::Credentials, c.created_at, &c.username)
    }))
}

/// `GET /admin/v1/credentials`: oldest first, revoked ones included (with `revokedAt`).
async fn list_credentials(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Page<CredentialItem>> {
    let (rows, next_page_token) = credential_list(&state, &params).await?;
    Ok(Reply::ok(Page {
        items: rows.into_iter().map(CredentialItem::from).collect(),
        next_page_token,
    }))
}

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
async fn list_messages(
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
async fn show_message(
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
