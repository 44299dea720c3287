//! `GET /admin/v1/queue` (SPEC 8): the delivery queue and the callback queue at a glance —
//! what is due and how long the oldest has waited, what is held (scheduled, waiting for an
//! opt-in, backing off before a retry), what workers hold right now, what failed in the last
//! hour, and the callbacks still pending or given up on.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::admin_paging::rfc3339;
use super::auth::Admin;
use super::error::{ApiError, ApiResult, Reply};
use super::state::AppState;
use crate::store::admin_ops::QueueFigures;

/// The queue route, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/queue", get(show))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryQueue {
    due: u64,
    oldest_due_at: Option<String>,
    /// Seconds the oldest due job has waited; `0` when nothing is due.
    oldest_due_age_seconds: i64,
    scheduled: u64,
    waiting_for_optin: u64,
    retrying: u64,
    in_flight: u64,
    in_doubt: u64,
    failed_last_hour: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackQueue {
    pending: u64,
    retrying: u64,
    failed: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReply {
    measured_at: String,
    messages: DeliveryQueue,
    callbacks: CallbackQueue,
}

/// The queue's figures now (admin API and console overview).
pub(crate) async fn queue_figures(state: &AppState) -> Result<QueueFigures, ApiError> {
    Ok(state.store.queue_figures(state.clock.now()).await?)
}

async fn show(_: Admin, State(state): State<AppState>) -> ApiResult<QueueReply> {
    let now = state.clock.now();
    let q = state.store.queue_figures(now).await?;
    let age = q
        .oldest_due_at
        .map(|t| (now - t).whole_seconds().max(0))
        .unwrap_or(0);
    Ok(Reply::ok(QueueReply {
        measured_at: rfc3339(now),
        messages: DeliveryQueue {
            due: q.due,
            oldest_due_at: q.oldest_due_at.map(rfc3339),
            oldest_due_age_seconds: age,
            scheduled: q.scheduled,
            waiting_for_optin: q.waiting_for_optin,
            retrying: q.retrying,
            in_flight: q.in_flight,
            in_doubt: q.in_doubt,
            failed_last_hour: q.failed_last_hour,
        },
        callbacks: CallbackQueue {
            pending: q.callbacks_pending,
            retrying: q.callbacks_retrying,
            failed: q.callbacks_failed,
        },
    }))
}
