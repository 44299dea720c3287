//! The operator's actions on one message (SPEC 8): cancel one not yet handed over, retry one
//! that failed or expired. The use cases are plain functions so the operator console calls
//! the very same code as the API; the handlers only add the admin check and the answer body
//! (the message view of `GET /admin/v1/messages/{uuid}`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use uuid::Uuid;

use super::admin_read::{MessageReply, message_reply, no_such_message};
use super::auth::Admin;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiPath, path_uuid};
use super::state::AppState;
use crate::delivery::callback;
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageStatus};
use crate::store::admin_actions::ActionOutcome;

/// The action routes, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messages/{message}/cancel", post(cancel))
        .route("/messages/{message}/retry", post(retry))
}

async fn cancel(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<MessageReply> {
    let uuid = path_uuid(&segment).ok_or_else(no_such_message)?;
    let message = cancel_message(&state, uuid).await?;
    Ok(Reply::ok(message_reply(&state, message).await?))
}

async fn retry(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<MessageReply> {
    let uuid = path_uuid(&segment).ok_or_else(no_such_message)?;
    let message = retry_message(&state, uuid).await?;
    Ok(Reply::ok(message_reply(&state, message).await?))
}

/// Ends an `ACCEPTED`, `SCHEDULED` or `WAITING_FOR_OPTIN` message `CANCELLED`: its delivery
/// job goes, and its callback (if it asked for callbacks) is enqueued in the same transaction.
/// A message a worker holds (it may be with the provider) or in any other status is a `409`
/// `MESSAGE_NOT_CANCELLABLE` and nothing changes; an unknown one a `404`.
pub(crate) async fn cancel_message(state: &AppState, message: Uuid) -> Result<Message, ApiError> {
    let before = state
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)?;
    let now = state.clock.now();
    let notice = callback(&before, MessageStatus::Cancelled, None);
    let queued_callback = notice.is_some();
    match state.store.cancel_message(message, notice, now).await? {
        ActionOutcome::Done => {}
        ActionOutcome::Missing => return Err(no_such_message()),
        ActionOutcome::Refused => {
            return Err(refused(
                state,
                message,
                ErrorCode::MessageNotCancellable,
                "only an ACCEPTED, SCHEDULED or WAITING_FOR_OPTIN message no worker is sending can be cancelled",
            )
            .await);
        }
    }
    if queued_callback {
        state.deliverer.callbacks_queued();
    }
    tracing::info!(message_uuid = %message, "message cancelled by the operator");
    state
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)
}

/// Puts a `FAILED` or `EXPIRED` message back in the queue: `ACCEPTED`, its error cleared, a
/// job due now with a fresh backoff schedule and a fresh `delivery.max_age_seconds` window
/// (counted from now). Every delivery rule (opt state, blacklist, rate limits, quiet hours)
/// is applied again by the step that takes it. Any other status is a `409`
/// `MESSAGE_NOT_RETRYABLE`; an unknown message a `404`. Its attempt history is kept.
pub(crate) async fn retry_message(state: &AppState, message: Uuid) -> Result<Message, ApiError> {
    let before = state
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)?;
    let now = state.clock.now();
    // The step measures a message's age from its due time (`created_at + delay`): moving that
    // to now gives the retried message the whole window again, with no column of its own.
    let mut options = before.options.clone();
    let since_created = (now - before.created_at).whole_seconds().max(0) as u64;
    options.delay_seconds = options.delay_seconds.max(since_created);
    match state.store.requeue_message(message, &options, now).await? {
        ActionOutcome::Done => {}
        ActionOutcome::Missing => return Err(no_such_message()),
        ActionOutcome::Refused => {
            return Err(refused(
                state,
                message,
                ErrorCode::MessageNotRetryable,
                "only a FAILED or EXPIRED message can be retried",
            )
            .await);
        }
    }
    state.delivery_wake.notify_one();
    tracing::info!(message_uuid = %message, "message queued again by the operator");
    state
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)
}

/// The `409` for an action the message's state does not allow, naming that state.
async fn refused(state: &AppState, message: Uuid, code: ErrorCode, rule: &str) -> ApiError {
    let status = match state.store.message(message).await {
        Ok(Some(m)) => m.status.as_str(),
        _ => "unknown",
    };
    ApiError::new(
        StatusCode::CONFLICT,
        code,
        format!("{rule}; this message is {status}"),
    )
}
