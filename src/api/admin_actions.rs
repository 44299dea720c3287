//! The operator's actions on one message (SPEC 8): cancel one not yet handed over, retry one
//! that failed or expired. The rules are the use cases of
//! [`service::admin_actions`](crate::service::admin_actions), which the operator console calls
//! too; the handlers only add the admin check and the answer body (the message view of
//! `GET /admin/v1/messages/{uuid}`).

use axum::Router;
use axum::extract::State;
use axum::routing::post;

use super::admin_read::{MessageReply, message_reply, no_such_message};
use super::auth::Admin;
use super::error::{ApiResult, Reply};
use super::extract::{ApiPath, path_uuid};
use super::state::AppState;
use crate::service::admin_actions::{self, ActionDeps};

/// The action routes, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messages/{message}/cancel", post(cancel))
        .route("/messages/{message}/retry", post(retry))
}

/// What the actions reach, from the state.
pub(crate) fn action_deps(state: &AppState) -> ActionDeps<'_> {
    ActionDeps {
        store: &state.store,
        clock: &state.clock,
        deliverer: &state.deliverer,
        delivery_wake: &state.delivery_wake,
    }
}

async fn cancel(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<MessageReply> {
    let uuid = path_uuid(&segment).ok_or_else(no_such_message)?;
    let message = admin_actions::cancel_message(&action_deps(&state), uuid).await?;
    Ok(Reply::ok(message_reply(&state, message).await?))
}

async fn retry(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<MessageReply> {
    let uuid = path_uuid(&segment).ok_or_else(no_such_message)?;
    let message = admin_actions::retry_message(&action_deps(&state), uuid).await?;
    Ok(Reply::ok(message_reply(&state, message).await?))
}
