//! The overview: what happened in the last hour, and the newest failures.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use time::Duration;

use super::layout::{self, page, time};
use super::messages::table;
use super::session::Session;
use crate::api::AppState;
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
    let read = async {
        let all = count(&state, &since, None).await?;
        let failed = count(&state, &since, Some("FAILED")).await?;
        let newest = MessageParams {
            page_size: Some("10".into()),
            status: Some("FAILED".into()),
            ..Default::default()
        };
        let (failures, _) = message_log(&state, &newest).await?;
        Ok::<_, ApiError>((all, failed, failures))
    };
    let (all, failed, failures) = match read.await {
        Ok(read) => read,
        Err(error) => return layout::failure(&session, error),
    };
    let failed_url = format!("/console/messages?status=FAILED&since={since}");
    let body = html! {
        h2 { "The last hour" }
        div.cards {
            div.card { div.n { (all) } div { "messages accepted or received" } }
            div.card.bad { div.n { (failed) } div { a href=(failed_url) { "failed" } } }
        }
        h2 { "Newest failures" }
        @if failures.is_empty() { p { "No message has failed." } } @else { (table(&failures)) }
    };
    page("Overview", &session, body)
}
