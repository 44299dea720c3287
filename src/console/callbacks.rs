//! The callbacks a client never received, newest first, each with a button that delivers it
//! again (the admin API's use case, src/api/admin_callbacks.rs: same `webhook-id`, same
//! payload).

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::csrf::Posted;
use super::layout::{self, action, page, param, query_pairs, time};
use super::messages::status_badge;
use super::session::Session;
use crate::api::AppState;
use crate::api::admin_callbacks::{CallbackParams, callback_list, redeliver_callback};

/// `GET /console/callbacks?status=&pageToken=`: `FAILED` unless `status=PENDING`.
pub async fn list(
    session: Session,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query);
    let params = CallbackParams {
        status: param(&pairs, "status"),
        page_size: None,
        page_token: param(&pairs, "pageToken"),
    };
    let pending = params.status.as_deref() == Some("PENDING");
    let (rows, next) = match callback_list(&state, &params).await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let next_url = next.map(|token| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        if pending {
            url.append_pair("status", "PENDING");
        }
        url.append_pair("pageToken", &token);
        format!("/console/callbacks?{}", url.finish())
    });
    let body = html! {
        p {
            @if pending { a href="/console/callbacks" { "Failed" } " · " strong { "Pending" } }
            @else { strong { "Failed" } " · " a href="/console/callbacks?status=PENDING" { "Pending" } }
        }
        @if rows.is_empty() {
            p { @if pending { "No callback is waiting to be delivered." } @else { "No callback has failed." } }
        } @else {
            table.callbacks {
                tr { th { "Created" } th { "webhook-id" } th { "Message" } th { "URL" } th { "State" } th.num { "Attempts" } th { "Last result" } th {} }
                @for e in &rows {
                    @let c = &e.callback;
                    tr {
                        td { (time(c.created_at)) }
                        td.mono { (c.webhook_id) }
                        td { a.mono href={ "/console/messages/" (e.message_uuid) } { (e.message_uuid) } }
                        td { (c.url) }
                        td { (status_badge(&c.state)) }
                        td.num { (c.attempts) }
                        td { (c.last_result.as_deref().unwrap_or("")) }
                        td { @if c.state == "FAILED" {
                            (action(&session, &format!("/console/callbacks/{}/retry", c.webhook_id), "Deliver again"))
                        } }
                    }
                }
            }
        }
        @if let Some(url) = next_url { p { a.next href=(url) { "Next page" } } }
    };
    page("Callbacks", &session, body)
}

/// `POST /console/callbacks/{webhookId}/retry`: on to its message, where the callback now
/// shows `PENDING` (then `DELIVERED`), or why not.
pub async fn retry(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
    form: Posted,
) -> Response {
    match redeliver_callback(&state, &webhook_id).await {
        Ok(entry) => {
            Redirect::to(&format!("/console/messages/{}", entry.message_uuid)).into_response()
        }
        Err(error) => layout::failure(&form.session, error),
    }
}
