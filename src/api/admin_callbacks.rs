//! The callbacks a client never received (SPEC 8): `GET /admin/v1/callbacks?status=FAILED`
//! lists them newest first, `POST /admin/v1/callbacks/{webhookId}/retry` delivers one again
//! with the same `webhook-id` and payload, so a receiver that saw it after all drops the
//! repeat. The use cases are plain functions the console calls too.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::admin_paging::{List, Page, cut, decode_token, encode_token, given, page_size};
use super::auth::Admin;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiPath, ApiQuery};
use super::messages::CallbackView;
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::store::admin_actions::ActionOutcome;
use crate::store::admin_ops::{CallbackEntry, CallbackState};

/// The callback routes, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/callbacks", get(list))
        .route("/callbacks/{webhook}/retry", post(retry))
}

/// The list's query: `status` is `FAILED` (the default) or `PENDING`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallbackParams {
    pub(crate) status: Option<String>,
    pub(crate) page_size: Option<String>,
    pub(crate) page_token: Option<String>,
}

/// A callback with the message it reports on.
#[derive(Serialize)]
pub struct CallbackItem {
    #[serde(rename = "messageUUID")]
    message_uuid: Uuid,
    #[serde(flatten)]
    callback: CallbackView,
}

impl From<CallbackEntry> for CallbackItem {
    fn from(e: CallbackEntry) -> Self {
        Self {
            message_uuid: e.message_uuid,
            callback: e.callback.into(),
        }
    }
}

#[derive(Serialize)]
pub struct CallbackReply {
    callback: CallbackItem,
}

/// One page of callbacks in the asked state, newest first (admin API and console).
pub(crate) async fn callback_list(
    state: &AppState,
    params: &CallbackParams,
) -> Result<(Vec<CallbackEntry>, Option<String>), ApiError> {
    let status = match given(&params.status) {
        None => CallbackState::Failed,
        Some(s) => CallbackState::parse(s).ok_or_else(|| {
            ApiError::invalid_request(format!(
                "status: {s:?} is not FAILED or PENDING (a delivered callback is read through its message)"
            ))
        })?,
    };
    let size = page_size(&params.page_size)?;
    let before = decode_token(List::Callbacks, &params.page_token)?;
    let rows = state
        .store
        .callbacks_page(status, before.as_ref(), size + 1)
        .await?;
    Ok(cut(rows, size, |e| {
        encode_token(
            List::Callbacks,
            e.callback.created_at,
            &e.callback.webhook_id,
        )
    }))
}

async fn list(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> ApiResult<Page<CallbackItem>> {
    let (rows, next_page_token) = callback_list(&state, &params).await?;
    Ok(Reply::ok(Page {
        items: rows.into_iter().map(CallbackItem::from).collect(),
        next_page_token,
    }))
}

fn no_such_callback() -> ApiError {
    ApiError::not_found(ErrorCode::NotFound, "no such callback")
}

/// Puts a `FAILED` callback back in the dispatchers' queue, due now with a fresh retry
/// schedule; it keeps its `webhook-id` and payload. Any other state is a `409`
/// `CALLBACK_NOT_RETRYABLE`; an unknown `webhook-id` a `404`. Answers the callback as it is
/// now (`PENDING`).
pub(crate) async fn redeliver_callback(
    state: &AppState,
    webhook_id: &str,
) -> Result<CallbackEntry, ApiError> {
    let now = state.clock.now();
    match state.store.redeliver_callback(webhook_id, now).await? {
        ActionOutcome::Done => {}
        ActionOutcome::Missing => return Err(no_such_callback()),
        ActionOutcome::Refused => {
            let current = state
                .store
                .callback(webhook_id)
                .await?
                .map(|e| e.callback.state)
                .unwrap_or_else(|| "unknown".into());
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::CallbackNotRetryable,
                format!("only a FAILED callback can be delivered again; this one is {current}"),
            ));
        }
    }
    state.deliverer.callbacks_queued();
    tracing::info!(webhook_id, "callback queued again by the operator");
    state
        .store
        .callback(webhook_id)
        .await?
        .ok_or_else(no_such_callback)
}

async fn retry(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(webhook_id): ApiPath<String>,
) -> ApiResult<CallbackReply> {
    let entry = redeliver_callback(&state, &webhook_id).await?;
    Ok(Reply::ok(CallbackReply {
        callback: entry.into(),
    }))
}
