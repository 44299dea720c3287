//! The message log with the admin API's filters as a GET form, and one message with its
//! attempts and callbacks.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{self, page, param, query_pairs, time};
use super::session::Session;
use crate::api::AppState;
use crate::api::admin_read::{MessageParams, message_detail, message_log};
use crate::domain::message::Message;

/// The statuses the filter offers.
const STATUSES: [&str; 9] = [
    "ACCEPTED",
    "SCHEDULED",
    "WAITING_FOR_OPTIN",
    "SENT",
    "DELIVERED",
    "UNDELIVERED",
    "FAILED",
    "EXPIRED",
    "CANCELLED",
];

/// The filter form's fields: the admin API's query names, so a console URL and an API query
/// read the same.
const FIELDS: [(&str, &str); 5] = [
    ("dealerUuid", "Dealer UUID"),
    ("departmentUuid", "Department UUID"),
    ("customerUuid", "Customer UUID"),
    ("since", "Since (RFC 3339)"),
    ("until", "Until (RFC 3339)"),
];

fn params(pairs: &[(String, String)]) -> MessageParams {
    let get = |name: &str| param(pairs, name);
    MessageParams {
        page_size: get("pageSize"),
        page_token: get("pageToken"),
        status: get("status"),
        protocol: get("protocol"),
        dealer_uuid: get("dealerUuid"),
        department_uuid: get("departmentUuid"),
        customer_uuid: get("customerUuid"),
        since: get("since"),
        until: get("until"),
    }
}

fn filter_form(pairs: &[(String, String)]) -> Markup {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    html! {
        form.filters method="get" action="/console/messages" {
            label { "Status" select name="status" {
                option value="" { "any" }
                @for s in STATUSES { option value=(s) selected[value("status") == s] { (s) } }
            } }
            label { "Protocol" select name="protocol" {
                option value="" { "any" }
                @for p in ["TEXT", "EMAIL"] { option value=(p) selected[value("protocol") == p] { (p) } }
            } }
            @for (name, label) in FIELDS {
                label { (label) input type="text" name=(name) value=(value(name)); }
            }
            button type="submit" { "Filter" }
        }
    }
}

pub fn status_badge(status: &str) -> Markup {
    html! { span class={ "status " (status) } { (status) } }
}

pub fn table(rows: &[Message]) -> Markup {
    html! {
        table.messages {
            tr { th { "Accepted" } th { "Status" } th { "Protocol" } th { "Direction" } th { "To / from" } th { "Message" } th { "Thread" } }
            @for m in rows {
                tr {
                    td { (time(m.created_at)) }
                    td { (status_badge(m.status.as_str()))
                        @if let Some(due) = m.scheduled_for() { " until " (time(due)) } }
                    td { (m.protocol.as_str()) }
                    td { (m.direction.as_str()) }
                    td { (m.recipient) }
                    td { a.mono href={ "/console/messages/" (m.uuid) } { (m.uuid) } }
                    td { @if let Some(c) = m.customer_uuid {
                        a href={ "/console/departments/" (m.department_uuid) "/customers/" (c) } { "thread" }
                    } }
                }
            }
        }
    }
}

/// `GET /console/messages?status=&protocol=&dealerUuid=&departmentUuid=&customerUuid=&since=&until=&pageToken=`.
pub async fn list(
    session: Session,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query);
    let form = filter_form(&pairs);
    match message_log(&state, &params(&pairs)).await {
        Ok((rows, next)) => {
            let next_url = next.map(|token| {
                let mut url = form_urlencoded::Serializer::new(String::new());
                for (n, v) in pairs.iter().filter(|(n, _)| n != "pageToken") {
                    url.append_pair(n, v);
                }
                url.append_pair("pageToken", &token);
                format!("/console/messages?{}", url.finish())
            });
            let body = html! {
                (form)
                @if rows.is_empty() { p { "No message matches." } } @else { (table(&rows)) }
                @if let Some(url) = next_url { p { a.next href=(url) { "Next page" } } }
            };
            page("Messages", &session, body)
        }
        Err(error) => {
            let body = html! {
                (form)
                ul.errors { @for e in &error.errors { li { (e.error_description) } } }
            };
            (StatusCode::BAD_REQUEST, page("Messages", &session, body)).into_response()
        }
    }
}

/// `GET /console/messages/{uuid}`: the message, why it failed, its attempts and callbacks.
pub async fn show(
    session: Session,
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Response {
    let (m, attempts, callbacks) = match message_detail(&state, &segment).await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let report = crate::domain::report::MessageReport::of(&m, m.request_uuid);
    let body = html! {
        dl.settings {
            dt { "Message" } dd.mono { (m.uuid) }
            dt { "Status" } dd { (status_badge(m.status.as_str())) }
            dt { "Protocol" } dd { (m.protocol.as_str()) " " (m.direction.as_str()) }
            dt { "To / from" } dd { (m.recipient) }
            @if let Some(sender) = &m.sender { dt { "Sender" } dd { (sender) } }
            dt { "Dealer" } dd { a.mono href={ "/console/dealers/" (m.dealer_uuid) } { (m.dealer_uuid) } }
            dt { "Department" } dd { a.mono href={ "/console/departments/" (m.department_uuid) } { (m.department_uuid) } }
            @if let Some(c) = m.customer_uuid {
                dt { "Customer" } dd { a href={ "/console/departments/" (m.department_uuid) "/customers/" (c) } { "conversation thread" } }
            }
            dt { "Accepted" } dd { (time(m.created_at)) }
            dt { "Updated" } dd { (time(m.updated_at)) }
            @if let Some(due) = m.scheduled_for() { dt { "Scheduled for" } dd { (time(due)) } }
            @if let Some(subject) = &m.subject { dt { "Subject" } dd { (subject) } }
            dt { "Body" } dd.body { (m.composed_body.as_deref().unwrap_or(&m.body)) }
        }
        (super::actions::buttons(&session, &m))
        @if !report.errors.is_empty() {
            h2 { "Why it failed" }
            ul.errors { @for e in &report.errors { li { code { (e.error_code) } " " (e.error_description) } } }
        }
        h2 { "Attempts" }
        @if attempts.is_empty() { p { "None yet." } } @else {
            table { tr { th.num { "#" } th { "At" } th { "Outcome" } th { "Error" } th { "Detail" } }
                @for a in &attempts { tr {
                    td.num { (a.attempt) } td { (time(a.at)) } td { (a.outcome) }
                    td { (a.error_code.as_deref().unwrap_or("")) } td { (a.detail.as_deref().unwrap_or("")) }
                } }
            }
        }
        h2 { "Callbacks" }
        @if callbacks.is_empty() { p { "None." } } @else {
            table { tr { th { "webhook-id" } th { "URL" } th { "State" } th.num { "Attempts" } th { "Last result" } th { "Created" } }
                @for c in &callbacks { tr {
                    td.mono { (c.webhook_id) } td { (c.url) } td { (status_badge(&c.state)) } td.num { (c.attempts) }
                    td { (c.last_result.as_deref().unwrap_or("")) } td { (time(c.created_at)) }
                } }
            }
        }
    };
    page("Message", &session, body)
}
