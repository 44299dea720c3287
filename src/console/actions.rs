//! The buttons on a message: retry a `FAILED` or `EXPIRED` one, cancel one not yet handed
//! over. Both call the use cases the admin API calls (src/service/admin_actions.rs), so every rule that
//! refuses an action there refuses it here, with the same reason.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::csrf::Posted;
use super::layout::{self, action};
use super::session::Session;
use crate::api::AppState;
use crate::api::admin_actions::action_deps;
use crate::api::admin_read::no_such_message;
use crate::api::error::ApiError;
use crate::api::extract::path_uuid;
use crate::domain::message::{Message, MessageStatus};
use crate::service::admin_actions::{cancel_message, retry_message};

/// The actions the message's status allows, as buttons.
pub fn buttons(session: &Session, m: &Message) -> Markup {
    let retry = matches!(m.status, MessageStatus::Failed | MessageStatus::Expired);
    let cancel = matches!(
        m.status,
        MessageStatus::Accepted | MessageStatus::Scheduled | MessageStatus::WaitingForOptin
    );
    html! {
        p.actions {
            @if retry { (action(session, &format!("/console/messages/{}/retry", m.uuid), "Retry")) }
            @if cancel { (action(session, &format!("/console/messages/{}/cancel", m.uuid), "Cancel")) }
        }
    }
}

/// `POST /console/messages/{uuid}/retry`: back to the message, or why not.
pub async fn retry(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    form: Posted,
) -> Response {
    let done = match path_uuid(&segment) {
        Some(uuid) => retry_message(&action_deps(&state), uuid)
            .await
            .map_err(ApiError::from),
        None => Err(no_such_message()),
    };
    answer(&form.session, done)
}

/// `POST /console/messages/{uuid}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    form: Posted,
) -> Response {
    let done = match path_uuid(&segment) {
        Some(uuid) => cancel_message(&action_deps(&state), uuid)
            .await
            .map_err(ApiError::from),
        None => Err(no_such_message()),
    };
    answer(&form.session, done)
}

fn answer(session: &Session, done: Result<Message, ApiError>) -> Response {
    match done {
        Ok(m) => Redirect::to(&format!("/console/messages/{}", m.uuid)).into_response(),
        Err(error) => layout::failure(session, error),
    }
}
