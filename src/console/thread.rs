//! A customer's conversation with one department: inbound and outbound in the order they
//! happened, each with its status and time; older pages behind a link.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::layout::{self, page, time};
use super::messages::status_badge;
use super::session::Session;
use crate::api::AppState;
use crate::api::admin::department;
use crate::api::error::ApiError;
use crate::api::extract::path_uuid;
use crate::api::messages::{parse_token, token};
use crate::domain::codes::ErrorCode;

const PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct ThreadQuery {
    before: Option<String>,
}

/// `GET /console/departments/{department}/customers/{customer}?before=`.
pub async fn show(
    session: Session,
    State(state): State<AppState>,
    Path((department_segment, customer_segment)): Path<(String, String)>,
    Query(query): Query<ThreadQuery>,
) -> Response {
    let no_customer = || ApiError::not_found(ErrorCode::InvalidCustomer, "no such customer");
    let found = async {
        let department = department(&state, &department_segment).await?;
        let uuid = path_uuid(&customer_segment).ok_or_else(no_customer)?;
        let customer = state
            .store
            .customer(department.dealer_uuid, uuid)
            .await?
            .ok_or_else(no_customer)?;
        let before = query.before.as_deref().filter(|t| !t.is_empty());
        let before = before
            .map(|t| {
                parse_token(t)
                    .ok_or_else(|| ApiError::invalid_request("before: not a token this page gave"))
            })
            .transpose()?;
        let rows = state
            .store
            .thread(department.uuid, customer.uuid, before, PAGE + 1)
            .await?;
        Ok::<_, ApiError>((department, customer, rows))
    };
    let (department, customer, mut rows) = match found.await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let older = (rows.len() > PAGE as usize).then(|| {
        rows.truncate(PAGE as usize);
        rows.last().map(token)
    });
    // The store reads newest first; a conversation reads top to bottom.
    rows.reverse();
    let name = [&customer.first_name, &customer.last_name, &customer.company]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let here = format!(
        "/console/departments/{}/customers/{}",
        department.uuid, customer.uuid
    );
    let body = html! {
        p.customer { "Customer: " strong.name { (name) } " · department " (department.name) }
        @if let Some(Some(t)) = older { p { a href={ (here) "?before=" (t) } { "Older messages" } } }
        @if rows.is_empty() { p { "No messages yet." } }
        ol.thread {
            @for m in &rows {
                li class=(m.direction.as_str()) {
                    div.meta {
                        (m.direction.as_str()) " · " (m.protocol.as_str()) " · " (time(m.created_at)) " · "
                        (status_badge(m.status.as_str())) " · "
                        a href={ "/console/messages/" (m.uuid) } { "details" }
                    }
                    @if let Some(s) = &m.subject { div { strong { (s) } } }
                    div.body { (m.composed_body.as_deref().unwrap_or(&m.body)) }
                    @if !m.attachments.is_empty() {
                        ul.attachments {
                            @for a in &m.attachments {
                                li { (a.file_name) " (" (a.content_type) ", " (a.size) " bytes)" }
                            }
                        }
                    }
                }
            }
        }
    };
    page("Conversation", &session, body)
}
