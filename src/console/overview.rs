//! The overview: the queue now, what happened in the last hour, the callbacks failing, and
//! the newest failures.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use time::Duration;

use super::layout::{self, page, time};
use super::messages::table;
use super::session::Session;
use crate::api::AppState;
use crate::api::admin_queue::queue_figures;
use crate::api::admin_read::{MessageParams, message_log};
use crate::api::error::ApiError;

/// How many rows of the log the hour's counts read at most; beyond it the card says "200+".
const COUNT_CAP: u32 = 200;

/// Messages of the log since `since` with `status` (any when `None`): the count, capped.
async fn count(state: &AppState, since: &str, status: Option<&str>) -> Result<String, ApiError> {
    let params = MessageParams {
        page_size: Some(COUNT_CAP.to_string()),
        since: Some(since.to_string()),
        status: status.map(str::to_string),
        ..Default::default()
    };
    let (rows, more) = message_log(state, &params).await?;
    Ok(match more {
        Some(_) => format!("{COUNT_CAP}+"),
        None => rows.len().to_string(),
    })
}

/// `GET /console`.
pub async fn show(session: Session, State(state): State<AppState>) -> Response {
    let since = time(state.clock.now() - Duration::hours(1));
    let now = state.clock.now();
    let read = async {
        let all = count(&state, &since, None).await?;
        let queue = queue_figures(&state).await?;
        let newest = MessageParams {
            page_size: Some("10".into()),
            status: Some("FAILED".into()),
            ..Default::default()
        };
        let (failures, _) = message_log(&state, &newest).await?;
        Ok::<_, ApiError>((all, queue, failures))
    };
    let (all, q, failures) = match read.await {
        Ok(read) => read,
        Err(error) => return layout::failure(&session, error),
    };
    let waited = q
        .oldest_due_at
        .map(|t| format!("oldest waiting {} s", (now - t).whole_seconds().max(0)));
    let body = html! {
        h2 { "The queue" }
        div.cards.queue {
            div.card { div.n { (q.due) } div { "due now" } @if let Some(w) = &waited { div.small { (w) } } }
            div.card { div.n { (q.in_flight) } div { "being sent" } }
            div.card { div.n { (q.scheduled) } div { a href="/console/messages?status=SCHEDULED" { "scheduled" } } }
            div.card { div.n { (q.waiting_for_optin) } div { a href="/console/messages?status=WAITING_FOR_OPTIN" { "waiting for opt-in" } } }
            div.card { div.n { (q.retrying) } div { "waiting to retry" } }
            div.card.bad[q.in_doubt > 0] { div.n { (q.in_doubt) } div { "hand-overs in doubt" } }
        }
        h2 { "The last hour" }
        div.cards {
            div.card { div.n { (all) } div { "messages accepted or received" } }
            div.card.bad[q.failed_last_hour > 0] { div.n { (q.failed_last_hour) } div { a href="/console/messages?status=FAILED" { "failed" } } }
        }
        h2 { "Callbacks" }
        div.cards.callbacks {
            div.card { div.n { (q.callbacks_pending) } div { a href="/console/callbacks?status=PENDING" { "pending" } } }
            div.card { div.n { (q.callbacks_retrying) } div { "refused, being retried" } }
            div.card.bad[q.callbacks_failed > 0] { div.n { (q.callbacks_failed) } div { a href="/console/callbacks" { "failed" } } }
        }
        h2 { "Newest failures" }
        @if failures.is_empty() { p { "No message has failed." } } @else { (table(&failures)) }
    };
    page("Overview", &session, body)
}
